import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseUnavailable, type TestDatabase } from './support/db.js';
import { postRecord, toJsonl } from './support/factories.js';
import { runCli, startServer, type ServerProcess } from './support/server-process.js';

/**
 * Graceful shutdown of the real process: on SIGTERM it stops accepting connections, lets the
 * requests in flight finish (here a streamed import whose body is still arriving), then exits 0.
 */
describe.skipIf(databaseUnavailable() !== '')(
  'socialpulse serve: SIGTERM drains requests in flight',
  () => {
    let db: TestDatabase;
    let server: ServerProcess | undefined;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-shutdown-'));
    const password = 'correct horse battery staple drain';
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      if (server && server.child.exitCode === null) await server.stop('SIGKILL');
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('finishes a streamed import started before SIGTERM, refuses new connections, and exits 0', async () => {
      // Small batches: the import commits as it reads, so its progress is visible in the database.
      const env = {
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        IMPORT_BATCH_SIZE: '10',
        REDIS_URL: '',
      };
      server = await startServer(['--no-demo'], env);
      const created = await runCli(
        ['users', 'create', '--email', 'drain@example.com', '--admin', '--password-stdin'],
        env,
        `${password}\n`,
      );
      expect(created.code).toBe(0);
      const signIn = await fetch(`${server.url}/v1/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'drain@example.com', password }),
      });
      expect(signIn.status).toBe(200);
      const auth = {
        authorization: `Bearer ${((await signIn.json()) as { access_token: string }).access_token}`,
      };
      const workspace = await fetch(`${server.url}/v1/workspaces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ name: 'Drain' }),
      });
      expect(workspace.status).toBe(201);
      const workspaceId = ((await workspace.json()) as { id: string }).id;

      // Start the upload and send part of the body; the rest comes after SIGTERM.
      const { port } = new URL(server.url);
      const upload: ClientRequest = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/v1/workspaces/${workspaceId}/imports?file_name=slow.jsonl`,
        headers: { 'content-type': 'application/x-ndjson', ...auth },
        agent: false,
      });
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        upload.on('error', reject);
        upload.on('response', (res: IncomingMessage) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        });
      });
      // Awaited below; marked now so that a failure before then is not an unhandled rejection.
      response.catch(() => undefined);
      // About 1 KB per record: the first part is more than the 64 KiB the importer peeks at to
      // recognise the format, so it starts writing before the body ends.
      const records = Array.from({ length: 300 }, (_, i) =>
        postRecord({ external_id: `drain-${i}`, text: `${i} ${'slow '.repeat(200)}` }),
      );
      upload.write(toJsonl(records.slice(0, 100)));
      // The request is in flight once the importer has committed batches of it.
      await expect
        .poll(
          async () =>
            (
              await db.adminPool.query<{ n: number }>(
                'SELECT coalesce(sum(inserted), 0)::int AS n FROM imports WHERE workspace_id = $1',
                [workspaceId],
              )
            ).rows[0]?.n,
          {
            timeout: 20_000,
            interval: 50,
          },
        )
        .toBeGreaterThanOrEqual(10);

      const exited = new Promise<number | null>((resolve) =>
        server?.child.on('exit', (code) => resolve(code)),
      );
      server.child.kill('SIGTERM');
      await expect
        .poll(() => server?.output().includes('shutting down: no new connections'), {
          timeout: 10_000,
          interval: 20,
        })
        .toBe(true);
      // The listening socket closes while the upload is still open: new connections are refused.
      await expect
        .poll(() => tryConnect(Number(port)), { timeout: 10_000, interval: 20 })
        .toBe('refused');
      expect(server.child.exitCode).toBeNull();

      upload.end(toJsonl(records.slice(100)));
      const result = await response;
      expect(result.status).toBe(201);
      expect(JSON.parse(result.body)).toMatchObject({ read: 300, inserted: 300, rejected: 0 });
      expect(await exited).toBe(0);
      expect(server.output()).toContain('stopped cleanly');
      const { rows } = await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM posts WHERE workspace_id = $1',
        [workspaceId],
      );
      expect(rows[0]?.n).toBe(300);
    });
  },
);

/**
 * A connection nothing ends (here a request whose headers never finish) cannot hold shutdown: at
 * the drain deadline it is cut, and the worker and the database are still stopped cleanly.
 */
describe.skipIf(databaseUnavailable() !== '')(
  'socialpulse serve: SIGTERM with a connection that never finishes',
  () => {
    let db: TestDatabase;
    let server: ServerProcess | undefined;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-shutdown-'));
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      if (server && server.child.exitCode === null) await server.stop('SIGKILL');
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('cuts it at the drain deadline, says so, and exits 0', async () => {
      server = await startServer(['--no-demo'], {
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        SHUTDOWN_DRAIN_SECONDS: '1',
        REDIS_URL: '',
      });
      const { port } = new URL(server.url);
      const stalled = connect({ host: '127.0.0.1', port: Number(port) });
      stalled.on('error', () => undefined);
      const cutByServer = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
      await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
      stalled.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Partial: `);
      // The request is in progress once the server has answered another one after it arrived.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      const exited = new Promise<number | null>((resolve) =>
        server?.child.on('exit', (code) => resolve(code)),
      );
      server.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await cutByServer;
      expect(server.output()).toMatch(/drain deadline passed: cut 1 connection/);
      expect(server.output()).toContain('stopped cleanly');
    });
  },
);

/** Opens (and closes) one new TCP connection: 'connected', 'refused' when nothing listens, or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message)),
    );
  });
}
