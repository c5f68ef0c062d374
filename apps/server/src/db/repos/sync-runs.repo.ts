import type pg from 'pg';
import type { Queryable } from '../pool.js';
import {
  createImportStaging,
  isDataError,
  PostBatch,
  upsertPostBatch,
  writeIsolatingRefusedRows,
  type BatchOutcome,
  type ImportPostRow,
} from './posts-import.repo.js';

export type SyncKind = 'posts' | 'metrics';
export type SyncTrigger = 'schedule' | 'manual' | 'webhook' | 'replay';
export type SyncStatus = 'queued' | 'running' | 'completed' | 'partial' | 'failed';

/** What a run could not collect and why (`count` of the same reason merged). */
export interface SyncGap {
  what: string;
  reason: string;
  detail: string;
  count: number;
  resourceIds?: string[];
  resetAt?: string | null;
}

export interface SyncRun {
  id: string;
  workspaceId: string;
  connectionId: string;
  kind: SyncKind;
  trigger: SyncTrigger;
  status: SyncStatus;
  requests: number;
  postsCollected: number;
  snapshots: number;
  skipped: number;
  gaps: SyncGap[];
  error: Record<string, unknown> | null;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface SyncRunDbRow {
  id: string;
  workspace_id: string;
  connection_id: string;
  kind: SyncKind;
  trigger: SyncTrigger;
  status: SyncStatus;
  requests: number;
  posts_collected: number;
  snapshots: number;
  skipped: number;
  gaps: SyncGap[];
  error: Record<string, unknown> | null;
  queued_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS =
  'id, workspace_id, connection_id, kind, trigger, status, requests, posts_collected, snapshots, skipped, gaps, error, queued_at, started_at, finished_at';

const toRun = (r: SyncRunDbRow): SyncRun => ({
  id: r.id,
  workspaceId: r.workspace_id,
  connectionId: r.connection_id,
  kind: r.kind,
  trigger: r.trigger,
  status: r.status,
  requests: r.requests,
  postsCollected: r.posts_collected,
  snapshots: r.snapshots,
  skipped: r.skipped,
  gaps: r.gaps,
  error: r.error,
  queuedAt: r.queued_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

export async function insertSyncRun(
  db: Queryable,
  run: { workspaceId: string; connectionId: string; kind: SyncKind; trigger: SyncTrigger },
): Promise<SyncRun> {
  const { rows } = await db.query<SyncRunDbRow>(
    `INSERT INTO sync_runs (workspace_id, connection_id, kind, trigger) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [run.workspaceId, run.connectionId, run.kind, run.trigger],
  );
  const row = rows[0];
  if (!row) throw new Error('insertSyncRun returned no row');
  return toRun(row);
}

export async function findSyncRun(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<SyncRun | null> {
  const { rows } = await db.query<SyncRunDbRow>(
    `SELECT ${COLUMNS} FROM sync_runs WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  );
  return rows[0] ? toRun(rows[0]) : null;
}

/** A queued or running run of the connection (a trigger while one waits joins it). */
export async function findPendingSyncRun(
  db: Queryable,
  workspaceId: string,
  connectionId: string,
): Promise<SyncRun | null> {
  const { rows } = await db.query<SyncRunDbRow>(
    `SELECT ${COLUMNS} FROM sync_runs WHERE workspace_id = $1 AND connection_id = $2 AND status IN ('queued', 'running') ORDER BY queued_at DESC LIMIT 1`,
    [workspaceId, connectionId],
  );
  return rows[0] ? toRun(rows[0]) : null;
}

/** The connection's most recently queued run of this kind, whatever its status. */
export async function findLatestSyncRun(
  db: Queryable,
  workspaceId: string,
  connectionId: string,
  kind: SyncKind,
): Promise<SyncRun | null> {
  const { rows } = await db.query<SyncRunDbRow>(
    `SELECT ${COLUMNS} FROM sync_runs WHERE workspace_id = $1 AND connection_id = $2 AND kind = $3
     ORDER BY queued_at DESC, id DESC LIMIT 1`,
    [workspaceId, connectionId, kind],
  );
  return rows[0] ? toRun(rows[0]) : null;
}

/** Runs of a connection, newest first; `before` is the keyset of the previous page's last row. */
export async function listSyncRuns(
  db: Queryable,
  workspaceId: string,
  connectionId: string,
  limit: number,
  before: { queuedAt: Date; id: string } | null,
): Promise<SyncRun[]> {
  const { rows } = await db.query<SyncRunDbRow>(
    `SELECT ${COLUMNS} FROM sync_runs WHERE workspace_id = $1 AND connection_id = $2
       AND ($3::timestamptz IS NULL OR (queued_at, id) < ($3::timestamptz, $4::uuid))
     ORDER BY queued_at DESC, id DESC LIMIT $5`,
    [workspaceId, connectionId, before?.queuedAt ?? null, before?.id ?? null, limit],
  );
  return rows.map(toRun);
}

export async function startSyncRun(db: Queryable, workspaceId: string, id: string): Promise<void> {
  await db.query(
    `UPDATE sync_runs SET status = 'running', started_at = coalesce(started_at, now()) WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  );
}

export interface SyncProgress {
  requests: number;
  postsCollected: number;
  snapshots: number;
  skipped: number;
  gaps: SyncGap[];
}

/** Progress written while the run goes (readers see it move). */
export async function updateSyncRunProgress(
  db: Queryable,
  workspaceId: string,
  id: string,
  p: SyncProgress,
): Promise<void> {
  await db.query(
    'UPDATE sync_runs SET requests = $3, posts_collected = $4, snapshots = $5, skipped = $6, gaps = $7 WHERE workspace_id = $1 AND id = $2',
    [workspaceId, id, p.requests, p.postsCollected, p.snapshots, p.skipped, JSON.stringify(p.gaps)],
  );
}

export async function finishSyncRun(
  db: Queryable,
  workspaceId: string,
  id: string,
  status: Exclude<SyncStatus, 'queued' | 'running'>,
  p: SyncProgress,
  error: Record<string, unknown> | null,
): Promise<SyncRun> {
  const { rows } = await db.query<SyncRunDbRow>(
    `UPDATE sync_runs SET status = $3, requests = $4, posts_collected = $5, snapshots = $6, skipped = $7, gaps = $8, error = $9,
       started_at = coalesce(started_at, now()), finished_at = now()
     WHERE workspace_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [
      workspaceId,
      id,
      status,
      p.requests,
      p.postsCollected,
      p.snapshots,
      p.skipped,
      JSON.stringify(p.gaps),
      error === null ? null : JSON.stringify(error),
    ],
  );
  const row = rows[0];
  if (!row) throw new Error(`sync run ${id} vanished`);
  return toRun(row);
}

export async function deleteSyncRun(db: Queryable, workspaceId: string, id: string): Promise<void> {
  await db.query('DELETE FROM sync_runs WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
}

/** What a sync write stored, and the rows PostgreSQL refused (by index in `rows`) and why. */
export interface SyncWriteOutcome extends BatchOutcome {
  refused: { index: number; reason: string }[];
}

/**
 * The import write path for collected posts and metric snapshots, in the caller's (tenant)
 * transaction: staging, upsert with "newest metrics win", one snapshot per row with metrics.
 * A thin wrapper over posts-import.repo.ts so that sync and import store posts the same way.
 * Rows PostgreSQL refuses for their data are isolated (writeIsolatingRefusedRows, under savepoints) and left
 * out: one record the checks before it missed must not stop the rest of its page, nor (since a
 * run resumes at the page it failed on) every later run.
 */
export async function writeSyncedPosts(
  client: pg.ClientBase,
  workspaceId: string,
  source: string,
  rows: readonly ImportPostRow[],
  writtenAt: string,
): Promise<SyncWriteOutcome> {
  const refused: SyncWriteOutcome['refused'] = [];
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0, refused };
  await createImportStaging(client);
  const batch = new PostBatch();
  rows.forEach((row, i) => batch.add(row, i + 1));
  const written = await writeIsolatingRefusedRows(
    rows.length,
    async (from, to) => {
      await client.query('SAVEPOINT sync_write');
      try {
        const part = await upsertPostBatch(
          client,
          workspaceId,
          source,
          writtenAt,
          batch.rows(from, to),
        );
        // Staging empties only at commit: the next part of a split batch must not see this one.
        if (from > 0 || to < rows.length)
          await client.query('DELETE FROM import_staging; DELETE FROM import_written_posts');
        await client.query('RELEASE SAVEPOINT sync_write');
        return part;
      } catch (error) {
        if (isDataError(error))
          await client.query('ROLLBACK TO SAVEPOINT sync_write; RELEASE SAVEPOINT sync_write');
        throw error;
      }
    },
    (index, error) => refused.push({ index, reason: error.message }),
  );
  return { ...written, refused };
}
