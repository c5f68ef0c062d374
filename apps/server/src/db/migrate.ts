import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type pg from 'pg';
import { AppError, errnoCode } from '../errors.js';

/** Arbitrary constant: every SocialPulse process that migrates takes this advisory lock. */
const MIGRATION_LOCK_KEY = 7_406_113_001;

export const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Reads `NNNN_name.sql` files in version order; rejects gaps and duplicates. */
export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match)
      throw new AppError(
        'internal_error',
        `Migration file name ${file} must look like 0001_name.sql`,
      );
    const sql = await readFile(path.join(dir, file), 'utf8');
    const version = Number(match[1]);
    const expected = migrations.length + 1;
    if (version !== expected) {
      throw new AppError(
        'internal_error',
        `Migration ${file}: expected version ${String(expected).padStart(4, '0')}`,
      );
    }
    migrations.push({
      version,
      name: match[2] ?? '',
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}

export interface MigrationResult {
  applied: Migration[];
  alreadyApplied: number;
}

/**
 * Applies pending migrations, each in its own transaction, under a session advisory lock so
 * that concurrent starts migrate once. Refuses to run when an applied file was edited.
 */
export async function migrate(
  client: pg.ClientBase,
  migrations?: Migration[],
): Promise<MigrationResult> {
  const all = migrations ?? (await readMigrations());
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client
      .query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`,
      )
      .catch(async (error: unknown) => {
        throw await migrationsTableRefusal(client, error);
      });
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(rows.map((r) => [r.version, r]));
    for (const row of rows) {
      const local = all.find((m) => m.version === row.version);
      if (!local) {
        throw new AppError(
          'internal_error',
          `The database has migration ${row.version} (${row.name}) that this version of SocialPulse does not know: is it older than the database?`,
        );
      }
      if (local.checksum !== row.checksum) {
        throw new AppError(
          'internal_error',
          `Migration ${row.version} (${row.name}) was edited after it was applied; migrations are forward-only: add a new one instead.`,
        );
      }
    }
    const applied: Migration[] = [];
    for (const migration of all) {
      if (known.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
          [migration.version, migration.name, migration.checksum],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new AppError(
          'internal_error',
          `Migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      applied.push(migration);
    }
    return { applied, alreadyApplied: rows.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}

/**
 * Why the migrations table could not be created, for the operator: the first statement of a
 * migration is where a DATABASE_URL whose user lacks rights fails, before any migration runs.
 */
async function migrationsTableRefusal(client: pg.ClientBase, error: unknown): Promise<AppError> {
  const message = error instanceof Error ? error.message : String(error);
  // 42501 insufficient_privilege: PostgreSQL 15 and later no longer let every user create in public.
  if (errnoCode(error) !== '42501')
    return new AppError(
      'internal_error',
      `Cannot create the migrations table (schema_migrations): ${message}`,
      { cause: error },
    );
  const who = await client
    .query<{ usr: string; db: string; schema: string | null }>(
      'SELECT current_user AS usr, current_database() AS db, current_schema() AS schema',
    )
    .then((r) => r.rows[0])
    .catch(() => undefined);
  const user = who?.usr ?? 'of DATABASE_URL';
  const schema = who?.schema ?? 'public';
  return new AppError(
    'config_invalid',
    `Cannot migrate the database${who ? ` ${who.db}` : ''}: the database user ${user} lacks the CREATE privilege on schema ${schema} (${message}). ` +
      `Set DATABASE_URL to a user that owns the schema, or grant the right: GRANT CREATE ON SCHEMA ${schema} TO ${user}; (docs/security.md).`,
    { cause: error },
  );
}
