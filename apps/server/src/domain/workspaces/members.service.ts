import type { Queryable } from '../../db/pool.js';
import { insertAuditEntry, type AuditEntry } from '../../db/repos/audit.repo.js';
import { revokeMemberApiKeys } from '../../db/repos/api-keys.repo.js';
import { listOpenInvitationsBy, revokeInvitation } from '../../db/repos/invitations.repo.js';
import { canAssignRole, scopesBeyondRole, type Role } from '../auth/permissions.js';

/** Who is acting, as the audit entries of a membership change record it. */
export type MembershipActor = Pick<AuditEntry, 'userId' | 'actor' | 'ip' | 'requestId'>;

export interface RevokedGrants {
  apiKeys: string[];
  invitations: string[];
}

/**
 * Takes back what a member handed out in the workspace under a role they no longer hold: the API
 * keys they created (and the keys those minted) and the invitations they sent. `newRole` null:
 * the member was removed, and all of it goes; otherwise only what the new role could not have
 * made (keys with a scope beyond it, invitations to a role it cannot grant). Runs in the
 * caller's transaction, the one that changes the membership, so there is no moment in which the
 * member is gone but their keys still work. Each revocation is audited.
 */
export async function revokeGrantsOfMember(
  c: Queryable,
  workspaceId: string,
  userId: string,
  newRole: Role | null,
  actor: MembershipActor,
): Promise<RevokedGrants> {
  const reason = newRole === null ? 'member_removed' : 'member_role_changed';
  const beyond = newRole === null ? null : scopesBeyondRole(newRole);
  const keys =
    beyond !== null && beyond.length === 0
      ? []
      : await revokeMemberApiKeys(c, workspaceId, userId, beyond);
  for (const key of keys) {
    await insertAuditEntry(c, {
      ...actor,
      workspaceId,
      action: 'api_key.revoked',
      target: key.prefix,
      details: {
        reason,
        member: userId,
        scopes: key.scopes,
        ...(newRole ? { role: newRole } : {}),
      },
    });
  }
  const invitations = (await listOpenInvitationsBy(c, workspaceId, userId)).filter(
    (i) => newRole === null || !canAssignRole(newRole, null, i.role),
  );
  const revokedInvitations: string[] = [];
  for (const invitation of invitations) {
    const revoked = await revokeInvitation(c, workspaceId, invitation.id);
    if (!revoked) continue;
    revokedInvitations.push(revoked.id);
    await insertAuditEntry(c, {
      ...actor,
      workspaceId,
      action: 'invitation.revoked',
      target: revoked.id,
      details: { reason, member: userId, email: revoked.email, role: revoked.role },
    });
  }
  return { apiKeys: keys.map((k) => k.prefix), invitations: revokedInvitations };
}
