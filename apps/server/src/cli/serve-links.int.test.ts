import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { startServer, type ServerProcess } from '../../test/support/server-process.js';

/** What `serve` prints for the operator to open: links that work as printed. */
describe.skipIf(databaseUnavailable() !== '')('socialpulse serve prints usable links', () => {
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'sp-serve-links-'));
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>): Record<string, string> => ({
    DATABASE_URL: db.url,
    DATA_DIR: dir,
    PUBLIC_URL: '',
    REDIS_URL: '',
    ...extra,
  });
  const setupLink = (output: string): string =>
    /one-time link\): (\S+)/.exec(output)?.[1] ?? `no setup link in:\n${output}`;

  it('with HOST=0.0.0.0, a loopback address rather than 0.0.0.0', async () => {
    server = await startServer(['--no-demo'], env({ HOST: '0.0.0.0' }));
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const port = new URL(server.url).port;
    expect(server.output()).toContain(`API docs:   http://127.0.0.1:${port}/docs\n`);
    expect(setupLink(server.output())).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${port}/setup\\?token=[\\w-]+$`),
    );
    expect(server.output()).not.toContain('0.0.0.0');
    expect((await fetch(`${server.url}/docs`)).status).toBeLessThan(400);
  });

  it('with a PUBLIC_URL that ends in a slash, a setup link with one slash', async () => {
    server = await startServer(['--no-demo'], env({ PUBLIC_URL: 'https://sp.example.com/' }));
    expect(setupLink(server.output())).toMatch(/^https:\/\/sp\.example\.com\/setup\?token=[\w-]+$/);
  });
});
