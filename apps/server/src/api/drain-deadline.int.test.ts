import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../test/support/app.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { closeApp } from './app.js';
import type { ZodApp } from './types.js';

const dbReason = databaseUnavailable();

function openConnections(app: ZodApp): Promise<number> {
  return new Promise((resolve, reject) =>
    app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** A client that sends part of a request and then nothing: only the server can end it. */
function stalledClient(port: number): { socket: Socket; closed: Promise<void> } {
  const socket = connect({ host: '127.0.0.1', port });
  socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Partial: `);
  socket.on('error', () => undefined);
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

describe.skipIf(dbReason !== '')('closing the app with a drain deadline', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  it('cuts the connections still open at the deadline and resolves, counting them', async () => {
    const app = await buildTestApp(db);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    const clients = [stalledClient(address.port), stalledClient(address.port)];
    await expect.poll(() => openConnections(app), { timeout: 5_000 }).toBe(2);

    const outcome = await Promise.race([
      closeApp(app, 200),
      delay(20_000).then(() => 'still open after 20 s'),
    ]);
    expect(outcome).toEqual({ cut: 2 });
    await Promise.all(clients.map((c) => c.closed));
  });

  it('cuts nothing when every connection goes before the deadline', async () => {
    const app = await buildTestApp(db);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    // An idle keep-alive connection: closed by close() itself, not by the deadline.
    const res = await fetch(`http://127.0.0.1:${address.port}/healthz`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(await closeApp(app, 60_000)).toEqual({ cut: 0 });
  });
});
