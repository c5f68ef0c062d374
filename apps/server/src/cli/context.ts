import { loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
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
  try {
    return await work({ config, logger, db });
  } finally {
    await db.close();
  }
}
