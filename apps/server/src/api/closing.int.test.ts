import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, WebSocket, request } from 'undici';
import {
  buildTestApp,
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
} from '../../test/support/app.js';
import { importTestPosts, submitTestAnalysis } from '../../test/support/analyses.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import type { ZodApp } from './types.js';

const dbReason = databaseUnavailable();

describe.skipIf(dbReason !== '')('a closing server', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inProgress = new Promise<void>((resolve) => (entered = resolve));

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db);
    // A request that is still in progress when the server starts closing.
    app.get('/test-only/held', async () => {
      entered();
      await held;
      return { done: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    release();
    await app.close();
    await db.drop();
  });

  it('finishes the request in progress and refuses the next one on its connection in the API error format', async () => {
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    // One connection, two requests pipelined on it: the second arrives while the server closes.
    const client = new Client(`http://127.0.0.1:${address.port}`, { pipelining: 2 });
    try {
      const first = client.request({ method: 'GET', path: '/test-only/held' });
      await inProgress;
      const closed = app.close();
      const second = client.request({ method: 'GET', path: '/healthz' });
      // Node reads a pipelined request once the one before it is answered: give the client
      // time to write it before that answer ends the first request.
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();

      const a = await first;
      expect(a.statusCode).toBe(200);
      expect(await a.body.json()).toEqual({ done: true });
      const b = await second;
      expect(b.statusCode).toBe(503);
      expect(b.headers.connection).toBe('close');
      const body = (await b.body.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('not_ready');
      expect(body.error.message).toMatch(/shutting down/);
      await closed;
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});

describe.skipIf(dbReason !== '')('a closing server with progress streams open', () => {
  let db: TestDatabase;
  let app: ZodApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, noRateLimits);
    await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('ends the Server-Sent Events and WebSocket streams of an analysis still running, instead of waiting for it', async () => {
    const user = await signUpUser(app);
    const ws = await createWorkspaceAs(app, user);
    await importTestPosts(app, user, ws, 5, (i) => `post ${i}`);
    // No worker runs: the analysis stays queued, so its streams have nothing to end them.
    const { id } = await submitTestAnalysis(app, user, ws);
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    const url = `127.0.0.1:${address.port}/v1/analyses/${id}/events`;

    const sse = await request(`http://${url}`, { headers: user.headers });
    expect(sse.statusCode).toBe(200);
    let received = '';
    const sseEnded = (async () => {
      for await (const chunk of sse.body) received += String(chunk);
    })();
    const socket = new WebSocket(`ws://${url}`, { headers: user.headers });
    const messages: string[] = [];
    socket.addEventListener('message', (event) => messages.push(String(event.data)));
    const socketClosed = new Promise<number>((resolve) =>
      socket.addEventListener('close', (event) => resolve(event.code)),
    );
    await expect
      .poll(() => received.includes('event: queued') && messages.length > 0, { timeout: 10_000 })
      .toBe(true);

    const outcome = await Promise.race([
      app.close().then(() => 'closed'),
      delay(10_000).then(() => 'still open after 10 s'),
    ]);
    expect(outcome).toBe('closed');
    await sseEnded;
    expect(await socketClosed).toBeGreaterThan(0);
  });
});
