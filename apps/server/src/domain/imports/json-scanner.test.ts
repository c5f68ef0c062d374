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
