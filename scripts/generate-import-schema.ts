// Writes docs/import-format.schema.json from the zod schema that validates imports, so the
// documented format and the validator cannot drift (a test compares them).
import { writeFileSync } from 'node:fs';
import { importRecordJsonSchema } from '../packages/contracts/src/import-json-schema.js';

writeFileSync(
  new URL('../docs/import-format.schema.json', import.meta.url),
  JSON.stringify(importRecordJsonSchema(), null, 2) + '\n',
);
