import { auditListSchema, auditQuerySchema, errorBodySchema, workspaceParamsSchema } from '@socialpulse/contracts';
import { listAuditEntries } from '../../../db/repos/audit.repo.js';
import type { AppDeps, ZodApp } from '../../types.js';

export function registerAuditRoutes(app: ZodApp, _deps: AppDeps): void {
  app.get(
    '/v1/workspaces/:workspaceId/audit-log',
    {
      config: { auth: { permission: 'read_audit' } },
      schema: { tags: ['audit'], summary: 'Who did what, when, from where (newest first)', params: workspaceParamsSchema, querystring: auditQuerySchema, response: { 200: auditListSchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema } },
    },
    async (request) => {
      const entries = await request.scoped((c) => listAuditEntries(c, request.params.workspaceId, request.query.before ?? null, request.query.limit));
      const last = entries[entries.length - 1];
      return {
        data: entries.map((e) => ({ id: e.id, actor: e.actor, user_id: e.userId, action: e.action, target: e.target, details: e.details, ip: e.ip, request_id: e.requestId, created_at: e.createdAt.toISOString() })),
        next_before: entries.length === request.query.limit && last ? last.id : null,
      };
    },
  );
}
