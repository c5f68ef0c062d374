import type { Queryable } from '../pool.js';

export type DeadLetterStatus = 'open' | 'replayed' | 'discarded';

/** A failed platform operation, replayable. `request` and `error` carry no secrets. */
export interface DeadLetter {
  id: string;
  workspaceId: string;
  connectionId: string | null;
  operation: string;
  request: Record<string, unknown>;
  error: Record<string, unknown>;
  attempts: number;
  status: DeadLetterStatus;
  firstFailedAt: Date;
  lastFailedAt: Date;
  replayedAt: Date | null;
}

interface DeadLetterDbRow {
  id: string;
  workspace_id: string;
  connection_id: string | null;
  operation: string;
  request: Record<string, unknown>;
  error: Record<string, unknown>;
  attempts: number;
  status: DeadLetterStatus;
  first_failed_at: Date;
  last_failed_at: Date;
  replayed_at: Date | null;
}

const COLUMNS =
  'id::text AS id, workspace_id, connection_id, operation, request, error, attempts, status, first_failed_at, last_failed_at, replayed_at';

const toDeadLetter = (r: DeadLetterDbRow): DeadLetter => ({
  id: r.id,
  workspaceId: r.workspace_id,
  connectionId: r.connection_id,
  operation: r.operation,
  request: r.request,
  error: r.error,
  attempts: r.attempts,
  status: r.status,
  firstFailedAt: r.first_failed_at,
  lastFailedAt: r.last_failed_at,
  replayedAt: r.replayed_at,
});

export async function insertDeadLetter(
  db: Queryable,
  d: {
    workspaceId: string;
    connectionId: string;
    operation: string;
    request: Record<string, unknown>;
    error: Record<string, unknown>;
    attempts: number;
  },
): Promise<DeadLetter> {
  const { rows } = await db.query<DeadLetterDbRow>(
    `INSERT INTO dead_letters (workspace_id, connection_id, operation, request, error, attempts) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [
      d.workspaceId,
      d.connectionId,
      d.operation,
      JSON.stringify(d.request),
      JSON.stringify(d.error),
      d.attempts,
    ],
  );
  const row = rows[0];
  if (!row) throw new Error('insertDeadLetter returned no row');
  return toDeadLetter(row);
}

export async function findDeadLetter(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<DeadLetter | null> {
  const { rows } = await db.query<DeadLetterDbRow>(
    `SELECT ${COLUMNS} FROM dead_letters WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  );
  return rows[0] ? toDeadLetter(rows[0]) : null;
}

/** Newest first; `beforeId` pages on. */
export async function listDeadLetters(
  db: Queryable,
  workspaceId: string,
  options: { status?: DeadLetterStatus; limit: number; beforeId?: string | null },
): Promise<DeadLetter[]> {
  const { rows } = await db.query<DeadLetterDbRow>(
    `SELECT ${COLUMNS} FROM dead_letters WHERE workspace_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [workspaceId, options.status ?? null, options.beforeId ?? null, options.limit],
  );
  return rows.map(toDeadLetter);
}

/** A replay succeeded. */
export async function markDeadLetterReplayed(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<void> {
  await db.query(
    `UPDATE dead_letters SET status = 'replayed', replayed_at = now() WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  );
}

/** Given up on: kept for the record, no longer listed as open or replayable. */
export async function markDeadLetterDiscarded(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<DeadLetter | null> {
  const { rows } = await db.query<DeadLetterDbRow>(
    `UPDATE dead_letters SET status = 'discarded' WHERE workspace_id = $1 AND id = $2 AND status = 'open' RETURNING ${COLUMNS}`,
    [workspaceId, id],
  );
  return rows[0] ? toDeadLetter(rows[0]) : null;
}

/** A replay failed again: one more attempt, the newest error. */
export async function recordDeadLetterFailure(
  db: Queryable,
  workspaceId: string,
  id: string,
  error: Record<string, unknown>,
  attempts: number,
): Promise<void> {
  await db.query(
    `UPDATE dead_letters SET error = $3, attempts = attempts + $4, last_failed_at = now(), status = 'open' WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id, JSON.stringify(error), attempts],
  );
}

/** Cross-tenant (SECURITY DEFINER, ids only): open dead letters of every workspace, for the operator CLI. */
export async function listOpenDeadLetterIds(
  db: Queryable,
  limit: number,
): Promise<{ id: string; workspaceId: string }[]> {
  const { rows } = await db.query<{ id: string; workspace_id: string }>(
    'SELECT id::text AS id, workspace_id FROM collection_open_dead_letters($1)',
    [limit],
  );
  return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id }));
}

/** Cross-tenant (SECURITY DEFINER): the workspace a dead letter belongs to. */
export async function findDeadLetterWorkspace(db: Queryable, id: string): Promise<string | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const { rows } = await db.query<{ workspace_id: string | null }>(
    'SELECT collection_dead_letter_workspace($1) AS workspace_id',
    [id],
  );
  return rows[0]?.workspace_id ?? null;
}
