import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postRecord, toCsv, toJsonl } from '../../../test/support/factories.js';
import { prepareFileImport, prepareStreamImport, type PreparedImport } from './import-source.js';
import { parseCsv } from './csv-parser.js';
import { parseJsonArray } from './json-array-parser.js';
import { parseJsonl } from './jsonl-parser.js';

const OPTIONS = { maxRecordBytes: 65536 };

/** The records a prepared generic import reads, by its format's parser. */
async function recordIds(prepared: PreparedImport): Promise<unknown[]> {
  if (!prepared.stream) throw new Error(`read as ${prepared.format}, an export`);
  const parse =
    prepared.format === 'csv'
      ? parseCsv
      : prepared.format === 'jsonl'
        ? parseJsonl
        : parseJsonArray;
  const out: unknown[] = [];
  for await (const item of parse(prepared.stream, OPTIONS))
    out.push(item.kind === 'record' ? item.value.external_id : item.reason);
  await prepared.close();
  return out;
}

/** A request body, as the API hands it on. */
function upload(body: string): AsyncIterable<Buffer> {
  return Readable.from([Buffer.from(body)]);
}

const records = [postRecord({ external_id: 'g1' }), postRecord({ external_id: 'g2' })];
const asJson = JSON.stringify(records, null, 2);
const asJsonl = toJsonl(records);
const asCsv = toCsv(records);

describe('generic files named as a platform export', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'socialpulse-source-test-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const cases: [name: string, body: string, format: string][] = [
    ['reels.json', asJson, 'json'],
    ['posts_1.json', asJson, 'json'],
    ['stories.json', asJson, 'json'],
    ['user_data.json', asJson, 'json'],
    ['user_data_tiktok.json', asJson, 'json'],
    ['videos.csv', asCsv, 'csv'],
    ['Table data.csv', asCsv, 'csv'],
    ['tweets.js', asJson, 'json'],
    ['tweets-part1.js', asJsonl, 'jsonl'],
  ];

  it.each(cases)('a file %s in the generic format is read as such', async (name, body, format) => {
    const file = path.join(dir, name);
    await writeFile(file, body);
    const fromFile = await prepareFileImport(file);
    expect(fromFile.format).toBe(format);
    expect(await recordIds(fromFile)).toEqual(['g1', 'g2']);

    const fromUpload = await prepareStreamImport(upload(body), name);
    expect(fromUpload.format).toBe(format);
    expect(await recordIds(fromUpload)).toEqual(['g1', 'g2']);
  });

  it('a generic CSV whose extra columns look like a YouTube Studio table is still generic', async () => {
    const body = toCsv(records.map((r) => ({ ...r, content: 'c', views: '3' })));
    const prepared = await prepareStreamImport(upload(body), 'Table data.csv');
    expect(prepared.format).toBe('csv');
    await prepared.close();
  });

  it('generic content alone, with no file name or type to go by, is still refused', async () => {
    await expect(prepareStreamImport(upload(asCsv), null)).rejects.toMatchObject({
      code: 'unsupported_media_type',
    });
    await expect(prepareStreamImport(upload(asJson), 'upload.bin')).rejects.toMatchObject({
      code: 'unsupported_media_type',
    });
  });

  it('platform files are still known by their names when their content is not generic', async () => {
    const takeout = await prepareStreamImport(upload('Video ID,Something\nabc,1\n'), 'videos.csv');
    expect(takeout.format).toBe('youtube-takeout');
    await takeout.close();
    const reels = await prepareStreamImport(upload('[]'), 'reels.json');
    expect(reels.format).toBe('instagram-export');
    await reels.close();
  });
});

describe('prepareFileImport: a path that cannot be read', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'socialpulse-source-test-'));
    await writeFile(path.join(dir, 'plain.csv'), asCsv);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const refusal = async (file: string): Promise<unknown> =>
    prepareFileImport(file).then(
      () => null,
      (error: unknown) => error,
    );

  it('refuses a directory by its name', async () => {
    expect(await refusal(dir)).toMatchObject({
      name: 'AppError',
      code: 'validation_failed',
      message: `${dir}: is a directory, not a file`,
      details: { field: 'file', value: dir },
    });
  });

  it('names the file and the reason for a missing file or path', async () => {
    const missing = path.join(dir, 'nope.csv');
    expect(await refusal(missing)).toMatchObject({
      code: 'validation_failed',
      message: `${missing}: no such file`,
    });
    const underFile = path.join(dir, 'plain.csv', 'inner.csv');
    expect(await refusal(underFile)).toMatchObject({
      code: 'validation_failed',
      message: `${underFile}: a part of the path is not a directory`,
    });
  });

  // Reading this file at offset 0 fails with EIO (address 0 is never mapped), even for root.
  it.skipIf(process.platform !== 'linux')(
    'names the file and the reason for a read error',
    async () => {
      expect(await refusal('/proc/self/mem')).toMatchObject({
        code: 'validation_failed',
        message: '/proc/self/mem: input/output error (a failing disk or network file system?)',
      });
    },
  );
});
