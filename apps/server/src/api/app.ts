import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import compress from '@fastify/compress';
import etag from '@fastify/etag';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { constants as zlib } from 'node:zlib';
import { loggerOptions } from '../observability/logger.js';
import { registerPoolMetrics } from '../observability/metrics.js';
import { poolStats } from '../db/pool.js';
import { registerErrorHandling } from './plugins/errors.js';
import { generateRequestId, registerRequestContext } from './plugins/request-context.js';
import { registerHealthRoutes } from './routes/health/health.routes.js';
import { registerImportRoutes } from './routes/imports/imports.routes.js';
import { registerPostRoutes } from './routes/posts/posts.routes.js';
import { registerWorkspaceRoutes } from './routes/workspaces/workspaces.routes.js';
import type { AppDeps, ZodApp } from './types.js';

export const webDistDir = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

export interface BuildAppOptions {
  /** A pino logger to share (the server's); tests may pass none for a silent app. */
  logger?: FastifyBaseLogger;
}

/** Builds the HTTP application without listening: the server and tests (inject) share it. */
export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<ZodApp> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: deps.config.logLevel === 'silent' ? false : loggerOptions(deps.config.logLevel) }),
    genReqId: generateRequestId,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: deps.config.api.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerRequestContext(app);
  registerPoolMetrics(() => poolStats(deps.db.pool));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'SocialPulse API',
        version: '0.1.0',
        description: 'Self-hostable social media analytics. Errors always answer `{"error":{"code","message","details"}}`.',
      },
      tags: [
        { name: 'workspaces', description: 'Workspaces hold posts and everything derived from them' },
        { name: 'posts', description: 'Collected and imported posts with their metrics' },
        { name: 'imports', description: 'Streamed imports of CSV, JSON Lines and JSON files' },
        { name: 'operations', description: 'Health, readiness and metrics' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // ETag hashes the uncompressed payload, so it runs before compression (hooks run in order).
  await app.register(etag, { weak: true });
  await app.register(compress, {
    global: true,
    threshold: 1024,
    encodings: ['br', 'gzip', 'deflate'],
    // Brotli's default quality (11) costs far more CPU than it saves on JSON responses.
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } },
  });

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  registerHealthRoutes(app, deps);
  registerWorkspaceRoutes(app, deps);
  registerPostRoutes(app, deps);
  await registerImportRoutes(app, deps);

  const webBuilt = existsSync(`${webDistDir}index.html`);
  if (webBuilt) {
    await app.register(fastifyStatic, { root: webDistDir, prefix: '/', wildcard: false, index: ['index.html'] });
  } else {
    app.get('/', { schema: { hide: true } }, (_request, reply) =>
      reply.type('text/html').send('<h1>SocialPulse</h1><p>The web app is not built (npm run build). The API is live: <a href="/docs">/docs</a>.</p>'),
    );
  }

  app.setNotFoundHandler((request, reply) => {
    const wantsPage = request.method === 'GET' && !request.url.startsWith('/v1/') && (request.headers.accept ?? '').includes('text/html');
    if (wantsPage && webBuilt) return reply.sendFile('index.html');
    return reply.status(404).send({ error: { code: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0] ?? ''}`, details: null } });
  });

  return app;
}
