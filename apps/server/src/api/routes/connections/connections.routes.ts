import { z } from 'zod';
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
  oauthCallbackParamsSchema,
  oauthCallbackQuerySchema,
  oauthStartResultSchema,
  oauthStartSchema,
  syncRunListQuerySchema,
  syncRunListSchema,
  syncRunParamsSchema,
  syncRunSchema,
  syncTriggerSchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { AppError, coerceError, notFound } from '../../../errors.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
import { findConnectionForUpdate, listConnections } from '../../../db/repos/connections.repo.js';
import { findDeadLetter, listDeadLetters } from '../../../db/repos/dead-letters.repo.js';
import { findSyncRun, listSyncRuns } from '../../../db/repos/sync-runs.repo.js';
import {
  connectorProviderFromConfig,
  type ConnectorProvider,
} from '../../../domain/collection/connectors.js';
import {
  completeOAuth,
  OAuthFlowError,
  sameOriginPath,
  startOAuth,
  type OAuthDeps,
} from '../../../domain/connections/oauth.service.js';
import {
  discardDeadLetter,
  disconnectConnection,
  getConnection,
  patchConnection,
  replayDeadLetter,
  resolveConnection,
  storeConnection,
  triggerSync,
} from '../../../domain/collection/connections.service.js';
import type { AppDeps, ZodApp } from '../../types.js';
import { revokeGrant } from '../../../domain/connections/revocation.js';
import { ID_PATTERNS, isStorableMicros } from '../../../domain/posts/cursor.js';
import { presentConnection, presentDeadLetter, presentSyncRun } from './connections.presenter.js';
import { registerOAuthPlatformsRoute } from './oauth-platforms.routes.js';

/** What the collection routes may be given beyond AppDeps (tests: connectors pointed at the simulator). */
export interface CollectionRouteDeps {
  collection?: { connectors?: ConnectorProvider };
}

/**
 * JavaScript dates reach back to 271821 BC, PostgreSQL's timestamptz to 4714 BC; and 36 hex
 * digits and dashes need not be a uuid. A tampered cursor beyond either must be a 400, not a
 * database error surfacing as a 500.
 */
function decodeRunCursor(cursor: string): { queuedAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const queuedAt = new Date(at ?? '');
  const ms = queuedAt.getTime();
  if (
    !id ||
    Number.isNaN(ms) ||
    !isStorableMicros(BigInt(ms) * 1000n) ||
    !ID_PATTERNS.uuid.test(id)
  )
    throw new AppError('invalid_cursor', 'The cursor is not one this API returned', {
      details: { field: 'cursor' },
    });
  return { queuedAt, id };
}

/**
 * `path?…&name=value`: the flow's return path with the outcome appended. A stored path that is
 * not (or, normalised, no longer) a path of this site becomes `/`: a Location must never send the
 * browser elsewhere, whatever a flow row holds.
 */
function withQuery(path: string, params: Record<string, string>): string {
  const url = new URL(sameOriginPath(path) ?? '/', 'http://socialpulse.invalid');
  for (const [name, value] of Object.entries(params))
    url.searchParams.set(name, value.slice(0, 300));
  return `${url.pathname}${url.search}`;
}

/** Platform connections, their sync runs (progress, gaps) and dead letters. */
export function registerConnectionRoutes(app: ZodApp, deps: AppDeps & CollectionRouteDeps): void {
  const box = deps.auth.secretBox;
  let provider: ConnectorProvider | null = deps.collection?.connectors ?? null;
  const connectors = (): ConnectorProvider =>
    (provider ??= connectorProviderFromConfig(deps.config, deps.redis?.client ?? null));
  const oauth = (): OAuthDeps => ({
    pool: deps.db.pool,
    secretBox: box,
    connectors: connectors(),
    stateTtlSeconds: deps.config.collection.oauthStateTtlSeconds,
  });
  const tags = ['connections'];
  registerOAuthPlatformsRoute(app, connectors);

  app.get(
    '/v1/workspaces/:workspaceId/connections',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags,
        summary: 'Connected platform accounts: status, last and next sync, last error',
        params: workspaceParamsSchema,
        response: { 200: connectionListSchema },
      },
    },
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
        summary:
          'Connect an account with a token (app bearer token, API key or access token), or a public TikTok account through the Research API with the instance client token; resolves the account on the platform',
        params: workspaceParamsSchema,
        body: connectionCreateSchema,
        response: {
          201: connectionSchema,
          200: connectionSchema,
          400: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const resolved = await resolveConnection(connectors(), request.body);
      const { connection, created } = await request.scoped(async (c) => {
        const stored = await storeConnection(
          c,
          box,
          workspaceId,
          request.actor().userId,
          request.body,
          resolved,
        );
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'connection.created',
          target: stored.connection.id,
          details: {
            platform: stored.connection.platform,
            account: stored.connection.handle ?? stored.connection.externalAccountId,
            reconnected: !stored.created,
          },
        });
        return stored;
      });
      return reply
        .code(created ? 201 : 200)
        .header('location', `/v1/workspaces/${workspaceId}/connections/${connection.id}`)
        .send(presentConnection(connection));
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/connections/oauth',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags,
        summary:
          'Connect an account by signing in on the platform (OAuth 2.0 authorization code, PKCE where the platform takes it). Open `authorization_url` in the browser; the platform sends it back to /v1/oauth/{platform}/callback',
        params: workspaceParamsSchema,
        body: oauthStartSchema,
        response: { 201: oauthStartResultSchema, 400: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const { platform, instance, poll_minutes, return_to } = request.body;
      const origin =
        deps.config.api.publicUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`;
      const redirectUri = `${origin}/v1/oauth/${platform}/callback`;
      const started = await request.scoped((c) =>
        startOAuth(
          oauth(),
          c,
          { workspaceId, userId: request.actor().userId },
          { platform, instance, pollMinutes: poll_minutes, returnTo: return_to },
          redirectUri,
        ),
      );
      return reply.code(201).send({
        authorization_url: started.authorizationUrl,
        expires_at: started.expiresAt.toISOString(),
      });
    },
  );

  app.get(
    '/v1/oauth/:platform/callback',
    {
      // The platform's redirect carries no SocialPulse credentials: the single-use state binds it to the flow.
      config: { auth: { public: true } },
      schema: {
        tags,
        summary:
          "Where the platform sends the browser back after consent. Stores the connection; redirects to the flow's `return_to` (with `connection_id` or `oauth_error`) or answers JSON",
        params: oauthCallbackParamsSchema,
        querystring: oauthCallbackQuerySchema,
        response: {
          200: connectionSchema,
          201: connectionSchema,
          303: z.null(),
          400: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { platform } = request.params;
      const q = request.query;
      try {
        const done = await completeOAuth(
          oauth(),
          platform,
          { state: q.state, code: q.code, error: q.error, errorDescription: q.error_description },
          {
            ip: request.ip,
            requestId: request.id,
            signedInUserId: request.principal?.kind === 'user' ? request.principal.userId : null,
          },
        );
        if (done.returnTo !== null)
          return reply
            .code(303)
            .header('location', withQuery(done.returnTo, { connection_id: done.connection.id }))
            .send(null);
        return reply.code(done.created ? 201 : 200).send(presentConnection(done.connection));
      } catch (error) {
        const appError = coerceError(error);
        request.log.warn(
          { platform, code: appError.code, message: appError.message },
          'oauth callback refused',
        );
        // The code only: a page shows text of its own for it, since anyone can put any text in
        // a link to it; the platform's own words stay in the log above.
        if (error instanceof OAuthFlowError && error.returnTo !== null)
          return reply
            .code(303)
            .header('location', withQuery(error.returnTo, { oauth_error: appError.code }))
            .send(null);
        throw error;
      }
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/connections/:connectionId',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags,
        summary: 'One connection',
        params: connectionParamsSchema,
        response: { 200: connectionSchema },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      return presentConnection(
        await request.scoped((c) => getConnection(c, workspaceId, connectionId)),
      );
    },
  );

  app.patch(
    '/v1/workspaces/:workspaceId/connections/:connectionId',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags,
        summary: 'Change the poll interval; pause or resume collection',
        params: connectionParamsSchema,
        body: connectionPatchSchema,
        response: { 200: connectionSchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      return presentConnection(
        await request.scoped((c) => patchConnection(c, workspaceId, connectionId, request.body)),
      );
    },
  );

  app.delete(
    '/v1/workspaces/:workspaceId/connections/:connectionId',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags,
        summary:
          'Disconnect: the OAuth grant is revoked at the platform where it has revocation, syncs stop and the credentials are wiped; collected posts stay',
        params: connectionParamsSchema,
        response: { 200: connectionSchema },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      // First the credentials go, under the row lock token renewal takes (so no sync renews the
      // grant between our read and our revocation); then the platform is called, outside any
      // transaction; then the outcome is audited.
      const { before, disconnected } = await request.scoped(async (c) => {
        const locked = await findConnectionForUpdate(c, workspaceId, connectionId);
        if (!locked) throw notFound('connection', connectionId);
        return {
          before: locked,
          disconnected: await disconnectConnection(c, workspaceId, connectionId),
        };
      });
      const revocation = await revokeGrant(
        { pool: deps.db.pool, secretBox: box, connectors: connectors() },
        before,
      );
      if (revocation.outcome === 'failed')
        request.log.warn(
          { connectionId, platform: before.platform, detail: revocation.detail },
          'could not revoke the platform grant of a removed connection',
        );
      await request.scoped((c) =>
        insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'connection.deleted',
          target: connectionId,
          details: {
            platform: disconnected.platform,
            account: disconnected.handle ?? disconnected.externalAccountId,
            grant_revocation: revocation.outcome,
          },
        }),
      );
      return presentConnection(disconnected);
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/connections/:connectionId/sync',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags,
        summary:
          'Sync now (queued for a worker); returns the run to follow. A sync already waiting is returned instead of a second one',
        params: connectionParamsSchema,
        body: syncTriggerSchema.optional(),
        response: { 202: syncRunSchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectionId } = request.params;
      const queue = await deps.jobs.get();
      const { run } = await request.scoped((c) =>
        triggerSync(c, queue.boss, workspaceId, connectionId, request.body?.kind ?? 'posts'),
      );
      return reply
        .code(202)
        .header('location', `/v1/workspaces/${workspaceId}/sync-runs/${run.id}`)
        .send(presentSyncRun(run));
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/connections/:connectionId/sync-runs',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags,
        summary: "A connection's sync runs, newest first",
        params: connectionParamsSchema,
        querystring: syncRunListQuerySchema,
        response: { 200: syncRunListSchema },
      },
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
        next_cursor:
          rows.length > limit && last
            ? Buffer.from(`${last.queuedAt.toISOString()}|${last.id}`).toString('base64url')
            : null,
      };
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/sync-runs/:runId',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags,
        summary: 'A sync run: progress, counts, and what could not be collected and why',
        params: syncRunParamsSchema,
        response: { 200: syncRunSchema },
      },
    },
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
      schema: {
        tags,
        summary: 'Platform operations that failed for good (replayable), newest first',
        params: workspaceParamsSchema,
        querystring: deadLetterListQuerySchema,
        response: { 200: deadLetterListSchema },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const { limit, cursor, status } = request.query;
      const rows = await request.scoped((c) =>
        listDeadLetters(c, workspaceId, {
          limit: limit + 1,
          beforeId: cursor ?? null,
          ...(status ? { status } : {}),
        }),
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map(presentDeadLetter),
        next_cursor: rows.length > limit && last ? last.id : null,
      };
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/dead-letters/:deadLetterId',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags,
        summary:
          'One dead letter: the operation, the request (no secrets), the error, the attempts',
        params: deadLetterParamsSchema,
        response: { 200: deadLetterSchema },
      },
    },
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
      schema: {
        tags,
        summary: "Replay a dead letter's operation (queued as a sync run with trigger `replay`)",
        params: deadLetterParamsSchema,
        response: { 202: deadLetterReplaySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { workspaceId, deadLetterId } = request.params;
      const queue = await deps.jobs.get();
      const { deadLetter, run } = await request.scoped((c) =>
        replayDeadLetter(c, queue.boss, workspaceId, deadLetterId),
      );
      return reply
        .code(202)
        .send({ dead_letter: presentDeadLetter(deadLetter), run: presentSyncRun(run) });
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/dead-letters/:deadLetterId/discard',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags,
        summary:
          'Give up on an open dead letter: it stays for the record, no longer open or replayable',
        params: deadLetterParamsSchema,
        response: { 200: deadLetterSchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId, deadLetterId } = request.params;
      const discarded = await request.scoped(async (c) => {
        const d = await discardDeadLetter(c, workspaceId, deadLetterId);
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'dead_letter.discarded',
          target: deadLetterId,
          details: { operation: d.operation, connection_id: d.connectionId },
        });
        return d;
      });
      return presentDeadLetter(discarded);
    },
  );
}
