import type { Pool, Queryable } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import {
  findInvitationByToken,
  findInvitationInviter,
  insertInvitation,
  listOpenInvitations,
  markInvitationAccepted,
  revokeInvitation,
  revokeOpenInvitationFor,
  type InvitationByToken,
  type InvitationRecord,
} from '../../db/repos/invitations.repo.js';
import { findRole, upsertMembership } from '../../db/repos/memberships.repo.js';
import { findWorkspaceName } from '../../db/repos/workspaces.repo.js';
import { AppError } from '../../errors.js';
import type { MailTransport } from '../auth/mail.js';
import { canAssignRole, type Role } from '../auth/permissions.js';
import { hashToken, randomToken } from '../auth/tokens.js';
import type { Actor } from './workspaces.service.js';

export const INVITATION_TTL_DAYS_DEFAULT = 7;

export interface InvitationDeps {
  pool: Pool;
  mail: MailTransport;
  publicUrl: string;
  onMailError?: (error: unknown, purpose: string) => void;
}

/** The link an invitee opens; the token is in it and nowhere else (only its hash is stored). */
const invitationUrl = (publicUrl: string, token: string): string =>
  `${publicUrl}/invite?token=${token}`;

/**
 * Invites an address to a workspace with a role: a single-use link, mailed and returned once to
 * the inviter (an instance without SMTP delivers mail to its log, so the inviter can pass the
 * link on). A new invitation to the same address replaces the open one.
 */
export async function createInvitation(
  deps: InvitationDeps,
  input: {
    workspaceId: string;
    email: string;
    role: Role;
    expiresInDays: number;
    inviterRole: Role | null;
  },
  actor: Actor,
): Promise<{ invitation: InvitationRecord; url: string; mailed: boolean }> {
  if (!input.inviterRole || !canAssignRole(input.inviterRole, null, input.role)) {
    throw new AppError('forbidden', `Your role cannot grant ${input.role}`, {
      details: { field: 'role', value: input.role },
    });
  }
  const email = input.email.trim();
  const token = randomToken();
  const { invitation, workspaceName } = await withTenant(
    deps.pool,
    { workspaceId: input.workspaceId, userId: actor.userId },
    async (c) => {
      await revokeOpenInvitationFor(c, input.workspaceId, email);
      const created = await insertInvitation(c, {
        workspaceId: input.workspaceId,
        email,
        role: input.role,
        tokenHash: hashToken(token),
        invitedBy: actor.userId,
        expiresAt: new Date(Date.now() + input.expiresInDays * 24 * 3600_000),
      });
      await insertAuditEntry(c, {
        workspaceId: input.workspaceId,
        userId: actor.userId,
        actor: actor.label,
        action: 'invitation.created',
        target: created.id,
        details: { email, role: input.role, expires_at: created.expiresAt.toISOString() },
        ip: actor.ip ?? null,
        requestId: actor.requestId ?? null,
      });
      const workspaceName = await findWorkspaceName(c, input.workspaceId);
      return { invitation: created, workspaceName: workspaceName ?? 'a workspace' };
    },
  );
  const url = invitationUrl(deps.publicUrl, token);
  let mailed = true;
  try {
    await deps.mail.send({
      to: email,
      subject: `You are invited to ${workspaceName} on SocialPulse`,
      text: `You are invited to join the workspace "${workspaceName}" as ${input.role}.\n\nAccept within ${input.expiresInDays} day(s): ${url}\n\nIf you did not expect this, ignore this message.`,
    });
  } catch (error) {
    mailed = false;
    deps.onMailError?.(error, 'invitation');
  }
  return { invitation, url, mailed };
}

export async function listInvitations(
  pool: Pool,
  workspaceId: string,
  actor: Actor,
): Promise<InvitationRecord[]> {
  return withTenant(pool, { workspaceId, userId: actor.userId }, (c) =>
    listOpenInvitations(c, workspaceId),
  );
}

export async function cancelInvitation(
  pool: Pool,
  workspaceId: string,
  invitationId: string,
  actor: Actor,
): Promise<void> {
  await withTenant(pool, { workspaceId, userId: actor.userId }, async (c) => {
    const revoked = await revokeInvitation(c, workspaceId, invitationId);
    if (!revoked)
      throw new AppError(
        'not_found',
        `invitation ${invitationId} was not found or is no longer open`,
        { details: { resource: 'invitation', id: invitationId } },
      );
    await insertAuditEntry(c, {
      workspaceId,
      userId: actor.userId,
      actor: actor.label,
      action: 'invitation.revoked',
      target: invitationId,
      details: { email: revoked.email, role: revoked.role },
      ip: actor.ip ?? null,
      requestId: actor.requestId ?? null,
    });
  });
}

/**
 * Refuses an invitation whose sender could not send it today: no longer a member of its
 * workspace (or an account since deleted), or moved to a role that cannot grant the invited one.
 * Removing a member revokes their open invitations; this also covers a demotion, and an
 * invitation accepted while the removal is under way. Runs in the invitation's workspace scope.
 */
async function assertInviterMayGrant(
  c: Queryable,
  invitation: Pick<InvitationByToken, 'id' | 'workspaceId' | 'role'>,
): Promise<void> {
  const inviter = await findInvitationInviter(c, invitation.workspaceId, invitation.id);
  const inviterRole = inviter?.invitedBy
    ? await findRole(c, invitation.workspaceId, inviter.invitedBy)
    : null;
  if (!inviterRole || !canAssignRole(inviterRole, null, invitation.role))
    throw new AppError(
      'forbidden',
      'Whoever sent this invitation can no longer grant this role in the workspace; ask a member for a new invitation',
      { details: { resource: 'invitation', reason: 'invitation_inviter_cannot_grant' } },
    );
}

/**
 * The invitation a token opens, if it can still be accepted. Unknown, used, revoked and expired
 * tokens are told apart only by the message: the holder of a dead link should know why.
 */
export async function openInvitation(pool: Pool, token: string): Promise<InvitationByToken> {
  const invitation = await findInvitationByToken(pool, hashToken(token));
  const reason = !invitation
    ? 'invitation_invalid'
    : invitation.acceptedAt
      ? 'invitation_used'
      : invitation.revokedAt
        ? 'invitation_revoked'
        : invitation.expiresAt <= new Date()
          ? 'invitation_expired'
          : null;
  if (!invitation || reason) {
    const message = {
      invitation_invalid: 'This invitation link is not valid',
      invitation_used: 'This invitation was already accepted',
      invitation_revoked: 'This invitation was withdrawn; ask for a new one',
      invitation_expired: 'This invitation has expired; ask for a new one',
    }[reason ?? 'invitation_invalid'];
    throw new AppError('not_found', message, { details: { resource: 'invitation', reason } });
  }
  // No user yet (the invitee may be about to sign up): the workspace's scope is enough to read
  // the invitation's sender and their membership.
  await withTenant(pool, { workspaceId: invitation.workspaceId, userId: null }, (c) =>
    assertInviterMayGrant(c, invitation),
  );
  return invitation;
}

/**
 * Joins the signed-in user to the invitation's workspace with its role. The invitation names an
 * address: only the account with that address may use it (a forwarded link is not a grant).
 */
export async function acceptInvitation(
  pool: Pool,
  token: string,
  user: { id: string; email: string },
  meta: { ip: string | null; requestId: string | null },
): Promise<{ workspaceId: string; role: Role }> {
  const invitation = await openInvitation(pool, token);
  if (invitation.email.toLowerCase() !== user.email.toLowerCase()) {
    throw new AppError(
      'forbidden',
      `This invitation was sent to another email address; sign in as that account to accept it`,
      { details: { reason: 'invitation_email_mismatch' } },
    );
  }
  return withTenant(pool, { workspaceId: invitation.workspaceId, userId: user.id }, async (c) => {
    const current = await findRole(c, invitation.workspaceId, user.id);
    if (current)
      throw new AppError('conflict', `You are already a member of this workspace (${current})`, {
        details: { role: current },
      });
    // Again in this transaction: the sender may have left since the invitation was opened.
    await assertInviterMayGrant(c, invitation);
    // Conditional: of two acceptances racing, one wins.
    if (!(await markInvitationAccepted(c, invitation.id, user.id)))
      throw new AppError('not_found', 'This invitation was already accepted', {
        details: { resource: 'invitation', reason: 'invitation_used' },
      });
    await upsertMembership(c, invitation.workspaceId, user.id, invitation.role);
    await insertAuditEntry(c, {
      workspaceId: invitation.workspaceId,
      userId: user.id,
      actor: user.id,
      action: 'member.joined',
      target: user.id,
      details: { role: invitation.role, invitation: invitation.id },
      ip: meta.ip,
      requestId: meta.requestId,
    });
    return { workspaceId: invitation.workspaceId, role: invitation.role };
  });
}
