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

/**
 * The user's role, its row locked until the transaction ends: a removal or role change of the
 * member (which revokes their keys in its own transaction) waits for it, or it for them.
 */
export async function lockRole(
  db: Queryable,
  workspaceId: string,
  userId: string,
): Promise<Role | null> {
  const { rows } = await db.query<{ role: Role }>(
    'SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2 FOR SHARE',
    [workspaceId, userId],
  );
  return rows[0]?.role ?? null;
}

/** Where a signed-in session stands in a workspace (see findSessionStanding). */
export interface SessionStanding {
  /** Neither revoked (sign-out, password change, refresh-token reuse) nor expired. */
  sessionActive: boolean;
  userEnabled: boolean;
  /** The user's role in the workspace, or null when no longer a member. */
  role: Role | null;
  requireMfa: boolean;
}

/**
 * What authentication and workspace authorization read for a session, in one statement of
 * primary-key lookups, for callers that re-check it often (open progress streams); null when
 * the session is gone. Row-level security: scope the workspace and the user.
 */
export async function findSessionStanding(
  db: Queryable,
  sessionId: string,
  userId: string,
  workspaceId: string,
): Promise<SessionStanding | null> {
  const { rows } = await db.query<{
    session_active: boolean;
    user_enabled: boolean;
    role: Role | null;
    require_mfa: boolean | null;
  }>(
    `SELECT s.revoked_at IS NULL AND s.expires_at > now() AS session_active,
            u.disabled_at IS NULL AS user_enabled, m.role, w.require_mfa
       FROM sessions s
       JOIN users u ON u.id = s.user_id
       LEFT JOIN memberships m ON m.workspace_id = $3 AND m.user_id = s.user_id
       LEFT JOIN workspaces w ON w.id = m.workspace_id
      WHERE s.id = $1 AND s.user_id = $2`,
    [sessionId, userId, workspaceId],
  );
  const r = rows[0];
  return r
    ? {
        sessionActive: r.session_active,
        userEnabled: r.user_enabled,
        role: r.role,
        requireMfa: r.require_mfa ?? false,
      }
    : null;
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
