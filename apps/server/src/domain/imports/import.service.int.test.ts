import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../workspaces/workspaces.service.js';
import { createPool } from '../../db/pool.js';
import { listRejects } from '../../db/repos/imports.repo.js';
import { withTenant } from '../../db/tenant.js';
import {
  ALLOW_BOOM_POST,
  createTestDatabase,
  databaseUnavailable,
  REFUSE_BOOM_POST,
  type TestDatabase,
} from '../../../test/support/db.js';
import { chunked, postRecord, toCsv, toJsonl } from '../../../test/support/factories.js';
import { importPosts, type ImportOptions } from './import.service.js';
import type { ImportFormat } from '@socialpulse/contracts';

describe.skipIf(databaseUnavailable() !== '')('importPosts on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const run = async (
    workspaceId: string,
    body: string | Buffer,
    format: ImportFormat = 'jsonl',
    extra: Partial<ImportOptions> = {},
  ) =>
    importPosts(
      db.pool,
      { fileName: `file.${format}`, format, stream: Readable.from(chunked(body, 1000)) },
      { workspaceId, source: 'test', batchSize: 3, maxRecordBytes: 65536, ...extra },
    );

  const posts = async (workspaceId: string) =>
    (
      await db.adminPool.query<Record<string, unknown>>(
        'SELECT external_id, likes, comments, text, author FROM posts WHERE workspace_id = $1 ORDER BY external_id',
        [workspaceId],
      )
    ).rows;
  const snapshotCount = async (workspaceId: string) =>
    (
      await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM post_metric_snapshots WHERE workspace_id = $1',
        [workspaceId],
      )
    ).rows[0]?.n;

  it('imports every valid record, lists every bad one, and is idempotent but for snapshots', async () => {
    const ws = await createWorkspace(db.pool, 'idempotent', null, { userId: null, label: 'test' });
    const good = Array.from({ length: 10 }, (_, i) =>
      postRecord({ external_id: `p${String(i).padStart(2, '0')}` }),
    );
    const lines = [
      ...good.slice(0, 4).map((r) => JSON.stringify(r)),
      '{"platform":"x"',
      JSON.stringify({ ...good[0], external_id: 'bad-likes', likes: -3 }),
      ...good.slice(4).map((r) => JSON.stringify(r)),
    ];
    const first = await run(ws.id, lines.join('\n'));
    expect(first).toMatchObject({
      status: 'completed',
      read: 12,
      inserted: 10,
      updated: 0,
      unchanged: 0,
      rejected: 2,
    });
    const rejects = await withTenant(db.pool, { workspaceId: ws.id, userId: null }, (c) =>
      listRejects(c, first.id, 0, 10),
    );
    expect(rejects.map((r) => [r.line, r.field, r.reason.split(':')[0]])).toEqual([
      [5, null, 'malformed JSON'],
      [6, 'likes', 'likes must not be negative'],
    ]);
    expect(rejects[1]).toMatchObject({ file: 'file.jsonl', value: '-3' });
    const before = await posts(ws.id);
    const snapshotsBefore = await snapshotCount(ws.id);

    const second = await run(ws.id, lines.join('\n'));
    expect(second).toMatchObject({ inserted: 0, updated: 0, unchanged: 10, rejected: 2 });
    expect(await posts(ws.id)).toEqual(before);
    expect(await snapshotCount(ws.id)).toBe((snapshotsBefore ?? 0) + 10);
  });

  it('keeps the newest metrics and never erases known values with missing ones', async () => {
    const ws = await createWorkspace(db.pool, 'newest', null, { userId: null, label: 'test' });
    const base = { external_id: 'n1', text: 'hello', created_at: '2026-01-01T00:00:00Z' };
    await run(
      ws.id,
      toJsonl([postRecord({ ...base, likes: 10, metrics_captured_at: '2026-02-01T00:00:00Z' })]),
    );
    // An older observation arrives later: metrics stay, the snapshot is still recorded.
    const older = await run(
      ws.id,
      toJsonl([postRecord({ ...base, likes: 5, metrics_captured_at: '2026-01-15T00:00:00Z' })]),
    );
    expect(older).toMatchObject({ updated: 0, unchanged: 1 });
    // A newer one without text or comments updates likes and keeps the rest.
    const newer = await run(
      ws.id,
      toJsonl([
        {
          platform: 'x',
          external_id: 'n1',
          created_at: base.created_at,
          likes: 20,
          metrics_captured_at: '2026-03-01T00:00:00Z',
        },
      ]),
    );
    expect(newer).toMatchObject({ updated: 1 });
    expect(await posts(ws.id)).toEqual([
      { external_id: 'n1', likes: 20, comments: 1, text: 'hello', author: 'Acme' },
    ]);
    const series = (
      await db.adminPool.query(
        'SELECT likes FROM post_metric_snapshots WHERE workspace_id = $1 ORDER BY captured_at',
        [ws.id],
      )
    ).rows.map((r: { likes: number }) => r.likes);
    expect(series).toEqual([5, 10, 20]);
  });

  it('treats duplicates within one file as one post with two observations', async () => {
    const ws = await createWorkspace(db.pool, 'dupes', null, { userId: null, label: 'test' });
    const result = await run(
      ws.id,
      toJsonl([
        postRecord({ external_id: 'd', likes: 1, metrics_captured_at: '2026-01-01T00:00:00Z' }),
        postRecord({ external_id: 'd', likes: 2, metrics_captured_at: '2026-01-02T00:00:00Z' }),
      ]),
      'jsonl',
      { batchSize: 100 },
    );
    expect(result).toMatchObject({ read: 2, inserted: 1, updated: 1, rejected: 0 });
    expect((await posts(ws.id))[0]).toMatchObject({ likes: 2 });
    expect(await snapshotCount(ws.id)).toBe(2);
  });

  it('merges duplicates within one batch as separate imports would: later rows never erase what earlier ones knew', async () => {
    const ws = await createWorkspace(db.pool, 'dupes merged', null, {
      userId: null,
      label: 'test',
    });
    const base = { platform: 'x', external_id: 'm', created_at: '2026-01-01T00:00:00Z' };
    const result = await run(
      ws.id,
      toJsonl([
        {
          ...base,
          account_handle: 'mybrand',
          author: 'My Brand',
          text: 'hello',
          likes: 5,
          metrics_captured_at: '2026-01-03T00:00:00Z',
        },
        // Newer metrics, nothing else: the account, author and text stay.
        { ...base, likes: 9, comments: 2, metrics_captured_at: '2026-01-04T00:00:00Z' },
        // An older observation, later in the file: its metrics do not win, its url fills a gap.
        {
          ...base,
          url: 'https://x.com/mybrand/status/1',
          likes: 1,
          metrics_captured_at: '2026-01-02T00:00:00Z',
        },
      ]),
      'jsonl',
      { batchSize: 100 },
    );
    expect(result).toMatchObject({ read: 3, inserted: 1, updated: 2, rejected: 0 });
    const stored = (
      await db.adminPool.query(
        `SELECT p.author, p.text, p.url, p.likes, p.comments, a.handle
         FROM posts p LEFT JOIN platform_accounts a ON a.id = p.account_id WHERE p.workspace_id = $1`,
        [ws.id],
      )
    ).rows;
    expect(stored).toEqual([
      {
        author: 'My Brand',
        text: 'hello',
        url: 'https://x.com/mybrand/status/1',
        likes: 9,
        comments: 2,
        handle: 'mybrand',
      },
    ]);
    expect(await snapshotCount(ws.id)).toBe(3);
  });

  it('a post repeated past the passes a batch spends is still merged, its newest metrics kept', async () => {
    const ws = await createWorkspace(db.pool, 'many repeats', null, {
      userId: null,
      label: 'test',
    });
    const base = { platform: 'x', external_id: 'r', created_at: '2026-01-01T00:00:00Z' };
    const day = (n: number) => new Date(Date.UTC(2026, 1, 1 + n)).toISOString();
    const rows = Array.from({ length: 40 }, (_, i) => ({
      ...base,
      ...(i === 0 ? { author: 'First Row' } : {}),
      likes: i,
      // The newest reading sits in the middle of the repeats.
      metrics_captured_at: i === 25 ? day(60) : day(i),
    }));
    const result = await run(ws.id, toJsonl(rows), 'jsonl', { batchSize: 100 });
    expect(result).toMatchObject({ read: 40, inserted: 1, updated: 39, rejected: 0 });
    expect(await posts(ws.id)).toEqual([
      { external_id: 'r', likes: 25, comments: null, text: null, author: 'First Row' },
    ]);
    expect(await snapshotCount(ws.id)).toBe(40);
  });

  it('an import after a large one first refreshes the statistics of posts, once', async () => {
    // Only the import may analyze posts here: autovacuum would take its turn at random.
    await db.adminPool.query('ALTER TABLE posts SET (autovacuum_enabled = false)');
    const ws = await createWorkspace(db.pool, 'statistics', null, { userId: null, label: 'test' });
    const records = Array.from({ length: 2000 }, (_, i) => postRecord({ external_id: `st${i}` }));
    const stats = async () =>
      (
        await db.adminPool.query<{ modified: number; analyzed: number }>(
          `SELECT n_mod_since_analyze::int AS modified, analyze_count::int AS analyzed
           FROM pg_stat_user_tables WHERE relname = 'posts'`,
        )
      ).rows[0] ?? { modified: 0, analyzed: 0 };
    // The first import on a pool of its own, ended after it: a session reports its writes to
    // the statistics when it ends.
    const first = createPool(db.url, 2);
    try {
      await importPosts(
        first,
        { fileName: 'big.jsonl', format: 'jsonl', stream: Readable.from([toJsonl(records)]) },
        { workspaceId: ws.id, source: 'test', batchSize: 1000, maxRecordBytes: 65536 },
      );
    } finally {
      await first.end();
    }
    for (let polls = 0; (await stats()).modified < 2000; polls += 1) {
      if (polls > 2000) throw new Error('the first import was never reported to the statistics');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const before = (await stats()).analyzed;

    const again = await run(ws.id, toJsonl(records), 'jsonl', { batchSize: 1000 });
    expect(again).toMatchObject({ read: 2000, inserted: 0, unchanged: 2000 });
    expect((await stats()).analyzed).toBe(before + 1);
    // Fresh statistics: the next import leaves them alone.
    await run(ws.id, toJsonl(records.slice(0, 10)));
    expect((await stats()).analyzed).toBe(before + 1);
  });

  it('imports CSV with typed metrics and links accounts by handle, case-insensitively', async () => {
    const ws = await createWorkspace(db.pool, 'csv', null, { userId: null, label: 'test' });
    const body = toCsv([
      {
        platform: 'instagram',
        external_id: 'c1',
        created_at: '2026-01-01 10:00:00+01:00',
        account_handle: '@Acme',
        text: 'a, "quoted"\nmultiline',
        likes: '12',
        views: '',
      },
      {
        platform: 'instagram',
        external_id: 'c2',
        created_at: '2026-01-02T10:00:00Z',
        account_handle: 'acme',
        text: 'b',
        likes: '1,234',
        views: '7',
      },
      {
        platform: 'instagram',
        external_id: 'c3',
        created_at: '2026-01-02T10:00:00',
        account_handle: 'acme',
        text: 'c',
        likes: '1',
        views: '7',
      },
    ]);
    const result = await run(ws.id, body, 'csv');
    expect(result).toMatchObject({ inserted: 1, rejected: 2 });
    const rejects = await withTenant(db.pool, { workspaceId: ws.id, userId: null }, (c) =>
      listRejects(c, result.id, 0, 10),
    );
    expect(rejects.map((r) => [r.line, r.field])).toEqual([
      [4, 'likes'],
      [5, 'created_at'],
    ]);
    const row = (
      await db.adminPool.query<{ created_at: Date }>(
        'SELECT p.text, p.likes, p.views, p.created_at, a.handle FROM posts p JOIN platform_accounts a ON a.id = p.account_id WHERE p.workspace_id = $1',
        [ws.id],
      )
    ).rows[0];
    expect(row).toMatchObject({
      text: 'a, "quoted"\nmultiline',
      likes: 12,
      views: null,
      handle: 'Acme',
    });
    expect(row?.created_at.toISOString()).toBe('2026-01-01T09:00:00.000Z');
  });

  it('an array element that a stray quote ran on: records 1, 3, 4 and 5 are imported, one reject names line 3', async () => {
    const ws = await createWorkspace(db.pool, 'stray quote', null, { userId: null, label: 'test' });
    const record = (id: string): string => JSON.stringify(postRecord({ external_id: id }));
    const broken = JSON.stringify(postRecord({ external_id: 'q2', text: '5' })).replace(
      '"text":"5"',
      '"text":"5" screen"',
    );
    const body = `[\n${record('q1')},\n${broken},\n${record('q3')},\n${record('q4')},\n${record('q5')}\n]\n`;
    const result = await run(ws.id, body, 'json');
    expect(result).toMatchObject({ status: 'completed', inserted: 4, rejected: 1 });
    expect((await posts(ws.id)).map((p) => p.external_id)).toEqual(['q1', 'q3', 'q4', 'q5']);
    const rejects = await withTenant(db.pool, { workspaceId: ws.id, userId: null }, (c) =>
      listRejects(c, result.id, 0, 10),
    );
    expect(rejects).toMatchObject([
      {
        file: 'file.json',
        line: 3,
        field: null,
        reason: expect.stringMatching(
          /^malformed JSON: .*; line 3 skipped, reading resumed at line 4$/,
        ) as unknown,
      },
    ]);
  });

  it('a database failure after some batches names the import run that holds them', async () => {
    const ws = await createWorkspace(db.pool, 'db failure', null, { userId: null, label: 'test' });
    // Not a data error (class 22/23): the batch is not bisected, the import fails.
    await db.adminPool.query(REFUSE_BOOM_POST);
    try {
      const lines = [
        ...Array.from({ length: 6 }, (_, i) =>
          JSON.stringify(postRecord({ external_id: `ok${i}` })),
        ),
        JSON.stringify(postRecord({ external_id: 'bad', likes: -1 })),
        JSON.stringify(postRecord({ external_id: 'boom' })),
        ...Array.from({ length: 4 }, (_, i) =>
          JSON.stringify(postRecord({ external_id: `late${i}` })),
        ),
      ];
      const failure: unknown = await run(ws.id, lines.join('\n')).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({
        code: 'internal_error',
        message: expect.stringContaining('could not extend file (simulated)') as unknown,
      });
      const stored = (
        await db.adminPool.query<Record<string, unknown>>(
          'SELECT id, status, records_read AS read, inserted, updated, unchanged, rejected FROM imports WHERE workspace_id = $1',
          [ws.id],
        )
      ).rows;
      expect(stored).toHaveLength(1);
      expect((failure as { details: unknown }).details).toEqual({ import: stored[0] });
      expect(stored[0]).toMatchObject({ status: 'failed', inserted: 6, rejected: 1 });
      expect((await posts(ws.id)).map((p) => p.external_id)).toEqual(
        Array.from({ length: 6 }, (_, i) => `ok${i}`),
      );
      const rejects = await withTenant(db.pool, { workspaceId: ws.id, userId: null }, (c) =>
        listRejects(c, stored[0]?.id as string, 0, 10),
      );
      expect(rejects.map((r) => [r.line, r.field])).toEqual([[7, 'likes']]);
    } finally {
      await db.adminPool.query(ALLOW_BOOM_POST);
    }
  });

  it('a file refused as a whole fails its run (the CLI exits 1 with this message), reading nothing', async () => {
    const ws = await createWorkspace(db.pool, 'refused', null, { userId: null, label: 'test' });
    const onReject: string[] = [];
    const failure: unknown = await run(ws.id, 'platform,external_id,text\nx,z1,hello\n', 'csv', {
      onReject: (r) => onReject.push(r.reason),
    }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({
      code: 'validation_failed',
      message:
        'the file was refused: file.csv line 1: the header lacks required column(s): created_at',
    });
    const stored = (
      await db.adminPool.query<Record<string, unknown>>(
        'SELECT id, status, records_read AS read, inserted, updated, unchanged, rejected, error FROM imports WHERE workspace_id = $1',
        [ws.id],
      )
    ).rows;
    expect(stored).toEqual([
      expect.objectContaining({
        status: 'failed',
        read: 0,
        rejected: 0,
        error: (failure as Error).message,
      }),
    ]);
    expect(onReject).toEqual([]);
    expect(await posts(ws.id)).toEqual([]);
  });

  it('isolates a record PostgreSQL refuses and keeps the rest of its batch', async () => {
    const ws = await createWorkspace(db.pool, 'bisect', null, { userId: null, label: 'test' });
    // Year 0 passes the timestamp pattern but PostgreSQL rejects it: found by bisecting the batch.
    const records = [
      postRecord({ external_id: 'b1' }),
      postRecord({ external_id: 'b2', created_at: '0000-01-01T00:00:00Z' }),
      postRecord({ external_id: 'b3' }),
      postRecord({ external_id: 'b4' }),
    ];
    const result = await run(ws.id, toJsonl(records), 'jsonl', { batchSize: 4 });
    expect(result).toMatchObject({ inserted: 3, rejected: 1 });
    const [reject] = await withTenant(db.pool, { workspaceId: ws.id, userId: null }, (c) =>
      listRejects(c, result.id, 0, 10),
    );
    expect(reject).toMatchObject({
      line: 2,
      reason: expect.stringContaining('rejected by the database') as unknown,
    });
  });
});
