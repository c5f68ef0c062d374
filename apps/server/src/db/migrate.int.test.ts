import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseUnavailable } from '../../test/support/db.js';
import { withDatabase } from '../../test/global-setup.js';
import { migrate, readMigrations, type Migration } from './migrate.js';

describe.skipIf(databaseUnavailable() !== '')('migrate', () => {
  const name = `${inject('pgTemplate')}_t_${randomBytes(4).toString('hex')}`;
  let url: string;
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    url = withDatabase(inject('pgAdminUrl'), name);
  });
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };

  it('applies each migration once even when several processes start together', async () => {
    const clients = await Promise.all([connect(), connect(), connect()]);
    const results = await Promise.all(clients.map((c) => migrate(c)));
    const all = await readMigrations();
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, all.length]);
    const { rows } = await clients[0].query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
    await Promise.all(clients.map((c) => c.end()));
  });

  it('refuses to run when an applied migration was edited, and rolls back a failing one', async () => {
    const client = await connect();
    const all = await readMigrations();
    const edited: Migration[] = all.map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
    await expect(migrate(client, edited)).rejects.toThrow(/was edited after it was applied/);

    const broken: Migration = {
      version: all.length + 1,
      name: 'broken',
      sql: 'CREATE TABLE half_done (id int); SELECT 1/0;',
      checksum: 'x',
    };
    await expect(migrate(client, [...all, broken])).rejects.toThrow(
      /Migration \d+ \(broken\) failed: division by zero/,
    );
    const { rows } = await client.query<{ t: string | null }>(
      `SELECT to_regclass('half_done')::text AS t`,
    );
    expect(rows[0]?.t).toBeNull();
    await client.end();
  });
});
