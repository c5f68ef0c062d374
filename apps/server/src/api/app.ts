import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import compress from '@fastify/compress';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import csrf from '@fastify/csrf-protection';
import etag from '@fastify/etag';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { constants as zlib } from 'node:zlib';
import { AppError } from '../errors.js';
import { loggerOptions } from '../observability/logger.js';
import { registerPoolMetrics } from '../observability/metrics.js';
import { poolStats } from '../db/pool.js';
import { ACCESS_COOKIE, registerAuth, type RouteAuth } from './plugins/auth.js';
import { registerErrorHandling, replyWithError } from './plugins/errors.js';
import { generateRequestId, registerRequestContext } from './plugins/request-context.js';
import websocket from '@fastify/websocket';
import { registerAnalysisRoutes } from './routes/analyses/analyses.routes.js';
import { registerLaneRoutes } from './routes/analyses/lanes.routes.js';
import { registerWebhookRoutes } from './routes/webhooks/webhooks.routes.js';
import { registerConnectionRoutes } from './routes/connections/connections.routes.js';
import { registerApiKeyRoutes } from './routes/api-keys/api-keys.routes.js';
import { registerAuditRoutes } from './routes/audit/audit.routes.js';
import { registerAuthRoutes } from './routes/auth/auth.routes.js';
import { registerHealthRoutes } from './routes/health/health.routes.js';
import { registerMemberRoutes } from './routes/members/members.routes.js';
import { registerInvitationRoutes } from './routes/invitations/invitations.routes.js';
import { registerImportRoutes } from './routes/imports/imports.routes.js';
import { registerPostRoutes } from './routes/posts/posts.routes.js';
import { registerWorkspaceRoutes } from './routes/workspaces/workspaces.routes.js';
import type { AppDeps, ZodApp } from './types.js';

export const webDistDir = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

export interface BuildAppOptions {
  /** A pino logger to share (the server's); tests may pass none for a silent app. */
  logger?: FastifyBaseLogger;
}

/**
 * Requests that still arrive once the server is closing (pipelined, or on a keep-alive
 * connection that is busy when the idle ones are closed) get a 503 in the API's error format,
 * with `Connection: close`, before any other hook runs; the ones in progress finish.
 */
function refuseWhileClosing(app: ZodApp): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new AppError('not_ready', 'The server is shutting down; send the request again');
  });
}

/** Every open connection of each app's server (HTTP, upgraded or not yet a request), to cut them. */
const openConnections = new WeakMap<Server, Set<Socket>>();

function trackConnections(server: Server): void {
  const open = new Set<Socket>();
  openConnections.set(server, open);
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
}

/**
 * Closes the app as `app.close()` does (no new connections; requests in progress finish, event
 * streams end), but waits at most `drainMs` for its connections to go: a slow client, a stalled
 * upload or any connection nothing ends would otherwise hold close() for ever. Past the deadline
 * the remaining connections are destroyed. Resolves once closed, with how many were cut.
 */
export async function closeApp(app: ZodApp, drainMs: number): Promise<{ cut: number }> {
  const closed = app.close();
  let deadline: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    closed.then(() => true),
    new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), drainMs))),
  ]).finally(() => clearTimeout(deadline));
  if (drained) return { cut: 0 };
  const open = [...(openConnections.get(app.server) ?? [])];
  for (const socket of open) socket.destroy();
  await closed;
  return { cut: open.length };
}

/** The request came as an HTTP upgrade (Node sets the flag; its types do not declare it). */
function isUpgrade(request: IncomingMessage): boolean {
  return (request as IncomingMessage & { upgrade?: boolean }).upgrade === true;
}

/** Builds the HTTP application without listening: the server and tests (inject) share it. */
export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<ZodApp> {
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : {
          logger: deps.config.logLevel === 'silent' ? false : loggerOptions(deps.config.logLevel),
        }),
    genReqId: generateRequestId,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: deps.config.api.bodyLimitBytes,
    // Refused in our own error format instead (below).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Fastify answers a malformed URL (or an over-long parameter) itself, before any hook runs:
    // in the API's error format instead, and a WebSocket upgrade's socket, which no hook marked
    // (see the websocket registration below), is closed once that answer is written.
    frameworkErrors: (error, request, reply) => {
      // Not stream.finished(): it would wait for the response's 'close', which comes only
      // with the socket's. A failed write errors the socket, which the websocket plugin destroys.
      if (isUpgrade(request.raw)) reply.raw.once('finish', () => request.raw.socket.destroy());
      // No hook ran, the request context's included: its id header is set here.
      void replyWithError(
        error,
        request,
        (reply as FastifyReply).header('x-request-id', request.id),
      );
    },
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: deps.config.api.trustProxy,
  }).withTypeProvider<ZodTypeProvider>();

  trackConnections(app.server);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Every body the API parses is JSON (imports and webhooks take theirs raw, in scopes of their
  // own): JSON sent as text/plain is refused as such (415), not read as a string the schema
  // then calls "expected object, received string".
  app.removeContentTypeParser('text/plain');
  registerErrorHandling(app);
  // WebSocket upgrades run the same onRequest hooks (closing, authentication, authorization,
  // rate limits). Registered before all of them: its own onRequest hook marks the request as an
  // upgrade, and only a marked request's socket is destroyed once a refusal is written; an
  // earlier hook that refused would leave the socket open for ever (CLOSE-WAIT once the client
  // goes), holding close().
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  refuseWhileClosing(app);
  registerRequestContext(app);
  registerPoolMetrics(() => poolStats(deps.db.pool));

  await app.register(helmet, {
    // The docs UI and the SPA load only their own scripts and styles; swagger-ui needs inline styles.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
  });
  // No origin is allowed cross-site unless configured: the SPA is served from the same origin.
  await app.register(cors, {
    origin: deps.config.api.corsOrigins.length > 0 ? deps.config.api.corsOrigins : false,
    credentials: true,
  });
  await app.register(cookie);
  await app.register(csrf, {
    cookieOpts: { httpOnly: true, secure: true, sameSite: 'strict', path: '/', signed: false },
    getToken: (request) => request.headers['x-csrf-token'] as string | undefined,
    // A token is bound to the session it was issued for (auth.routes.ts passes the session id
    // as userInfo): one person's _csrf cookie and token do not pass with another's session
    // cookie. The check runs only for cookie-authenticated users (plugins/auth.ts), who have one.
    getUserInfo: (request) =>
      request.principal?.kind === 'user' ? request.principal.sessionId : '',
    // Keyed from the JWT secret (its own derivation): stable across restarts and processes.
    csrfOpts: {
      hmacKey: createHmac('sha256', deps.auth.jwtSecret)
        .update('socialpulse csrf binding')
        .digest(),
    },
  });
  registerAuth(app, deps);
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    // Counters live in Redis when configured (shared by every process); if Redis fails the
    // request is served rather than refused.
    ...(deps.redis ? { redis: deps.redis.client, skipOnError: true } : {}),
    nameSpace: 'sp:rl:',
    enableDraftSpec: true,
    // Reads and writes have separate budgets, so a burst of reads cannot block an import.
    keyGenerator: (request) => {
      const p = request.principal;
      const group = request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
      return `${group}:${p?.kind === 'user' ? `user:${p.userId}` : p?.kind === 'api_key' ? `key:${p.keyId}` : `ip:${request.ip}`}`;
    },
    max: (request) =>
      request.method === 'GET' || request.method === 'HEAD'
        ? deps.config.rateLimits.readPerMinute
        : deps.config.rateLimits.writePerMinute,
    timeWindow: 60_000,
    allowList: (request) => !request.url.startsWith('/v1/'),
    // Thrown as our own error, so the error handler renders the one error body.
    errorResponseBuilder: (_request, context) =>
      new AppError(
        'rate_limited',
        `Rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
        {
          details: { limit: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        },
      ),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'SocialPulse API',
        version: '0.1.0',
        description:
          'Self-hostable social media analytics. Errors always answer `{"error":{"code","message","details"}}`.',
      },
      tags: [
        {
          name: 'workspaces',
          description: 'Workspaces hold posts and everything derived from them',
        },
        { name: 'posts', description: 'Collected and imported posts with their metrics' },
        { name: 'imports', description: 'Streamed imports of CSV, JSON Lines and JSON files' },
        {
          name: 'webhooks',
          description:
            'Signed deliveries from the platforms that push (public, verified by signature)',
        },
        {
          name: 'analyses',
          description:
            'Chunked, fair, resumable analyses of posts, with live progress, results and cost',
        },
        { name: 'operations', description: 'Health, readiness and metrics' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    // Each operation says how it is called, from the route's own `auth` (plugins/auth.ts), so
    // that the docs page can authorize its "Try it out" calls.
    transform: (input) => {
      const transformed = jsonSchemaTransform(input);
      const auth = input.route.config?.auth;
      if (!auth) return transformed;
      return { ...transformed, schema: { ...transformed.schema, security: securityOf(auth) } };
    },
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // ETag hashes the uncompressed payload, so it runs before compression (hooks run in order).
  await app.register(etag, { weak: true });
  await app.register(compress, {
    global: true,
    threshold: 1024,
    encodings: ['br', 'gzip', 'deflate'],
    // mime-db does not call JSON Lines compressible; the posts and results exports stream it.
    customTypes: /^application\/x-ndjson(?:;|$)/u,
    // Brotli's default quality (11) costs far more CPU than it saves on JSON responses.
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } },
  });

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  registerHealthRoutes(app, deps);
  registerAuthRoutes(app, deps);
  registerWorkspaceRoutes(app, deps);
  registerMemberRoutes(app, deps);
  registerInvitationRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerPostRoutes(app, deps);
  await registerImportRoutes(app, deps);
  registerAnalysisRoutes(app, deps);
  registerLaneRoutes(app, deps);
  await registerWebhookRoutes(app, deps);
  registerConnectionRoutes(app, deps);
  app.addHook('onClose', async () => {
    await deps.analysisEvents.close();
    await deps.jobs.close();
  });

  const webBuilt = existsSync(`${webDistDir}index.html`);
  if (webBuilt) {
    await app.register(fastifyStatic, {
      root: webDistDir,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
    });
  } else {
    app.get('/', { schema: { hide: true } }, (_request, reply) =>
      reply
        .type('text/html')
        .send(
          '<h1>SocialPulse</h1><p>The web app is not built (npm run build). The API is live: <a href="/docs">/docs</a>.</p>',
        ),
    );
  }

  app.setNotFoundHandler((request, reply) => {
    const wantsPage =
      request.method === 'GET' &&
      !request.url.startsWith('/v1/') &&
      (request.headers.accept ?? '').includes('text/html');
    if (wantsPage && webBuilt) return reply.sendFile('index.html');
    return reply.status(404).send({
      error: {
        code: 'not_found',
        message: `No route ${request.method} ${request.url.split('?')[0] ?? ''}`,
        details: null,
      },
    });
  });

  return app;
}

/** How the API is called: the OpenAPI document's security schemes. */
const SECURITY_SCHEMES = {
  accessToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'The access token of POST /v1/auth/sign-in (15 minutes; renewed by /v1/auth/refresh)',
  },
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'sp_…',
    description:
      'A workspace API key (`socialpulse keys create`, or POST /v1/workspaces/{workspaceId}/api-keys), sent as a bearer token',
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: ACCESS_COOKIE,
    description:
      "The dashboard's session cookie; a write with it also needs the x-csrf-token header (GET /v1/auth/csrf)",
  },
} as const;

/** Which schemes a route accepts: people for `user` routes; people or API keys otherwise. */
function securityOf(auth: RouteAuth): Record<string, string[]>[] {
  if ('public' in auth) return [];
  const people: Record<string, string[]>[] = [{ accessToken: [] }, { sessionCookie: [] }];
  return 'user' in auth ? people : [...people, { apiKey: [] }];
}
