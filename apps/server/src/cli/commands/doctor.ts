import { statfs, access, constants } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { openDatabase } from '../../db/database.js';
import { readMigrations } from '../../db/migrate.js';
import { ensureDataDir, findLiveHolder } from '../../db/data-dir.js';
import { createLogger, redactUrl } from '../../observability/logger.js';
import { createRedisHealth } from '../../observability/redis-health.js';
import { overridesFrom, type DatabaseFlags } from '../context.js';

type Check = { name: string; ok: boolean; detail: string };

const MIN_FREE_BYTES = 1024 ** 3;

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
        add('disk', false, `${config.dataDir} is not writable: ${(error as Error).message}`);
      }

      const logger = createLogger('silent');
      try {
        const holder = config.database.url ? null : await findLiveHolder(config.dataDir);
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
              : `${total - applied} pending: run socialpulse migrate`,
          );
        } finally {
          await db.close();
        }
      } catch (error) {
        add('database', false, (error as Error).message);
      }

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
