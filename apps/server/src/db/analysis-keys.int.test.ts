/**
 * Migration 0012: an analysis's rows (results, chunks, events, backlog) reference their analysis
 * together with its workspace, so a row cannot claim another workspace than its analysis's (row-
 * level security reads that column), and deleting a workspace still deletes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';

let db: TestDatabase;
let workspace: string;
let other: string;
let analysis: string;
let post: number;

beforeAll(async () => {
  db = await createTestDatabase();
  const q = db.adminPool;
  const ids = await q.query<{ id: string }>(
    "INSERT INTO workspaces (name) VALUES ('keys'), ('other') RETURNING id",
  );
  [workspace, other] = ids.rows.map((r) => r.id) as [string, string];
  const a = await q.query<{ id: string }>(
    `INSERT INTO analyses (workspace_id, fairness_key, status, engines, selection, options, chunk_size, total_posts, chunk_count)
     VALUES ($1, 'system', 'queued', '{local}', '{}', '{}', 100, 1, 1) RETURNING id`,
    [workspace],
  );
  analysis = a.rows[0]!.id;
  const p = await q.query<{ id: number }>(
    `INSERT INTO posts (workspace_id, platform, external_id, created_at, metrics_captured_at, source)
     VALUES ($1, 'x', 'k1', now(), now(), 'import') RETURNING id`,
    [workspace],
  );
  post = p.rows[0]!.id;
});
afterAll(async () => {
  await db?.drop();
});

const rows = (ws: () => string): [string, () => [string, unknown[]]][] => [
  [
    'a result',
    () => [
      'INSERT INTO analysis_results (analysis_id, workspace_id, post_id, chunk_seq) VALUES ($1, $2, $3, 0)',
      [analysis, ws(), post],
    ],
  ],
  [
    'a chunk',
    () => [
      'INSERT INTO analysis_chunks (analysis_id, workspace_id, seq, post_ids) VALUES ($1, $2, 0, $3)',
      [analysis, ws(), [post]],
    ],
  ],
  [
    'an event',
    () => [
      "INSERT INTO analysis_events (analysis_id, workspace_id, type, data) VALUES ($1, $2, 'queued', '{}')",
      [analysis, ws()],
    ],
  ],
  [
    'a backlog entry',
    () => [
      "INSERT INTO analysis_backlog (analysis_id, workspace_id, fairness_key, priority, created_at) VALUES ($1, $2, 'system', 0, now())",
      [analysis, ws()],
    ],
  ],
];

describe('rows of an analysis', () => {
  it.each(rows(() => other))(
    'refuses %s whose workspace is not its analysis’s',
    async (_n, row) => {
      const [sql, values] = row();
      const error = await db.adminPool.query(sql, values).then(
        () => null,
        (e: unknown) => e as { code?: string; constraint?: string },
      );
      expect(error?.code).toBe('23503');
      expect(error?.constraint).toMatch(/_analysis_fkey$/);
    },
  );

  it('keeps rows whose workspace is their analysis’s, and deletes them with the workspace', async () => {
    for (const [, row] of rows(() => workspace)) {
      const [sql, values] = row();
      await db.adminPool.query(sql, values);
    }
    const count = async (): Promise<number[]> =>
      Promise.all(
        ['analysis_results', 'analysis_chunks', 'analysis_events', 'analysis_backlog'].map(
          async (t) =>
            (
              await db.adminPool.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM ${t} WHERE analysis_id = $1`,
                [analysis],
              )
            ).rows[0]!.n,
        ),
      );
    expect(await count()).toEqual([1, 1, 1, 1]);
    await db.adminPool.query('DELETE FROM workspaces WHERE id = $1', [workspace]);
    expect(await count()).toEqual([0, 0, 0, 0]);
  });
});
