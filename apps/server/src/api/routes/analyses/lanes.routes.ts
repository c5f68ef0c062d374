import { z } from 'zod';
import {
  analysisLaneSchema,
  errorBodySchema,
  userLaneSchema,
  workspaceLaneSchema,
} from '@socialpulse/contracts';
import { AppError, notFound } from '../../../errors.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
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

  /** Sets the lane (instance admins only) and audits it in the same transaction. */
  const grantLane = async (
    request: FastifyRequest,
    of: 'workspace' | 'user',
    id: string,
    priority: number,
  ): Promise<void> => {
    requireInstanceAdmin(request);
    const scope =
      of === 'workspace' ? { workspaceId: id, userId: null } : { workspaceId: null, userId: id };
    await withTenant(deps.db.pool, scope, async (c) => {
      const found =
        of === 'workspace'
          ? await setWorkspaceLane(c, id, priority)
          : await setUserLane(c, id, priority);
      if (!found) throw notFound(of, id);
      await insertAuditEntry(c, {
        ...auditedRequest(request),
        workspaceId: scope.workspaceId,
        action: 'analysis.lane_set',
        target: id,
        details: of === 'workspace' ? { priority } : { priority, of },
      });
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
      const { workspaceId } = request.params;
      await grantLane(request, 'workspace', workspaceId, request.body.priority);
      return { workspace_id: workspaceId, priority: request.body.priority };
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
      const { userId } = request.params;
      await grantLane(request, 'user', userId, request.body.priority);
      return { user_id: userId, priority: request.body.priority };
    },
  );
}
