import type { Queryable } from '../pool.js';
import type { Role } from '../../domain/auth/permissions.js';

export interface MembershipRecord {
  workspaceId: string;
  userId: string;
  email: string;
  displayName: string | null;
  role: Role;
  mfaEnabled: boolean;
  createdAt: Date;
}

interface MembershipRow {
  workspace_id: string;
  user_id: string;
  email: string;
  display_name: string | null;
  role: Role;
  mfa_enabled: boolean;
  created_at: Date;
}

const toMembership = (r: MembershipRow): MembershipRecord => ({
  workspaceId: r.workspace_id,
  userId: r.user_id,
  email: r.email,
  displayName: r.display_name,
  role: r.role,
  mfaEnabled: r.mfa_enabled,
  createdAt: r.created_at,
});

const SELECT = `SELECT m.workspace_id, m.user_id, u.email, u.display_name, m.role, (u.mfa_enabled_at IS NOT NULL) AS mfa_enabled, m.created_at
  FROM memberships m JOIN users u ON u.id = m.user_id`;

/** The user's role in a workspace, or null (row-level security: scope the user). */
export async function findRole(
  db: Queryable,
  workspaceId: string,
  userId: string,
): Promise<Role | null> {
  const { rows } = await db.query<{ role: Role }>(
    'SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2',
    [workspaceId, userId],
  );
  return rows[0]?.role ?? null;
}

export async function listMembers(db: Queryable, workspaceId: string): Promise<MembershipRecord[]> {
  const { rows } = await db.query<MembershipRow>(
    `${SELECT} WHERE m.workspace_id = $1 ORDER BY m.created_at, u.email`,
    [workspaceId],
  );
  return rows.map(toMembership);
}

export async function upsertMembership(
  db: Queryable,
  workspaceId: string,
  userId: string,
  role: Role,
): Promise<void> {
  await db.query(
    `INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
    [workspaceId, userId, role],
  );
}

export async function deleteMembership(
  db: Queryable,
  workspaceId: string,
  userId: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2',
    [workspaceId, userId],
  );
  return (rowCount ?? 0) > 0;
}

export async function countOwners(db: Queryable, workspaceId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM memberships WHERE workspace_id = $1 AND role = 'owner'",
    [workspaceId],
  );
  return rows[0]?.n ?? 0;
}
