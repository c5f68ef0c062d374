import type { Queryable } from '../pool.js';
import { notFound } from '../../errors.js';

export interface ImportRunRecord {
  id: string;
  workspaceId: string;
  source: string;
  fileName: string | null;
  format: string;
  status: 'running' | 'completed' | 'failed';
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

interface ImportRunRow {
  id: string;
  workspace_id: string;
  source: string;
  file_name: string | null;
  format: string;
  status: ImportRunRecord['status'];
  records_read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

const toRun = (r: ImportRunRow): ImportRunRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  source: r.source,
  fileName: r.file_name,
  format: r.format,
  status: r.status,
  read: r.records_read,
  inserted: r.inserted,
  updated: r.updated,
  unchanged: r.unchanged,
  rejected: r.rejected,
  error: r.error,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

/**
 * The key of the session advisory lock an importer holds for its run's whole duration: a run
 * still `running` whose lock anyone can take has lost its importer (see updateInterruptedImportRuns).
 */
const runLockKey = (id: string): string => `hashtextextended('import_run:' || ${id}::text, 0)`;

/**
 * Inserts a `running` run and takes its lock on `db`'s session, in one statement: the row is
 * visible to others only once it commits, by which time the lock is held, so no reader can take a
 * run that is just starting for an interrupted one. `db` must be the client that runs the import,
 * and must call unlockImportRun (or end its session) when the run is over.
 */
export async function insertImportRun(
  db: Queryable,
  run: { workspaceId: string; source: string; fileName: string | null; format: string },
): Promise<ImportRunRecord> {
  const { rows } = await db.query<ImportRunRow>(
    `WITH run AS (
       INSERT INTO imports (workspace_id, source, file_name, format) VALUES ($1, $2, $3, $4) RETURNING *
     )
     SELECT run.*, pg_advisory_lock(${runLockKey('run.id')}) FROM run`,
    [run.workspaceId, run.source, run.fileName, run.format],
  );
  return toRun(rows[0] as ImportRunRow);
}

/** Releases the lock insertImportRun took on this session. */
export async function unlockImportRun(db: Queryable, id: string): Promise<void> {
  await db.query(`SELECT pg_advisory_unlock(${runLockKey('$1')})`, [id]);
}

export const INTERRUPTED_IMPORT_ERROR =
  'the import was interrupted: its importer stopped (process ended or database connection lost) before it finished; what it had read and written so far is kept';

/**
 * Marks failed the `running` runs of a workspace (or the one run `id`) whose importer is gone:
 * their lock can be taken, so the session that held it has ended. A live run's lock is held
 * and the try fails. The lock taken here is the transaction's, released at its end. A run that
 * finished meanwhile no longer matches `status = 'running'` when its row is re-read under the
 * row lock, and keeps its outcome.
 */
export async function updateInterruptedImportRuns(
  db: Queryable,
  workspaceId: string,
  id: string | null = null,
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE imports SET status = 'failed', error = $3, finished_at = now()
     WHERE workspace_id = $1 AND status = 'running' AND ($2::uuid IS NULL OR id = $2::uuid)
       AND pg_try_advisory_xact_lock(${runLockKey('id')})`,
    [workspaceId, id, INTERRUPTED_IMPORT_ERROR],
  );
  return rowCount ?? 0;
}

export interface ImportCounts {
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

export async function updateImportRun(
  db: Queryable,
  id: string,
  counts: ImportCounts,
  final?: { status: 'completed' | 'failed'; error: string | null },
): Promise<ImportRunRecord> {
  const { rows } = await db.query<ImportRunRow>(
    `UPDATE imports SET records_read = $2, inserted = $3, updated = $4, unchanged = $5, rejected = $6,
       status = coalesce($7, status), error = coalesce($8, error),
       finished_at = CASE WHEN $7::text IS NULL THEN finished_at ELSE now() END
     WHERE id = $1 RETURNING *`,
    [
      id,
      counts.read,
      counts.inserted,
      counts.updated,
      counts.unchanged,
      counts.rejected,
      final?.status ?? null,
      final?.error ?? null,
    ],
  );
  if (!rows[0]) throw notFound('import', id);
  return toRun(rows[0]);
}

export async function findImportRun(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<ImportRunRecord | null> {
  // Whoever reads a run learns whether it is still going: an interrupted one is settled first.
  await updateInterruptedImportRuns(db, workspaceId, id);
  const { rows } = await db.query<ImportRunRow>(
    'SELECT * FROM imports WHERE workspace_id = $1 AND id = $2',
    [workspaceId, id],
  );
  return rows[0] ? toRun(rows[0]) : null;
}

/**
 * Newest first, after the position `before` (keyset on started_at and id). Positions carry
 * started_at in microseconds since the epoch, as stored: a millisecond Date would skip runs
 * started in the same millisecond as a page's last one.
 */
export async function listImportRuns(
  db: Queryable,
  workspaceId: string,
  limit: number,
  before: { startedAtMicros: string; id: string } | null = null,
): Promise<(ImportRunRecord & { startedAtMicros: string })[]> {
  await updateInterruptedImportRuns(db, workspaceId);
  const { rows } = await db.query<ImportRunRow & { started_at_us: string }>(
    `SELECT *, (extract(epoch FROM started_at) * 1000000)::bigint::text AS started_at_us
       FROM imports
      WHERE workspace_id = $1
        AND ($2::bigint IS NULL
             OR (started_at, id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid))
      ORDER BY started_at DESC, id DESC LIMIT $4`,
    [workspaceId, before?.startedAtMicros ?? null, before?.id ?? null, limit],
  );
  return rows.map((r) => ({ ...toRun(r), startedAtMicros: r.started_at_us }));
}

export interface RejectRecord {
  seq: number;
  file: string | null;
  line: number;
  field: string | null;
  reason: string;
  value: string | null;
}

export async function insertRejects(
  db: Queryable,
  importId: string,
  workspaceId: string,
  rejects: readonly RejectRecord[],
): Promise<void> {
  if (rejects.length === 0) return;
  await db.query(
    `INSERT INTO import_rejects (import_id, workspace_id, seq, file_name, line, field, reason, value)
     SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])`,
    [
      importId,
      workspaceId,
      rejects.map((r) => r.seq),
      rejects.map((r) => r.file),
      rejects.map((r) => r.line),
      rejects.map((r) => r.field),
      rejects.map((r) => r.reason),
      rejects.map((r) => r.value),
    ],
  );
}

export async function listRejects(
  db: Queryable,
  importId: string,
  after: number,
  limit: number,
): Promise<RejectRecord[]> {
  const { rows } = await db.query<{
    seq: number;
    file_name: string | null;
    line: number;
    field: string | null;
    reason: string;
    value: string | null;
  }>(
    'SELECT seq, file_name, line, field, reason, value FROM import_rejects WHERE import_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [importId, after, limit],
  );
  return rows.map((r) => ({
    seq: r.seq,
    file: r.file_name,
    line: r.line,
    field: r.field,
    reason: r.reason,
    value: r.value,
  }));
}
