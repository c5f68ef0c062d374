import pg from 'pg';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { redactUrl, type Logger } from '../observability/logger.js';
import { acquireLock, ensureDataDir, findLiveHolder, loadOrCreateSecrets, type Secrets } from './data-dir.js';
import { embeddedUrl, findFreePort, startEmbeddedPostgres } from './embedded.js';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';

export interface Database {
  pool: pg.Pool;
  /** Connection URL (contains a password: never log it unredacted). */
  url: string;
  mode: 'external' | 'embedded' | 'attached';
  secrets: Secrets;
  close(): Promise<void>;
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
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { config, logger } = options;
  await ensureDataDir(config.dataDir);
  const secrets = await loadOrCreateSecrets(config.dataDir);
  const effectiveSecrets: Secrets = { ...secrets, encryptionKey: config.encryptionKey ?? secrets.encryptionKey };
  let url: string;
  let mode: Database['mode'];
  let stopEmbedded: (() => Promise<void>) | undefined;
  let releaseLock: (() => Promise<void>) | undefined;

  if (config.database.url) {
    url = config.database.url;
    mode = 'external';
    if (!config.encryptionKey) {
      logger.info('ENCRYPTION_KEY is not set: using the key generated in DATA_DIR; set it explicitly when several servers share one database');
    }
  } else {
    const holder = await findLiveHolder(config.dataDir);
    if (holder && options.role === 'attach') {
      url = embeddedUrl(secrets.embeddedDbPassword, holder.port);
      mode = 'attached';
      logger.debug({ pid: holder.pid }, 'using the embedded PostgreSQL of the running SocialPulse');
    } else {
      const port = await findFreePort();
      releaseLock = await acquireLock(config.dataDir, port);
      try {
        const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, password: secrets.embeddedDbPassword, port, logger });
        url = embedded.url;
        stopEmbedded = () => embedded.stop();
        mode = 'embedded';
      } catch (error) {
        await releaseLock();
        throw error;
      }
    }
  }

  const pool = createPool(url, config.database.poolMax, { applicationName: options.applicationName ?? 'socialpulse' });
  const close = async (): Promise<void> => {
    await pool.end();
    await stopEmbedded?.();
    await releaseLock?.();
  };
  try {
    // Migrations run as the connecting (owner) role; everything else as the app role.
    const client = new pg.Client({ connectionString: url, application_name: 'socialpulse-migrate' });
    await client.connect().catch((error: unknown) => {
      throw new AppError('database_unavailable', `Cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
    });
    try {
      const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
      const version = Number(rows[0]?.server_version_num ?? 0);
      if (version < 140000) {
        throw new AppError('database_unavailable', `SocialPulse needs PostgreSQL 14 or newer; ${redactUrl(url)} runs ${version}.`);
      }
      if (options.migrate !== false) {
        const result = await migrate(client);
        if (result.applied.length > 0) {
          logger.info({ applied: result.applied.map((m) => `${m.version}_${m.name}`) }, 'database migrated');
        }
      }
    } finally {
      await client.end();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { pool, url, mode, secrets: effectiveSecrets, close };
}
