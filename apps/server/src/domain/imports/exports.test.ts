import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ImportFormat } from '@socialpulse/contracts';
import { buildZip } from '../../../test/fixtures/exports/zip-writer.js';
import {
  readCount,
  readDay,
  readUtcDateTime,
  readXDate,
  fixMetaMojibake,
} from './export-values.js';
import {
  exportFormatFromFileName,
  peekStream,
  prepareFileImport,
  prepareStreamImport,
  sniffExportFormat,
} from './import-source.js';
import { scanJson } from './json-scanner.js';
import type { ParsedItem } from './parsed-item.js';
import { readInstagramExport } from './instagram-export.js';
import { readTiktokExport } from './tiktok-export.js';
import { readXArchive } from './x-archive.js';
import { readYoutubeStudio, readYoutubeTakeout } from './youtube-export.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/exports/', import.meta.url));
const fixture = (name: string): string => path.join(fixtures, name);
const OPTIONS = { maxRecordBytes: 1 << 20 };

async function collect(items: AsyncGenerator<ParsedItem>): Promise<ParsedItem[]> {
  const out: ParsedItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}
const shortName = (file: string): string =>
  file.startsWith(fixtures) ? file.slice(fixtures.length) : file;
const records = (items: ParsedItem[]) => items.flatMap((i) => (i.kind === 'record' ? [i] : []));
const problems = (items: ParsedItem[]) =>
  items.flatMap((i) =>
    i.kind === 'problem'
      ? [
          {
            file: i.file ? shortName(i.file) : undefined,
            line: i.line,
            field: i.field,
            reason: i.reason,
          },
        ]
      : [],
  );

async function readFixture(
  name: string,
  format?: ImportFormat,
): Promise<{ format: string; items: ParsedItem[] }> {
  const prepared = await prepareFileImport(fixture(name), { format });
  try {
    if (!prepared.items) throw new Error(`${name} was not read as an export`);
    return { format: prepared.format, items: await collect(prepared.items(OPTIONS)) };
  } finally {
    await prepared.close();
  }
}

/** Splits bytes into chunks at the given cut points, as a network would. */
function* chunked(bytes: Buffer, cuts: readonly number[]): Generator<Buffer> {
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= from || cut >= bytes.length) continue;
    yield bytes.subarray(from, cut);
    from = cut;
  }
  yield bytes.subarray(from);
}

describe('export values', () => {
  it('reads counts strictly: digits or whole numbers, empty is unknown, never 0', () => {
    expect(readCount('12')).toEqual({ ok: true, value: 12 });
    expect(readCount(7)).toEqual({ ok: true, value: 7 });
    expect(readCount('')).toEqual({ ok: true, value: null });
    expect(readCount(undefined)).toEqual({ ok: true, value: null });
    expect(readCount('-3')).toEqual({ ok: false, reason: 'must not be negative' });
    for (const bad of ['1,234', '12k', '1.5', 1.5, '0x10', ' ', 'NaN', true]) {
      if (bad === ' ') expect(readCount(bad)).toEqual({ ok: true, value: null });
      else expect(readCount(bad).ok).toBe(false);
    }
    expect(readCount('99999999999999999999').ok).toBe(false);
    expect(readCount('12.0', { allowZeroFraction: true })).toEqual({ ok: true, value: 12 });
  });

  it("reads X's, TikTok's and YouTube Studio's dates and refuses impossible ones", () => {
    expect(readXDate('Wed Oct 10 20:19:24 +0000 2018')).toBe('2018-10-10T20:19:24Z');
    expect(readXDate('Thu Oct 11 09:00:00 +0200 2018')).toBe('2018-10-11T07:00:00Z');
    expect(readXDate('Sat Feb 30 10:00:00 +0000 2019')).toBeNull();
    expect(readXDate('Wed Oct 10 25:19:24 +0000 2018')).toBeNull();
    expect(readXDate('2018-10-10T20:19:24Z')).toBe('2018-10-10T20:19:24Z');
    expect(readUtcDateTime('2023-01-01 12:00:00')).toBe('2023-01-01T12:00:00Z');
    expect(readUtcDateTime('2023-02-30 10:00:00')).toBeNull();
    expect(readDay('Jan 15, 2023')).toBe('2023-01-15T00:00:00Z');
    expect(readDay('15 Jan 2023')).toBe('2023-01-15T00:00:00Z');
    expect(readDay('2023-01-15')).toBe('2023-01-15T00:00:00Z');
    expect(readDay('Smarch 3, 2023')).toBeNull();
  });

  it("repairs Meta's mojibake but leaves real Latin-1 text alone", () => {
    expect(fixMetaMojibake(Buffer.from('café ☕', 'utf8').toString('latin1'))).toBe('café ☕');
    expect(fixMetaMojibake('café')).toBe('café');
    expect(fixMetaMojibake('plain')).toBe('plain');
  });
});

describe('format detection', () => {
  it('recognises exports by their first bytes and their file names', () => {
    expect(sniffExportFormat(Buffer.from('window.YTD.tweets.part0 = ['))).toBe('x-archive');
    expect(sniffExportFormat(Buffer.from('\uFEFF[\n  {"media": [{"uri": "a.jpg"'))).toBe(
      'instagram-export',
    );
    expect(sniffExportFormat(Buffer.from('{\n "ig_reels_media": ['))).toBe('instagram-export');
    expect(sniffExportFormat(Buffer.from('{\n  "Activity": {'))).toBe('tiktok-export');
    expect(sniffExportFormat(Buffer.from('{"Your Activity": {}}'))).toBe('tiktok-export');
    expect(
      sniffExportFormat(Buffer.from('Video ID,Approx Duration (ms),Video Create Timestamp\r\n')),
    ).toBe('youtube-takeout');
    expect(sniffExportFormat(Buffer.from('Content,Video title,Video publish time,Views\n'))).toBe(
      'youtube-studio',
    );
    // The generic format is not mistaken for an export.
    expect(
      sniffExportFormat(
        Buffer.from('[{"platform":"x","external_id":"1","created_at":"2024-01-01T00:00:00Z"}]'),
      ),
    ).toBeNull();
    expect(sniffExportFormat(Buffer.from('platform,external_id,created_at\n'))).toBeNull();
    expect(exportFormatFromFileName('data/tweets-part2.js')).toBe('x-archive');
    expect(exportFormatFromFileName('deleted-tweets.js')).toBeNull();
    expect(exportFormatFromFileName('user_data_tiktok.json')).toBe('tiktok-export');
    expect(exportFormatFromFileName('Table data.csv')).toBe('youtube-studio');
  });

  it('opens each sample zip as its export, and lets an explicit format win', async () => {
    const formats: Record<string, string> = {
      'x-archive.zip': 'x-archive',
      'x-archive-no-tweets.zip': 'x-archive',
      'x-archive-truncated.zip': 'x-archive',
      'instagram-export.zip': 'instagram-export',
      'tiktok-export.zip': 'tiktok-export',
      'youtube-takeout.zip': 'youtube-takeout',
      'youtube-studio.zip': 'youtube-studio',
      'x-archive/data/tweets.js.txt': 'x-archive',
      'instagram-posts_1.json': 'instagram-export',
      'tiktok/user_data.json': 'tiktok-export',
    };
    for (const [name, format] of Object.entries(formats))
      expect((await readFixture(name)).format, name).toBe(format);
    // Forced: the Takeout zip read as an X archive finds no tweets, and says so.
    const forced = await readFixture('youtube-takeout.zip', 'x-archive');
    expect(problems(forced.items)).toEqual([
      {
        file: 'youtube-takeout.zip',
        line: 0,
        field: null,
        reason: expect.stringContaining('no data/tweets.js') as unknown,
      },
    ]);
  });

  it('refuses a zip with no known export, and a zip forced into a generic format', async () => {
    const { zip } = buildZip([{ name: 'notes.txt', data: 'hello' }]);
    await expect(prepareStreamImport(Readable.from([zip]), 'other.zip')).rejects.toMatchObject({
      code: 'unsupported_media_type',
    });
    await expect(
      prepareStreamImport(Readable.from([zip]), 'other.zip', { format: 'csv' }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      prepareStreamImport(Readable.from([Buffer.from('just words')]), null),
    ).rejects.toMatchObject({ code: 'unsupported_media_type' });
  });

  it('peeks without losing bytes and defers a source failure until after them', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield await Promise.resolve(Buffer.from('abc'));
      throw new Error('too large');
    }
    const { head, stream } = await peekStream(failing(), 10);
    expect(head.toString()).toBe('abc');
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.toString());
      })(),
    ).rejects.toThrow('too large');
    expect(seen).toEqual(['abc']);
  });
});

describe('X archive', () => {
  it('maps tweets of every part in order, with the account and generation time, and rejects bad ones precisely', async () => {
    const { items } = await readFixture('x-archive.zip');
    const got = records(items);
    expect(got.map((r) => r.value.external_id)).toEqual([
      '1700000000000000001',
      '1700000000000000002',
      '1700000000000000008',
      '1700000000000000009',
      '1700000000000000010',
    ]);
    expect({ ...got[0]?.value }).toEqual({
      platform: 'x',
      external_id: '1700000000000000001',
      created_at: '2018-10-10T20:19:24Z',
      text: 'Launch day for our invented gadget',
      likes: 12,
      shares: 3,
      language: 'en',
      media_type: 'image',
      url: 'https://x.com/sample_pulse/status/1700000000000000001',
      account_handle: 'sample_pulse',
      account_external_id: '1000000001',
      author: 'Sample Pulse',
      metrics_captured_at: '2024-03-01T08:00:00.000Z',
    });
    // `und` is no language; a tweet without counts keeps them unknown.
    expect(got[1]?.value.language).toBeUndefined();
    expect(got[2]?.value.likes).toBeUndefined();
    expect(JSON.parse(got[0]?.rawJson ?? '{}')).toMatchObject({
      tweet: { id_str: '1700000000000000001', favorite_count: '12' },
    });
    expect(shortName(got[3]?.file ?? '')).toBe('x-archive.zip:data/tweets-part1.js');
    expect(problems(items)).toEqual([
      {
        file: 'x-archive.zip:data/tweets.js',
        line: 4,
        field: '[2]',
        reason: expect.stringMatching(/^malformed JSON/) as unknown,
      },
      {
        file: 'x-archive.zip:data/tweets.js',
        line: 5,
        field: '[3].tweet.created_at',
        reason: 'created_at is not a real date in X\'s format ("Wed Oct 10 20:19:24 +0000 2018")',
      },
      {
        file: 'x-archive.zip:data/tweets.js',
        line: 6,
        field: '[4].tweet.favorite_count',
        reason: 'likes (favorite_count) must not be negative',
      },
      {
        file: 'x-archive.zip:data/tweets.js',
        line: 7,
        field: '[5].tweet.favorite_count',
        reason: 'likes (favorite_count) must be a whole number written with digits only',
      },
      {
        file: 'x-archive.zip:data/tweets.js',
        line: 8,
        field: '[6].tweet.full_text',
        reason: 'contains a NUL character (U+0000), which cannot be stored',
      },
    ]);
    // deleted-tweets.js is not read.
    expect(got.some((r) => r.value.external_id === '1700000000000000099')).toBe(false);
  });

  it('recovers the tweets before the cut of a truncated zip and reports the cut', async () => {
    const { items } = await readFixture('x-archive-truncated.zip');
    expect(records(items).map((r) => r.value.external_id)).toEqual([
      '1700000000000000001',
      '1700000000000000002',
    ]);
    // The account still came from account.js.
    expect(records(items)[0]?.value.account_handle).toBe('sample_pulse');
    const found = problems(items);
    expect(found[0]).toMatchObject({
      file: 'x-archive-truncated.zip',
      line: 0,
      reason: expect.stringContaining('central directory is missing') as unknown,
    });
    expect(found.at(-1)).toMatchObject({
      file: 'x-archive-truncated.zip:data/tweets.js',
      reason: expect.stringContaining('unexpected end of file') as unknown,
    });
  });

  it('reads a bare tweets.js (no account: x.com/i/web URLs) and rejects a raw NUL byte alone', async () => {
    const bare = records((await readFixture('x-archive/data/tweets.js.txt')).items);
    expect(bare).toHaveLength(3);
    expect(bare[0]?.value.url).toBe('https://x.com/i/web/status/1700000000000000001');
    expect(bare[0]?.value.metrics_captured_at).toBeUndefined();
    const nul = await readFixture('tweets-with-nul-byte.js.txt');
    expect(records(nul.items).map((r) => r.value.external_id)).toEqual(['1700000000000000009']);
    expect(problems(nul.items)).toEqual([
      { file: undefined, line: 3, field: '[1]', reason: 'contains a NUL byte' },
    ]);
  });

  it('refuses a file without the window.YTD assignment', async () => {
    const items = await collect(
      readXArchive({ kind: 'bytes', source: ['[{"tweet":{}}]'], label: null }, OPTIONS),
    );
    expect(problems(items)).toEqual([
      {
        file: undefined,
        line: 1,
        field: null,
        reason: expect.stringContaining('JavaScript assignment') as unknown,
      },
    ]);
  });
});

describe('Instagram, TikTok and YouTube exports', () => {
  it('Instagram: posts and reels with the profile, ids from media file names, no metrics', async () => {
    const { items } = await readFixture('instagram-export.zip');
    const got = records(items);
    expect(got.map((r) => [r.value.external_id, r.value.media_type])).toEqual([
      ['17900000000000001', 'image'],
      ['17900000000000002', 'carousel'],
      ['17900000000000005', 'video'],
      [expect.stringMatching(/^export-[0-9a-f]{24}$/), 'image'],
      ['17900000000000010', 'reel'],
    ]);
    expect(got[1]?.value.text).toBe('A carousel of café ☕');
    for (const r of got) {
      expect(r.value.account_handle).toBe('sample.pulse');
      for (const metric of ['likes', 'comments', 'shares', 'views', 'saves', 'impressions'])
        expect(r.value[metric]).toBeUndefined();
    }
    expect(problems(items)).toEqual([
      {
        file: 'instagram-export.zip:your_instagram_activity/content/posts_1.json',
        line: 4,
        field: '[2].media[0].creation_timestamp',
        reason: 'creation_timestamp is not a Unix time in seconds',
      },
    ]);
  });

  it('TikTok: own videos in both layouts, never the watch history; Likes as strings read strictly', async () => {
    const old = await readFixture('tiktok/user_data.json');
    expect(records(old.items).map((r) => [r.value.external_id, r.value.likes, r.line])).toEqual([
      ['7100000000000000001', 12, 32],
      ['7100000000000000006', undefined, 64],
    ]);
    expect(problems(old.items).map((p) => [p.line, p.field, p.reason])).toEqual([
      [
        40,
        'Video.Videos.VideoList[1].Date',
        'Date is not a real date and time ("2023-01-01 12:00:00")',
      ],
      [46, 'Video.Videos.VideoList[2].Likes', 'likes (Likes) must not be negative'],
      [
        52,
        'Video.Videos.VideoList[3].Likes',
        'likes (Likes) must be a whole number written with digits only',
      ],
      [
        58,
        'Video.Videos.VideoList[4].Link',
        'Link is required and must contain the video id (…/video/<id>)',
      ],
    ]);
    const newer = await readFixture('tiktok-export.zip');
    expect(
      records(newer.items).map((r) => [r.value.external_id, r.value.likes, r.value.url]),
    ).toEqual([
      [
        '7300000000000000001',
        250,
        'https://www.tiktok.com/@sample.pulse/video/7300000000000000001',
      ],
      ['7300000000000000002', 0, 'https://www.tiktok.com/@sample.pulse/video/7300000000000000002'],
    ]);
    const empty = await collect(
      readTiktokExport(
        {
          kind: 'bytes',
          source: [
            '{"Activity": {"Watch History": {"VideoList": [{"Date": "2024-01-01 00:00:00"}]}}}',
          ],
          label: null,
        },
        OPTIONS,
      ),
    );
    expect(records(empty)).toEqual([]);
    expect(problems(empty)[0]?.reason).toContain('no videos of the account');
  });

  it('YouTube Takeout and Studio: ids, dates, Studio metrics, the Total row skipped', async () => {
    const takeout = await readFixture('youtube-takeout.zip');
    expect(
      records(takeout.items).map((r) => [
        r.value.external_id,
        r.value.created_at,
        r.value.author,
        r.line,
      ]),
    ).toEqual([
      ['AbCdEfGhIj1', '2023-01-15T12:00:00Z', 'Sample Pulse', 2],
      ['AbCdEfGhIj2', '2023-02-01T08:00:00Z', 'Sample Pulse', 4],
    ]);
    expect(problems(takeout.items).map((p) => [p.line, p.field])).toEqual([
      [5, 'Video Create Timestamp'],
      [6, 'Video ID'],
    ]);
    const studio = await readFixture('youtube-studio.zip');
    expect(
      records(studio.items).map((r) => [
        r.value.external_id,
        r.value.views,
        r.value.impressions,
        r.value.likes,
        r.value.metrics_captured_at,
        r.value.text,
      ]),
    ).toEqual([
      // Published within the zip's period (2023-01-01_2023-12-31): lifetime counts on its last day.
      ['AbCdEfGhIj1', 1200, 15000, undefined, '2023-12-31T23:59:59Z', 'How to test imports'],
      ['AbCdEfGhIj2', 0, 0, undefined, '2023-12-31T23:59:59Z', 'A draft'],
    ]);
    expect(problems(studio.items).map((p) => [p.line, p.field, p.reason])).toEqual([
      [5, 'Views', 'views (Views) must not be negative'],
      [6, 'Views', 'views (Views) must be a whole number written with digits only'],
      [7, 'Video publish time', 'Video publish time is not a date ("Jan 5, 2023" or "2023-01-05")'],
    ]);
  });
});

describe('property: garbage never crashes a reader nor loses the valid records around it', () => {
  const tweet = (i: number): string =>
    JSON.stringify({
      tweet: {
        id_str: String(1_000 + i),
        created_at: 'Wed Oct 10 20:19:24 +0000 2018',
        full_text: `t${i}`,
        favorite_count: String(i),
      },
    });
  // Garbage that stays inside one element: no bracket, brace, quote or comma can leak out of it.
  const garbage = fc
    .string({ maxLength: 40 })
    .map((s) => `{"tweet": ${JSON.stringify(s)} ${s.replace(/["[\]{},\\]/g, '')}}`);

  it('X: valid tweets around malformed elements all arrive, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(garbage, { nil: null, freq: 2 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(4000), { maxLength: 6 }),
        async (slots, cuts) => {
          const elements = slots.map((g, i) => g ?? tweet(i));
          const text = `window.YTD.tweets.part0 = [\n${elements.join(',\n')}\n]`;
          const items = await collect(
            readXArchive(
              { kind: 'bytes', source: chunked(Buffer.from(text), cuts), label: null },
              OPTIONS,
            ),
          );
          const expected = slots.flatMap((g, i) => (g === null ? [String(1_000 + i)] : []));
          expect(records(items).map((r) => r.value.external_id)).toEqual(expected);
          expect(items).toHaveLength(slots.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('any bytes at all: every reader ends with records and problems only, never a throw', async () => {
    const readers = [
      readXArchive,
      readInstagramExport,
      readTiktokExport,
      readYoutubeTakeout,
      readYoutubeStudio,
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(...readers),
        async (bytes, read) => {
          const items = await collect(
            read({ kind: 'bytes', source: [Buffer.from(bytes)], label: null }, OPTIONS),
          );
          for (const item of items) expect(['record', 'problem']).toContain(item.kind);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('TikTok and Instagram: garbage elements between valid ones are rejected alone', async () => {
    const video = (i: number): string =>
      JSON.stringify({
        Date: '2023-01-01 12:00:00',
        Link: `https://www.tiktokv.com/share/video/71000000000000${String(i).padStart(5, '0')}/`,
        Likes: String(i),
      });
    const post = (i: number): string =>
      JSON.stringify({
        media: [
          { uri: `media/posts/p${i}.jpg`, creation_timestamp: 1672574400 + i, title: `p${i}` },
        ],
      });
    const junk = fc
      .string({ maxLength: 30 })
      .map((s) => `{"x": ${JSON.stringify(s)} ${s.replace(/["[\]{},\\]/g, '')}}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(junk, { nil: null, freq: 2 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(2000), { maxLength: 5 }),
        async (slots, cuts) => {
          const tiktok = `{"Profile": {"Profile Info": {"ProfileMap": {"userName": "a"}}}, "Video": {"Videos": {"VideoList": [${slots.map((g, i) => g ?? video(i)).join(',')}]}}}`;
          const t = await collect(
            readTiktokExport(
              { kind: 'bytes', source: chunked(Buffer.from(tiktok), cuts), label: null },
              OPTIONS,
            ),
          );
          expect(records(t).length).toBe(slots.filter((g) => g === null).length);
          const instagram = `[${slots.map((g, i) => g ?? post(i)).join(',')}]`;
          const ig = await collect(
            readInstagramExport(
              { kind: 'bytes', source: chunked(Buffer.from(instagram), cuts), label: null },
              OPTIONS,
            ),
          );
          expect(records(ig).map((r) => r.value.external_id)).toEqual(
            slots.flatMap((g, i) => (g === null ? [`p${i}`] : [])),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('scanJson finds nested target arrays and scalars across any chunking', async () => {
    const doc = Buffer.from(
      '{"a": {"name": "n\\u00e9", "b": [ {"x": 1}, {"x": 2} ]}, "c": [ {"x": 3} ], "d": [1, [2, {"e": "]"}]]}',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(doc.length), { maxLength: 8 }), async (cuts) => {
        const events = [];
        for await (const e of scanJson(chunked(doc, cuts), {
          ...OPTIONS,
          isTarget: (p) => p.at(-1) === 'b' || p.at(-1) === 'c',
          wantScalar: (p) => p.at(-1) === 'name',
        }))
          events.push(e);
        expect(
          events.map((e) =>
            e.kind === 'element'
              ? [e.path.join('.'), e.item.kind === 'record' ? e.item.value.x : null]
              : e.kind === 'scalar'
                ? ['scalar', e.value]
                : ['problem', e.item.reason],
          ),
        ).toEqual([
          ['scalar', 'né'],
          ['a.b.0', 1],
          ['a.b.1', 2],
          ['c.0', 3],
        ]);
      }),
      { numRuns: 200 },
    );
  });
});
