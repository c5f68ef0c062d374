import type { Queryable } from '../pool.js';

export interface AuditEntry {
  workspaceId: string | null;
  userId?: string | null;
  actor: string;
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
  ip?: string | null;
  requestId?: string | null;
}

/** Appends to the audit log. Callers pass no secrets: details are stored as given. */
export async function insertAuditEntry(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (workspace_id, user_id, actor, action, target, details, ip, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      entry.workspaceId,
      entry.userId ?? null,
      entry.actor,
      entry.action,
      entry.target ?? null,
      JSON.stringify(entry.details ?? {}),
      entry.ip ?? null,
      entry.requestId ?? null,
    ],
  );
}

export interface AuditRecord {
  id: string;
  workspaceId: string | null;
  userId: string | null;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  requestId: string | null;
  createdAt: Date;
}

interface AuditRow {
  id: number;
  workspace_id: string | null;
  user_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  request_id: string | null;
  created_at: Date;
}

const toAudit = (r: AuditRow): AuditRecord => ({
  id: String(r.id),
  workspaceId: r.workspace_id,
  userId: r.user_id,
  actor: r.actor,
  action: r.action,
  target: r.target,
  details: r.details,
  ip: r.ip,
  requestId: r.request_id,
  createdAt: r.created_at,
});

/** Newest first; row-level security limits it to the scoped workspace. */
export async function listAuditEntries(
  db: Queryable,
  workspaceId: string,
  beforeId: string | null,
  limit: number,
): Promise<AuditRecord[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT id, workspace_id, user_id, actor, action, target, details, host(ip) AS ip, request_id, created_at FROM audit_log
     WHERE workspace_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3`,
    [workspaceId, beforeId, limit],
  );
  return rows.map(toAudit);
}

/** The user's own instance-level entries (sign-ins, MFA, password): row-level security shows them to the scoped user. */
export async function listOwnAccountEntries(
  db: Queryable,
  userId: string,
  beforeId: string | null,
  limit: number,
): Promise<AuditRecord[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT id, workspace_id, user_id, actor, action, target, details, host(ip) AS ip, request_id, created_at FROM audit_log
     WHERE workspace_id IS NULL AND user_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3`,
    [userId, beforeId, limit],
  );
  return rows.map(toAudit);
}

/** Every instance-level entry (optionally one user's), for instance admins: the caller checks the flag. */
export async function listInstanceEntries(
  db: Queryable,
  userId: string | null,
  beforeId: string | null,
  limit: number,
): Promise<AuditRecord[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT id, workspace_id, user_id, actor, action, target, details, host(ip) AS ip, request_id, created_at FROM audit_instance_entries($1::bigint, $2, $3::uuid)`,
    [beforeId, limit, userId],
  );
  return rows.map(toAudit);
}
