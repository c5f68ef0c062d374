import {
  createWorkspaceSchema,
  errorBodySchema,
  updateWorkspaceSchema,
  workspaceListSchema,
  workspaceParamsSchema,
  workspaceSchema,
} from '@socialpulse/contracts';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
import {
  getWorkspace,
  listWorkspaces,
  updateWorkspace,
} from '../../../db/repos/workspaces.repo.js';
import { createWorkspace } from '../../../domain/workspaces/workspaces.service.js';
import type { AppDeps, ZodApp } from '../../types.js';
import { presentWorkspace } from './workspaces.presenter.js';

const errors = { 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema };

export function registerWorkspaceRoutes(app: ZodApp, deps: AppDeps): void {
  app.get(
    '/v1/workspaces',
    {
      config: { auth: { authenticated: true } },
      schema: {
        tags: ['workspaces'],
        summary: "The caller's workspaces (an API key: its own)",
        response: { 200: workspaceListSchema, ...errors },
      },
    },
    async (request) => {
      const rows = await request.scoped((c) => listWorkspaces(c));
      return { data: rows.map((w) => presentWorkspace(w, w.role)) };
    },
  );

  app.post(
    '/v1/workspaces',
    {
      config: { auth: { user: true } },
      schema: {
        tags: ['workspaces'],
        summary: 'Create a workspace (you become its owner)',
        body: createWorkspaceSchema,
        response: { 201: workspaceSchema, 400: errorBodySchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request, reply) => {
      const actor = request.actor();
      const workspace = await createWorkspace(deps.db.pool, request.body.name, actor.userId, actor);
      return reply
        .status(201)
        .header('location', `/v1/workspaces/${workspace.id}`)
        .send(presentWorkspace(workspace, 'owner'));
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['workspaces'],
        summary: 'Get a workspace',
        params: workspaceParamsSchema,
        response: { 200: workspaceSchema, ...errors },
      },
    },
    async (request) =>
      presentWorkspace(
        await request.scoped((c) => getWorkspace(c, request.params.workspaceId)),
        request.role,
      ),
  );

  app.patch(
    '/v1/workspaces/:workspaceId',
    {
      config: { auth: { permission: 'manage_workspace' } },
      schema: {
        tags: ['workspaces'],
        summary: 'Rename a workspace or require two-factor authentication of its members',
        params: workspaceParamsSchema,
        body: updateWorkspaceSchema,
        response: { 200: workspaceSchema, 400: errorBodySchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const workspace = await request.scoped(async (c) => {
        await updateWorkspace(c, workspaceId, {
          name: request.body.name,
          requireMfa: request.body.require_mfa,
        });
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'workspace.updated',
          target: workspaceId,
          details: { ...request.body },
        });
        return getWorkspace(c, workspaceId);
      });
      return presentWorkspace(workspace, request.role);
    },
  );
}
