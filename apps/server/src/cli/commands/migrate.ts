import type { Command } from 'commander';
import { readMigrations } from '../../db/migrate.js';
import { withDatabase, type DatabaseFlags } from '../context.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending database migrations (serve also does this at start)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: DatabaseFlags) => {
      // openDatabase migrates under an advisory lock; report where the schema now stands.
      await withDatabase(flags, async ({ db }) => {
        const { rows } = await db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM schema_migrations',
        );
        const total = (await readMigrations()).length;
        process.stdout.write(`Database schema is at migration ${rows[0]?.n ?? 0} of ${total}.\n`);
      });
    });
}
