import type { Queryable } from '../pool.js';
import type { Role } from '../../domain/auth/permissions.js';

export interface InvitationRecord {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  acceptedBy: string | null;
  revokedAt: Date | null;
}

interface InvitationRow {
  id: string;
  workspace_id: string;
  email: string;
  role: Role;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
}

const toInvitation = (r: InvitationRow): InvitationRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  email: r.email,
  role: r.role,
  invitedBy: r.invited_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  acceptedAt: r.accepted_at,
  acceptedBy: r.accepted_by,
  revokedAt: r.revoked_at,
});

const COLUMNS =
  'id, workspace_id, email, role, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at';

/** Revokes the address's open invitation to the scoped workspace, if any (a new one replaces it). */
export async function revokeOpenInvitationFor(
  db: Queryable,
  workspaceId: string,
  email: string,
): Promise<void> {
  await db.query(
    'UPDATE invitations SET revoked_at = now() WHERE workspace_id = $1 AND lower(email) = lower($2) AND accepted_at IS NULL AND revoked_at IS NULL',
    [workspaceId, email],
  );
}

export async function insertInvitation(
  db: Queryable,
  i: {
    workspaceId: string;
    email: string;
    role: Role;
    tokenHash: Buffer;
    invitedBy: string | null;
    expiresAt: Date;
  },
): Promise<InvitationRecord> {
  const { rows } = await db.query<InvitationRow>(
    `INSERT INTO invitations (workspace_id, email, role, token_hash, invited_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [i.workspaceId, i.email, i.role, i.tokenHash, i.invitedBy, i.expiresAt],
  );
  return toInvitation(rows[0] as InvitationRow);
}

/** The scoped workspace's invitations that can still be accepted, newest first. */
export async function listOpenInvitations(
  db: Queryable,
  workspaceId: string,
): Promise<InvitationRecord[]> {
  const { rows } = await db.query<InvitationRow>(
    `SELECT ${COLUMNS} FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC`,
    [workspaceId],
  );
  return rows.map(toInvitation);
}

/** Revokes one open invitation of the scoped workspace; null when there is none by that id. */
export async function revokeInvitation(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<InvitationRecord | null> {
  const { rows } = await db.query<InvitationRow>(
    `UPDATE invitations SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING ${COLUMNS}`,
    [workspaceId, id],
  );
  return rows[0] ? toInvitation(rows[0]) : null;
}

/** The scoped workspace's open invitations sent by one member. */
export async function listOpenInvitationsBy(
  db: Queryable,
  workspaceId: string,
  invitedBy: string,
): Promise<InvitationRecord[]> {
  const { rows } = await db.query<InvitationRow>(
    `SELECT ${COLUMNS} FROM invitations WHERE workspace_id = $1 AND invited_by = $2 AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY created_at`,
    [workspaceId, invitedBy],
  );
  return rows.map(toInvitation);
}

/** Who sent an invitation of the scoped workspace (null: an account since deleted, or none). */
export async function findInvitationInviter(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<{ invitedBy: string | null } | null> {
  const { rows } = await db.query<{ invited_by: string | null }>(
    'SELECT invited_by FROM invitations WHERE workspace_id = $1 AND id = $2',
    [workspaceId, id],
  );
  return rows[0] ? { invitedBy: rows[0].invited_by } : null;
}

export interface InvitationByToken {
  id: string;
  workspaceId: string;
  workspaceName: string;
  email: string;
  role: Role;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
}

/** Finds an invitation by its token's hash, across workspaces (the invitee knows only the token). */
export async function findInvitationByToken(
  db: Queryable,
  tokenHash: Buffer,
): Promise<InvitationByToken | null> {
  const { rows } = await db.query<{
    id: string;
    workspace_id: string;
    workspace_name: string;
    email: string;
    role: Role;
    expires_at: Date;
    accepted_at: Date | null;
    revoked_at: Date | null;
  }>('SELECT * FROM invitation_by_token($1)', [tokenHash]);
  const r = rows[0];
  return r
    ? {
        id: r.id,
        workspaceId: r.workspace_id,
        workspaceName: r.workspace_name,
        email: r.email,
        role: r.role,
        expiresAt: r.expires_at,
        acceptedAt: r.accepted_at,
        revokedAt: r.revoked_at,
      }
    : null;
}

/** Marks an open invitation accepted (in its workspace's scope); false if it was taken meanwhile. */
export async function markInvitationAccepted(
  db: Queryable,
  id: string,
  userId: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()',
    [id, userId],
  );
  return (rowCount ?? 0) > 0;
}
