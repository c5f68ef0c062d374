import { createWorkspaceSchema, errorBodySchema, workspaceListSchema, workspaceParamsSchema, workspaceSchema } from '@socialpulse/contracts';
import { getWorkspace, insertWorkspace, listWorkspaces } from '../../../db/repos/workspaces.repo.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import type { AppDeps, ZodApp } from '../../types.js';
import { presentWorkspace } from './workspaces.presenter.js';

export function registerWorkspaceRoutes(app: ZodApp, deps: AppDeps): void {
  const { pool } = deps.db;
  app.get('/v1/workspaces', { schema: { tags: ['workspaces'], summary: 'List workspaces', response: { 200: workspaceListSchema } } }, async () => ({
    data: (await listWorkspaces(pool)).map(presentWorkspace),
  }));

  app.post(
    '/v1/workspaces',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Create a workspace',
        body: createWorkspaceSchema,
        response: { 201: workspaceSchema, 400: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const workspace = await insertWorkspace(pool, request.body.name);
      await insertAuditEntry(pool, { workspaceId: workspace.id, actor: 'local', action: 'workspace.created', target: workspace.id, ip: request.ip, requestId: request.id });
      return reply.status(201).header('location', `/v1/workspaces/${workspace.id}`).send(presentWorkspace(workspace));
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId',
    { schema: { tags: ['workspaces'], summary: 'Get a workspace', params: workspaceParamsSchema, response: { 200: workspaceSchema, 404: errorBodySchema } } },
    async (request) => presentWorkspace(await getWorkspace(pool, request.params.workspaceId)),
  );
}
