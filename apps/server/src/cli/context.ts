import { loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { exitOnSignals, openDatabase, type Database } from '../db/database.js';
import { createLogger, type Logger } from '../observability/logger.js';

export interface CommandContext {
  config: Config;
  logger: Logger;
  db: Database;
}

/** Common flags every database command accepts. */
export interface DatabaseFlags {
  databaseUrl?: string;
  dataDir?: string;
}

export function overridesFrom(flags: DatabaseFlags): ConfigOverrides {
  const o: ConfigOverrides = {};
  if (flags.databaseUrl) o.DATABASE_URL = flags.databaseUrl;
  if (flags.dataDir) o.DATA_DIR = flags.dataDir;
  return o;
}

/**
 * Runs a CLI command against the database: uses DATABASE_URL, or the embedded cluster of a
 * running SocialPulse on the same DATA_DIR, or starts the embedded cluster for the command.
 * SIGINT/SIGTERM (and SIGHUP from a terminal) close the database (stopping a cluster the command started, releasing
 * DATA_DIR) and exit 128 + the signal's number; a second signal exits at once.
 */
export async function withDatabase<T>(
  flags: DatabaseFlags,
  work: (ctx: CommandContext) => Promise<T>,
): Promise<T> {
  const config = loadConfig(overridesFrom(flags));
  // Logs go to stderr so that commands can write data to stdout.
  const logger = createLogger(
    config.logLevel === 'info' ? 'warn' : config.logLevel,
    process.stderr,
  );
  const db = await openDatabase({
    config,
    logger,
    role: 'attach',
    applicationName: 'socialpulse-cli',
  });
  if (db.createdInstance) {
    // Run from another directory, the default ./.data is a new, empty instance: say so, or
    // `users create` and the like would seem to work on the operator's real one.
    process.stderr.write(
      `socialpulse: no SocialPulse data in ${config.dataDir}: created a new instance there (set DATA_DIR or run from the directory where you ran npm start to use an existing one)\n`,
    );
  }
  const signals = exitOnSignals(() => db.close({ interrupted: true }));
  try {
    return await work({ config, logger, db });
  } finally {
    // Interrupted: the work failed or ended because its database went away; the signal
    // handler closes and exits, and this command must not report anything more.
    if (signals.fired()) await new Promise<never>(() => undefined);
    signals.dispose();
    await db.close();
  }
}
