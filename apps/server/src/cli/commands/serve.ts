import type { Command } from 'commander';
import { loadConfig, type ConfigOverrides } from '../../config.js';
import { openDatabase } from '../../db/database.js';
import { stopSignals } from '../../process-signals.js';
import { AppError } from '../../errors.js';
import { createLogger, redactUrl } from '../../observability/logger.js';
import { createRedisHealth } from '../../observability/redis-health.js';
import type { RunningApi } from '../../services/api.js';
import type { RunningWorker } from '../../services/worker.js';
import { overridesFrom, type DatabaseFlags } from '../context.js';

const KNOWN_SERVICES = ['api', 'worker'] as const;

/**
 * A terminal's Ctrl+C signals the whole foreground process group, and `npm start` forwards
 * the same signal to us again: a repeat this soon is that echo, not someone insisting on an
 * immediate exit (which would cut the requests being drained).
 */
const REPEATED_SIGNAL_WINDOW_MS = 1000;

interface ServeFlags extends DatabaseFlags {
  port?: string;
  host?: string;
  demo: boolean;
  services: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Run SocialPulse (API and web app); embedded PostgreSQL unless DATABASE_URL is set',
    )
    .option('-p, --port <port>', 'port to listen on (PORT, default 8080; 0 picks a free port)')
    .option(
      '--host <host>',
      'address to listen on (HOST, default 127.0.0.1; 0.0.0.0 for every interface)',
    )
    .option(
      '--services <list>',
      `comma-separated process roles: ${KNOWN_SERVICES.join(', ')}`,
      'api,worker',
    )
    .option('--no-demo', 'do not create the Demo workspace on a fresh database')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory for the embedded database and secrets (DATA_DIR)')
    .action(async (flags: ServeFlags) => serve(flags));
}

async function serve(flags: ServeFlags): Promise<void> {
  const overrides: ConfigOverrides = overridesFrom(flags);
  if (flags.port !== undefined) overrides.PORT = flags.port;
  if (flags.host !== undefined) overrides.HOST = flags.host;
  const config = loadConfig(overrides);
  const services = servicesOf(flags.services);

  const logger = createLogger(config.logLevel);
  const db = await openDatabase({ config, logger, role: 'own' });
  logger.info(
    { mode: db.mode, database: redactUrl(db.url), dataDir: config.dataDir },
    'database ready',
  );
  const redis = config.redisUrl ? createRedisHealth(config.redisUrl) : null;

  let api: RunningApi | undefined;
  let worker: RunningWorker | undefined;
  let stoppingSince: number | null = null;
  const shutdown = async (signal: string, exitCode = 0): Promise<void> => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < REPEATED_SIGNAL_WINDOW_MS) {
        logger.debug({ signal }, 'repeated signal ignored: already shutting down');
        return;
      }
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'shutting down: no new connections, draining requests');
    try {
      // The API stops taking work first (its drain is bounded: connections still open at the
      // deadline are cut); the worker then finishes or releases its chunks.
      await api?.stop();
      await worker?.stop();
      await redis?.close();
      await db.close();
      logger.info('stopped cleanly');
      process.exit(exitCode);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  for (const signal of stopSignals()) process.on(signal, () => void shutdown(signal));
  // Without its database the process cannot work: exit non-zero for a supervisor to restart it.
  db.onUnexpectedExit(({ code, signal }) => {
    logger.error(
      { code, signal },
      'the embedded PostgreSQL exited: stopping, so that a supervisor can restart SocialPulse',
    );
    void shutdown('database lost', 1);
  });

  try {
    // Each role loads only its own stack: a worker-only process never loads the HTTP server.
    if (services.includes('api') && flags.demo && config.demoWorkspace && db.mode === 'embedded') {
      const { seedDemoWorkspace } = await import('../../domain/demo/demo.service.js');
      const seeded = await seedDemoWorkspace(db.pool, {
        batchSize: config.import.batchSize,
        maxRecordBytes: config.import.maxRecordBytes,
      });
      if (seeded)
        logger.info(
          { posts: seeded.inserted },
          'created the Demo workspace from examples/demo-posts.jsonl',
        );
    }
    if (services.includes('worker'))
      worker = await (await import('../../services/worker.js')).startWorker(config, db, logger);
    if (services.includes('api'))
      api = await (await import('../../services/api.js')).startApi(config, db, redis, logger);
  } catch (error) {
    await worker?.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
  if (!api) {
    process.stdout.write('\nSocialPulse worker is running. Press Ctrl+C to stop.\n\n');
    return;
  }
  const { createSetupLink } = await import('../../domain/auth/auth.service.js');
  const url = reachableUrl(api.url);
  const setupLink = await createSetupLink(api.deps.auth, config.api.publicUrl ?? url);
  process.stdout.write(
    `\nSocialPulse is running at ${url}\n  API docs:   ${url}/docs\n` +
      (setupLink ? `  First run:  create the admin account (one-time link): ${setupLink}\n` : '') +
      'Press Ctrl+C to stop.\n\n',
  );
}

/** The roles `--services` names; a list without a known role is a configuration error. */
function servicesOf(list: string): string[] {
  const services = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = services.filter((s) => !(KNOWN_SERVICES as readonly string[]).includes(s));
  if (services.length === 0 || unknown.length > 0)
    throw new AppError(
      'config_invalid',
      `--services ${JSON.stringify(list)}: ${unknown.length > 0 ? `unknown service(s) ${unknown.join(', ')}` : 'no service given'}; known: ${KNOWN_SERVICES.join(', ')}`,
    );
  return services;
}

/**
 * The listening URL as a link that works from this machine: a server listening on every
 * interface (0.0.0.0, ::) is not reachable at that address, but is on loopback.
 */
function reachableUrl(listening: string): string {
  const url = new URL(listening);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  else if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}
