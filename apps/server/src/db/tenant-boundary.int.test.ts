/**
 * The application's connections stay inside row-level security even if a statement tries to get
 * out (`RESET ROLE`, `SET ROLE` to the owner): on the embedded database and with DATABASE_APP_URL they log in
 * as a role that is only a member of socialpulse_app. A login that could bypass the policies is
 * refused at start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { openDatabase, EMBEDDED_APP_LOGIN } from './database.js';

const logger = createLogger('silent');

/** What a statement run on the application's pool can reach after trying to drop its role or take the owner's. */
async function escapeAttempt(
  pool: pg.Pool,
): Promise<{ sessionUser: string; postsSeen: number; setRole: string }> {
  const client = await pool.connect();
  try {
    await client.query('RESET ROLE');
    const who = await client.query<{ s: string }>('SELECT session_user AS s');
    const posts = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM posts');
    const owner = await client.query<{ o: string }>(
      "SELECT tableowner AS o FROM pg_tables WHERE tablename = 'posts'",
    );
    const setRole = await client.query(`SET ROLE ${owner.rows[0]?.o ?? 'postgres'}`).then(
      () => 'allowed',
      (error: { code?: string }) => error.code ?? 'error',
    );
    return { sessionUser: who.rows[0]?.s ?? '', postsSeen: posts.rows[0]?.n ?? -1, setRole };
  } finally {
    client.release(true);
  }
}

describe.skipIf(databaseUnavailable() !== '')('tenant boundary on an external PostgreSQL', () => {
  let db: TestDatabase;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-boundary-'));
  const login = `sp_test_login_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.adminPool.query(
      `CREATE ROLE ${login} LOGIN PASSWORD 'boundary-test' IN ROLE socialpulse_app`,
    );
    const ws = await db.adminPool.query<{ id: string }>(
      "INSERT INTO workspaces (name) VALUES ('Boundary') RETURNING id",
    );
    await db.adminPool.query(
      "INSERT INTO posts (workspace_id, platform, external_id, text, created_at, source, metrics_captured_at) VALUES ($1, 'x', 'b-1', 'private', now(), 'test', now())",
      [ws.rows[0]?.id],
    );
  });
  afterAll(async () => {
    await db?.drop();
    await db?.adminPool.query(`DROP ROLE IF EXISTS ${login}`).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const appUrlFor = (user: string): string => {
    const u = new URL(db.url);
    u.username = user;
    u.password = 'boundary-test';
    return u.toString();
  };

  it('with DATABASE_APP_URL, the application logs in as that role: RESET ROLE leaves it inside row-level security', async () => {
    const config = loadConfig(
      {
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        DATABASE_URL: db.url,
        DATABASE_APP_URL: appUrlFor(login),
      },
      {},
    );
    const opened = await openDatabase({ config, logger, role: 'own' });
    try {
      expect(opened.tenantBoundary).toBe('login_role');
      expect(await escapeAttempt(opened.pool)).toEqual({
        sessionUser: login,
        postsSeen: 0,
        setRole: '42501',
      });
    } finally {
      await opened.close();
    }
  });

  it('refuses an application login that could bypass the policies (the owner, a superuser)', async () => {
    const owner = new URL(db.url).username || 'postgres';
    const config = loadConfig(
      {
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        DATABASE_URL: db.url,
        DATABASE_APP_URL: appUrlFor(owner),
      },
      {},
    );
    await expect(openDatabase({ config, logger, role: 'own' })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/is a superuser|owns SocialPulse's tables/) as unknown,
    });
  });

  it('without DATABASE_APP_URL it says so: the owner login switched to the application role', async () => {
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: db.url }, {});
    const opened = await openDatabase({ config, logger, role: 'own' });
    try {
      expect(opened.tenantBoundary).toBe('role_switch');
      // The documented limit: the session is the owner's, so SET ROLE gets the owner back (RESET
      // ROLE does not: the role given at connection start is the session's default). DATABASE_APP_URL closes it.
      expect(await escapeAttempt(opened.pool)).toMatchObject({ postsSeen: 0, setRole: 'allowed' });
    } finally {
      await opened.close();
    }
  });
});

describe('tenant boundary on the embedded PostgreSQL', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-embedded-boundary-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the application logs in as its own role, kept across restarts with the password in DATA_DIR', async () => {
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, {});
    for (let start = 0; start < 2; start++) {
      const opened = await openDatabase({ config, logger, role: 'own' });
      try {
        expect(opened.tenantBoundary).toBe('login_role');
        expect(new URL(opened.appUrl).username).toBe(EMBEDDED_APP_LOGIN);
        expect(await escapeAttempt(opened.pool)).toEqual({
          sessionUser: EMBEDDED_APP_LOGIN,
          postsSeen: 0,
          setRole: '42501',
        });
      } finally {
        await opened.close();
      }
    }
  });
});
