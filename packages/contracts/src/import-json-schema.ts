import { z } from 'zod';
import { importRecordSchema } from './imports.js';

/** JSON Schema (draft 2020-12) of one import record, as published in docs/. */
export function importRecordJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://socialpulse.dev/schemas/import-record.json',
    ...z.toJSONSchema(importRecordSchema, { target: 'draft-2020-12', io: 'input' }),
  };
}
