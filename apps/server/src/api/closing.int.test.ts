import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'undici';
import { buildTestApp } from '../../test/support/app.js';
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
