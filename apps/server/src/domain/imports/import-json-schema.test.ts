import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importRecordJsonSchema } from '@socialpulse/contracts';

describe('docs/import-format.schema.json', () => {
  it('is the schema the importer validates with (regenerate: npm run gen:schemas)', () => {
    const committed = JSON.parse(
      readFileSync(
        new URL('../../../../../docs/import-format.schema.json', import.meta.url),
        'utf8',
      ),
    ) as unknown;
    expect(committed).toEqual(importRecordJsonSchema());
  });
});
