import type { Queryable } from '../pool.js';

export interface AuditEntry {
  workspaceId: string | null;
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
    `INSERT INTO audit_log (workspace_id, actor, action, target, details, ip, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [entry.workspaceId, entry.actor, entry.action, entry.target ?? null, JSON.stringify(entry.details ?? {}), entry.ip ?? null, entry.requestId ?? null],
  );
}
