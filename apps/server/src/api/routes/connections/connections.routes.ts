import {
  connectionCreateSchema,
  connectionListSchema,
  connectionParamsSchema,
  connectionPatchSchema,
  connectionSchema,
  deadLetterListQuerySchema,
  deadLetterListSchema,
  deadLetterParamsSchema,
  deadLetterReplaySchema,
  deadLetterSchema,
  errorBodySchema,
  syncRunListQuerySchema,
  syncRunListSchema,
  syncRunParamsSchema,
  syncRunSchema,
  syncTriggerSchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { AppError, notFound } from '../../../errors.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { listConnections } from '../../../db/repos/connections.repo.js';
import { findDeadLetter, listDeadLetters } from '../../../db/repos/dead-letters.repo.js';
import { findSyncRun, listSyncRuns } from '../../../db/repos/sync-runs.repo.js';
import { createConnectorProvider, type ConnectorProvider } from '../../../domain/collection/connectors.js';
import {
  disconnectConnection,
  getConnection,
  patchConnection,
  replayDeadLetter,
  resolveConnection,
  storeConnection,
  triggerSync,
} from '../../../domain/collection/connections.service.js';
import type { AppDeps, ZodApp } from '../../types.js';
import { presentConnection, presentDeadLetter, presentSyncRun } from './connections.presenter.js';

/** What the collection routes may be given beyond AppDeps (tests: connectors pointed at the simulator). */
export interface CollectionRouteDeps {
  collection?: { connectors?: ConnectorProvider };
}

function decodeRunCursor(cursor: string): { queuedAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const queuedAt = new Date(at ?? '');
  if (!id || Number.isNaN(queuedAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('invalid_cursor', 'The cursor is not one this API returned');
  return { queuedAt, id };
}

/** Platform connections, their sync runs (progress, gaps) and dead letters. */
export function registerConnectionRoutes(app: ZodApp, deps: AppDeps & CollectionRouteDeps): void {
  const box = deps.auth.secretBox;
  let provider: ConnectorProvider | null = deps.collection?.connectors ?? null;
  const connectors = (): ConnectorProvider => (provider ??= createConnectorProvider());
  const tags = ['connections'];

  app.get(
    '/v1/workspaces/:workspaceId/connections',
    { config: { auth: { permission: 'read' } }, schema: { tags, summary: 'Connected platform accounts: status, last and next sync, last error', params: workspaceParamsSchema, response: { 200: connectionListSchema } } },
    async (request) => {
      const { workspaceId } = request.params;
      const rows = await request.scoped((c) => listConnections(c, workspaceId));
      return { data: rows.map(presentConnection) };
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/connections',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags,
        summary: 'Connect an account with a token (app bearer token, API key or access token); resolves the account on the platform',
        params: workspaceParamsSchema,
        body: connectionCreateSchema,
        response: { 201: connectionSchema, 200: connectionSchema, 400: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const resolved = await resolveConnection(connectors(), request.body);
      const { connection, created } = await request.scoped(async (c) => {
        const stored = await storeConnection(c, box, workspaceId, request.actor().userId, request.body, resolved);
        await insertAuditEntry(c, {
          workspaceId,
          userId: request.actor().userId,
          actor: request.actor().label,
          action: 'connection.created',
          target: stored.connection.id,
          ip: request.ip,
          requestId: request.id,
          details: { platform: stored.connection.platform, account: stored.connection.handle ?? stored.connection.externalAccountId, reconnected: !stored.created },
        });
        return stored;
      });
      return reply.code(created ? 201 : 200).header('location', `/v1/workspaces/${workspaceId}/connections/${connection.id}`).send(presentConnection(connection));
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/connections/:connectionId',
    { config: { auth: { permission: 'read' } }, schema: { tags, summary: 'One connection', params: connectionParamsSchema, response: { 200: connectionSchema } } },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      return presentConnection(await request.scoped((c) => getConnection(c, workspaceId, connectionId)));
    },
  );

  app.patch(
    '/v1/workspaces/:workspaceId/connections/:connectionId',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: { tags, summary: 'Change the poll interval; pause or resume collection', params: connectionParamsSchema, body: connectionPatchSchema, response: { 200: connectionSchema, 409: errorBodySchema } },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      return presentConnection(await request.scoped((c) => patchConnection(c, workspaceId, connectionId, request.body)));
    },
  );

  app.delete(
    '/v1/workspaces/:workspaceId/connections/:connectionId',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: { tags, summary: 'Disconnect: syncs stop and the credentials are wiped; collected posts stay', params: connectionParamsSchema, response: { 200: connectionSchema } },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      const connection = await request.scoped(async (c) => {
        const disconnected = await disconnectConnection(c, workspaceId, connectionId);
        await insertAuditEntry(c, {
          workspaceId,
          userId: request.actor().userId,
          actor: request.actor().label,
          action: 'connection.deleted',
          target: connectionId,
          ip: request.ip,
          requestId: request.id,
          details: { platform: disconnected.platform, account: disconnected.handle ?? disconnected.externalAccountId },
        });
        return disconnected;
      });
      return presentConnection(connection);
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/connections/:connectionId/sync',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags,
        summary: 'Sync now (queued for a worker); returns the run to follow. A sync already waiting is returned instead of a second one',
        params: connectionParamsSchema,
        body: syncTriggerSchema.optional(),
        response: { 202: syncRunSchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectionId } = request.params;
      const queue = await deps.jobs.get();
      const { run } = await request.scoped((c) => triggerSync(c, queue.boss, workspaceId, connectionId, request.body?.kind ?? 'posts'));
      return reply.code(202).header('location', `/v1/workspaces/${workspaceId}/sync-runs/${run.id}`).send(presentSyncRun(run));
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/connections/:connectionId/sync-runs',
    {
      config: { auth: { permission: 'read' } },
      schema: { tags, summary: "A connection's sync runs, newest first", params: connectionParamsSchema, querystring: syncRunListQuerySchema, response: { 200: syncRunListSchema } },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      const { limit, cursor } = request.query;
      const before = cursor ? decodeRunCursor(cursor) : null;
      const rows = await request.scoped(async (c) => {
        await getConnection(c, workspaceId, connectionId);
        return listSyncRuns(c, workspaceId, connectionId, limit + 1, before);
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map(presentSyncRun),
        next_cursor: rows.length > limit && last ? Buffer.from(`${last.queuedAt.toISOString()}|${last.id}`).toString('base64url') : null,
      };
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/sync-runs/:runId',
    { config: { auth: { permission: 'read' } }, schema: { tags, summary: 'A sync run: progress, counts, and what could not be collected and why', params: syncRunParamsSchema, response: { 200: syncRunSchema } } },
    async (request) => {
      const { workspaceId, runId } = request.params;
      const run = await request.scoped((c) => findSyncRun(c, workspaceId, runId));
      if (!run) throw notFound('sync run', runId);
      return presentSyncRun(run);
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/dead-letters',
    {
      config: { auth: { permission: 'read' } },
      schema: { tags, summary: 'Platform operations that failed for good (replayable), newest first', params: workspaceParamsSchema, querystring: deadLetterListQuerySchema, response: { 200: deadLetterListSchema } },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const { limit, cursor, status } = request.query;
      const rows = await request.scoped((c) => listDeadLetters(c, workspaceId, { limit: limit + 1, beforeId: cursor ?? null, ...(status ? { status } : {}) }));
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { data: page.map(presentDeadLetter), next_cursor: rows.length > limit && last ? last.id : null };
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/dead-letters/:deadLetterId',
    { config: { auth: { permission: 'read' } }, schema: { tags, summary: 'One dead letter: the operation, the request (no secrets), the error, the attempts', params: deadLetterParamsSchema, response: { 200: deadLetterSchema } } },
    async (request) => {
      const { workspaceId, deadLetterId } = request.params;
      const d = await request.scoped((c) => findDeadLetter(c, workspaceId, deadLetterId));
      if (!d) throw notFound('dead letter', deadLetterId);
      return presentDeadLetter(d);
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/dead-letters/:deadLetterId/replay',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: { tags, summary: "Replay a dead letter's operation (queued as a sync run with trigger `replay`)", params: deadLetterParamsSchema, response: { 202: deadLetterReplaySchema, 409: errorBodySchema } },
    },
    async (request, reply) => {
      const { workspaceId, deadLetterId } = request.params;
      const queue = await deps.jobs.get();
      const { deadLetter, run } = await request.scoped((c) => replayDeadLetter(c, queue.boss, workspaceId, deadLetterId));
      return reply.code(202).send({ dead_letter: presentDeadLetter(deadLetter), run: presentSyncRun(run) });
    },
  );
}
