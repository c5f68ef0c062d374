import type { Queryable } from '../pool.js';
import { AppError, notFound } from '../../errors.js';
import type { Role } from '../../domain/auth/permissions.js';

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: Date;
  postCount: number;
  requireMfa: boolean;
}

interface WorkspaceRow {
  id: string;
  name: string;
  created_at: Date;
  post_count: number;
  require_mfa: boolean;
}

const toWorkspace = (r: WorkspaceRow): WorkspaceRecord => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
  postCount: r.post_count,
  requireMfa: r.require_mfa,
});

// Row-level security limits these to the current workspace and the current user's workspaces.
const SELECT = `SELECT w.id, w.name, w.created_at, w.require_mfa, workspace_post_count(w.id)::int AS post_count FROM workspaces w`;

export async function listWorkspaces(
  db: Queryable,
): Promise<(WorkspaceRecord & { role: Role | null })[]> {
  const { rows } = await db.query<WorkspaceRow & { role: Role | null }>(
    `SELECT w.id, w.name, w.created_at, w.require_mfa, workspace_post_count(w.id)::int AS post_count, m.role
     FROM workspaces w LEFT JOIN memberships m ON m.workspace_id = w.id AND m.user_id = app_user_id()
     ORDER BY w.created_at, w.id`,
  );
  return rows.map((r) => ({ ...toWorkspace(r), role: r.role }));
}

export async function findWorkspace(db: Queryable, id: string): Promise<WorkspaceRecord | null> {
  const { rows } = await db.query<WorkspaceRow>(`${SELECT} WHERE w.id = $1`, [id]);
  return rows[0] ? toWorkspace(rows[0]) : null;
}

/** The name alone (findWorkspace also counts the workspace's posts). */
export async function findWorkspaceName(db: Queryable, id: string): Promise<string | null> {
  const { rows } = await db.query<{ name: string }>('SELECT name FROM workspaces WHERE id = $1', [
    id,
  ]);
  return rows[0]?.name ?? null;
}

export async function getWorkspace(db: Queryable, id: string): Promise<WorkspaceRecord> {
  const found = await findWorkspace(db, id);
  if (!found) throw notFound('workspace', id);
  return found;
}

/**
 * Operator lookup across tenants (CLI) by name or id: a SECURITY DEFINER function, not a table
 * read. Names are not unique across tenants: an ambiguous name is refused.
 */
export async function findWorkspaceIdByName(db: Queryable, name: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>('SELECT system_workspace_by_name($1) AS id', [
    name,
  ]);
  if (rows.length > 1) {
    throw new AppError(
      'conflict',
      `${rows.length} workspaces are named "${name}"; pass the workspace id instead`,
      { details: { ids: rows.map((r) => r.id) } },
    );
  }
  return rows[0]?.id ?? null;
}

export async function countAllWorkspaces(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT system_workspace_count()::int AS n');
  return rows[0]?.n ?? 0;
}

/** Inserts a workspace; the transaction must be scoped to `id` (row-level security checks it). */
export async function insertWorkspace(
  db: Queryable,
  workspace: { id: string; name: string; createdBy: string | null },
): Promise<WorkspaceRecord> {
  const { rows } = await db.query<WorkspaceRow>(
    'INSERT INTO workspaces (id, name, created_by) VALUES ($1, $2, $3) RETURNING id, name, created_at, require_mfa, 0 AS post_count',
    [workspace.id, workspace.name, workspace.createdBy],
  );
  return toWorkspace(rows[0] as WorkspaceRow);
}

export async function updateWorkspace(
  db: Queryable,
  id: string,
  changes: { name?: string | undefined; requireMfa?: boolean | undefined },
): Promise<void> {
  await db.query(
    'UPDATE workspaces SET name = coalesce($2, name), require_mfa = coalesce($3, require_mfa), updated_at = now() WHERE id = $1',
    [id, changes.name ?? null, changes.requireMfa ?? null],
  );
}

/** Workspaces without an owner (made before any account existed), across tenants. */
export async function listUnownedWorkspaceIds(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT system_unowned_workspaces() AS id');
  return rows.map((r) => r.id);
}
