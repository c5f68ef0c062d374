import { constants } from 'node:os';
import pg from 'pg';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { stopSignals } from '../process-signals.js';
import { redactUrl, type Logger } from '../observability/logger.js';
import {
  acquireLock,
  ensureDataDir,
  findLiveHolder,
  loadOrCreateSecrets,
  registerAttached,
  waitForAttached,
  type Secrets,
} from './data-dir.js';
import {
  embeddedUrl,
  findFreePort,
  startEmbeddedPostgres,
  type PostmasterExit,
} from './embedded.js';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';

/**
 * How the application's connections are kept inside row-level security. `login_role`: they log
 * in as a role that is only a member of socialpulse_app, so nothing they run (not even
 * `RESET ROLE`) reaches the owner's rights. `role_switch`: they log in as the owner and switch to
 * socialpulse_app at connection start; the session stays the owner's, so a `SET ROLE` to it would
 * get out (an external database without DATABASE_APP_URL).
 */
export type TenantBoundary = 'login_role' | 'role_switch';

export interface Database {
  /** The application's pool (row-level security applies). */
  pool: pg.Pool;
  /** Owner connection URL: migrations, the job queue, locks, LISTEN (contains a password: never log it unredacted). */
  url: string;
  /** The URL the application's pools connect with (see TenantBoundary). */
  appUrl: string;
  tenantBoundary: TenantBoundary;
  mode: 'external' | 'embedded' | 'attached';
  secrets: Secrets;
  /** This open initialised a new embedded cluster: DATA_DIR held no SocialPulse data before. */
  createdInstance: boolean;
  /**
   * Calls `listener` if the embedded PostgreSQL this process started exits without close()
   * (killed, crashed): the process cannot work any more and should exit non-zero for a
   * supervisor to restart it. Never called in the other modes.
   */
  onUnexpectedExit(listener: (exit: PostmasterExit) => void): void;
  /**
   * Ends the pool, then, when this process started the embedded cluster, waits (at most a
   * minute) for other SocialPulse processes using it to finish, stops it and releases DATA_DIR.
   * `interrupted`: the process exits next (a signal), so in-flight queries are not waited for.
   * Calling it again returns the first call's promise.
   */
  close(options?: { interrupted?: boolean }): Promise<void>;
}

/** How long the owner of the embedded cluster waits for commands attached to it before stopping it. */
const ATTACHED_WAIT_MS = 60_000;

/**
 * Until dispose(), the stop signals (stopSignals) run `cleanup` once and exit with 128 + the
 * signal's number (130 for Ctrl+C, 143 for SIGTERM); a second signal exits at once. Without a
 * listener Node dies of the signal without running any 'exit' hook, which would leave the
 * embedded PostgreSQL (in a session of its own) and the DATA_DIR lock behind; process.exit()
 * runs those hooks, so even the second signal stops the cluster and releases the lock.
 */
export function exitOnSignals(cleanup: (signal: NodeJS.Signals) => Promise<void>): {
  dispose(): void;
  fired(): boolean;
} {
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const status = 128 + constants.signals[signal];
    if (received) process.exit(status);
    received = signal;
    void cleanup(signal)
      .catch((error: unknown) => {
        process.stderr.write(
          `socialpulse: ${signal} received; closing the database failed: ${(error as Error).message}\n`,
        );
      })
      .finally(() => process.exit(status));
  };
  const signals = stopSignals();
  for (const signal of signals) process.on(signal, onSignal);
  return {
    dispose: () => {
      for (const signal of signals) process.removeListener(signal, onSignal);
    },
    fired: () => received !== undefined,
  };
}

export interface OpenDatabaseOptions {
  config: Config;
  logger: Logger;
  /**
   * `own`: this process runs the embedded cluster (serve). `attach`: a CLI command that may
   * use the cluster of a running SocialPulse on the same DATA_DIR instead of starting one.
   */
  role: 'own' | 'attach';
  migrate?: boolean;
  applicationName?: string;
}

/**
 * Opens the system of record: the PostgreSQL at DATABASE_URL, or else an embedded real
 * PostgreSQL under DATA_DIR. Applies migrations unless told not to.
 *
 * A stop signal (stopSignals) while it opens (initdb, migrations can take seconds) stops what it
 * started, releases DATA_DIR and exits 128 + the signal's number: the caller's own handlers
 * only exist once it has a Database to close.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const controller = new AbortController();
  const guard = exitOnSignals(async () => {
    controller.abort();
    const db = await opening.catch(() => undefined);
    await db?.close({ interrupted: true });
  });
  // A signal is an event: the guard cannot run before this line.
  const opening = open(options, controller.signal);
  try {
    const db = await opening;
    if (!guard.fired()) {
      guard.dispose();
      return db;
    }
  } catch (error) {
    if (!guard.fired()) {
      guard.dispose();
      throw error;
    }
  }
  // Interrupted: the guard closes what was opened and exits; the caller must not go on.
  return new Promise<never>(() => undefined);
}

function throwIfInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('interrupted');
}

async function open(options: OpenDatabaseOptions, signal: AbortSignal): Promise<Database> {
  const { config, logger } = options;
  await ensureDataDir(config.dataDir);
  const secrets = await loadOrCreateSecrets(config.dataDir);
  const effectiveSecrets: Secrets = {
    ...secrets,
    encryptionKey: config.encryptionKey ?? secrets.encryptionKey,
  };
  let url: string;
  let mode: Database['mode'];
  let stopEmbedded: (() => Promise<void>) | undefined;
  let releaseLock: (() => Promise<void>) | undefined;
  let releaseAttached: (() => Promise<void>) | undefined;
  let createdInstance = false;
  let clusterGone = false;
  const exitListeners: ((exit: PostmasterExit) => void)[] = [];

  if (config.database.url) {
    url = config.database.url;
    mode = 'external';
    if (!config.encryptionKey) {
      logger.info(
        'ENCRYPTION_KEY is not set: using the key generated in DATA_DIR; set it explicitly when several servers share one database',
      );
    }
  } else {
    // Registered before looking at the holder, so that a holder stopping right now sees it.
    if (options.role === 'attach') releaseAttached = await registerAttached(config.dataDir);
    const holder = await findLiveHolder(config.dataDir);
    if (holder && options.role === 'attach') {
      url = embeddedUrl(secrets.embeddedDbPassword, holder.port);
      mode = 'attached';
      logger.debug({ pid: holder.pid }, 'using the embedded PostgreSQL of the running SocialPulse');
    } else {
      await releaseAttached?.();
      releaseAttached = undefined;
      const port = await findFreePort();
      releaseLock = await acquireLock(config.dataDir, port);
      try {
        const embedded = await startEmbeddedPostgres({
          dataDir: config.dataDir,
          password: secrets.embeddedDbPassword,
          port,
          logger,
          signal,
        });
        url = embedded.url;
        stopEmbedded = () => embedded.stop();
        createdInstance = embedded.created;
        embedded.onUnexpectedExit((exit) => {
          clusterGone = true;
          for (const listener of exitListeners.splice(0)) listener(exit);
        });
        mode = 'embedded';
      } catch (error) {
        await releaseLock();
        throw error;
      }
    }
  }

  if (config.database.appUrl && !config.database.url) {
    await stopEmbedded?.();
    await releaseAttached?.();
    await releaseLock?.();
    throw new AppError(
      'config_invalid',
      'DATABASE_APP_URL is set without DATABASE_URL: the embedded database makes its own application login; set both or neither.',
    );
  }
  let appUrl = config.database.appUrl ?? url;
  let tenantBoundary: TenantBoundary = config.database.appUrl ? 'login_role' : 'role_switch';
  let pool: pg.Pool | undefined;
  let closing: Promise<void> | undefined;
  const close = (closeOptions: { interrupted?: boolean } = {}): Promise<void> =>
    (closing ??= (async () => {
      // pool.end() waits for the queries in flight, which an exiting process does not need.
      if (!closeOptions.interrupted) await pool?.end();
      if (stopEmbedded) {
        if (!clusterGone) await waitForAttached(config.dataDir, logger, ATTACHED_WAIT_MS);
        await stopEmbedded();
      }
      await releaseAttached?.();
      await releaseLock?.();
    })());
  try {
    throwIfInterrupted(signal);
    // Migrations run as the connecting (owner) role; everything else as the app role.
    const client = new pg.Client({
      connectionString: url,
      application_name: 'socialpulse-migrate',
    });
    await client.connect().catch((error: unknown) => {
      throw new AppError(
        'database_unavailable',
        `Cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`,
        { cause: error },
      );
    });
    try {
      throwIfInterrupted(signal);
      const { rows } = await client.query<{ server_version_num: string }>(
        'SHOW server_version_num',
      );
      const version = Number(rows[0]?.server_version_num ?? 0);
      if (version < 140000) {
        throw new AppError(
          'database_unavailable',
          `SocialPulse needs PostgreSQL 14 or newer; ${redactUrl(url)} runs ${version}.`,
        );
      }
      if (options.migrate !== false) {
        const result = await migrate(client);
        if (result.applied.length > 0) {
          logger.info(
            { applied: result.applied.map((m) => `${m.version}_${m.name}`) },
            'database migrated',
          );
        }
      }
      if (mode !== 'external') {
        // The embedded cluster is ours: the application logs in as a role of its own.
        await ensureEmbeddedAppLogin(client, secrets.appDbPassword);
        appUrl = withCredentials(url, EMBEDDED_APP_LOGIN, secrets.appDbPassword);
        tenantBoundary = 'login_role';
      }
    } finally {
      await client.end();
    }
    throwIfInterrupted(signal);
    if (tenantBoundary === 'login_role') await assertAppLoginConfined(appUrl);
    // Said once, by the server (`own`), not by every CLI command that attaches.
    else if (options.role === 'own')
      logger.warn(
        "DATABASE_APP_URL is not set: the application switches to socialpulse_app on the owner's login, which a SET ROLE could undo; give it a login of its own for a hard tenant boundary (docs/security.md)",
      );
    pool = createPool(appUrl, config.database.poolMax, {
      applicationName: options.applicationName ?? 'socialpulse',
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    pool,
    url,
    appUrl,
    tenantBoundary,
    mode,
    secrets: effectiveSecrets,
    createdInstance,
    onUnexpectedExit: (listener) => {
      if (mode === 'embedded') exitListeners.push(listener);
    },
    close,
  };
}

/** The embedded database's application login: only a member of socialpulse_app. */
export const EMBEDDED_APP_LOGIN = 'socialpulse_login';

function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Creates (or re-keys) the login, so the password in DATA_DIR is always the one that works. */
async function ensureEmbeddedAppLogin(owner: pg.Client, password: string): Promise<void> {
  const { rows } = await owner.query<{ exists: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists',
    [EMBEDDED_APP_LOGIN],
  );
  const verb = rows[0]?.exists ? 'ALTER' : 'CREATE';
  // Utility statements take no parameters: the password is a literal (base64url, no quotes possible).
  const literal =
    (await owner.query<{ q: string }>('SELECT quote_literal($1) AS q', [password])).rows[0]?.q ??
    "''";
  await owner.query(
    `${verb} ROLE ${EMBEDDED_APP_LOGIN} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION INHERIT PASSWORD ${literal}`,
  );
  // Every time, not only after CREATE: a login made before the migrations created the group
  // (doctor on a fresh directory) failed here, and must get it once the group exists.
  await owner.query(`GRANT socialpulse_app TO ${EMBEDDED_APP_LOGIN}`);
}

/**
 * Refuses an application login that could step outside row-level security: a superuser, a role
 * with BYPASSRLS, the tables' owner (RLS is not forced on it), or one without socialpulse_app.
 */
async function assertAppLoginConfined(appUrl: string): Promise<void> {
  const probe = new pg.Client({ connectionString: appUrl, application_name: 'socialpulse-check' });
  await probe.connect().catch((error: unknown) => {
    throw new AppError(
      'database_unavailable',
      `Cannot connect with the application login at ${redactUrl(appUrl)}: ${(error as Error).message}`,
      { cause: error },
    );
  });
  try {
    const { rows } = await probe.query<{
      login: string;
      superuser: boolean;
      bypassrls: boolean;
      member: boolean;
      owns: boolean;
    }>(
      `SELECT r.rolname AS login, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
              pg_has_role(session_user, 'socialpulse_app', 'MEMBER') AS member,
              EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = current_schema() AND c.relname = 'posts' AND pg_has_role(session_user, c.relowner, 'USAGE')) AS owns
         FROM pg_roles r WHERE r.rolname = session_user`,
    );
    const r = rows[0];
    const problem = !r
      ? 'is unknown'
      : r.superuser
        ? 'is a superuser'
        : r.bypassrls
          ? 'has BYPASSRLS'
          : r.owns
            ? "owns SocialPulse's tables (or can act as their owner)"
            : !r.member
              ? 'is not a member of socialpulse_app'
              : null;
    if (problem)
      throw new AppError(
        'config_invalid',
        `The application login ${r?.login ?? ''} at ${redactUrl(appUrl)} ${problem}: it would not be held by row-level security. Give it a role that is only a member of socialpulse_app (docs/security.md).`,
      );
  } finally {
    await probe.end();
  }
}
