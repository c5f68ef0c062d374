import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseUnavailable } from '../../test/support/db.js';
import { withDatabase } from '../../test/global-setup.js';
import { AppError } from '../errors.js';
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

  it('removes the user name and password saved in a workspace LLM base URL (0019), and nothing else', async () => {
    const fresh = `${name}_u`;
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${fresh}`);
    const client = new pg.Client({ connectionString: withDatabase(inject('pgAdminUrl'), fresh) });
    try {
      await client.connect();
      const all = await readMigrations();
      await migrate(
        client,
        all.filter((m) => m.version < 19),
      );
      const urls = [
        'https://me:sk-secret@llm.example.com/v1',
        'http://token@10.0.0.5:8000/v1?x=a@b',
        'https://api.openai.com/v1',
        'https://llm.example.com/v1/path@not-userinfo',
      ];
      for (const [i, url] of urls.entries()) {
        const { rows } = await client.query<{ id: string }>(
          'INSERT INTO workspaces (name) VALUES ($1) RETURNING id',
          [`w${i}`],
        );
        await client.query(
          'INSERT INTO workspace_analysis_settings (workspace_id, llm_base_url) VALUES ($1, $2)',
          [rows[0]?.id, url],
        );
      }
      await migrate(client, all);
      const { rows } = await client.query<{ llm_base_url: string; revision: number }>(
        `SELECT s.llm_base_url, s.revision FROM workspace_analysis_settings s
           JOIN workspaces w ON w.id = s.workspace_id ORDER BY w.name`,
      );
      expect(rows).toEqual([
        { llm_base_url: 'https://llm.example.com/v1', revision: 2 },
        { llm_base_url: 'http://10.0.0.5:8000/v1?x=a@b', revision: 2 },
        { llm_base_url: 'https://api.openai.com/v1', revision: 1 },
        { llm_base_url: 'https://llm.example.com/v1/path@not-userinfo', revision: 1 },
      ]);
    } finally {
      await client.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`);
      await admin.end();
    }
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

  it('names the database user and the right it lacks when it may not create the migrations table', async () => {
    const suffix = randomBytes(4).toString('hex');
    const role = `sp_no_create_${suffix}`;
    const database = `${name}_nc_${suffix}`;
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    const adminUrl = new URL(withDatabase(inject('pgAdminUrl'), database));
    // PostgreSQL 15 and later give PUBLIC no CREATE on public; said explicitly for older ones.
    const owner = new pg.Client({ connectionString: adminUrl.toString() });
    await owner.connect();
    await owner.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await owner.end();
    const roleUrl = new URL(adminUrl);
    roleUrl.username = role;
    roleUrl.password = '';
    const client = new pg.Client({ connectionString: roleUrl.toString() });
    try {
      await client.connect();
      const error: unknown = await migrate(client).then(
        () => new Error('migrated without the right to'),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('config_invalid');
      expect((error as AppError).message).toBe(
        `Cannot migrate the database ${database}: the database user ${role} lacks the CREATE privilege on schema public (permission denied for schema public). ` +
          `Set DATABASE_URL to a user that owns the schema, or grant the right: GRANT CREATE ON SCHEMA public TO ${role}; (docs/security.md).`,
      );
    } finally {
      await client.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
