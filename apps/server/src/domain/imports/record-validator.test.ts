import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunked } from '../../../test/support/factories.js';
import { parseCsv } from './csv-parser.js';
import { parseJsonArray } from './json-array-parser.js';
import type { ParsedItem } from './parsed-item.js';
import { coerceCsvValues, validateRecord } from './record-validator.js';

const opts = { maxRecordBytes: 4096 };
const base = { platform: 'x', external_id: '1', created_at: '2026-11-04T00:00:00Z' };

async function collect(gen: AsyncGenerator<ParsedItem>): Promise<ParsedItem[]> {
  const out: ParsedItem[] = [];
  for await (const item of gen) out.push(item);
  return out;
}

/** The reject of one CSV file's first record, as the importer makes it. */
async function csvReject(csv: string): Promise<unknown> {
  const items = await collect(parseCsv(chunked(csv, 7), opts));
  const item = items[0];
  if (item?.kind !== 'record') return item;
  const checked = validateRecord(coerceCsvValues(item.value), item.line, null);
  return checked.ok ? checked.row : checked.reject;
}

describe('reject reasons say what is accepted and quote the value', () => {
  it('a metric given as text in JSON: write it without quotes', () => {
    const checked = validateRecord({ ...base, likes: '12' }, 3, null);
    expect(checked).toEqual({
      ok: false,
      reject: {
        line: 3,
        field: 'likes',
        reason: 'likes must be a number, not the text "12": write it without quotes',
        value: '12',
      },
    });
  });

  it('a metric that is not plain digits, in JSON or CSV', async () => {
    expect(validateRecord({ ...base, views: 'many' }, 1, null)).toMatchObject({
      reject: {
        field: 'views',
        reason:
          'views must be a whole number written as plain digits, e.g. 1234 (no spaces, separators or units); got "many"',
      },
    });
    expect(
      await csvReject('platform,external_id,created_at,likes\nx,1,2026-11-04T00:00:00Z,1 234\n'),
    ).toMatchObject({
      line: 2,
      field: 'likes',
      reason:
        'likes must be a whole number written as plain digits, e.g. 1234 (no spaces, separators or units); got "1 234"',
      value: '1 234',
    });
  });

  it('another type mismatch names the expected type and quotes the value', () => {
    expect(validateRecord({ ...base, external_id: 42 }, 1, null)).toMatchObject({
      reject: { field: 'external_id', reason: 'external_id must be a string; got number "42"' },
    });
  });
});

describe('CSV values are trimmed like the header names', () => {
  it('reads `platform, external_id, created_at` with spaces after the commas', async () => {
    expect(
      await csvReject(
        'platform, external_id, created_at, likes, text\nx, z1, 2026-11-04T00:00:00Z, 7, hello there\n',
      ),
    ).toMatchObject({
      platform: 'x',
      externalId: 'z1',
      createdAt: '2026-11-04T00:00:00Z',
      likes: 7,
      // Free text keeps its spaces.
      text: ' hello there',
    });
  });
});

describe('headers in another letter case', () => {
  it('are refused, naming the renaming that fixes them, for required and optional fields', async () => {
    expect(
      await collect(parseCsv(chunked('Platform,External_ID,Created_At\nx,1,t\n', 5), opts)),
    ).toEqual([
      {
        kind: 'problem',
        line: 1,
        field: null,
        reason:
          'the header lacks required column(s): platform, external_id, created_at; column names are case-sensitive: ' +
          'rename "Platform" → "platform", "External_ID" → "external_id", "Created_At" → "created_at"',
        value: 'Platform,External_ID,Created_At',
        refusesFile: true,
      },
    ]);
    expect(
      await collect(parseCsv(chunked('platform,external_id,created_at,Likes\nx,1,t,3\n', 5), opts)),
    ).toMatchObject([
      {
        kind: 'problem',
        reason:
          'the header has a column in the wrong letter case; column names are case-sensitive: rename "Likes" → "likes"',
        refusesFile: true,
      },
    ]);
  });
});

describe('whole-file refusals', () => {
  it('JSON that is not an array refuses the file, and suggests JSON Lines for objects', async () => {
    const items = await collect(parseJsonArray(chunked('{"a":1}\n{"a":2}\n', 4), opts));
    expect(items).toEqual([
      {
        kind: 'problem',
        line: 1,
        field: null,
        reason:
          'expected a JSON array: the file must start with "[" (for one JSON object per line, send JSON Lines: application/x-ndjson or ?format=jsonl)',
        // What the chunk at hand holds of the start.
        value: expect.stringMatching(/^\{"a"/) as unknown,
        refusesFile: true,
      },
    ]);
    expect(await collect(parseJsonArray(chunked('', 4), opts))).toMatchObject([
      { reason: 'the file is empty: expected a JSON array', refusesFile: true },
    ]);
  });

  it('a header with an unclosed quote refuses the file', async () => {
    expect(
      await collect(parseCsv(chunked('"platform,external_id,created_at\nx,1,t\n', 5), opts)),
    ).toMatchObject([
      {
        line: 1,
        reason: expect.stringMatching(/^the header is malformed: /) as unknown,
        refusesFile: true,
      },
    ]);
  });
});

describe('timestamps name an instant that exists', () => {
  const reasonOf = (createdAt: string) => {
    const checked = validateRecord({ ...base, created_at: createdAt }, 2, null);
    return checked.ok ? null : checked.reject;
  };

  it('a day the month does not have is a field error, not a database one', () => {
    for (const day of ['2026-02-30T09:00:00Z', '2025-02-29T00:00:00Z', '2026-04-31 10:00+02:00'])
      expect(reasonOf(day)).toMatchObject({ line: 2, field: 'created_at', value: day });
    expect(reasonOf('2024-02-29T00:00:00Z')).toBeNull();
  });

  it('hours, minutes, seconds and offsets out of range are refused; the edges are kept', () => {
    for (const bad of [
      '2026-01-01T24:00:01Z',
      '2026-01-01T24:30:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01T12:00:00+16:00',
      '2026-00-10T00:00:00Z',
      '2026-13-01T00:00:00Z',
    ])
      expect(reasonOf(bad), bad).toMatchObject({ field: 'created_at' });
    for (const good of [
      '2026-12-31T23:59:59.999999999Z',
      '2026-12-31T24:00:00Z',
      '0001-01-01T00:00:00Z',
      '2026-01-01T12:00:00-15:59',
      '2026-06-30 08:05+0530',
    ])
      expect(reasonOf(good), good).toBeNull();
  });

  it('every real instant in the format is accepted, as Date reads it', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const iso = date.toISOString();
          expect(
            reasonOf(iso.startsWith('+') || iso.startsWith('-') ? iso.slice(3) : iso),
          ).toBeNull();
        },
      ),
    );
  });
});
