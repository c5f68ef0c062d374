import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunked, toCsv } from '../../../test/support/factories.js';
import { parseCsv, splitCsvRecord } from './csv-parser.js';
import { parseJsonArray } from './json-array-parser.js';
import { parseJsonl } from './jsonl-parser.js';
import type { ParsedItem } from './parsed-item.js';

const opts = { maxRecordBytes: 4096 };

async function collect(gen: AsyncGenerator<ParsedItem>): Promise<ParsedItem[]> {
  const out: ParsedItem[] = [];
  for await (const item of gen) out.push(item);
  return out;
}

const records = (items: ParsedItem[]) => items.filter((i) => i.kind === 'record');
const problems = (items: ParsedItem[]) => items.filter((i) => i.kind === 'problem');

// Storable strings: no NUL and no lone surrogates (those are rejected on purpose, tested below).
const text = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\u0000'));
const recordArb = fc.dictionary(
  fc.constantFrom('platform', 'external_id', 'text', 'author', 'url', 'x y', '__proto__'),
  text,
  {
    minKeys: 1,
    maxKeys: 5,
  },
);

describe('parseJsonl', () => {
  it('returns every record with its line, whatever the chunking, line endings and BOM', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { maxLength: 20 }),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        fc.boolean(),
        async (recs, size, crlf, bom) => {
          const body =
            (bom ? '\ufeff' : '') + recs.map((r) => JSON.stringify(r)).join(crlf ? '\r\n' : '\n');
          const items = await collect(parseJsonl(chunked(body, size), opts));
          expect(problems(items)).toEqual([]);
          expect(
            records(items).map((i) => (i.kind === 'record' ? [i.line, i.value] : null)),
          ).toEqual(recs.map((r, n) => [n + 1, JSON.parse(JSON.stringify(r)) as unknown]));
        },
      ),
    );
  });

  it('never throws on arbitrary bytes and reports each problem with a line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        async (bytes, size) => {
          const items = await collect(
            parseJsonl(chunked(Buffer.from(bytes), size), { maxRecordBytes: 64 }),
          );
          for (const item of items) expect(item.line).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });

  it('keeps the valid records around malformed, binary, NUL and over-long lines', async () => {
    const body = Buffer.concat([
      Buffer.from('{"a":1}\n{"a":\n'),
      Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]),
      Buffer.from('{"a":"nul\\u0000"}\n{"a":"x\u0000"}\n[1,2]\n'),
      Buffer.from(`{"big":"${'x'.repeat(5000)}"}\n`),
      Buffer.from('{"a":"\\ud800"}\n\n   \n{"a":2}'),
    ]);
    const items = await collect(parseJsonl(chunked(body, 7), opts));
    expect(records(items).map((i) => i.line)).toEqual([1, 11]);
    expect(
      problems(items).map((p) => (p.kind === 'problem' ? [p.line, p.reason.split(':')[0]] : null)),
    ).toEqual([
      [2, 'malformed JSON'],
      [3, 'is not valid UTF-8'],
      [4, 'contains a NUL character (U+0000), which cannot be stored'],
      [5, 'contains a NUL byte'],
      [6, 'expected a JSON object'],
      [7, 'record is longer than 4096 bytes'],
      [8, 'contains invalid Unicode (an unpaired surrogate)'],
    ]);
  });
});

describe('parseJsonArray', () => {
  it('returns every element with its starting line, compact or pretty-printed, in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { maxLength: 15 }),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        fc.boolean(),
        async (recs, size, pretty, bom) => {
          const body =
            (bom ? '\ufeff' : '') + (pretty ? JSON.stringify(recs, null, 2) : JSON.stringify(recs));
          const items = await collect(parseJsonArray(chunked(body, size), opts));
          expect(problems(items)).toEqual([]);
          expect(records(items).map((i) => (i.kind === 'record' ? i.value : null))).toEqual(
            JSON.parse(JSON.stringify(recs)),
          );
          if (pretty) {
            const lines = body.split('\n');
            for (const item of records(items)) expect(lines[item.line - 1]?.trim()).toBe('{');
          }
        },
      ),
    );
  });

  it('rejects a malformed element alone and reports an unclosed array', async () => {
    const body = '[\n{"a":1},\n{"a":},\n"text",\n{"a":"ok"}\n';
    const items = await collect(parseJsonArray(chunked(body, 3), opts));
    expect(records(items).map((i) => i.line)).toEqual([2, 5]);
    expect(
      problems(items).map((p) => (p.kind === 'problem' ? [p.line, p.reason.split(':')[0]] : null)),
    ).toEqual([
      [3, 'malformed JSON'],
      [4, 'expected a JSON object'],
      [6, 'unexpected end of file'],
    ]);
  });

  it('refuses a file that is not an array, and never throws on arbitrary bytes', async () => {
    const items = await collect(parseJsonArray(chunked('{"a":1}', 4), opts));
    expect(items).toMatchObject([
      {
        kind: 'problem',
        line: 1,
        reason: expect.stringContaining('expected a JSON array') as unknown,
      },
    ]);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await collect(
          parseJsonArray(chunked(Buffer.concat([Buffer.from('['), Buffer.from(bytes)]), 13), {
            maxRecordBytes: 64,
          }),
        );
      }),
    );
  });
});

describe('parseCsv', () => {
  const columns = ['platform', 'external_id', 'created_at', 'text'];
  const row = fc.record({ platform: text, external_id: text, created_at: text, text });

  it('round-trips any values: commas, quotes, CR and newlines inside quoted fields', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 15 }),
        fc.integer({ min: 1, max: 40 }),
        async (rows, size) => {
          const body = toCsv(rows, columns);
          const items = await collect(parseCsv(chunked(body, size), opts));
          expect(problems(items)).toEqual([]);
          // A row of empty cells is written as ",,," and is a record, not a blank line.
          expect(records(items).map((i) => (i.kind === 'record' ? { ...i.value } : null))).toEqual(
            rows.map((r) => ({ ...r })),
          );
        },
      ),
    );
  });

  it('rejects a record with a never-closed quote by its line and keeps reading after it', async () => {
    const body =
      'platform,external_id,created_at,text\nx,1,t,"ok"\nx,2,t,"unclosed\nx,3,t,fine\nx,4,t,"a""b"\nx,5,t,"bad"tail\nx,6,t\n';
    const items = await collect(parseCsv(chunked(body, 5), opts));
    expect(
      records(items).map((i) =>
        i.kind === 'record' ? [i.line, i.value.external_id, i.value.text] : null,
      ),
    ).toEqual([
      [2, '1', 'ok'],
      [4, '3', 'fine'],
      [5, '4', 'a"b'],
    ]);
    expect(problems(items).map((p) => (p.kind === 'problem' ? [p.line, p.reason] : null))).toEqual([
      // Line 3's quote closes on line 5, where quoting then breaks: line 3 is rejected, 4 and 5 re-read.
      [
        3,
        'malformed quoting in column 4: a closing quote must be followed by a comma or the end of the line',
      ],
      [
        6,
        'malformed quoting in column 4: a closing quote must be followed by a comma or the end of the line',
      ],
      [7, 'expected 4 columns, found 3'],
    ]);
  });

  it('stops at a header that lacks required columns', async () => {
    const items = await collect(parseCsv(chunked('id,text\n1,a\n', 4), opts));
    expect(items).toEqual([
      {
        kind: 'problem',
        line: 1,
        field: null,
        reason: 'the header lacks required column(s): platform, external_id, created_at',
        value: 'id,text',
      },
    ]);
  });

  it('treats a column named __proto__ as data', async () => {
    const items = await collect(
      parseCsv(chunked('platform,external_id,created_at,__proto__\nx,1,t,polluted\n', 8), opts),
    );
    const first = records(items)[0];
    expect(first?.kind === 'record' && Object.getPrototypeOf(first.value)).toBeNull();
    expect(first?.kind === 'record' && first.value['__proto__']).toBe('polluted');
  });

  it('splitCsvRecord reports open quotes so records can span lines', () => {
    expect(splitCsvRecord('a,"b')).toEqual({ ok: false, open: true });
    expect(splitCsvRecord('a,"b\nc",d')).toEqual({ ok: true, fields: ['a', 'b\nc', 'd'] });
    expect(splitCsvRecord('a,')).toEqual({ ok: true, fields: ['a', ''] });
  });
});
