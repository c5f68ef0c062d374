import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunked } from '../../../test/support/factories.js';
import { parseCsv } from './csv-parser.js';
import type { ParsedItem } from './parsed-item.js';

/** Encoding and framing cases of the CSV reader: what is kept, what is rejected and why. */

const opts = { maxRecordBytes: 256 };
const HEADER = 'platform,external_id,created_at,text';
const columns = ['platform', 'external_id', 'created_at', 'text'];

async function collect(source: Iterable<Buffer>, options = opts): Promise<ParsedItem[]> {
  const out: ParsedItem[] = [];
  for await (const item of parseCsv(source, options)) out.push(item);
  return out;
}

/** [line, external_id, text] of every record. */
const kept = (items: ParsedItem[]): [number, unknown, unknown][] =>
  items.flatMap((i) =>
    i.kind === 'record'
      ? [[i.line, i.value.external_id, i.value.text] as [number, unknown, unknown]]
      : [],
  );
/** [line, reason] of every problem. */
const rejected = (items: ParsedItem[]): [number, string][] =>
  items.flatMap((i) => (i.kind === 'problem' ? [[i.line, i.reason] as [number, string]] : []));

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))),
  );

describe('parseCsv: encodings and framing', () => {
  it('strips a UTF-8 BOM before the header, even when a chunk splits it', async () => {
    for (const size of [1, 2, 3, 64]) {
      const items = await collect(chunked(bytes([0xef, 0xbb, 0xbf], `${HEADER}\nx,1,t,a\n`), size));
      expect(rejected(items)).toEqual([]);
      expect(kept(items)).toEqual([[2, '1', 'a']]);
      const first = items[0];
      expect(first?.kind === 'record' && Object.keys(first.value)).toEqual(columns);
    }
  });

  it('reads CRLF line endings, and keeps a CRLF or LF inside a quoted field as it was', async () => {
    const body = `${HEADER}\r\nx,1,t,plain\r\nx,2,t,"two\r\nlines"\r\nx,3,t,"mixed\nthen\r\nend"\r\nx,4,t,"bare\rcr"\r\nx,5,t,last`;
    for (const size of [1, 3, 7, 1000]) {
      const items = await collect(chunked(body, size));
      expect(rejected(items)).toEqual([]);
      expect(kept(items)).toEqual([
        [2, '1', 'plain'],
        [3, '2', 'two\r\nlines'],
        [5, '3', 'mixed\nthen\r\nend'],
        [8, '4', 'bare\rcr'],
        [9, '5', 'last'],
      ]);
    }
  });

  it('rejects a line that is not valid UTF-8 and keeps its neighbours', async () => {
    const body = bytes(
      `${HEADER}\nx,1,t,before\nx,2,t,`,
      [0xc3, 0x28, 0xff],
      `\nx,3,t,after\nx,4,t,"open`,
      [0xfe],
      `"\nx,5,t,end\n`,
    );
    const items = await collect(chunked(body, 5));
    expect(kept(items)).toEqual([
      [2, '1', 'before'],
      [4, '3', 'after'],
      [6, '5', 'end'],
    ]);
    expect(rejected(items)).toEqual([
      [3, 'is not valid UTF-8'],
      [5, 'is not valid UTF-8'],
    ]);
  });

  it('rejects NUL bytes, raw or inside a quoted field spanning lines, and keeps the neighbours', async () => {
    const body = bytes(
      `${HEADER}\nx,1,t,a\nx,2,t,b`,
      [0],
      `c\nx,3,t,"multi\nli`,
      [0],
      `ne"\nx,4,t,d\n`,
    );
    const items = await collect(chunked(body, 4));
    expect(kept(items)).toEqual([
      [2, '1', 'a'],
      [6, '4', 'd'],
    ]);
    expect(rejected(items)).toEqual([
      [3, 'contains a NUL byte'],
      // The quoted field of line 4 runs into the bad line 5: both are reported.
      [4, 'a quoted field runs into line 5, which contains a NUL byte'],
      [5, 'contains a NUL byte'],
    ]);
  });

  it('rejects an over-long line and an over-long quoted field without buffering them, and keeps the neighbours', async () => {
    const long = 'y'.repeat(400);
    const body = `${HEADER}\nx,1,t,a\nx,2,t,${long}\nx,3,t,b\nx,4,t,"${'z'.repeat(100)}\n${'z'.repeat(100)}\n${'z'.repeat(100)}"\nx,5,t,c\n`;
    const items = await collect(chunked(body, 9));
    expect(kept(items)).toEqual([
      [2, '1', 'a'],
      [4, '3', 'b'],
      [8, '5', 'c'],
    ]);
    expect(rejected(items)).toEqual([
      [3, 'record is longer than 256 bytes'],
      [5, 'record is longer than 256 bytes (is a quote unclosed?)'],
      // After line 5 is rejected its continuation lines are re-read on their own.
      [6, 'expected 4 columns, found 1'],
      [7, 'expected 4 columns, found 1'],
    ]);
  });

  it('rejects malformed rows (unclosed quote, text after a closing quote, wrong column count) and keeps the rest', async () => {
    // The never-closed quote comes last: a later quote would close it (CSV allows line breaks in quotes).
    const body = `${HEADER}\nx,1,t,ok\nx,4,t,"closed"junk\nx,5,t\nx,6,t,a,extra\nx,7,t,"""quoted"""\nx,2,t,"never closed\nx,3,t,fine\n`;
    const items = await collect(chunked(body, 6));
    expect(kept(items)).toEqual([
      [2, '1', 'ok'],
      [6, '7', '"quoted"'],
      [8, '3', 'fine'],
    ]);
    expect(rejected(items)).toEqual([
      [
        3,
        'malformed quoting in column 4: a closing quote must be followed by a comma or the end of the line',
      ],
      [4, 'expected 4 columns, found 3'],
      [5, 'expected 4 columns, found 5'],
      [7, 'a quoted field is never closed'],
    ]);
    // Every rejection carries a reason and an excerpt of the line (except undecodable ones).
    for (const item of items)
      if (item.kind === 'problem') expect(item.value).toEqual(expect.any(String));
  });

  it('round-trips values with CR, LF and CRLF in quoted fields, with LF or CRLF between records', async () => {
    const value = fc.string({
      unit: fc.constantFrom('a', ',', '"', '\r', '\n', '\r\n', ' ', 'é'),
      maxLength: 12,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ platform: value, external_id: value, created_at: value, text: value }),
          { maxLength: 10 },
        ),
        fc.boolean(),
        fc.integer({ min: 1, max: 32 }),
        async (rows, crlf, size) => {
          const body = toCsvWith(rows, crlf ? '\r\n' : '\n');
          const items = await collect(chunked(body, size), { maxRecordBytes: 4096 });
          expect(rejected(items)).toEqual([]);
          expect(items.map((i) => (i.kind === 'record' ? { ...i.value } : null))).toEqual(
            rows.map((r) => ({ ...r })),
          );
        },
      ),
    );
  });
});

describe('parseCsv: arbitrary bytes', () => {
  it('never throws, and reports every problem with a line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 400 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 50 }),
        async (garbage, withHeader, size) => {
          const body = withHeader ? bytes(`${HEADER}\n`, [...garbage]) : Buffer.from(garbage);
          const items = await collect(chunked(body, size), { maxRecordBytes: 64 });
          for (const item of items) {
            expect(item.line).toBeGreaterThanOrEqual(1);
            if (item.kind === 'problem') expect(item.reason).not.toBe('');
          }
        },
      ),
    );
  });

  it('never loses a valid row around garbage lines', async () => {
    // Valid rows need no quoting, so that only a garbage line can open a quoted field. Garbage
    // holds any byte but the newline and the quote (NUL, invalid UTF-8, CR, commas); at most
    // one garbage line has an unclosed quote, which then can never close.
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '😀', '\t'), maxLength: 8 });
    const validRow = fc.record({ external_id: cell, text: cell });
    const garbageLine = fc.oneof(
      fc
        .uint8Array({ maxLength: 60 })
        .map((b) => Buffer.from(b.filter((x) => x !== 0x0a && x !== 0x22))),
      fc.constant(Buffer.from('q'.repeat(300))),
    );
    const line = fc.oneof(
      validRow.map((row) => ({ row })),
      garbageLine.map((garbage) => ({ garbage })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 25 }),
        fc.option(fc.nat(25)),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        async (lines, unclosedAt, crlf, bom, size) => {
          const all: ({ row: { external_id: string; text: string } } | { garbage: Buffer })[] = [
            ...lines,
          ];
          if (unclosedAt !== null)
            all.splice(Math.min(unclosedAt, all.length), 0, {
              garbage: Buffer.from('x,u,t,"never closed'),
            });
          const eol = crlf ? '\r\n' : '\n';
          const parts: Buffer[] = [Buffer.from((bom ? '\ufeff' : '') + HEADER + eol)];
          const expected: [number, unknown, unknown][] = [];
          all.forEach((entry, index) => {
            if ('row' in entry) {
              parts.push(Buffer.from(`x,${entry.row.external_id},t,${entry.row.text}${eol}`));
              expected.push([index + 2, entry.row.external_id, entry.row.text]);
            } else {
              parts.push(entry.garbage, Buffer.from(eol));
            }
          });
          const items = await collect(chunked(Buffer.concat(parts), size), { maxRecordBytes: 256 });
          const records = kept(items);
          for (const row of expected) expect(records).toContainEqual(row);
          // No valid row is also reported as a problem.
          const rejectedLines = new Set(rejected(items).map(([l]) => l));
          for (const [l] of expected) expect(rejectedLines.has(l)).toBe(false);
        },
      ),
    );
  });
});

/** Like the factories' toCsv, with a chosen record separator (line breaks inside quoted values are content). */
function toCsvWith(rows: readonly Record<string, string>[], eol: string): string {
  const cell = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return (
    [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c] ?? '')).join(','))].join(
      eol,
    ) + eol
  );
}
