import type { Queryable } from '../pool.js';

export const connectionStatuses = [
  'pending',
  'active',
  'platform_auth_expired',
  'paused',
  'error',
  'disconnected',
] as const;
export type ConnectionStatus = (typeof connectionStatuses)[number];
export const connectionApis = ['display', 'research'] as const;
export type ConnectionApi = (typeof connectionApis)[number];

/** A platform connection as the domain sees it; `credentialsSealed` never leaves the server. */
export interface Connection {
  id: string;
  workspaceId: string;
  platform: string;
  accountId: string | null;
  externalAccountId: string | null;
  handle: string | null;
  /** Which of the platform's APIs it reads (TikTok: `display` or `research`); null = the default. */
  api: ConnectionApi | null;
  status: ConnectionStatus;
  credentialsSealed: string | null;
  tokenExpiresAt: Date | null;
  cursor: Record<string, unknown> | null;
  pollMinutes: number;
  nextSyncAt: Date | null;
  lastSyncAt: Date | null;
  blockedUntil: Date | null;
  lastError: Record<string, unknown> | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface ConnectionDbRow {
  id: string;
  workspace_id: string;
  platform: string;
  account_id: string | null;
  external_account_id: string | null;
  handle: string | null;
  api: ConnectionApi | null;
  status: ConnectionStatus;
  credentials_sealed: string | null;
  token_expires_at: Date | null;
  cursor: Record<string, unknown> | null;
  poll_minutes: number;
  next_sync_at: Date | null;
  last_sync_at: Date | null;
  blocked_until: Date | null;
  last_error: Record<string, unknown> | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, workspace_id, platform, account_id::text AS account_id, external_account_id, handle, api, status, credentials_sealed,
  token_expires_at, cursor, poll_minutes, next_sync_at, last_sync_at, blocked_until, last_error, created_by, created_at, updated_at`;

function toConnection(r: ConnectionDbRow): Connection {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    platform: r.platform,
    accountId: r.account_id,
    externalAccountId: r.external_account_id,
    handle: r.handle,
    api: r.api,
    status: r.status,
    credentialsSealed: r.credentials_sealed,
    tokenExpiresAt: r.token_expires_at,
    cursor: r.cursor,
    pollMinutes: r.poll_minutes,
    nextSyncAt: r.next_sync_at,
    lastSyncAt: r.last_sync_at,
    blockedUntil: r.blocked_until,
    lastError: r.last_error,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface NewConnection {
  id: string;
  workspaceId: string;
  platform: string;
  externalAccountId: string;
  handle: string | null;
  api: ConnectionApi | null;
  credentialsSealed: string;
  tokenExpiresAt: string | null;
  pollMinutes: number;
  createdBy: string | null;
}

/**
 * Stores a connection (active, due now) and the platform account its posts belong to. An account
 * connected before (even disconnected) is taken over: new credentials, active again.
 */
export async function upsertConnection(
  db: Queryable,
  c: NewConnection,
): Promise<{ connection: Connection; created: boolean }> {
  const { rows: accounts } = await db.query<{ id: string }>(
    `INSERT INTO platform_accounts (workspace_id, platform, handle, external_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (workspace_id, platform, lower(handle)) DO UPDATE SET external_id = coalesce(platform_accounts.external_id, EXCLUDED.external_id)
     RETURNING id::text AS id`,
    [c.workspaceId, c.platform, c.handle ?? c.externalAccountId, c.externalAccountId],
  );
  const accountId = accounts[0]?.id ?? null;
  const { rows } = await db.query<ConnectionDbRow & { inserted: boolean }>(
    `INSERT INTO platform_connections AS pc (id, workspace_id, platform, account_id, external_account_id, handle, status, credentials_sealed,
       token_expires_at, poll_minutes, next_sync_at, created_by, api)
     VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, now(), $10, $11)
     ON CONFLICT (workspace_id, platform, external_account_id) WHERE external_account_id IS NOT NULL DO UPDATE SET
       status = 'active', credentials_sealed = EXCLUDED.credentials_sealed, token_expires_at = EXCLUDED.token_expires_at,
       -- Another API's cursor means nothing to this one.
       api = EXCLUDED.api, cursor = CASE WHEN pc.api IS NOT DISTINCT FROM EXCLUDED.api THEN pc.cursor END,
       handle = EXCLUDED.handle, account_id = coalesce(EXCLUDED.account_id, pc.account_id), poll_minutes = EXCLUDED.poll_minutes,
       next_sync_at = now(), blocked_until = NULL, last_error = NULL, updated_at = now()
     RETURNING ${COLUMNS}, (xmax = 0) AS inserted`,
    [
      c.id,
      c.workspaceId,
      c.platform,
      accountId,
      c.externalAccountId,
      c.handle,
      c.credentialsSealed,
      c.tokenExpiresAt,
      c.pollMinutes,
      c.createdBy,
      c.api,
    ],
  );
  const row = rows[0];
  if (!row) throw new Error('upsertConnection returned no row');
  return { connection: toConnection(row), created: row.inserted };
}

export async function findConnection(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<Connection | null> {
  const { rows } = await db.query<ConnectionDbRow>(
    `SELECT ${COLUMNS} FROM platform_connections WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  );
  return rows[0] ? toConnection(rows[0]) : null;
}

/** The same, locked until the end of the transaction (a sync's state changes under it). */
export async function findConnectionForUpdate(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<Connection | null> {
  const { rows } = await db.query<ConnectionDbRow>(
    `SELECT ${COLUMNS} FROM platform_connections WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
    [workspaceId, id],
  );
  return rows[0] ? toConnection(rows[0]) : null;
}

export async function listConnections(db: Queryable, workspaceId: string): Promise<Connection[]> {
  const { rows } = await db.query<ConnectionDbRow>(
    `SELECT ${COLUMNS} FROM platform_connections WHERE workspace_id = $1 ORDER BY created_at, id`,
    [workspaceId],
  );
  return rows.map(toConnection);
}

export interface ConnectionUpdate {
  status?: ConnectionStatus;
  pollMinutes?: number;
  /** null wipes the credentials. */
  credentialsSealed?: string | null;
  tokenExpiresAt?: Date | null;
  cursor?: Record<string, unknown> | null;
  nextSyncAt?: Date | null;
  lastSyncAt?: Date | null;
  blockedUntil?: Date | null;
  lastError?: Record<string, unknown> | null;
}

const updateColumns: Record<keyof ConnectionUpdate, string> = {
  status: 'status',
  pollMinutes: 'poll_minutes',
  credentialsSealed: 'credentials_sealed',
  tokenExpiresAt: 'token_expires_at',
  cursor: 'cursor',
  nextSyncAt: 'next_sync_at',
  lastSyncAt: 'last_sync_at',
  blockedUntil: 'blocked_until',
  lastError: 'last_error',
};

export async function updateConnection(
  db: Queryable,
  workspaceId: string,
  id: string,
  update: ConnectionUpdate,
): Promise<Connection | null> {
  const sets: string[] = [];
  const values: unknown[] = [workspaceId, id];
  for (const key of Object.keys(update) as (keyof ConnectionUpdate)[]) {
    const value = update[key];
    if (value === undefined) continue;
    values.push(
      key === 'cursor' || key === 'lastError'
        ? value === null
          ? null
          : JSON.stringify(value)
        : value,
    );
    sets.push(`${updateColumns[key]} = $${values.length}`);
  }
  sets.push('updated_at = now()');
  const { rows } = await db.query<ConnectionDbRow>(
    `UPDATE platform_connections SET ${sets.join(', ')} WHERE workspace_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    values,
  );
  return rows[0] ? toConnection(rows[0]) : null;
}

/** The newest stored post of the connected account (where an incremental sync starts again). */
export async function newestPostCreatedAt(
  db: Queryable,
  workspaceId: string,
  platform: string,
  accountId: string,
): Promise<Date | null> {
  const { rows } = await db.query<{ newest: Date | null }>(
    'SELECT max(created_at) AS newest FROM posts WHERE workspace_id = $1 AND platform = $2 AND account_id = $3',
    [workspaceId, platform, accountId],
  );
  return rows[0]?.newest ?? null;
}

export interface DueConnection {
  connectionId: string;
  workspaceId: string;
  kind: 'posts' | 'metrics';
}

/** Cross-tenant (SECURITY DEFINER, ids only): connections with posts or metric refreshes due. */
export async function listDueConnections(db: Queryable, limit: number): Promise<DueConnection[]> {
  const { rows } = await db.query<{
    connection_id: string;
    workspace_id: string;
    kind: 'posts' | 'metrics';
  }>('SELECT connection_id, workspace_id, kind FROM collection_due_connections($1)', [limit]);
  return rows.map((r) => ({
    connectionId: r.connection_id,
    workspaceId: r.workspace_id,
    kind: r.kind,
  }));
}

/** One post whose metrics are due for a refresh. */
export interface DueRefresh {
  postId: string;
  externalId: string;
  createdAt: Date;
  stage: number;
}

/** Plans metric refreshes of newly collected posts; posts already planned keep their plan. */
export async function insertRefreshPlan(
  db: Queryable,
  workspaceId: string,
  connectionId: string,
  platform: string,
  plan: readonly { externalId: string; stage: number; dueAt: Date }[],
): Promise<number> {
  if (plan.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO post_refresh_schedule (post_id, workspace_id, connection_id, stage, due_at)
     SELECT p.id, $1, $2, u.stage, u.due_at
       FROM unnest($4::text[], $5::smallint[], $6::timestamptz[]) AS u(external_id, stage, due_at)
       JOIN posts p ON p.workspace_id = $1 AND p.platform = $3 AND p.external_id = u.external_id
     ON CONFLICT (post_id) DO NOTHING`,
    [
      workspaceId,
      connectionId,
      platform,
      plan.map((p) => p.externalId),
      plan.map((p) => p.stage),
      plan.map((p) => p.dueAt.toISOString()),
    ],
  );
  return rowCount ?? 0;
}

/** Posts of the connection whose refresh is due, most overdue first. */
export async function listDueRefreshes(
  db: Queryable,
  workspaceId: string,
  connectionId: string,
  now: Date,
  limit: number,
): Promise<DueRefresh[]> {
  const { rows } = await db.query<{
    post_id: string;
    external_id: string;
    created_at: Date;
    stage: number;
  }>(
    `SELECT s.post_id::text AS post_id, p.external_id, p.created_at, s.stage
       FROM post_refresh_schedule s JOIN posts p ON p.id = s.post_id
      WHERE s.workspace_id = $1 AND s.connection_id = $2 AND s.due_at <= $3
      ORDER BY s.due_at, s.post_id
      LIMIT $4`,
    [workspaceId, connectionId, now, limit],
  );
  return rows.map((r) => ({
    postId: r.post_id,
    externalId: r.external_id,
    createdAt: r.created_at,
    stage: r.stage,
  }));
}

/** Moves refreshed (or given-up) posts to their next stage. */
export async function advanceRefreshes(
  db: Queryable,
  workspaceId: string,
  next: readonly { postId: string; stage: number; dueAt: Date }[],
): Promise<void> {
  if (next.length === 0) return;
  await db.query(
    `UPDATE post_refresh_schedule s SET stage = u.stage, due_at = u.due_at
       FROM unnest($2::bigint[], $3::smallint[], $4::timestamptz[]) AS u(post_id, stage, due_at)
      WHERE s.workspace_id = $1 AND s.post_id = u.post_id`,
    [
      workspaceId,
      next.map((n) => n.postId),
      next.map((n) => n.stage),
      next.map((n) => n.dueAt.toISOString()),
    ],
  );
}

/** Stops refreshing posts the platform says are gone. */
export async function deleteRefreshes(
  db: Queryable,
  workspaceId: string,
  postIds: readonly string[],
): Promise<void> {
  if (postIds.length === 0) return;
  await db.query(
    'DELETE FROM post_refresh_schedule WHERE workspace_id = $1 AND post_id = ANY($2::bigint[])',
    [workspaceId, postIds],
  );
}

export async function countDueRefreshes(
  db: Queryable,
  workspaceId: string,
  connectionId: string,
  now: Date,
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM post_refresh_schedule WHERE workspace_id = $1 AND connection_id = $2 AND due_at <= $3',
    [workspaceId, connectionId, now],
  );
  return rows[0]?.n ?? 0;
}

/** Posts of the workspace by platform id, with their refresh stage (a replayed metric refresh). */
export async function listRefreshesOf(
  db: Queryable,
  workspaceId: string,
  platform: string,
  externalIds: readonly string[],
): Promise<DueRefresh[]> {
  if (externalIds.length === 0) return [];
  const { rows } = await db.query<{
    post_id: string;
    external_id: string;
    created_at: Date;
    stage: number | null;
  }>(
    `SELECT p.id::text AS post_id, p.external_id, p.created_at, s.stage
       FROM posts p LEFT JOIN post_refresh_schedule s ON s.post_id = p.id
      WHERE p.workspace_id = $1 AND p.platform = $2 AND p.external_id = ANY($3::text[])`,
    [workspaceId, platform, externalIds],
  );
  return rows.map((r) => ({
    postId: r.post_id,
    externalId: r.external_id,
    createdAt: r.created_at,
    stage: r.stage ?? 0,
  }));
}

/**
 * Serialises, until the end of the transaction, every connect of one platform account to one
 * workspace: the lookup of its connection and the upsert that follows must see each other, as
 * credentials are sealed for the id the lookup settles on.
 */
export async function lockConnectionAccount(
  db: Queryable,
  workspaceId: string,
  platform: string,
  externalAccountId: string,
): Promise<void> {
  await db.query(
    "SELECT pg_advisory_xact_lock(hashtextextended('connection_account:' || $1 || ':' || $2 || ':' || $3, 0))",
    [workspaceId, platform, externalAccountId],
  );
}

export async function findConnectionByAccount(
  db: Queryable,
  workspaceId: string,
  platform: string,
  externalAccountId: string,
): Promise<Connection | null> {
  const { rows } = await db.query<ConnectionDbRow>(
    `SELECT ${COLUMNS} FROM platform_connections WHERE workspace_id = $1 AND platform = $2 AND external_account_id = $3`,
    [workspaceId, platform, externalAccountId],
  );
  return rows[0] ? toConnection(rows[0]) : null;
}
