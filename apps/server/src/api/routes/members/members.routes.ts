import { z } from 'zod';
import {
  addMemberSchema,
  errorBodySchema,
  memberListSchema,
  memberSchema,
  updateMemberSchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { AppError, notFound } from '../../../errors.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
import {
  countOwners,
  deleteMembership,
  findRole,
  listMembers,
  upsertMembership,
  type MembershipRecord,
} from '../../../db/repos/memberships.repo.js';
import { findUserByEmail } from '../../../db/repos/users.repo.js';
import { canAssignRole, type Role } from '../../../domain/auth/permissions.js';
import { revokeGrantsOfMember } from '../../../domain/workspaces/members.service.js';
import type { AppDeps, ZodApp } from '../../types.js';

const memberParams = workspaceParamsSchema.extend({ userId: z.uuid() });
const present = (m: MembershipRecord) => ({
  user_id: m.userId,
  email: m.email,
  display_name: m.displayName,
  role: m.role,
  mfa_enabled: m.mfaEnabled,
  joined_at: m.createdAt.toISOString(),
});
const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  404: errorBodySchema,
};

export function registerMemberRoutes(app: ZodApp, deps: AppDeps): void {
  app.get(
    '/v1/workspaces/:workspaceId/members',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['members'],
        summary: 'Members and their roles',
        params: workspaceParamsSchema,
        response: { 200: memberListSchema, ...errors },
      },
    },
    async (request) => ({
      data: (await request.scoped((c) => listMembers(c, request.params.workspaceId))).map(present),
    }),
  );

  app.post(
    '/v1/workspaces/:workspaceId/members',
    {
      config: { auth: { permission: 'manage_members' } },
      schema: {
        tags: ['members'],
        summary: 'Add an existing account to the workspace with a role',
        params: workspaceParamsSchema,
        body: addMemberSchema,
        response: { 201: memberSchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      // A miss tells the asker that the email has no account: misses are limited per asker.
      const asker = request.actor().label;
      await deps.auth.throttle.checkLookup(asker);
      const user = await findUserByEmail(deps.db.pool, request.body.email);
      if (!user) {
        await deps.auth.throttle.failLookup(asker);
        throw new AppError(
          'not_found',
          `No account with the email ${request.body.email}; send an invitation instead`,
          { details: { field: 'email' } },
        );
      }
      const member = await request.scoped(async (c) => {
        const current = await findRole(c, workspaceId, user.id);
        if (current)
          throw new AppError('conflict', `${user.email} is already a member (${current})`);
        if (!canAssignRole(request.role as Role, null, request.body.role))
          throw new AppError('forbidden', `Your role cannot grant ${request.body.role}`);
        await upsertMembership(c, workspaceId, user.id, request.body.role);
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'member.added',
          target: user.id,
          details: { role: request.body.role },
        });
        return (await listMembers(c, workspaceId)).find((m) => m.userId === user.id);
      });
      if (!member) throw new AppError('internal_error', 'member vanished');
      return reply.status(201).send(present(member));
    },
  );

  app.patch(
    '/v1/workspaces/:workspaceId/members/:userId',
    {
      config: { auth: { permission: 'manage_members' } },
      schema: {
        tags: ['members'],
        summary: "Change a member's role",
        params: memberParams,
        body: updateMemberSchema,
        response: { 200: memberSchema, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, userId } = request.params;
      const member = await request.scoped(async (c) => {
        const current = await findRole(c, workspaceId, userId);
        if (!current) throw notFound('member', userId);
        if (!canAssignRole(request.role as Role, current, request.body.role))
          throw new AppError(
            'forbidden',
            `Your role cannot change ${current} to ${request.body.role}`,
          );
        if (
          current === 'owner' &&
          request.body.role !== 'owner' &&
          (await countOwners(c, workspaceId)) <= 1
        )
          throw new AppError('conflict', 'A workspace keeps at least one owner');
        await upsertMembership(c, workspaceId, userId, request.body.role);
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'member.role_changed',
          target: userId,
          details: { from: current, to: request.body.role },
        });
        // Keys and invitations the member made under the old role must not outlive it.
        await revokeGrantsOfMember(
          c,
          workspaceId,
          userId,
          request.body.role,
          auditedRequest(request),
        );
        return (await listMembers(c, workspaceId)).find((m) => m.userId === userId);
      });
      if (!member) throw notFound('member', userId);
      return present(member);
    },
  );

  app.delete(
    '/v1/workspaces/:workspaceId/members/:userId',
    {
      config: { auth: { permission: 'manage_members' } },
      schema: {
        tags: ['members'],
        summary: 'Remove a member',
        params: memberParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, userId } = request.params;
      await request.scoped(async (c) => {
        const current = await findRole(c, workspaceId, userId);
        if (!current) throw notFound('member', userId);
        if (!canAssignRole(request.role as Role, current, null))
          throw new AppError('forbidden', `Your role cannot remove an ${current}`);
        if (current === 'owner' && (await countOwners(c, workspaceId)) <= 1)
          throw new AppError('conflict', 'A workspace keeps at least one owner');
        await deleteMembership(c, workspaceId, userId);
        // Same transaction: the member's keys and invitations die with the membership, or a
        // removed admin would keep the workspace through a key they made (or a friend invited).
        const revoked = await revokeGrantsOfMember(
          c,
          workspaceId,
          userId,
          null,
          auditedRequest(request),
        );
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'member.removed',
          target: userId,
          details: {
            role: current,
            revoked_api_keys: revoked.apiKeys,
            revoked_invitations: revoked.invitations,
          },
        });
      });
      return reply.status(204).send(null);
    },
  );
}
