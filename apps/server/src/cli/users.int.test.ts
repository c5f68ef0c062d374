import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { runCli } from '../../test/support/server-process.js';

describe.skipIf(databaseUnavailable() !== '')('socialpulse users create', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'sp-cli-users-'));
  const env = (): Record<string, string> => ({ DATABASE_URL: db.url, DATA_DIR: dir });
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an address the sign-in form would refuse, and creates nothing', async () => {
    for (const email of ['bad', 'ops@', 'two words@example.com']) {
      const result = await runCli(
        ['users', 'create', '--email', email, '--admin', '--password-stdin'],
        env(),
        'correct horse battery staple ops\n',
      );
      expect(result.code, result.stdout).not.toBe(0);
      expect(result.stderr).toContain(
        `email ${JSON.stringify(email)} is not a valid email address`,
      );
      expect(result.stdout).not.toContain('Created');
    }
    const { rows } = await db.adminPool.query('SELECT email FROM users');
    expect(rows).toEqual([]);

    // The same command with a valid address (surrounding spaces are trimmed) still works.
    const created = await runCli(
      ['users', 'create', '--email', ' ops@example.com ', '--password-stdin'],
      env(),
      'correct horse battery staple ops\n',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Created ops@example\.com /);
  });
});
