import { existsSync } from 'node:fs';
import { statfs, access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.js';
import { openDatabase } from '../../db/database.js';
import { readMigrations } from '../../db/migrate.js';
import { ensureDataDir, findLiveHolder } from '../../db/data-dir.js';
import { createLogger, redactUrl } from '../../observability/logger.js';
import { createRedisHealth } from '../../observability/redis-health.js';
import { describeIoError, errnoCode, isAppError } from '../../errors.js';
import { overridesFrom, type DatabaseFlags } from '../context.js';

type Check = { name: string; ok: boolean; detail: string };
type Add = (name: string, ok: boolean, detail: string) => void;

const MIN_FREE_BYTES = 1024 ** 3;

/** What to do about unapplied migrations, said the same way for a fresh and a stale database. */
const MIGRATE_HINT = 'start the server once (it migrates), or run `socialpulse migrate`';
const NOT_SET_UP = `not set up yet (no migrations applied): ${MIGRATE_HINT}`;

/**
 * Whether opening the embedded database failed because it was never migrated: the application's
 * login is granted socialpulse_app, a role the first migration creates (42704 undefined_object).
 * The login is created before that grant fails, and a later serve does not grant it again
 * (db/database.ts, ensureEmbeddedAppLogin), which is why doctor avoids getting here.
 */
function isUnmigratedEmbedded(error: unknown): boolean {
  return errnoCode(error) === '42704' && /socialpulse_app/.test((error as Error).message);
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check configuration, database, Redis and disk; exits non-zero when something is wrong',
    )
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: DatabaseFlags) => {
      const checks: Check[] = [];
      const add = (name: string, ok: boolean, detail: string): void => {
        checks.push({ name, ok, detail });
        process.stdout.write(`${ok ? '✓' : '✗'} ${name}: ${detail}\n`);
      };
      const config = loadConfig(overridesFrom(flags));
      add('configuration', true, 'valid');

      try {
        await ensureDataDir(config.dataDir);
        await access(config.dataDir, constants.W_OK);
        const fs = await statfs(config.dataDir);
        const free = fs.bavail * fs.bsize;
        add(
          'disk',
          free >= MIN_FREE_BYTES,
          `${(free / 1024 ** 3).toFixed(1)} GiB free in ${config.dataDir}${free < MIN_FREE_BYTES ? ' (less than 1 GiB)' : ''}`,
        );
      } catch (error) {
        // ensureDataDir says what is wrong with DATA_DIR itself; the rest is the probe's.
        add(
          'disk',
          false,
          isAppError(error)
            ? error.message
            : `${config.dataDir} is not writable: ${describeIoError(error)}`,
        );
      }

      await checkDatabase(config, add);

      if (config.redisUrl) {
        const redis = createRedisHealth(config.redisUrl);
        try {
          await redis.ping();
          add('redis', true, redactUrl(config.redisUrl));
        } catch (error) {
          add('redis', false, `${redactUrl(config.redisUrl)}: ${(error as Error).message}`);
        } finally {
          await redis.close();
        }
      } else {
        add('redis', true, 'not configured (in-process cache and rate limits)');
      }
      if (checks.some((c) => !c.ok)) process.exitCode = 1;
    });
}

/** The database and migrations lines: reached at all, which server, how far migrated. */
async function checkDatabase(config: Config, add: Add): Promise<void> {
  const logger = createLogger('silent');
  try {
    const holder = config.database.url ? null : await findLiveHolder(config.dataDir);
    // Before the first serve there is no embedded cluster: starting one only to find it empty
    // would also leave the application login half made (see isUnmigratedEmbedded).
    if (
      !config.database.url &&
      !holder &&
      !existsSync(path.join(config.dataDir, 'postgres', 'PG_VERSION'))
    ) {
      add('database', false, `embedded, ${NOT_SET_UP}`);
      return;
    }
    const db = await openDatabase({
      config,
      logger,
      role: 'attach',
      migrate: false,
      applicationName: 'socialpulse-doctor',
    });
    try {
      const { rows } = await db.pool.query<{ server_version: string }>('SHOW server_version');
      const applied = await db.pool
        .query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')
        .then((r) => r.rows[0]?.n ?? 0)
        .catch(() => 0);
      const total = (await readMigrations()).length;
      const where =
        db.mode === 'external'
          ? redactUrl(db.url)
          : db.mode === 'attached'
            ? `embedded, served by pid ${holder?.pid ?? '?'}`
            : 'embedded';
      add('database', true, `PostgreSQL ${rows[0]?.server_version ?? '?'} (${where})`);
      add(
        'migrations',
        applied === total,
        applied === total
          ? `all ${total} applied`
          : applied === 0
            ? NOT_SET_UP
            : `${total - applied} of ${total} pending: ${MIGRATE_HINT}`,
      );
    } finally {
      await db.close();
    }
  } catch (error) {
    add(
      'database',
      false,
      !config.database.url && isUnmigratedEmbedded(error)
        ? `embedded, ${NOT_SET_UP}`
        : (error as Error).message,
    );
  }
}
