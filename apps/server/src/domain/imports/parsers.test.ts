import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corruptJson, jsonCorruption } from '../../../test/support/json-corruption.js';
import { chunked, toCsv } from '../../../test/support/factories.js';
import { parseCsv, splitCsvRecord } from './csv-parser.js';
import { parseJsonArray } from './json-array-parser.js';
import { RereadableSource } from './json-scanner.js';
import { parseJsonl } from './jsonl-parser.js';
import { excerpt, findUnstorableString, type ParsedItem } from './parsed-item.js';

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

describe('excerpt', () => {
  it('is always storable text, cut on a code point, whatever it quotes', () => {
    expect(excerpt('a\u0000b\ud800c')).toBe('a\u2400b\ufffdc');
    // A pair straddling the cut stays whole or goes whole.
    const cut = excerpt(`${'x'.repeat(99)}😀tail`, 100);
    expect(cut).toBe(`${'x'.repeat(99)}… (105 chars)`);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 50 }), (text, max) => {
        const shown = excerpt(text, max);
        expect(findUnstorableString(shown)).toBeNull();
      }),
    );
  });
});

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

describe('parseJsonArray: a broken element that runs over its neighbours', () => {
  const rec = (id: string): string =>
    JSON.stringify({ platform: 'x', external_id: id, created_at: '2024-05-01T12:00:00Z' });
  const ids = (items: ParsedItem[]): unknown[] =>
    records(items).map((i) => (i.kind === 'record' ? i.value.external_id : null));
  const lineAndReason = (items: ParsedItem[]) =>
    problems(items).map((p) => (p.kind === 'problem' ? [p.line, p.reason] : null));

  it('an odd quote on line 3: records 1, 3, 4 and 5 are read, one reject names line 3', async () => {
    const bad =
      '{"platform":"x","external_id":"2","created_at":"2024-05-01T12:00:00Z","text":"5" screen"}';
    const body = `[\n${rec('1')},\n${bad},\n${rec('3')},\n${rec('4')},\n${rec('5')}\n]\n`;
    for (const size of [1, 7, 64, body.length]) {
      const items = await collect(parseJsonArray(chunked(body, size), opts));
      expect(ids(items)).toEqual(['1', '3', '4', '5']);
      expect(records(items).map((i) => i.line)).toEqual([2, 4, 5, 6]);
      expect(lineAndReason(items)).toEqual([
        [
          3,
          expect.stringMatching(
            /^malformed JSON: .*; line 3 skipped, reading resumed at line 4$/,
          ) as unknown,
        ],
      ]);
      expect(problems(items)[0]).toMatchObject({ value: `${bad},` });
    }
  });

  it('a missing "}", one record per line or pretty-printed: the rest is read', async () => {
    const cut = '{"platform":"x","external_id":"2","created_at":"2024-05-01T12:00:00Z"';
    const compact = `[\n${rec('1')},\n${cut},\n${rec('3')},\n${rec('4')}\n]`;
    const items = await collect(parseJsonArray(chunked(compact, 5), opts));
    expect(ids(items)).toEqual(['1', '3', '4']);
    expect(lineAndReason(items)).toEqual([
      [3, expect.stringMatching(/; line 3 skipped, reading resumed at line 4$/) as unknown],
    ]);

    const pretty = (id: string, close = true): string =>
      `  {\n    "platform": "x",\n    "external_id": "${id}",\n    "created_at": "2024-05-01T12:00:00Z",\n    "media": [\n      { "uri": "a.jpg" }\n    ]\n${close ? '  }' : ''}`;
    const body = `[\n${pretty('1')},\n${pretty('2', false)},\n${pretty('3')}\n]\n`;
    const read = await collect(parseJsonArray(chunked(body, 9), opts));
    // The nested { "uri" } lines are indented deeper than the records: not taken for records.
    expect(ids(read)).toEqual(['1', '3']);
    expect(lineAndReason(read)).toEqual([
      [10, expect.stringMatching(/; lines 10–16 skipped, reading resumed at line 18$/) as unknown],
    ]);
  });

  it('a broken last element and a truncated one report where reading ended', async () => {
    const lastBroken = `[\n${rec('1')},\n{"external_id":"2","text":"a" b"}\n]\n`;
    const items = await collect(parseJsonArray(chunked(lastBroken, 4), opts));
    expect(ids(items)).toEqual(['1']);
    expect(lineAndReason(items)).toEqual([
      [
        3,
        expect.stringMatching(
          /; line 3 skipped, up to the array's closing "]" on line 4$/,
        ) as unknown,
      ],
    ]);

    const truncated = `[\n${rec('1')},\n  {\n    "external_id": "2",\n    "te`;
    const cut = await collect(parseJsonArray(chunked(truncated, 4), opts));
    expect(ids(cut)).toEqual(['1']);
    expect(lineAndReason(cut)).toEqual([
      [3, expect.stringMatching(/; lines 3–5 skipped to the end of the file$/) as unknown],
      [5, 'unexpected end of file: the array is not closed with "]"'],
    ]);
  });

  it('a runaway element longer than a record is cut at the limit and the rest is read', async () => {
    const filler = Array.from({ length: 400 }, (_, i) => rec(`f${i}`)).join(',\n');
    const body = `[\n${rec('1')},\n{"text":"odd " quote"},\n${filler}\n]`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(4 * opts.maxRecordBytes);
    const items = await collect(parseJsonArray(chunked(body, 1000), opts));
    expect(ids(items)).toEqual(['1', ...Array.from({ length: 400 }, (_, i) => `f${i}`)]);
    expect(lineAndReason(items)).toEqual([
      [
        3,
        expect.stringMatching(
          /^record is longer than 4096 bytes; line 3 skipped, reading resumed at line 4$/,
        ) as unknown,
      ],
    ]);
  });

  it('bounds the bytes read again, and still names every line skipped', async () => {
    const source = new RereadableSource([Buffer.alloc(1000)], 100);
    await source.next();
    // 100 + 4 × 1000 bytes may be read again, no more.
    expect(source.unread([Buffer.alloc(4000)])).toBe(true);
    expect(source.unread([Buffer.alloc(101)])).toBe(false);
    expect(source.unread([Buffer.alloc(100)])).toBe(true);

    // Every line opens an element that never ends: re-reading from each next line would go
    // over the rest of the window every time (seconds, not milliseconds, for this file). Past
    // the budget, lines are skipped instead, and every one of them is still named in a reject.
    const runaway = 20_000;
    const body = `[\n${'{"a\n'.repeat(runaway)}${rec('last')}\n]\n`;
    const items = await collect(parseJsonArray(chunked(body, 4096), { maxRecordBytes: 65536 }));
    const covered = new Set<number>();
    for (const p of problems(items)) {
      const range = /; lines? (\d+)(?:–(\d+))? skipped/.exec(p.reason);
      if (!range) continue;
      const from = Number(range[1]);
      for (let line = from; line <= Number(range[2] ?? from); line += 1) covered.add(line);
    }
    const last = runaway + 2; // The line of the last record.
    for (let line = 2; line <= last; line += 1)
      if (!covered.has(line) && !records(items).some((r) => r.line === line))
        throw new Error(`line ${line} is neither read nor named in a reject`);
    expect(problems(items).at(-1)?.reason).not.toContain('not closed');
  });

  // A record's text full of JSON's own characters, so that a corruption can flip its strings.
  const nasty = fc.string({
    unit: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', 'a', ' ', 'é', '\n'),
    maxLength: 12,
  });

  it('property: one corrupted element never loses another record, in any layout and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(nasty, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        jsonCorruption,
        fc.constantFrom('line' as const, 'pretty' as const, 'leading-comma' as const),
        fc.integer({ min: 1, max: 64 }),
        async (texts, pick, how, layout, size) => {
          const bad = pick % texts.length;
          const recs = texts.map((text, i) => ({
            platform: 'x',
            external_id: `id${i}`,
            created_at: '2024-05-01T12:00:00Z',
            text,
            tags: [{ name: text }],
          }));
          const elements = recs.map((r, i) => {
            const text =
              layout === 'pretty'
                ? JSON.stringify(r, null, 2).replace(/^/gm, '  ')
                : JSON.stringify(r);
            return i === bad ? corruptJson(text, how) : text;
          });
          const separator = layout === 'leading-comma' ? '\n, ' : ',\n';
          const body = `[\n${elements.join(separator)}\n]\n`;
          const before = `[\n${elements
            .slice(0, bad)
            .map((e) => e + separator)
            .join('')}`;
          const badLine = before.split('\n').length;
          const items = await collect(
            parseJsonArray(chunked(body, size), { maxRecordBytes: 65536 }),
          );
          const read = ids(items);
          const others = recs.flatMap((r, i) => (i === bad ? [] : [r.external_id]));
          expect(read.filter((id) => id !== `id${bad}` && others.includes(id as string))).toEqual(
            others,
          );
          // The corrupted one is still read (a corruption may leave it valid JSON) or is rejected
          // by its first line.
          expect(items.map((i) => i.line)).toContain(badLine);
        },
      ),
      { numRuns: 400 },
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

  it('refuses the file at a header that lacks required columns', async () => {
    const items = await collect(parseCsv(chunked('id,text\n1,a\n', 4), opts));
    expect(items).toEqual([
      {
        kind: 'problem',
        line: 1,
        field: null,
        reason: 'the header lacks required column(s): platform, external_id, created_at',
        value: 'id,text',
        refusesFile: true,
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
