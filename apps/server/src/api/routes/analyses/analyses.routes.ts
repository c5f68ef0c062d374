import { Readable } from 'node:stream';
import { z } from 'zod';
import {
  analysisCostSchema,
  analysisCreateSchema,
  analysisEventsQuerySchema,
  analysisIdParamsSchema,
  analysisListQuerySchema,
  analysisListSchema,
  analysisParamsSchema,
  analysisPatchSchema,
  analysisResultListSchema,
  analysisResultQuerySchema,
  analysisSchema,
  analysisSettingsPatchSchema,
  analysisSettingsSchema,
  errorBodySchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { AppError, conflict, notFound } from '../../../errors.js';
import { findAnalysis, listAnalyses, listResults } from '../../../db/repos/analyses.repo.js';
import { findApiKeyByPrefixInWorkspace } from '../../../db/repos/api-keys.repo.js';
import { findSessionStanding } from '../../../db/repos/memberships.repo.js';
import { memberRefusal, scopesAllow, type Permission } from '../../../domain/auth/permissions.js';
import { FollowerAccessRevoked } from '../../../domain/analyses/event-hub.js';
import { assertMatchableRules } from '../../../domain/analyses/category-rules.js';
import { assertWorkspaceLlmBaseUrl } from '../../../domain/analyses/llm-runtime.js';
import { decodeCursor, encodeCursor, filterFingerprint } from '../../../domain/posts/cursor.js';
import {
  getAnalysisSettings,
  lockAnalysisSettings,
  upsertAnalysisSettings,
} from '../../../db/repos/analysis-settings.repo.js';
import { monthToDateCost, traceTotals } from '../../../db/repos/traces.repo.js';
import {
  cancelAnalysis,
  changePriority,
  liveStateOf,
  analysisAudit,
  retryAnalysis,
  submitAnalysis,
} from '../../../domain/analyses/analyses.service.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
import type { AppDeps, ZodApp } from '../../types.js';
import {
  exportResults,
  presentAnalysis,
  presentResult,
  presentCost,
  presentSettings,
  resultCsvColumns,
} from './analyses.presenter.js';

/** Analyses: submit, follow (SSE / WebSocket), cancel, retry, results, cost, and the workspace's settings. */
export function registerAnalysisRoutes(app: ZodApp, deps: AppDeps): void {
  const slots = deps.config.analysis.slots;
  const keepAliveMs = deps.config.analysis.streamKeepAliveMs;

  app.post(
    '/v1/workspaces/:workspaceId/analyses',
    {
      config: { auth: { permission: 'analyze' } },
      schema: {
        tags: ['analyses'],
        summary: 'Start an analysis of posts (returns at once; follow it with /events)',
        params: workspaceParamsSchema,
        body: analysisCreateSchema,
        response: { 202: analysisSchema, 400: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const queue = await deps.jobs.get();
      const principal = request.principal;
      const requester =
        principal?.kind === 'api_key'
          ? { userId: null, apiKeyId: principal.keyId }
          : { userId: principal?.userId ?? null, apiKeyId: null };
      const analysis = await request.scoped(async (c) => {
        const submitted = await submitAnalysis(
          c,
          queue.boss,
          request.tenant,
          workspaceId,
          requester,
          request.body,
          deps.config.llm,
        );
        // Who started what, in the submission's transaction: an analysis may spend money.
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          ...analysisAudit('analysis.started', submitted),
        });
        return submitted;
      });
      const live = await request.scoped((c) => liveStateOf(c, analysis, slots));
      return reply
        .code(202)
        .header('location', `/v1/analyses/${analysis.id}`)
        .send(presentAnalysis(analysis, live));
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/analyses',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['analyses'],
        summary: 'List analyses, newest first',
        params: workspaceParamsSchema,
        querystring: analysisListQuerySchema,
        response: { 200: analysisListSchema, 400: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const { limit, cursor, status } = request.query;
      // Bound to the status filter: a cursor of one list does not page another.
      const fingerprint = filterFingerprint({ status });
      const before = cursor ? decodeCursor(cursor, fingerprint, 'uuid') : null;
      const rows = await request.scoped((c) =>
        listAnalyses(c, workspaceId, limit + 1, before, status),
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map((a) =>
          presentAnalysis(a, { queuePosition: null, estimatedSecondsLeft: null }),
        ),
        next_cursor:
          rows.length > limit && last
            ? encodeCursor({ createdAtMicros: last.created_at_us, id: last.id }, fingerprint)
            : null,
      };
    },
  );

  const getOne = async (
    request: FastifyRequest<{ Params: { analysisId: string } }>,
  ): Promise<z.infer<typeof analysisSchema>> => {
    const workspaceId = request.tenant.workspaceId ?? '';
    const { analysisId } = request.params;
    return request.scoped(async (c) => {
      const a = await findAnalysis(c, workspaceId, analysisId);
      if (!a) throw notFound('analysis', analysisId);
      return presentAnalysis(a, await liveStateOf(c, a, slots));
    });
  };
  const oneSchema = {
    tags: ['analyses'],
    summary:
      'An analysis: status, progress, queue position, time left, aggregates, summary and cost',
    response: { 200: analysisSchema },
  };
  app.get(
    '/v1/workspaces/:workspaceId/analyses/:analysisId',
    {
      config: { auth: { permission: 'read' } },
      schema: { ...oneSchema, params: analysisParamsSchema },
    },
    getOne,
  );
  app.get(
    '/v1/analyses/:analysisId',
    {
      config: { auth: { permission: 'read' } },
      schema: { ...oneSchema, params: analysisIdParamsSchema },
    },
    getOne,
  );

  app.patch(
    '/v1/workspaces/:workspaceId/analyses/:analysisId',
    {
      config: { auth: { permission: 'manage_analyses' } },
      schema: {
        tags: ['analyses'],
        summary: "Change an analysis's priority (its next chunks)",
        description:
          "Between 0 and the lane an instance operator gave the workspace or the analysis's requester (instance admins may go up to 10); 403 above it, 409 for a finished analysis.",
        params: analysisParamsSchema,
        body: analysisPatchSchema,
        response: { 200: analysisSchema, 400: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId, analysisId } = request.params;
      return request.scoped(async (c) => {
        const principal = request.principal;
        const asOperator = principal?.kind === 'user' && principal.isInstanceAdmin;
        const a = await changePriority(
          c,
          workspaceId,
          analysisId,
          request.body.priority,
          asOperator,
        );
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          ...analysisAudit('analysis.priority_changed', a),
        });
        return presentAnalysis(a, await liveStateOf(c, a, slots));
      });
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/analyses/:analysisId/cancel',
    {
      config: { auth: { permission: 'analyze' } },
      schema: {
        tags: ['analyses'],
        summary:
          'Cancel an analysis: no further chunk runs (a chunk in flight is discarded, not stored)',
        params: analysisParamsSchema,
        response: { 200: analysisSchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId, analysisId } = request.params;
      const queue = await deps.jobs.get();
      return request.scoped(async (c) => {
        const a = await cancelAnalysis(c, queue.boss, workspaceId, analysisId);
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          ...analysisAudit('analysis.cancelled', a),
        });
        return presentAnalysis(a, await liveStateOf(c, a, slots));
      });
    },
  );

  app.post(
    '/v1/workspaces/:workspaceId/analyses/:analysisId/retry',
    {
      config: { auth: { permission: 'analyze' } },
      schema: {
        tags: ['analyses'],
        summary: 'Run dead-lettered chunks again; resume a paused or cancelled analysis',
        params: analysisParamsSchema,
        response: { 202: analysisSchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { workspaceId, analysisId } = request.params;
      const queue = await deps.jobs.get();
      // Where the analysis now stands in line, read after the retry's commit has queued it.
      const a = await request.scoped(async (c) => {
        const retried = await retryAnalysis(c, queue.boss, request.tenant, workspaceId, analysisId);
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          ...analysisAudit('analysis.retried', retried),
        });
        return retried;
      });
      const live = await request.scoped((c) => liveStateOf(c, a, slots));
      return reply.code(202).send(presentAnalysis(a, live));
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/analyses/:analysisId/results',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['analyses'],
        summary: 'Per-post results, filtered; `format=jsonl|csv` streams them all (export)',
        description: `\`format=csv\` columns: ${resultCsvColumns.join(', ')}. The list columns (categories, keywords) hold a JSON array of strings, e.g. \`["great thanks","cold brew"]\`, empty when the result has none.`,
        params: analysisParamsSchema,
        querystring: analysisResultQuerySchema,
        response: {
          200: {
            description: 'A page of results (format=json), or every matching result (export)',
            content: {
              'application/json': { schema: analysisResultListSchema },
              'text/csv': {
                schema: z.string().describe('format=csv: a header line, then one line a result'),
              },
              'application/x-ndjson': {
                schema: z
                  .string()
                  .describe('format=jsonl: one AnalysisResult as JSON a line, as in format=json'),
              },
            },
          },
          400: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId, analysisId } = request.params;
      const { limit: pageSize, cursor, format, ...filters } = request.query;
      const limit = pageSize ?? 100;
      const filter = {
        label: filters.label,
        topic: filters.topic,
        category: filters.category,
        llmSentiment: filters.llm_sentiment,
        llmStatus: filters.llm_status,
      };
      const exists = await request.scoped((c) => findAnalysis(c, workspaceId, analysisId));
      if (!exists) throw notFound('analysis', analysisId);
      if (format === 'json') {
        // Bound to the analysis and its filters (topic and category as they match, in any case):
        // a page boundary of one query would silently skip rows of another.
        const fingerprint = filterFingerprint({
          analysis: analysisId,
          label: filters.label,
          topic: filters.topic?.toLowerCase(),
          category: filters.category?.toLowerCase(),
          llm_sentiment: filters.llm_sentiment,
          llm_status: filters.llm_status,
        });
        const after = cursor ? decodeCursor(cursor, fingerprint, 'bigint').id : null;
        const rows = await request.scoped((c) =>
          listResults(c, analysisId, filter, after, limit + 1),
        );
        const page = rows.slice(0, limit);
        const last = page[page.length - 1];
        return {
          data: page.map(presentResult),
          // Results are keyed by post id alone: the cursor's time is not read, and fixed at 0.
          next_cursor:
            rows.length > limit && last
              ? encodeCursor({ createdAtMicros: '0', id: String(last.post_id) }, fingerprint)
              : null,
        };
      }
      await request.scoped((c) =>
        insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'analysis.exported',
          target: analysisId,
          details: { format },
        }),
      );
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="analysis-${analysisId}.${format}"`)
        .send(
          Readable.from(
            exportResults((work) => request.scoped(work), analysisId, filter, format),
          ) as never,
        ); // a stream bypasses the serializers; the typed reply is format=json's
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/analyses/:analysisId/cost',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['analyses'],
        summary:
          'What the analysis cost: model calls, tokens and USD, by model (from its AI traces)',
        params: analysisParamsSchema,
        response: { 200: analysisCostSchema },
      },
    },
    async (request) => {
      const { workspaceId, analysisId } = request.params;
      return request.scoped(async (c) => {
        if (!(await findAnalysis(c, workspaceId, analysisId)))
          throw notFound('analysis', analysisId);
        return presentCost(await traceTotals(c, analysisId));
      });
    },
  );

  // --- live progress --------------------------------------------------------------------------
  const eventsSchema = {
    tags: ['analyses'],
    summary: 'Progress as Server-Sent Events (resumable with Last-Event-ID or ?after=)',
    description:
      "Events: queued, started, chunk_completed, chunk_failed, chunk_dead, paused, then a final completed, completed_with_errors, failed or cancelled; an analysis that asked the LLM and completed then has its job summary's event (summary: the text, or null with the reason). The stream ends after the last of them; a resume after the end is answered 204 (EventSource then stops reconnecting). Last-Event-ID, when sent, wins over ?after= (EventSource reconnects to the same URL). Access is checked again while the stream is open (every 30 s, or twice per keep-alive interval when that is shorter): once the caller's session or API key has ended, or they may no longer read the workspace, the stream ends with an `error` event without id, whose data is {code: 'access_revoked', status, reason, message}: `status` is what a new request would be answered (401: the session or key has ended, sign in again; 403: no longer allowed, e.g. two-factor authentication now required; 404: no longer a member). An open stream outlives its access token while the session lasts.",
    querystring: analysisEventsQuerySchema,
    // Loose: the other headers (credentials among them) stay as they were sent.
    headers: z.looseObject({
      'last-event-id': z
        .string()
        .optional()
        .describe('The id of the last event received: the stream resumes after it'),
    }),
    // The stream's media type for its 200 alone: the refusals are JSON error bodies.
    response: {
      200: {
        description: 'The events, as Server-Sent Events (or a WebSocket upgrade of the same URL)',
        content: { 'text/event-stream': { schema: z.string() } },
      },
      204: z.null().describe('The analysis is over and the resume point is past its last event'),
      400: errorBodySchema,
    },
  };
  // Open streams end when the server closes (they would hold its close() open), and clients
  // resume elsewhere with Last-Event-ID.
  const openStreams = new Set<AbortController>();
  app.addHook('preClose', (done) => {
    for (const stream of openStreams) stream.abort();
    done();
  });

  // Authorization is checked when a stream opens; an open stream checks it again this often, or a
  // removed member, a revoked key or a signed-out session would follow until the analysis ends
  // (never, for one paused on its budget). Derived from the keep-alive, the streams' one timing
  // setting: 30 s by default, and tests that shorten the keep-alive shorten this with it.
  const accessRecheckMs = Math.min(30_000, 2 * keepAliveMs);
  const refusal = (
    code: 'unauthorized' | 'forbidden' | 'not_found',
    reason: string,
    message: string,
  ): AppError => new AppError(code, message, { details: { reason } });
  /**
   * What a new request of the stream's caller would now be refused with, or null; one query by
   * primary keys. The access token's expiry is not checked: its 15 minutes bound how long a
   * request is trusted without asking the database, and this asks the session itself; ending
   * streams there would only make every client reconnect with a refreshed token (which an
   * EventSource, holding no token of its own, cannot do) for no added safety.
   */
  const accessOf =
    (request: FastifyRequest, workspaceId: string) => async (): Promise<AppError | null> => {
      const auth = request.routeOptions.config.auth;
      const permission: Permission = auth && 'permission' in auth ? auth.permission : 'read';
      const principal = request.principal;
      if (!principal) return refusal('unauthorized', 'missing_credentials', 'Not signed in');
      if (principal.kind === 'api_key') {
        const key = await request.scoped((c) =>
          findApiKeyByPrefixInWorkspace(c, workspaceId, principal.keyId),
        );
        if (!key || key.revokedAt)
          return refusal('unauthorized', 'api_key_revoked', 'This API key was revoked');
        if (key.expiresAt && key.expiresAt <= new Date())
          return refusal('unauthorized', 'api_key_expired', 'This API key has expired');
        if (!scopesAllow(key.scopes, permission))
          return refusal('forbidden', 'permission', `This API key does not allow ${permission}`);
        return null;
      }
      const standing = await request.scoped((c) =>
        findSessionStanding(c, principal.sessionId, principal.userId, workspaceId),
      );
      if (!standing?.sessionActive)
        return refusal('unauthorized', 'session_revoked', 'This session has ended; sign in again');
      if (!standing.userEnabled)
        return refusal('unauthorized', 'account_disabled', 'This account is disabled');
      // The rule requests are authorized by (the auth plugin), in this stream's words.
      switch (
        memberRefusal({
          role: standing.role,
          sessionUsedMfa: principal.mfa,
          workspaceRequiresMfa: standing.requireMfa,
          mfaRequiredRoles: deps.config.auth.mfaRequiredRoles,
          permission,
        })
      ) {
        case 'not_a_member':
          return refusal(
            'not_found',
            'not_a_member',
            'You are no longer a member of this workspace',
          );
        case 'mfa_required':
          return refusal(
            'forbidden',
            'mfa_required',
            'This workspace requires two-factor authentication: enable it and sign in with a code',
          );
        case 'permission':
          return refusal(
            'forbidden',
            'permission',
            `Your role (${standing.role ?? ''}) does not allow ${permission} in this workspace`,
          );
        case null:
          return null;
      }
    };
  const reasonOf = (error: AppError): string =>
    (error.details as { reason?: string } | undefined)?.reason ?? error.code;

  /**
   * Where a follower resumes: after the Last-Event-ID header's event, else after ?after=. The
   * header wins: EventSource sends it when it reconnects to the URL it first opened. Read before
   * the handler, so that a WebSocket upgrade with a bad one is refused with a 400 too.
   */
  const resumeAfter = (request: FastifyRequest): number => {
    const header = request.headers['last-event-id'];
    const sent = header === undefined ? '' : String(header).trim();
    if (sent === '') return (request.query as { after?: number | undefined }).after ?? 0;
    const id = Number(sent);
    if (/^\d+$/.test(sent) && Number.isSafeInteger(id)) return id;
    const value = sent.length > 100 ? `${sent.slice(0, 99)}…` : sent;
    throw new AppError(
      'validation_failed',
      `headers.last-event-id: not an event id, expected a non-negative integer (got ${JSON.stringify(value)})`,
      {
        details: {
          problems: [
            {
              in: 'headers',
              field: 'last-event-id',
              message: 'not an event id, expected a non-negative integer',
              value,
            },
          ],
        },
      },
    );
  };

  const sse = async (
    request: FastifyRequest<{
      Params: { analysisId: string };
      Querystring: { after?: number | undefined };
    }>,
    reply: FastifyReply,
  ): Promise<void> => {
    const workspaceId = request.tenant.workspaceId ?? '';
    const { analysisId } = request.params;
    const lastEventId = resumeAfter(request);
    const exists = await request.scoped((c) => findAnalysis(c, workspaceId, analysisId));
    if (!exists) throw notFound('analysis', analysisId);
    if (await deps.analysisEvents.isOver(workspaceId, analysisId, lastEventId)) {
      await reply.code(204).send();
      return;
    }
    const abort = new AbortController();
    request.raw.on('close', () => abort.abort());
    // The client may have gone while the analysis was read: 'close' has been emitted already.
    if (request.raw.destroyed || request.raw.socket.destroyed) abort.abort();
    openStreams.add(abort);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
    try {
      for await (const event of deps.analysisEvents.follow(
        workspaceId,
        analysisId,
        lastEventId,
        abort.signal,
        {
          untilOver: true,
          recheck: { everyMs: accessRecheckMs, access: accessOf(request, workspaceId) },
        },
      )) {
        res.write(
          `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ ...event.data, at: event.createdAt.toISOString() })}\n\n`,
        );
      }
    } catch (error) {
      if (error instanceof FollowerAccessRevoked) {
        // No id: a client that reconnects resumes after the last real event, and is refused.
        const { status, message } = error.refusal;
        const reason = reasonOf(error.refusal);
        res.write(
          `event: error\ndata: ${JSON.stringify({ code: 'access_revoked', status, reason, message })}\n\n`,
        );
        request.log.info({ reason }, 'event stream ended: access revoked');
      } else request.log.warn({ err: error }, 'event stream ended with an error');
    } finally {
      clearInterval(keepAlive);
      abort.abort();
      openStreams.delete(abort);
      res.end();
    }
  };
  // The same URL answers a WebSocket upgrade with the same events, as {id, type, data} messages.
  // Browsers cannot send headers on a WebSocket and resume with ?after=; other clients may send
  // Last-Event-ID as over SSE.
  const ws = (
    socket: WebSocket,
    request: FastifyRequest<{
      Params: { analysisId: string };
      Querystring: { after?: number | undefined };
    }>,
  ): void => {
    const workspaceId = request.tenant.workspaceId ?? '';
    const { analysisId } = request.params;
    const after = resumeAfter(request);
    const abort = new AbortController();
    socket.on('close', () => abort.abort());
    openStreams.add(abort);
    // A peer gone without closing is noticed by its missing pong, as SSE notices by its writes.
    let alive = true;
    socket.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, keepAliveMs);
    void (async () => {
      try {
        // As the SSE route: an analysis this workspace cannot see is not followed.
        const exists = await request.scoped((c) => findAnalysis(c, workspaceId, analysisId));
        if (!exists) {
          socket.close(4404, 'analysis not found');
          return;
        }
        for await (const event of deps.analysisEvents.follow(
          workspaceId,
          analysisId,
          after,
          abort.signal,
          {
            untilOver: true,
            recheck: { everyMs: accessRecheckMs, access: accessOf(request, workspaceId) },
          },
        )) {
          socket.send(
            JSON.stringify({
              id: event.id,
              type: event.type,
              data: { ...event.data, at: event.createdAt.toISOString() },
            }),
          );
        }
        socket.close(1000, 'done');
      } catch (error) {
        if (error instanceof FollowerAccessRevoked) {
          // 4000 + the status a new request would get, as 4404 above.
          const reason = reasonOf(error.refusal);
          socket.close(4000 + error.refusal.status, `access revoked: ${reason}`);
          request.log.info({ reason }, 'websocket event stream ended: access revoked');
        } else {
          request.log.warn({ err: error }, 'websocket event stream failed');
          socket.close(1011, 'error');
        }
      } finally {
        clearInterval(ping);
        openStreams.delete(abort);
      }
    })();
  };
  const eventsDescription = `${eventsSchema.description} A WebSocket upgrade of the same URL receives the same events as JSON messages {id, type, data}; it resumes the same way (browsers can send ?after= only), and closes with 1000 after the last event, 4404 for an analysis it cannot see, and, when access ends as above, 4401, 4403 or 4404 (4000 + that status) with the reason.`;
  // Before the handler, and so before a WebSocket upgrade: a bad Last-Event-ID is a 400.
  const checkResume = (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    resumeAfter(request); // throws on a bad header (Fastify answers a hook's throw)
    done();
  };
  app.route({
    method: 'GET',
    url: '/v1/workspaces/:workspaceId/analyses/:analysisId/events',
    config: { auth: { permission: 'read' } },
    schema: { ...eventsSchema, description: eventsDescription, params: analysisParamsSchema },
    preHandler: checkResume,
    handler: sse,
    wsHandler: ws,
  });
  app.route({
    method: 'GET',
    url: '/v1/analyses/:analysisId/events',
    config: { auth: { permission: 'read' } },
    schema: { ...eventsSchema, description: eventsDescription, params: analysisIdParamsSchema },
    preHandler: checkResume,
    handler: sse,
    wsHandler: ws,
  });

  // --- settings -------------------------------------------------------------------------------
  app.get(
    '/v1/workspaces/:workspaceId/analysis-settings',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['analyses'],
        summary: "The workspace's categories, LLM and monthly LLM budget (the key is never shown)",
        params: workspaceParamsSchema,
        response: { 200: analysisSettingsSchema },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      return request.scoped(async (c) =>
        presentSettings(
          await getAnalysisSettings(c, workspaceId),
          await monthToDateCost(c, workspaceId),
        ),
      );
    },
  );

  app.patch(
    '/v1/workspaces/:workspaceId/analysis-settings',
    {
      config: { auth: { permission: 'manage_connections' } },
      schema: {
        tags: ['analyses'],
        summary: "Change the workspace's categories, LLM or budget",
        params: workspaceParamsSchema,
        body: analysisSettingsPatchSchema,
        response: { 200: analysisSettingsSchema, 400: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const { categories, llm, revision } = request.body;
      if (categories !== undefined) assertMatchableRules(categories);
      if (llm?.base_url) assertWorkspaceLlmBaseUrl(llm.base_url, deps.config.llm);
      return request.scoped(async (c) => {
        await lockAnalysisSettings(c, workspaceId);
        // The stored key goes only to the server it was given for: a new base URL without a new
        // key forgets it (else whoever may change the URL could have the key sent to their host).
        // Read under the lock: a key saved by a change committing meanwhile is seen, not kept.
        const previous =
          llm?.base_url !== undefined ? await getAnalysisSettings(c, workspaceId) : null;
        const forgetKey =
          llm?.base_url !== undefined &&
          llm.api_key === undefined &&
          previous?.llm_api_key_sealed != null &&
          (previous.llm_base_url ?? null) !== llm.base_url;
        const row = await upsertAnalysisSettings(
          c,
          workspaceId,
          {
            ...(categories !== undefined ? { categories } : {}),
            ...(llm?.base_url !== undefined ? { llmBaseUrl: llm.base_url } : {}),
            ...(llm?.model !== undefined ? { llmModel: llm.model } : {}),
            ...(forgetKey ? { llmApiKeySealed: null } : {}),
            ...(llm?.api_key !== undefined
              ? {
                  llmApiKeySealed:
                    llm.api_key === null
                      ? null
                      : deps.auth.secretBox.encrypt(llm.api_key, `llm_api_key:${workspaceId}`),
                }
              : {}),
            ...(llm?.timeout_ms !== undefined ? { llmTimeoutMs: llm.timeout_ms } : {}),
            ...(llm?.max_concurrency !== undefined
              ? { llmMaxConcurrency: llm.max_concurrency }
              : {}),
            ...(llm?.monthly_budget_usd !== undefined
              ? { llmMonthlyBudgetUsd: llm.monthly_budget_usd }
              : {}),
          },
          revision,
        );
        if (!row) {
          const current = (await getAnalysisSettings(c, workspaceId))?.revision ?? 0;
          throw conflict(
            `the workspace's analysis settings changed since revision ${revision}: they are at revision ${current} now; read them again and make the change from there`,
            { field: 'revision', value: revision, current_revision: current },
          );
        }
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'analysis_settings.updated',
          target: workspaceId,
          details: {
            fields: [
              ...(categories !== undefined ? ['categories'] : []),
              ...Object.keys(llm ?? {}).map((k) => `llm.${k}`),
            ],
            ...(forgetKey ? { api_key_forgotten: 'the base URL changed' } : {}),
          },
        });
        return presentSettings(row, await monthToDateCost(c, workspaceId));
      });
    },
  );
}
