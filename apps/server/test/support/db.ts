import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { withDatabase } from '../global-setup.js';

export interface TestDatabase {
  url: string;
  /** Runs as the application role: row-level security applies, as in production. */
  pool: pg.Pool;
  /** The owner: sees every row, for assertions about what was written. */
  adminPool: pg.Pool;
  secrets: {
    encryptionKey: string;
    embeddedDbPassword: string;
    appDbPassword: string;
    jwtSecret: string;
  };
  drop(): Promise<void>;
}

/** Why database tests cannot run here ('' when they can). */
export const databaseUnavailable = (): string => inject('pgUnavailable');

/** A fresh database cloned from the migrated template: isolated from every other test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `${inject('pgTemplate')}_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const pool = createPool(url, 5, { applicationName: 'socialpulse-test' });
  const adminPool = createPool(url, 3, {
    applicationName: 'socialpulse-test-admin',
    asAppRole: false,
  });
  return {
    url,
    pool,
    adminPool,
    secrets: {
      encryptionKey: randomBytes(32).toString('base64'),
      embeddedDbPassword: 'unused',
      appDbPassword: 'unused',
      jwtSecret: randomBytes(32).toString('base64url'),
    },
    async drop() {
      await pool.end();
      await adminPool.end();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * Resolves once `n` sessions of the test database wait for a lock (`event`: only that kind,
 * e.g. `advisory`): a test holding a lock knows its requests have reached it. Counted, never timed.
 */
export async function waitForLockWaiters(
  db: TestDatabase,
  n: number,
  event?: string,
): Promise<void> {
  for (let polls = 0; ; polls += 1) {
    if (polls > 20_000) throw new Error(`${n} session(s) never waited for a lock`);
    const { rows } = await db.adminPool.query<{ waiting: number }>(
      "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND ($1::text IS NULL OR wait_event = $1)",
      [event ?? null],
    );
    if ((rows[0]?.waiting ?? 0) >= n) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Makes PostgreSQL refuse the insert of the post whose external_id is `boom` with an error that is
 * not about the data (a full disk, SQLSTATE 53100): an import or sync then fails instead of
 * leaving the row out. Run as the owner; ALLOW_BOOM_POST undoes it.
 */
export const REFUSE_BOOM_POST = `
  CREATE FUNCTION test_fail_on_boom() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.external_id = 'boom' THEN
      RAISE EXCEPTION 'could not extend file (simulated)' USING ERRCODE = '53100';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER test_fail_on_boom BEFORE INSERT ON posts
    FOR EACH ROW EXECUTE FUNCTION test_fail_on_boom();`;
export const ALLOW_BOOM_POST =
  'DROP TRIGGER test_fail_on_boom ON posts; DROP FUNCTION test_fail_on_boom();';
