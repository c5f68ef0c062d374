import {
  auditListSchema,
  auditQuerySchema,
  errorBodySchema,
  instanceAuditQuerySchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { AppError } from '../../../errors.js';
import {
  listAuditEntries,
  listInstanceEntries,
  listOwnAccountEntries,
  type AuditRecord,
} from '../../../db/repos/audit.repo.js';
import type { AppDeps, ZodApp } from '../../types.js';

const page = (entries: AuditRecord[], limit: number) => {
  const last = entries[entries.length - 1];
  return {
    data: entries.map((e) => ({
      id: e.id,
      actor: e.actor,
      user_id: e.userId,
      action: e.action,
      target: e.target,
      details: e.details,
      ip: e.ip,
      request_id: e.requestId,
      created_at: e.createdAt.toISOString(),
    })),
    next_before: entries.length === limit && last ? last.id : null,
  };
};
const errors = { 401: errorBodySchema, 403: errorBodySchema };

export function registerAuditRoutes(app: ZodApp, _deps: AppDeps): void {
  app.get(
    '/v1/workspaces/:workspaceId/audit-log',
    {
      config: { auth: { permission: 'read_audit' } },
      schema: {
        tags: ['audit'],
        summary: 'Who did what, when, from where (newest first)',
        params: workspaceParamsSchema,
        querystring: auditQuerySchema,
        response: { 200: auditListSchema, 404: errorBodySchema, ...errors },
      },
    },
    async (request) =>
      page(
        await request.scoped((c) =>
          listAuditEntries(
            c,
            request.params.workspaceId,
            request.query.before ?? null,
            request.query.limit,
          ),
        ),
        request.query.limit,
      ),
  );

  app.get(
    '/v1/auth/audit-log',
    {
      config: { auth: { user: true } },
      schema: {
        tags: ['audit'],
        summary:
          "Your account's security events: sign-ins (and failed ones), MFA, password and session changes (newest first)",
        querystring: auditQuerySchema,
        response: { 200: auditListSchema, ...errors },
      },
    },
    async (request) => {
      const userId = request.tenant.userId;
      if (!userId) throw new AppError('unauthorized', 'Sign in first');
      return page(
        await request.scoped((c) =>
          listOwnAccountEntries(c, userId, request.query.before ?? null, request.query.limit),
        ),
        request.query.limit,
      );
    },
  );

  app.get(
    '/v1/admin/audit-log',
    {
      config: { auth: { user: true } },
      schema: {
        tags: ['audit'],
        summary:
          "The instance's account events (sign-ins, failures, MFA, passwords, account creation) for instance admins (newest first)",
        querystring: instanceAuditQuerySchema,
        response: { 200: auditListSchema, ...errors },
      },
    },
    async (request) => {
      const p = request.principal;
      if (p?.kind !== 'user' || !p.isInstanceAdmin)
        throw new AppError('forbidden', 'Only instance admins may read the instance audit log', {
          details: { reason: 'instance_admin_required' },
        });
      return page(
        await request.scoped((c) =>
          listInstanceEntries(
            c,
            request.query.user_id ?? null,
            request.query.before ?? null,
            request.query.limit,
          ),
        ),
        request.query.limit,
      );
    },
  );
}
