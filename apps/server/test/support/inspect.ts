import pg from 'pg';
import type { TestDatabase } from './db.js';

/**
 * Reads a test database as the owner, for assertions only: the app's own pool runs as the
 * application role under row-level security, and tests check what was really written, in
 * every workspace.
 */
export interface Inspector {
  rows<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** The first column of the first row as a number (for count(*) queries). */
  count(sql: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * An inspector on a test database's owner pool (`db.adminPool`, closed by `db.drop()`), or on
 * a connection URL of its own (connecting as the URL's user, without the application role).
 */
export function createInspector(source: Pick<TestDatabase, 'adminPool'> | string): Inspector {
  const shared = typeof source !== 'string';
  const pool = shared
    ? source.adminPool
    : new pg.Pool({
        connectionString: source,
        max: 2,
        application_name: 'socialpulse-test-inspect',
      });
  if (!shared) pool.on('error', () => undefined);
  return {
    async rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      return (await pool.query<R>(sql, params)).rows;
    },
    async count(sql: string, params: unknown[] = []) {
      const { rows } = await pool.query<Record<string, unknown>>(sql, params);
      const value = Object.values(rows[0] ?? {})[0];
      return Number(value);
    },
    // The shared pool belongs to the test database: db.drop() ends it.
    close: () => (shared ? Promise.resolve() : pool.end()),
  };
}
