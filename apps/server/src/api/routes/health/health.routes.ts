import { z } from 'zod';
import { ping } from '../../../db/pool.js';
import { registry } from '../../../observability/metrics.js';
import type { AppDeps, ZodApp } from '../../types.js';

const checkSchema = z.object({
  status: z.enum(['ok', 'failed', 'not_configured']),
  error: z.string().optional(),
});
const readySchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ database: checkSchema, redis: checkSchema }),
});

async function check(work: () => Promise<void>): Promise<z.infer<typeof checkSchema>> {
  try {
    await work();
    return { status: 'ok' };
  } catch (error) {
    return { status: 'failed', error: (error as Error).message };
  }
}

export function registerHealthRoutes(app: ZodApp, deps: AppDeps): void {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the database (and Redis when configured) answer',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const [database, redis] = await Promise.all([
        check(() => ping(deps.db.pool)),
        deps.redis
          ? check(() => deps.redis?.ping() ?? Promise.resolve())
          : Promise.resolve({ status: 'not_configured' as const }),
      ]);
      const ok = database.status === 'ok' && redis.status !== 'failed';
      return reply
        .status(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', checks: { database, redis } });
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] } },
    async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    },
  );
}
