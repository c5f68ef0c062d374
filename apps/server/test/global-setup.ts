/**
 * Integration tests: one migrated template database per run on the real PostgreSQL; each test
 * file clones its own database from it (see support/db.ts). In CI a missing PostgreSQL fails
 * the run; locally the integration tests skip with the printed reason.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/db/migrate.js';
import { openJobQueue, type JobQueueSettings } from '../src/db/job-queue.js';

/** Short leases and retry delays, so crash and retry tests finish in seconds. */
export const TEST_QUEUE_SETTINGS: JobQueueSettings = {
  attempts: 3,
  retryDelaySeconds: 1,
  retryDelayMaxSeconds: 2,
  leaseSeconds: 10,
  superviseIntervalSeconds: 1,
};

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    pgUnavailable: string;
    redisUrl: string;
  }
}

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const template = `sp_template_${process.pid}`;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (error) {
    const reason = `PostgreSQL is not reachable at ${adminUrl}: ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI requires it)`);
    process.stdout.write(`\n[integration] skipping database tests: ${reason}\n`);
    project.provide('pgUnavailable', reason);
    return () => Promise.resolve();
  }
  project.provide('pgUnavailable', '');
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template}`);
  const migrator = new pg.Client({ connectionString: withDatabase(adminUrl, template) });
  await migrator.connect();
  await migrate(migrator);
  await migrator.end();
  // The job queue's schema (pg-boss) is part of every test database, as after a real start.
  const queue = await openJobQueue(withDatabase(adminUrl, template), TEST_QUEUE_SETTINGS, {
    supervise: false,
  });
  await queue.stop();

  return async () => {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`,
      [`${template}_t_%`, template],
    );
    for (const row of rows)
      await admin.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
    await admin.end();
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
