import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { closedPort, redisUnavailable } from '../../test/support/redis.js';
import { runCli } from '../../test/support/server-process.js';
import { readMigrations } from '../db/migrate.js';

/** `socialpulse doctor` against an external database: every check, and each way it fails. */
describe.skipIf(databaseUnavailable() !== '')('socialpulse doctor', () => {
  let db: TestDatabase;
  let total: number;
  const dir = mkdtempSync(path.join(tmpdir(), 'sp-doctor-'));
  beforeAll(async () => {
    db = await createTestDatabase();
    total = (await readMigrations()).length;
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = (stdout: string): string[] => stdout.trimEnd().split('\n');

  it('passes every check (configuration, disk, database, migrations, Redis) and exits 0', async (ctx) => {
    const redisUrl = inject('redisUrl');
    if ((await redisUnavailable(redisUrl)) !== '') ctx.skip();
    const result = await runCli(['doctor'], {
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      REDIS_URL: redisUrl,
    });
    expect(lines(result.stdout)).toEqual([
      '✓ configuration: valid',
      expect.stringMatching(new RegExp(`^✓ disk: \\d+\\.\\d GiB free in ${escape(dir)}$`)),
      expect.stringMatching(/^✓ database: PostgreSQL \d+.* \(postgres:\/\/\S+\)$/),
      `✓ migrations: all ${total} applied`,
      expect.stringMatching(/^✓ redis: redis:\/\//),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('fails the Redis check and exits non-zero when Redis is unreachable', async () => {
    const port = await closedPort();
    const result = await runCli(['doctor'], {
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(result.stdout).toContain('✓ database: PostgreSQL');
    expect(result.stdout).toContain(`✓ migrations: all ${total} applied`);
    expect(result.stdout).toMatch(new RegExp(`✗ redis: redis://127\\.0\\.0\\.1:${port}: .+`));
    expect(result.code).toBe(1);
  });

  it('fails the database check and exits non-zero when PostgreSQL is unreachable, and still checks the rest', async () => {
    const port = await closedPort();
    const result = await runCli(['doctor'], {
      DATABASE_URL: `postgres://socialpulse:secret-password@127.0.0.1:${port}/nowhere`,
      DATA_DIR: dir,
      REDIS_URL: '',
    });
    expect(lines(result.stdout)).toEqual([
      '✓ configuration: valid',
      expect.stringMatching(/^✓ disk: /),
      expect.stringMatching(
        new RegExp(
          `^✗ database: Cannot connect to PostgreSQL at postgres://socialpulse:\\*+@127\\.0\\.0\\.1:${port}/nowhere: .*ECONNREFUSED`,
        ),
      ),
      '✓ redis: not configured (in-process cache and rate limits)',
    ]);
    // The password is never printed.
    expect(result.stdout + result.stderr).not.toContain('secret-password');
    expect(result.code).toBe(1);
  });

  it('fails the disk check and exits non-zero when DATA_DIR cannot be used', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const dataDir = path.join(file, 'data');
    const result = await runCli(['doctor'], {
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      REDIS_URL: '',
    });
    expect(result.stdout).toContain(
      `✗ disk: DATA_DIR ${dataDir} cannot be created (a part of the path is not a directory)`,
    );
    expect(result.code).toBe(1);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
