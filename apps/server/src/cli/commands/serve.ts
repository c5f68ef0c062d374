import type { Command } from 'commander';
import { loadConfig, type ConfigOverrides } from '../../config.js';
import { openDatabase } from '../../db/database.js';
import { createLogger, redactUrl } from '../../observability/logger.js';
import { createRedisHealth } from '../../observability/redis-health.js';
import type { RunningApi } from '../../services/api.js';
import type { RunningWorker } from '../../services/worker.js';
import { overridesFrom, type DatabaseFlags } from '../context.js';

const KNOWN_SERVICES = ['api', 'worker'] as const;

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
  const services = flags.services.split(',').map((s) => s.trim());
  const unknown = services.filter((s) => !(KNOWN_SERVICES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(
      `Unknown service(s): ${unknown.join(', ')}; known: ${KNOWN_SERVICES.join(', ')}`,
    );

  const logger = createLogger(config.logLevel);
  const db = await openDatabase({ config, logger, role: 'own' });
  logger.info(
    { mode: db.mode, database: redactUrl(db.url), dataDir: config.dataDir },
    'database ready',
  );
  const redis = config.redisUrl ? createRedisHealth(config.redisUrl) : null;

  let api: RunningApi | undefined;
  let worker: RunningWorker | undefined;
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, draining requests');
    try {
      // The API stops taking work first; the worker then finishes or releases its chunks.
      await api?.app.close();
      await worker?.stop();
      await redis?.close();
      await db.close();
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

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
  const setupLink = await createSetupLink(api.deps.auth, config.api.publicUrl ?? api.url);
  process.stdout.write(
    `\nSocialPulse is running at ${api.url}\n  API docs:   ${api.url}/docs\n` +
      (setupLink ? `  First run:  create the admin account (one-time link): ${setupLink}\n` : '') +
      'Press Ctrl+C to stop.\n\n',
  );
}
