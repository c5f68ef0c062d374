import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../observability/logger.js';
import type { RedisHealth } from '../observability/redis-health.js';
import { buildApp } from '../api/app.js';
import { createAppDeps } from '../api/deps.js';
import type { AppDeps, ZodApp } from '../api/types.js';

export interface RunningApi {
  app: ZodApp;
  url: string;
  deps: AppDeps;
}

/** Builds the app and listens on HOST:PORT. */
export async function startApi(
  config: Config,
  db: Database,
  redis: RedisHealth | null,
  logger: Logger,
): Promise<RunningApi> {
  const deps = createAppDeps(config, db, redis, logger);
  const app = await buildApp(deps, { logger });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { app, url: `http://${host}:${port}`, deps };
}
