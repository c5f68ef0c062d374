import { z } from 'zod';
import {
  createdInvitationSchema,
  createInvitationSchema,
  errorBodySchema,
  invitationAcceptedSchema,
  invitationListSchema,
  invitationPreviewSchema,
  invitationTokenSchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { AppError } from '../../../errors.js';
import type { InvitationRecord } from '../../../db/repos/invitations.repo.js';
import { getUser } from '../../../db/repos/users.repo.js';
import {
  acceptInvitation,
  cancelInvitation,
  createInvitation,
  listInvitations,
  openInvitation,
} from '../../../domain/workspaces/invitations.service.js';
import type { AppDeps, ZodApp } from '../../types.js';

const present = (i: InvitationRecord) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  invited_by: i.invitedBy,
  created_at: i.createdAt.toISOString(),
  expires_at: i.expiresAt.toISOString(),
});
const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  404: errorBodySchema,
};

export function registerInvitationRoutes(app: ZodApp, deps: AppDeps): void {
  const auth = deps.auth;
  const invitationDeps = {
    pool: deps.db.pool,
    mail: auth.mail,
    publicUrl: auth.publicUrl,
    ...(auth.onMailError ? { onMailError: auth.onMailError } : {}),
  };
  // A token is 256 bits; the limit only stops a client from hammering the lookup.
  const tokenRoute = {
    rateLimit: {
      max: deps.config.rateLimits.authPerMinute,
      timeWindow: 60_000,
      keyGenerator: (r: { ip: string }) => `invite:${r.ip}`,
    },
  };

  app.post(
    '/v1/workspaces/:workspaceId/invitations',
    {
      config: { auth: { permission: 'manage_members' } },
      schema: {
        tags: ['members'],
        summary:
          'Invite an email address to the workspace with a role (a single-use link, mailed and shown once)',
        params: workspaceParamsSchema,
        body: createInvitationSchema,
        response: { 201: createdInvitationSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { invitation, url, mailed } = await createInvitation(
        invitationDeps,
        {
          workspaceId: request.params.workspaceId,
          email: request.body.email,
          role: request.body.role,
          expiresInDays: request.body.expires_in_days,
          inviterRole: request.role,
        },
        request.actor(),
      );
      return reply.status(201).send({ ...present(invitation), invite_url: url, mailed });
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/invitations',
    {
      config: { auth: { permission: 'manage_members' } },
      schema: {
        tags: ['members'],
        summary: 'Invitations not yet accepted, withdrawn or expired',
        params: workspaceParamsSchema,
        response: { 200: invitationListSchema, ...errors },
      },
    },
    async (request) => ({
      data: (await listInvitations(deps.db.pool, request.params.workspaceId, request.actor())).map(
        present,
      ),
    }),
  );

  app.delete(
    '/v1/workspaces/:workspaceId/invitations/:invitationId',
    {
      config: { auth: { permission: 'manage_members' } },
      schema: {
        tags: ['members'],
        summary: 'Withdraw an invitation (its link stops working)',
        params: workspaceParamsSchema.extend({ invitationId: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await cancelInvitation(
        deps.db.pool,
        request.params.workspaceId,
        request.params.invitationId,
        request.actor(),
      );
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/invitations/preview',
    {
      config: { auth: { public: true }, ...tokenRoute },
      schema: {
        tags: ['members'],
        summary: 'What an invitation link offers: the workspace, the address and the role',
        body: invitationTokenSchema,
        response: { 200: invitationPreviewSchema, ...errors },
      },
    },
    async (request) => {
      const i = await openInvitation(deps.db.pool, request.body.token);
      return {
        workspace: { id: i.workspaceId, name: i.workspaceName },
        email: i.email,
        role: i.role,
        expires_at: i.expiresAt.toISOString(),
      };
    },
  );

  app.post(
    '/v1/invitations/accept',
    {
      config: { auth: { user: true }, ...tokenRoute },
      schema: {
        tags: ['members'],
        summary: 'Join the workspace of an invitation sent to your address',
        body: invitationTokenSchema,
        response: { 200: invitationAcceptedSchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request) => {
      const p = request.principal;
      if (p?.kind !== 'user') throw new AppError('unauthorized', 'Sign in first');
      const user = await getUser(deps.db.pool, p.userId);
      const joined = await acceptInvitation(deps.db.pool, request.body.token, user, {
        ip: request.ip,
        requestId: request.id,
      });
      return { workspace_id: joined.workspaceId, role: joined.role };
    },
  );
}
