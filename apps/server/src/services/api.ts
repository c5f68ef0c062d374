import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../observability/logger.js';
import type { RedisHealth } from '../observability/redis-health.js';
import { buildApp, closeApp } from '../api/app.js';
import { createAppDeps } from '../api/deps.js';
import type { AppDeps, ZodApp } from '../api/types.js';
import { AppError, errnoCode } from '../errors.js';

export interface RunningApi {
  app: ZodApp;
  url: string;
  deps: AppDeps;
  /** Stops listening and drains, cutting the connections still open after SHUTDOWN_DRAIN_SECONDS. */
  stop(): Promise<void>;
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
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw listenRefusal(error, config.host, config.port) ?? error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const stop = async (): Promise<void> => {
    const { cut } = await closeApp(app, config.api.drainMs);
    if (cut > 0)
      logger.warn(
        { connections: cut, drainMs: config.api.drainMs },
        `drain deadline passed: cut ${cut} connection(s) still open`,
      );
  };
  return { app, url: `http://${host}:${port}`, deps, stop };
}

/** Why HOST:PORT cannot be listened on, in words an operator can act on (null: not a known cause). */
function listenRefusal(error: unknown, host: string, port: number): AppError | null {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const because = (reason: string): AppError =>
    new AppError('config_invalid', `Cannot listen on ${where} (HOST, PORT): ${reason}`, {
      cause: error,
    });
  switch (errnoCode(error)) {
    case 'EADDRINUSE':
      return because(
        'another program is listening on that port. Stop it, or set PORT to a free port',
      );
    case 'EACCES':
    case 'EPERM':
      return because(
        `this user may not listen on port ${port} (ports below 1024 need privileges). Set PORT to 1024 or above`,
      );
    case 'EADDRNOTAVAIL':
      return because(
        'HOST is not an address of this machine. Set HOST to one of its addresses, such as 127.0.0.1 or 0.0.0.0',
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return because('HOST is not a name this machine can resolve. Set HOST to an address');
    default:
      return null;
  }
}
