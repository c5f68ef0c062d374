import { Readable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../workspaces/workspaces.service.js';
import { AppError } from '../../errors.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { buildZip, type ZipInput } from '../../../test/fixtures/exports/zip-writer.js';
import { failedImportOf, importPosts } from './import.service.js';
import { prepareFileImport, prepareStreamImport, type PrepareOptions } from './import-source.js';
import {
  openArchive,
  RATIO_GRACE_BYTES,
  type ArchiveEntry,
  type ArchiveLimits,
} from './zip-archive.js';

const PREFIX = 'window.YTD.tweets.part0 = [';

/** X's tweets.js as X writes it: pretty-printed, one `{ "tweet" : {…} }` per element. */
function tweetsJs(from: number, count: number, part = 0): string {
  const tweets = Array.from({ length: count }, (_, i) => tweet(from + i));
  return `window.YTD.tweets.part${part} = ${JSON.stringify(tweets, null, 2)}`;
}

function tweet(n: number): Record<string, unknown> {
  return {
    tweet: {
      id_str: String(1_700_000_000_000_000_000n + BigInt(n)),
      created_at: 'Wed Oct 10 20:19:24 +0000 2018',
      full_text: `Tweet number ${n}, with some words about launch day ${n % 97}`,
      favorite_count: String(n % 50),
      retweet_count: '0',
      lang: 'en',
      entities: { hashtags: [], symbols: [], user_mentions: [], urls: [] },
    },
  };
}

/** The security review's bomb, smaller: `[`, megabytes of spaces, `]`, deflated about 1000:1. */
const spaceBomb = (bytes: number): string => `${PREFIX}${' '.repeat(bytes)}]`;

/** The zip without its end-of-central-directory record: read from its local headers. */
const cutDirectory = (zip: Buffer): Buffer => zip.subarray(0, zip.length - 22);

describe.skipIf(databaseUnavailable() !== '')('zip imports are bounded', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'socialpulse-zip-limits-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  let workspaces = 0;
  const workspace = () =>
    createWorkspace(db.pool, `zip limits ${(workspaces += 1)}`, null, {
      userId: null,
      label: 'test',
    });

  /** Uploads `zip` as the API does and imports it; the run's stored row, and the error if any. */
  async function importZip(
    body: Buffer,
    fileName: string,
    limits: Partial<ArchiveLimits> = {},
    maxRecordBytes = 65536,
  ) {
    const ws = await workspace();
    const options: PrepareOptions = { limits };
    const prepared = await prepareStreamImport(Readable.from([body]), fileName, options);
    let error: AppError | null = null;
    try {
      await importPosts(db.pool, prepared, {
        workspaceId: ws.id,
        source: 'test',
        batchSize: 100,
        maxRecordBytes,
      });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      error = e;
    } finally {
      await prepared.close();
    }
    const run = (
      await db.adminPool.query<{
        id: string;
        status: string;
        error: string | null;
        records_read: number;
        inserted: number;
      }>('SELECT id, status, error, records_read, inserted FROM imports WHERE workspace_id = $1', [
        ws.id,
      ])
    ).rows;
    expect(run).toHaveLength(1);
    return { run: run[0] as NonNullable<(typeof run)[0]>, error, workspaceId: ws.id };
  }

  const postCount = async (workspaceId: string) =>
    (
      await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM posts WHERE workspace_id = $1',
        [workspaceId],
      )
    ).rows[0]?.n;

  it("the review's bomb (spaces inflating 1000:1) fails the run, naming the entry and the ratio limit", async () => {
    const zip = buildZip([
      { name: 'data/tweets.js', data: spaceBomb(8 * 1024 * 1024), deflate: true },
    ]).zip;
    expect(zip.length).toBeLessThan(64 * 1024);
    const { run, error } = await importZip(zip, 'bomb.zip');

    expect(error?.code).toBe('payload_too_large');
    expect(error?.message).toMatch(
      /^bomb\.zip:data\/tweets\.js declares \d+ bytes once inflated from \d+ \(\d+:1\), more than the limit of 100:1 \(IMPORT_MAX_COMPRESSION_RATIO\)/,
    );
    expect(error?.details).toMatchObject({
      file: 'bomb.zip:data/tweets.js',
      entry: 'data/tweets.js',
      limit: 100,
      setting: 'IMPORT_MAX_COMPRESSION_RATIO',
      import: { id: run.id, status: 'failed', read: 0 },
    });
    expect(failedImportOf(error)?.id).toBe(run.id);
    expect(run).toMatchObject({ status: 'failed', error: error?.message, records_read: 0 });
  });

  it('sizes a zip does not declare (cut short, sizes after the data) are counted as they inflate', async () => {
    const zip = cutDirectory(
      buildZip(
        [
          { name: 'data/tweets.js', data: spaceBomb(8 * 1024 * 1024), deflate: true },
          { name: 'data/account.js', data: 'window.YTD.account.part0 = []' },
        ],
        { dataDescriptors: true },
      ).zip,
    );
    // A record limit past the spaces: the zip limits, not the scanner, stop this one.
    const { run, error } = await importZip(zip, 'cut.zip', {}, 16 * 1024 * 1024);

    expect(error?.code).toBe('payload_too_large');
    expect(error?.message).toMatch(
      /^cut\.zip:data\/tweets\.js inflated past \d+ bytes from \d+ \(\d+:1\), more than the limit of 100:1 \(IMPORT_MAX_COMPRESSION_RATIO\)/,
    );
    expect(run).toMatchObject({ status: 'failed', error: error?.message });
  });

  it('inflation stops at the limit crossed, not at the end of the entry', async () => {
    const file = path.join(dir, 'stops.zip');
    await writeFile(
      file,
      cutDirectory(
        buildZip([{ name: 'data/tweets.js', data: spaceBomb(16 * 1024 * 1024), deflate: true }], {
          dataDescriptors: true,
        }).zip,
      ),
    );
    const archive = await openArchive(file, { label: 'stops.zip' });
    let read = 0;
    let failure: unknown = null;
    try {
      for await (const chunk of await (archive.entries[0] as ArchiveEntry).open())
        read += chunk.length;
    } catch (error) {
      failure = error;
    }
    await archive.close();
    expect(failure).toBeInstanceOf(AppError);
    expect(archive.limitExceeded?.()).toBe(failure);
    // The chunk that crosses 100:1 (past the grace) ends it: nowhere near the 16 MiB inside.
    expect(read).toBeGreaterThan(RATIO_GRACE_BYTES);
    expect(read).toBeLessThan(2 * 1024 * 1024);
  });

  it('an X archive within the inflated-bytes budget imports; one over it fails at the entry that crosses it', async () => {
    const first = tweetsJs(0, 600);
    const second = tweetsJs(600, 600, 1);
    const inputs: ZipInput[] = [
      { name: 'data/tweets.js', data: first, deflate: true },
      { name: 'data/tweets-part1.js', data: second, deflate: true },
    ];
    const zip = buildZip(inputs).zip;
    const total = Buffer.byteLength(first) + Buffer.byteLength(second);

    const fits = await importZip(zip, 'x.zip', { maxInflatedBytes: total });
    expect(fits.error).toBeNull();
    expect(fits.run).toMatchObject({ status: 'completed', inserted: 1200 });

    const over = await importZip(zip, 'x.zip', { maxInflatedBytes: total - 1 });
    expect(over.error?.code).toBe('payload_too_large');
    expect(over.error?.message).toBe(
      `x.zip:data/tweets-part1.js declares ${Buffer.byteLength(second)} bytes once inflated, more than the limit of ${total - 1} inflated bytes per import (IMPORT_MAX_INFLATED_BYTES) with the ${Buffer.byteLength(first)} bytes of the entries read before it`,
    );
    expect(over.error?.details).toMatchObject({
      file: 'x.zip:data/tweets-part1.js',
      limit: total - 1,
      setting: 'IMPORT_MAX_INFLATED_BYTES',
    });
    expect(over.run).toMatchObject({ status: 'failed', error: over.error?.message });
    // What was written before the failure stays, and the run says how much.
    expect(over.run.inserted).toBeLessThanOrEqual(600);
    expect(await postCount(over.workspaceId)).toBe(over.run.inserted);
  });

  it('an entry whose size is not declared is cut off at the inflated-bytes limit', async () => {
    const body = tweetsJs(0, 400);
    const zip = cutDirectory(
      buildZip([{ name: 'data/tweets.js', data: body, deflate: true }], { dataDescriptors: true })
        .zip,
    );
    const { run, error } = await importZip(zip, 'cut.zip', { maxInflatedBytes: 20_000 });
    expect(error?.message).toMatch(
      /^cut\.zip:data\/tweets\.js inflated past \d+ bytes, more than the limit of 20000 inflated bytes per import \(IMPORT_MAX_INFLATED_BYTES\)$/,
    );
    expect(run).toMatchObject({ status: 'failed', error: error?.message });
  });

  it('a zip with more entries than the limit fails the run, naming the limit', async () => {
    const media = (n: number): ZipInput[] =>
      Array.from({ length: n }, (_, i) => ({
        name: `data/tweets_media/17000000000000000${String(i).padStart(2, '0')}-abc.jpg`,
        data: Buffer.alloc(16, i),
      }));
    const tweetsFirst = buildZip([
      { name: 'data/tweets.js', data: tweetsJs(0, 3) },
      ...media(30),
    ]).zip;

    const within = await importZip(tweetsFirst, 'x.zip', { maxArchiveEntries: 31 });
    expect(within.run).toMatchObject({ status: 'completed', inserted: 3 });

    const over = await importZip(tweetsFirst, 'x.zip', { maxArchiveEntries: 10 });
    expect(over.error?.code).toBe('payload_too_large');
    expect(over.error?.message).toBe(
      'x.zip: the zip holds 31 entries, more than the limit of 10 (IMPORT_MAX_ARCHIVE_ENTRIES)',
    );
    expect(over.run).toMatchObject({ status: 'failed', error: over.error?.message });
    expect(await postCount(over.workspaceId)).toBe(0);

    // When the entries listed do not even tell the format, the limit is still the reason given.
    const mediaFirst = buildZip([
      ...media(30),
      { name: 'data/tweets.js', data: tweetsJs(0, 3) },
    ]).zip;
    await expect(
      prepareStreamImport(Readable.from([mediaFirst]), 'x.zip', {
        limits: { maxArchiveEntries: 10 },
      }),
    ).rejects.toMatchObject({
      code: 'payload_too_large',
      details: { setting: 'IMPORT_MAX_ARCHIVE_ENTRIES', limit: 10 },
    });
  });

  it('a zip on disk (the CLI) is held to the same limits', async () => {
    const file = path.join(dir, 'bomb.zip');
    await writeFile(
      file,
      buildZip([{ name: 'data/tweets.js', data: spaceBomb(4 * 1024 * 1024), deflate: true }]).zip,
    );
    const ws = await workspace();
    const prepared = await prepareFileImport(file);
    try {
      await expect(
        importPosts(db.pool, prepared, {
          workspaceId: ws.id,
          source: 'cli',
          batchSize: 100,
          maxRecordBytes: 65536,
        }),
      ).rejects.toMatchObject({
        code: 'payload_too_large',
        details: { file: `${file}:data/tweets.js`, setting: 'IMPORT_MAX_COMPRESSION_RATIO' },
      });
    } finally {
      await prepared.close();
    }
  });

  it('whitespace between values past the record limit refuses the file, naming the entry, line and limit', async () => {
    // A ratio limit this lax lets the spaces reach the scanner, which must not spin through them.
    const body = `${PREFIX}\n${JSON.stringify(tweet(1))},\n${' '.repeat(200_000)}\n]`;
    const zip = buildZip([{ name: 'data/tweets.js', data: body, deflate: true }]).zip;
    const { run, error } = await importZip(zip, 'gap.zip', { maxCompressionRatio: 100_000 });
    expect(error?.code).toBe('validation_failed');
    expect(error?.message).toMatch(
      /^the file was refused: gap\.zip:data\/tweets\.js line 2: more than 65536 bytes of whitespace in a row between values \(lines 2–3\), past the record limit \(IMPORT_MAX_RECORD_BYTES\)/,
    );
    expect(error?.details).toMatchObject({ file: 'gap.zip:data/tweets.js', line: 2 });
    expect(run).toMatchObject({ status: 'failed', error: error?.message });
  });

  it('a tweets.js uploaded on its own is refused the same way', async () => {
    const ws = await workspace();
    const body = `${PREFIX}${'\n'.repeat(100_000)}]`;
    const prepared = await prepareStreamImport(Readable.from([Buffer.from(body)]), 'tweets.js');
    expect(prepared.format).toBe('x-archive');
    await expect(
      importPosts(db.pool, prepared, {
        workspaceId: ws.id,
        source: 'api',
        batchSize: 100,
        maxRecordBytes: 65536,
      }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      details: {
        file: 'tweets.js',
        line: 1,
        reason: expect.stringContaining('IMPORT_MAX_RECORD_BYTES') as unknown,
        import: { status: 'failed', read: 0 },
      },
    });
  });

  it('a large real-shaped X archive, with its media entries, imports under the default limits', async () => {
    const media: ZipInput[] = Array.from({ length: 2000 }, (_, i) => ({
      name: `data/tweets_media/${1_700_000_000_000_000_000n + BigInt(i)}-m${i}.jpg`,
      data: Buffer.alloc(64, i % 251),
    }));
    const zip = buildZip([
      { name: 'data/manifest.js', data: 'window.__THAR_CONFIG = {}' },
      { name: 'data/tweets.js', data: tweetsJs(0, 3000), deflate: true },
      { name: 'data/tweets-part1.js', data: tweetsJs(3000, 3000, 1), deflate: true },
      ...media,
    ]).zip;
    const { run, error } = await importZip(zip, 'twitter-2024.zip');
    expect(error).toBeNull();
    expect(run).toMatchObject({ status: 'completed', records_read: 6000, inserted: 6000 });
  });
});
