import { z } from 'zod';
import {
  analysisLaneSchema,
  errorBodySchema,
  userLaneSchema,
  workspaceLaneSchema,
} from '@socialpulse/contracts';
import { AppError, notFound } from '../../../errors.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { setUserLane, setWorkspaceLane } from '../../../db/repos/analyses.repo.js';
import { withTenant } from '../../../db/tenant.js';
import type { FastifyRequest } from 'fastify';
import type { AppDeps, ZodApp } from '../../types.js';

/**
 * Faster lanes for analyses (issue 6): the chunk queue is the whole instance's, so only an
 * instance admin may move a workspace's or a user's new analyses ahead of other tenants' (as
 * `socialpulse analyses lane` does from a shell). Workspaces then move their own analyses
 * between 0 and their lane (PATCH …/analyses/{id}).
 */
export function registerLaneRoutes(app: ZodApp, deps: AppDeps): void {
  const errors = { 400: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema };
  const requireInstanceAdmin = (request: FastifyRequest): void => {
    const p = request.principal;
    if (p?.kind !== 'user' || !p.isInstanceAdmin)
      throw new AppError('forbidden', 'Only instance admins may grant analysis lanes', {
        details: { reason: 'instance_admin_required' },
      });
  };

  app.put(
    '/v1/admin/analysis-lanes/workspaces/:workspaceId',
    {
      config: { auth: { user: true } },
      schema: {
        tags: ['analyses'],
        summary: "Set a workspace's analysis lane (instance admins)",
        params: z.object({ workspaceId: z.uuid() }),
        body: analysisLaneSchema,
        response: { 200: workspaceLaneSchema, ...errors },
      },
    },
    async (request) => {
      requireInstanceAdmin(request);
      const { workspaceId } = request.params;
      const { priority } = request.body;
      await withTenant(deps.db.pool, { workspaceId, userId: null }, async (c) => {
        if (!(await setWorkspaceLane(c, workspaceId, priority)))
          throw notFound('workspace', workspaceId);
        await insertAuditEntry(c, {
          workspaceId,
          userId: request.actor().userId,
          actor: request.actor().label,
          action: 'analysis.lane_set',
          target: workspaceId,
          details: { priority },
          ip: request.ip,
          requestId: request.id,
        });
      });
      return { workspace_id: workspaceId, priority };
    },
  );

  app.put(
    '/v1/admin/analysis-lanes/users/:userId',
    {
      config: { auth: { user: true } },
      schema: {
        tags: ['analyses'],
        summary: "Set a user's analysis lane, in every workspace (instance admins)",
        params: z.object({ userId: z.uuid() }),
        body: analysisLaneSchema,
        response: { 200: userLaneSchema, ...errors },
      },
    },
    async (request) => {
      requireInstanceAdmin(request);
      const { userId } = request.params;
      const { priority } = request.body;
      await withTenant(deps.db.pool, { workspaceId: null, userId }, async (c) => {
        if (!(await setUserLane(c, userId, priority))) throw notFound('user', userId);
        await insertAuditEntry(c, {
          workspaceId: null,
          userId: request.actor().userId,
          actor: request.actor().label,
          action: 'analysis.lane_set',
          target: userId,
          details: { priority, of: 'user' },
          ip: request.ip,
          requestId: request.id,
        });
      });
      return { user_id: userId, priority };
    },
  );
}
