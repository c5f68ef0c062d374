import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseUnavailable, type TestDatabase } from './support/db.js';
import { postRecord, toJsonl } from './support/factories.js';
import { startServer, type ServerProcess } from './support/server-process.js';

/** The real server process over real HTTP, against a real PostgreSQL. */
describe.skipIf(databaseUnavailable() !== '')('socialpulse serve (end to end)', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServer(['--no-demo'], {
      DATABASE_URL: db.url,
      DATA_DIR: `/tmp/sp-e2e-${process.pid}`,
    });
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop('SIGKILL');
    await db?.drop();
  });

  it('serves the API, imports a streamed upload, lists it, and shuts down gracefully', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });

    expect((await fetch(`${server.url}/v1/workspaces`)).status).toBe(401);
    const signUp = await fetch(`${server.url}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'e2e@example.com',
        password: 'correct horse battery staple e2e',
      }),
    });
    expect(signUp.status).toBe(201);
    const auth = {
      authorization: `Bearer ${((await signUp.json()) as { access_token: string }).access_token}`,
    };
    const created = await fetch(`${server.url}/v1/workspaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ name: 'E2E' }),
    });
    expect(created.status).toBe(201);
    const workspace = (await created.json()) as { id: string };

    const records = Array.from({ length: 250 }, (_, i) => postRecord({ external_id: `e2e-${i}` }));
    const body = toJsonl(records) + '{"broken": \n';
    const upload = await fetch(
      `${server.url}/v1/workspaces/${workspace.id}/imports?file_name=upload.jsonl`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...auth },
        body: new Blob([body]).stream(),
        duplex: 'half',
      },
    );
    expect(upload.status).toBe(201);
    expect(await upload.json()).toMatchObject({
      read: 251,
      inserted: 250,
      rejected: 1,
      rejects: [{ line: 251, file: 'upload.jsonl' }],
    });

    const page = await fetch(
      `${server.url}/v1/workspaces/${workspace.id}/posts?limit=5&fields=external_id`,
      { headers: auth },
    );
    expect(page.headers.get('x-request-id')).toBeTruthy();
    const list = (await page.json()) as {
      data: { external_id: string }[];
      next_cursor: string | null;
    };
    expect(list.data).toHaveLength(5);
    expect(list.next_cursor).not.toBeNull();

    const web = await fetch(`${server.url}/`);
    expect(web.status).toBe(200);
    expect(await web.text()).toContain('<div id="root">');

    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.output()).toContain('stopped cleanly');
  });
});
