/**
 * A throwaway database for a benchmark: created on the admin URL's server, migrated as the
 * product migrates, with a workspace, a pool of the application role (row-level security
 * applies, as in production) and an owner pool for reading back what was written.
 */
import pg from 'pg';
import { migrate } from '../apps/server/src/db/migrate.js';
import { createPool } from '../apps/server/src/db/pool.js';

export interface BenchDatabase {
  url: string;
  name: string;
  /** Application role: row-level security applies. */
  app: pg.Pool;
  /** Owner: sees every row. */
  admin: pg.Pool;
  workspaceId: string;
  /** Ends the pools and drops the database (kept when `keep` was set, for inspection). */
  drop(): Promise<void>;
}

async function onAdmin(adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export async function createBenchDatabase(options: {
  adminUrl: string;
  name: string;
  poolSize: number;
  applicationName: string;
  keep?: boolean;
}): Promise<BenchDatabase> {
  const { adminUrl, name } = options;
  await onAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await onAdmin(adminUrl, `CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const migrator = new pg.Client({ connectionString: url });
  await migrator.connect();
  try {
    await migrate(migrator);
  } finally {
    await migrator.end();
  }
  const admin = createPool(url, 4, {
    asAppRole: false,
    applicationName: `${options.applicationName}-admin`,
  });
  const app = createPool(url, options.poolSize, { applicationName: options.applicationName });
  const ws = await admin.query<{ id: string }>(
    "INSERT INTO workspaces (name) VALUES ('bench') RETURNING id",
  );
  return {
    url,
    name,
    app,
    admin,
    workspaceId: ws.rows[0]?.id ?? '',
    async drop() {
      await app.end();
      await admin.end();
      if (!options.keep) await onAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
