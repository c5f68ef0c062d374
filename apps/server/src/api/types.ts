import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AnalysisEventHub } from '../domain/analyses/event-hub.js';
import type { JobQueueHandle } from '../db/job-queue.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { AuthDeps } from '../domain/auth/auth.service.js';
import type { RedisHealth } from '../observability/redis-health.js';

export type ZodApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What the routes need from the process: built once by createAppDeps (deps.ts). */
export interface AppDeps {
  config: Config;
  db: Pick<Database, 'pool'>;
  redis: RedisHealth | null;
  auth: AuthDeps;
  /** The analysis job queue (opened on first use). */
  jobs: JobQueueHandle;
  /** Progress events of analyses, fanned out to this process's SSE and WebSocket clients. */
  analysisEvents: AnalysisEventHub;
}
