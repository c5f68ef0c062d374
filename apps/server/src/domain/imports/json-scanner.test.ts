import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corruptJson, jsonCorruption } from '../../../test/support/json-corruption.js';
import { chunked } from '../../../test/support/factories.js';
import { formatPath, scanJson, type ScanEvent } from './json-scanner.js';
import { readXArchive } from './x-archive.js';
import type { ParsedItem } from './parsed-item.js';

const OPTIONS = { maxRecordBytes: 65536 };

async function collect<T>(items: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const tweet = (id: string, text = 'hello'): Record<string, unknown> => ({
  tweet: {
    id_str: id,
    created_at: 'Wed Oct 10 20:19:24 +0000 2018',
    full_text: text,
    favorite_count: '1',
    entities: { urls: [{ expanded_url: 'https://example.invalid/a' }] },
  },
});

describe('scanJson: a broken element that runs over its neighbours', () => {
  it('X archive: an odd quote on line 3 loses no other tweet', async () => {
    const bad = '{"tweet":{"id_str":"2","full_text":"5" screen"}}';
    const body = `window.YTD.tweets.part0 = [\n${JSON.stringify(tweet('1'))},\n${bad},\n${JSON.stringify(tweet('3'))},\n${JSON.stringify(tweet('4'))}\n]\n`;
    for (const size of [1, 13, body.length]) {
      const items: ParsedItem[] = await collect(
        readXArchive({ kind: 'bytes', source: chunked(body, size), label: null }, OPTIONS),
      );
      expect(
        items.map((i) => (i.kind === 'record' ? i.value.external_id : [i.line, i.field, i.reason])),
      ).toEqual([
        '1',
        [
          3,
          '[1]',
          expect.stringMatching(
            /^malformed JSON: .*; line 3 skipped, reading resumed at line 4$/,
          ) as unknown,
        ],
        '3',
        '4',
      ]);
    }
  });

  it('a nested target array (TikTok-like), pretty-printed, missing a "}": the rest and what follows are read', async () => {
    const video = (id: string, close = true): string =>
      `        {\n          "Link": "${id}",\n          "Tags": [\n            { "n": 1 }\n          ]\n${close ? '        }' : ''}`;
    const doc = `{\n  "Video": {\n    "Videos": {\n      "VideoList": [\n${video('a')},\n${video('b', false)},\n${video('c')}\n      ]\n    }\n  },\n  "Profile": { "userName": "after" }\n}\n`;
    const events: ScanEvent[] = await collect(
      scanJson(chunked(doc, 7), {
        ...OPTIONS,
        isTarget: (p) => p.at(-1) === 'VideoList',
        wantScalar: (p) => p.at(-1) === 'userName',
      }),
    );
    expect(
      events.map((e) =>
        e.kind === 'element'
          ? [formatPath(e.path), e.item.kind === 'record' ? e.item.value.Link : e.item.reason]
          : e.kind === 'scalar'
            ? ['scalar', e.value]
            : ['problem', e.item.reason],
      ),
    ).toEqual([
      ['Video.Videos.VideoList[0]', 'a'],
      [
        'Video.Videos.VideoList[1]',
        expect.stringMatching(/; lines 11–15 skipped, reading resumed at line 17$/) as unknown,
      ],
      ['Video.Videos.VideoList[2]', 'c'],
      ['scalar', 'after'],
    ]);
  });

  const nasty = fc.string({
    unit: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', 'a', ' ', '\n'),
    maxLength: 12,
  });

  it('property: in an X archive, one corrupted tweet never loses another', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(nasty, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        jsonCorruption,
        fc.constantFrom('line' as const, 'pretty' as const),
        fc.integer({ min: 1, max: 64 }),
        async (texts, pick, how, layout, size) => {
          const bad = pick % texts.length;
          const elements = texts.map((text, i) => {
            const json =
              layout === 'pretty'
                ? JSON.stringify(tweet(String(1000 + i), text), null, 2).replace(/^/gm, '  ')
                : JSON.stringify(tweet(String(1000 + i), text));
            return i === bad ? corruptJson(json, how) : json;
          });
          const body = `window.YTD.tweets.part0 = [\n${elements.join(',\n')}\n]\n`;
          const items = await collect(
            readXArchive({ kind: 'bytes', source: chunked(body, size), label: null }, OPTIONS),
          );
          const others = texts.flatMap((_, i) => (i === bad ? [] : [String(1000 + i)]));
          const read = items.flatMap((i) => (i.kind === 'record' ? [i.value.external_id] : []));
          expect(read.filter((id) => others.includes(id as string))).toEqual(others);
          const badLine = `window.YTD.tweets.part0 = [\n${elements
            .slice(0, bad)
            .map((e) => `${e},\n`)
            .join('')}`.split('\n').length;
          expect(items.map((i) => i.line)).toContain(badLine);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('scanJson: insignificant bytes are bounded by the record limit', () => {
  const LIMIT = { maxRecordBytes: 4096 };

  /** `body` in 1 KiB chunks, counting the bytes the scanner pulled. */
  function metered(body: string): { source: Readable; pulled: () => number } {
    let pulled = 0;
    const bytes = Buffer.from(body);
    function* source(): Generator<Buffer> {
      for (let at = 0; at < bytes.length; at += 1024) {
        const chunk = bytes.subarray(at, at + 1024);
        pulled += chunk.length;
        yield chunk;
      }
    }
    return { source: Readable.from(source()), pulled: () => pulled };
  }

  const summary = (items: ParsedItem[]) =>
    items.map((i) =>
      i.kind === 'record' ? i.value.external_id : [i.line, i.reason, i.refusesFile ?? false],
    );

  it("refuses the review's bomb (an array of nothing but spaces) without reading it to the end", async () => {
    const { source, pulled } = metered(`window.YTD.tweets.part0 = [${' '.repeat(1 << 20)}]`);
    const items = await collect(readXArchive({ kind: 'bytes', source, label: null }, LIMIT));
    expect(summary(items)).toEqual([
      [
        1,
        'more than 4096 bytes of whitespace in a row between values (lines 1–1), past the record limit (IMPORT_MAX_RECORD_BYTES): not a platform export',
        true,
      ],
    ]);
    // The stream reads a few chunks ahead; the megabyte after them is never pulled.
    expect(pulled()).toBeLessThan(64 * 1024);
  });

  it('keeps the records before a run of blank lines, then refuses the file from where the run began', async () => {
    const body = `window.YTD.tweets.part0 = [\n${JSON.stringify(tweet('1'))},\n${'\n'.repeat(5000)}${JSON.stringify(tweet('2'))}\n]`;
    for (const size of [7, body.length]) {
      const items = await collect(
        readXArchive({ kind: 'bytes', source: chunked(body, size), label: null }, LIMIT),
      );
      expect(summary(items)).toEqual([
        '1',
        [
          2,
          expect.stringMatching(
            /^more than 4096 bytes of whitespace in a row between values \(lines 2–4099\)/,
          ) as unknown,
          true,
        ],
      ]);
    }
  });

  it('counts blanks before the document and after it too (semicolons included)', async () => {
    for (const body of [`${' '.repeat(5000)}[{"id":1}]`, `[{"id":1}]${'; \n'.repeat(2000)}`]) {
      const events: ScanEvent[] = await collect(
        scanJson(chunked(body, 100), { ...LIMIT, isTarget: (p) => p.length === 0 }),
      );
      const problems = events.flatMap((e) => (e.kind === 'problem' ? [e.item] : []));
      expect(problems).toEqual([
        expect.objectContaining({
          refusesFile: true,
          reason: expect.stringContaining('more than 4096 bytes of whitespace') as unknown,
        }),
      ]);
    }
  });

  it('leaves alone blanks inside strings, and indentation that any non-blank byte interrupts', async () => {
    const pretty = JSON.stringify(
      { note: ' '.repeat(10_000), items: [{ id: 1, pad: ' '.repeat(3000) }, { id: 2 }] },
      null,
      2,
    );
    const events: ScanEvent[] = await collect(
      scanJson(chunked(pretty, 512), {
        maxRecordBytes: 65536,
        isTarget: (p) => formatPath(p) === 'items',
      }),
    );
    expect(
      events.map((e) =>
        e.kind === 'element' && e.item.kind === 'record' ? e.item.value.id : e.kind,
      ),
    ).toEqual([1, 2]);
  });
});
