import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportResult } from '@socialpulse/contracts';
import { buildTestApp, callerFor, signUpUser, type Caller } from '../../../../test/support/app.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import { createInspector, type Inspector } from '../../../../test/support/inspect.js';
import { createWorkspace, expectError } from '../../../../test/support/http.js';
import { runCli } from '../../../../test/support/server-process.js';
import type { ZodApp } from '../../types.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/exports/', import.meta.url));

/** What each sample export must give: posts by id with their metrics, and rejects by entry, line and field. */
interface Expectation {
  file: string;
  contentType: string;
  format: string;
  posts: Record<
    string,
    {
      likes?: number | null;
      shares?: number | null;
      views?: number | null;
      impressions?: number | null;
    }
  >;
  rejects: [string | null, number, string | null][];
  /** Metric capture time of the snapshots (the export's generation time), when the export says. */
  capturedAt?: string;
}

const X_ZIP = 'x-archive.zip';
const expectations: Expectation[] = [
  {
    file: X_ZIP,
    contentType: 'application/zip',
    format: 'x-archive',
    posts: {
      '1700000000000000001': { likes: 12, shares: 3 },
      '1700000000000000002': { likes: 0, shares: 0 },
      '1700000000000000008': { likes: null, shares: null },
      '1700000000000000009': { likes: 40, shares: 7 },
      '1700000000000000010': { likes: 1, shares: 0 },
    },
    rejects: [
      ['x-archive.zip:data/tweets.js', 4, '[2]'],
      ['x-archive.zip:data/tweets.js', 5, '[3].tweet.created_at'],
      ['x-archive.zip:data/tweets.js', 6, '[4].tweet.favorite_count'],
      ['x-archive.zip:data/tweets.js', 7, '[5].tweet.favorite_count'],
      ['x-archive.zip:data/tweets.js', 8, '[6].tweet.full_text'],
    ],
    capturedAt: '2024-03-01T08:00:00.000Z',
  },
  {
    file: 'x-archive-truncated.zip',
    contentType: 'application/octet-stream',
    format: 'x-archive',
    posts: { '1700000000000000001': { likes: 12 }, '1700000000000000002': { likes: 0 } },
    rejects: [
      ['x-archive-truncated.zip', 0, null],
      ['x-archive-truncated.zip:data/tweets.js', 4, '[2]'],
      ['x-archive-truncated.zip:data/tweets.js', 5, '[3]'],
      ['x-archive-truncated.zip:data/tweets.js', 5, null],
    ],
  },
  {
    file: 'x-archive-no-tweets.zip',
    contentType: 'application/zip',
    format: 'x-archive',
    posts: {},
    rejects: [['x-archive-no-tweets.zip', 0, null]],
  },
  {
    file: 'instagram-export.zip',
    contentType: 'application/zip',
    format: 'instagram-export',
    posts: {
      '17900000000000001': { likes: null, views: null },
      '17900000000000002': { likes: null },
      '17900000000000005': { likes: null },
      '17900000000000010': { likes: null },
      // No media file to name it: a digest of its time and caption.
      'export-09bb4c8aae8d669084fb08e7': { likes: null },
    },
    rejects: [
      [
        'instagram-export.zip:your_instagram_activity/content/posts_1.json',
        4,
        '[2].media[0].creation_timestamp',
      ],
    ],
  },
  {
    file: 'tiktok/user_data.json',
    contentType: 'application/json',
    format: 'tiktok-export',
    posts: { '7100000000000000001': { likes: 12 }, '7100000000000000006': { likes: null } },
    rejects: [
      ['tiktok/user_data.json', 40, 'Video.Videos.VideoList[1].Date'],
      ['tiktok/user_data.json', 46, 'Video.Videos.VideoList[2].Likes'],
      ['tiktok/user_data.json', 52, 'Video.Videos.VideoList[3].Likes'],
      ['tiktok/user_data.json', 58, 'Video.Videos.VideoList[4].Link'],
    ],
  },
  {
    file: 'tiktok-export.zip',
    contentType: 'application/zip',
    format: 'tiktok-export',
    posts: { '7300000000000000001': { likes: 250 }, '7300000000000000002': { likes: 0 } },
    rejects: [],
  },
  {
    file: 'youtube-takeout.zip',
    contentType: 'application/zip',
    format: 'youtube-takeout',
    posts: { AbCdEfGhIj1: { views: null }, AbCdEfGhIj2: { views: null } },
    rejects: [
      [
        'youtube-takeout.zip:Takeout/YouTube and YouTube Music/videos/video metadata/videos.csv',
        5,
        'Video Create Timestamp',
      ],
      [
        'youtube-takeout.zip:Takeout/YouTube and YouTube Music/videos/video metadata/videos.csv',
        6,
        'Video ID',
      ],
    ],
  },
  {
    file: 'youtube-studio/Table data.csv',
    contentType: 'text/csv',
    format: 'youtube-studio',
    // Alone, the table does not say which period its figures cover: the posts come without
    // them, and one notice on the header line says so.
    posts: {
      AbCdEfGhIj1: { views: null, impressions: null, likes: null },
      AbCdEfGhIj2: { views: null, impressions: null },
    },
    rejects: [
      ['youtube-studio/Table data.csv', 5, 'Views'],
      ['youtube-studio/Table data.csv', 6, 'Views'],
      ['youtube-studio/Table data.csv', 7, 'Video publish time'],
      ['youtube-studio/Table data.csv', 1, 'Views'],
    ],
  },
];

const METRICS = ['likes', 'shares', 'views', 'impressions'] as const;
type PostRow = {
  external_id: string;
  source: string;
  raw: unknown;
  likes: string | null;
  shares: string | null;
  views: string | null;
  impressions: string | null;
};
const asCount = (v: string | null): number | null => (v === null ? null : Number(v));

describe.skipIf(databaseUnavailable() !== '')(
  'platform data exports through the API and the CLI',
  () => {
    let db: TestDatabase;
    let app: ZodApp;
    let api: Caller;
    let inspect: Inspector;
    const dir = mkdtempSync(path.join(tmpdir(), 'sp-exports-'));

    beforeAll(async () => {
      db = await createTestDatabase();
      inspect = createInspector(db);
      app = await buildTestApp(db, { IMPORT_BATCH_SIZE: '2' });
      api = callerFor(app, await signUpUser(app));
    });
    afterAll(async () => {
      await app?.close();
      await inspect?.close();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const postsOf = (workspaceId: string): Promise<PostRow[]> =>
      inspect.rows<PostRow>(
        'SELECT external_id, source, raw, likes, shares, views, impressions FROM posts WHERE workspace_id = $1 ORDER BY external_id',
        [workspaceId],
      );

    /** Checks the posts, metrics (unknown stays null), sources, raw records and snapshots of one export. */
    async function expectImported(
      workspaceId: string,
      e: Expectation,
      importedBy: 'api' | 'cli',
    ): Promise<void> {
      const posts = await postsOf(workspaceId);
      const ids = Object.keys(e.posts);
      const mine = posts.filter((p) => ids.includes(p.external_id));
      expect(mine.map((p) => p.external_id).sort()).toEqual([...ids].sort());
      for (const post of mine) {
        expect(post.source, `${e.file} ${post.external_id} (${importedBy})`).toBe(e.format);
        expect(post.raw).not.toBeNull();
        const want = e.posts[post.external_id] ?? {};
        for (const metric of METRICS)
          if (metric in want)
            expect(asCount(post[metric]), `${e.file} ${post.external_id} ${metric}`).toBe(
              want[metric],
            );
      }
      // One snapshot per post with any metric; none for posts whose export has no counts.
      const snapshots = await inspect.rows<{
        external_id: string;
        captured_at: Date;
        likes: string | null;
      }>(
        `SELECT p.external_id, s.captured_at, s.likes FROM post_metric_snapshots s JOIN posts p ON p.id = s.post_id
       WHERE s.workspace_id = $1 AND p.external_id = ANY($2)`,
        [workspaceId, ids],
      );
      const withMetrics = ids.filter((id) =>
        METRICS.some((m) => (e.posts[id]?.[m] ?? null) !== null),
      );
      expect(new Set(snapshots.map((s) => s.external_id))).toEqual(new Set(withMetrics));
      if (e.capturedAt)
        for (const s of snapshots) expect(s.captured_at.toISOString()).toBe(e.capturedAt);
    }

    it('imports each sample export through the API: detected from its bytes, rejects with entry, line and field', async () => {
      for (const e of expectations) {
        const ws = await createWorkspace(api, `API ${e.file}`);
        const res = await api.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports?file_name=${encodeURIComponent(e.file)}`,
          headers: { 'content-type': e.contentType },
          payload: readFileSync(path.join(fixtures, e.file)),
        });
        expect(res.statusCode, `${e.file}: ${res.body}`).toBe(201);
        const result = res.json<ImportResult>();
        expect(result).toMatchObject({
          status: 'completed',
          format: e.format,
          inserted: Object.keys(e.posts).length,
          rejected: e.rejects.length,
        });
        expect(result.rejects.map((r) => [r.file, r.line, r.field])).toEqual(e.rejects);
        for (const r of result.rejects) expect(r.reason.length).toBeGreaterThan(10);
        await expectImported(ws.id, e, 'api');
      }
      expect(spooled()).toEqual([]);
    });

    it('re-importing an export adds nothing but keeps the series; ?format= overrides detection', async () => {
      const ws = await createWorkspace(api, 'Again');
      const body = readFileSync(path.join(fixtures, X_ZIP));
      const post = (query = ''): Promise<ImportResult> =>
        api
          .inject({
            method: 'POST',
            url: `/v1/workspaces/${ws.id}/imports?file_name=x.zip${query}`,
            headers: { 'content-type': 'application/zip' },
            payload: body,
          })
          .then((r) => r.json<ImportResult>());
      expect((await post()).inserted).toBe(5);
      const again = await post('&format=x-archive');
      expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 5 });
      // The same generation time: no second snapshot.
      expect(
        await inspect.count('SELECT count(*) FROM post_metric_snapshots WHERE workspace_id = $1', [
          ws.id,
        ]),
      ).toBe(4);
      // Forced to another export, the zip has nothing of it.
      const forced = await post('&format=tiktok-export');
      expect(forced).toMatchObject({ format: 'tiktok-export', inserted: 0, rejected: 1 });
      // A zip is not CSV.
      const res = await api.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.id}/imports?format=csv`,
        headers: { 'content-type': 'application/zip' },
        payload: body,
      });
      expectError(res, 400, 'validation_failed');
      // An unknown zip is refused before any import starts.
      const unknown = await api.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.id}/imports`,
        headers: { 'content-type': 'application/zip' },
        payload: readFileSync(path.join(fixtures, 'youtube-studio.zip')).subarray(0, 30),
      });
      expect([400, 415]).toContain(unknown.statusCode);
    });

    /** Temporary copies of zip bodies still on disk (the route removes each after its import). */
    const spooled = (): string[] =>
      readdirSync(tmpdir()).filter((n) => n.startsWith('socialpulse-import-'));

    it('refuses a zip over IMPORT_MAX_BYTES with 413 and leaves no temporary file behind', async () => {
      const body = readFileSync(path.join(fixtures, X_ZIP));
      const small = await buildTestApp(db, { IMPORT_MAX_BYTES: String(body.length - 100) });
      try {
        const caller = callerFor(small, await signUpUser(small));
        const ws = await createWorkspace(caller, 'Small');
        const res = await caller.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports`,
          headers: { 'content-type': 'application/zip' },
          payload: body,
        });
        expectError(res, 413, 'payload_too_large');
        expect(spooled()).toEqual([]);
        expect(
          await inspect.count('SELECT count(*) FROM posts WHERE workspace_id = $1', [ws.id]),
        ).toBe(0);
      } finally {
        await small.close();
      }
    });

    it('applies the configured zip limits (IMPORT_MAX_ARCHIVE_ENTRIES) to an upload', async () => {
      const body = readFileSync(path.join(fixtures, X_ZIP));
      const strict = await buildTestApp(db, { IMPORT_MAX_ARCHIVE_ENTRIES: '1' });
      try {
        const caller = callerFor(strict, await signUpUser(strict));
        const ws = await createWorkspace(caller, 'Strict');
        const res = await caller.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports`,
          headers: { 'content-type': 'application/zip' },
          payload: body,
        });
        expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
        expect(res.body).toContain('IMPORT_MAX_ARCHIVE_ENTRIES');
        expect(spooled()).toEqual([]);
      } finally {
        await strict.close();
      }
      // The CLI reads the same settings.
      const cli = await runCli(
        ['import', path.join(fixtures, X_ZIP), '--workspace', 'Strict CLI', '--create-workspace'],
        { DATABASE_URL: db.url, DATA_DIR: dir, IMPORT_MAX_ARCHIVE_ENTRIES: '1' },
      );
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toContain('IMPORT_MAX_ARCHIVE_ENTRIES');
    });

    it('imports every sample export through the CLI, detected per file, rejects written with their entry', async () => {
      const env = { DATABASE_URL: db.url, DATA_DIR: dir };
      // Two runs: the truncated archive repeats tweets of the full one, and Studio rows the Takeout videos.
      const runs = [
        expectations.filter(
          (e) => e.file !== 'x-archive-truncated.zip' && e.format !== 'youtube-studio',
        ),
        expectations.filter(
          (e) => e.file === 'x-archive-truncated.zip' || e.format === 'youtube-studio',
        ),
      ];
      for (const [i, group] of runs.entries()) {
        const rejectsFile = path.join(dir, `rejects-${i}.jsonl`);
        const workspace = `CLI exports ${i}`;
        const result = await runCli(
          [
            'import',
            ...group.map((e) => path.join(fixtures, e.file)),
            '--workspace',
            workspace,
            '--create-workspace',
            '--rejects',
            rejectsFile,
          ],
          env,
        );
        // 65 when a file of the group has rejected records (the rest are imported).
        expect(result.code, result.stderr).toBe(group.some((e) => e.rejects.length > 0) ? 65 : 0);
        for (const e of group) {
          expect(result.stdout).toContain(
            `${path.join(fixtures, e.file)} (${e.format}): read ${Object.keys(e.posts).length + e.rejects.length}, inserted ${Object.keys(e.posts).length}, updated 0, unchanged 0, rejected ${e.rejects.length}\n`,
          );
        }
        const written = readFileSync(rejectsFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { file: string; line: number; field: string | null });
        expect(
          written.map((r) => [
            r.file.startsWith(fixtures) ? r.file.slice(fixtures.length) : r.file,
            r.line,
            r.field,
          ]),
        ).toEqual(group.flatMap((e) => e.rejects));
        const [ws] = await inspect.rows<{ id: string }>(
          'SELECT id FROM workspaces WHERE name = $1',
          [workspace],
        );
        for (const e of group) await expectImported(ws?.id ?? '', e, 'cli');
      }
      const rejectsFile = path.join(dir, 'rejects-forced.jsonl');

      // --format overrides detection; an unknown format is refused before the database is opened.
      const forced = await runCli(
        [
          'import',
          path.join(fixtures, 'youtube-takeout.zip'),
          '--workspace',
          'CLI exports 0',
          '--format',
          'x-archive',
          '--rejects',
          rejectsFile,
        ],
        env,
      );
      expect(forced.stdout).toContain('(x-archive): read 1, inserted 0');
      const bad = await runCli(
        [
          'import',
          path.join(fixtures, X_ZIP),
          '--workspace',
          'CLI exports 0',
          '--format',
          'myspace-export',
        ],
        env,
      );
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--format must be one of');
    });
  },
);
