import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
  type TestUser,
} from '../../test/support/app.js';
import { importTestPosts, submitTestAnalysis } from '../../test/support/analyses.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { ACCESS_COOKIE } from './plugins/auth.js';
import type { ZodApp } from './types.js';

const dbReason = databaseUnavailable();

interface Refusal {
  status: number;
  /** The server ended the connection after its answer, without the client closing it. */
  closedByServer: boolean;
}

/**
 * Sends a WebSocket upgrade on a raw connection that the client never closes itself: a refused
 * upgrade must be answered and then closed by the server (a socket left open there stays in
 * CLOSE-WAIT once the client goes, and holds the server's close() forever).
 */
function upgrade(port: number, path: string, headers: Record<string, string>): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    let waiting: NodeJS.Timeout | undefined;
    const settle = (closedByServer: boolean): void => {
      clearTimeout(waiting);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/u.exec(received)?.[1];
      if (status === undefined) reject(new Error(`no HTTP answer: ${JSON.stringify(received)}`));
      else resolve({ status: Number(status), closedByServer });
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      // Answered: from now on only the server's close is awaited, for a bounded time so that a
      // leaked socket fails the test instead of hanging it.
      waiting ??= setTimeout(() => settle(false), 5_000);
    });
    socket.on('end', () => settle(true));
    socket.on('error', reject);
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
        '',
        '',
      ].join('\r\n'),
    );
  });
}

function portOf(app: ZodApp): number {
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return address.port;
}

function openConnections(app: ZodApp): Promise<number> {
  return new Promise((resolve, reject) =>
    app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** close() settles, instead of waiting on a connection nobody will end. */
async function closesPromptly(app: ZodApp): Promise<string> {
  return Promise.race([
    app.close().then(() => 'closed'),
    delay(10_000).then(() => 'still open after 10 s'),
  ]);
}

describe.skipIf(dbReason !== '')('refused WebSocket upgrades', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let user: TestUser;
  let analysisId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, noRateLimits);
    await app.listen({ host: '127.0.0.1', port: 0 });
    user = await signUpUser(app);
    const ws = await createWorkspaceAs(app, user);
    await importTestPosts(app, user, ws, 2);
    // No worker runs: the analysis stays queued, and its stream would stay open if accepted.
    analysisId = (await submitTestAnalysis(app, user, ws)).id;
  });

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('answers each refusal and then closes the connection, so none lingers and close() resolves', async () => {
    const port = portOf(app);
    const events = (id: string, query = ''): string => `/v1/analyses/${id}/events${query}`;
    const refusals: {
      name: string;
      path: string;
      headers: Record<string, string>;
      status: number;
    }[] = [
      {
        name: 'bogus token',
        path: events(analysisId),
        headers: { Authorization: 'Bearer bogus' },
        status: 401,
      },
      { name: 'no credentials', path: events(analysisId), headers: {}, status: 401 },
      {
        name: 'cookie session from a foreign page',
        path: events(analysisId),
        headers: { Cookie: `${ACCESS_COOKIE}=${user.token}`, Origin: 'http://evil.example' },
        status: 403,
      },
      { name: 'unknown analysis', path: events(randomUUID()), headers: user.headers, status: 404 },
      { name: 'unknown route', path: '/v1/no-such-route', headers: user.headers, status: 404 },
      {
        name: 'invalid query',
        path: events(analysisId, '?after=soon'),
        headers: user.headers,
        status: 400,
      },
      { name: 'malformed URL', path: events('%zz'), headers: user.headers, status: 400 },
      {
        name: 'invalid Last-Event-ID',
        path: events(analysisId),
        headers: { ...user.headers, 'Last-Event-ID': 'soon' },
        status: 400,
      },
    ];
    for (const refusal of refusals) {
      // Several of each, as a client retrying would.
      for (let i = 0; i < 3; i++)
        expect(await upgrade(port, refusal.path, refusal.headers), refusal.name).toEqual({
          status: refusal.status,
          closedByServer: true,
        });
    }
    await expect.poll(() => openConnections(app), { timeout: 5_000 }).toBe(0);
    expect(await closesPromptly(app)).toBe('closed');
  });
});

describe.skipIf(dbReason !== '')('WebSocket upgrades refused by the rate limiter', () => {
  let db: TestDatabase;
  let app: ZodApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, { RATE_LIMIT_READ_PER_MINUTE: '1' });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('answers 429 and then closes the connection', async () => {
    const user = await signUpUser(app);
    // The one read of the minute.
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: user.headers });
    expect(me.statusCode).toBe(200);
    for (let i = 0; i < 3; i++)
      expect(await upgrade(portOf(app), '/v1/auth/me', user.headers)).toEqual({
        status: 429,
        closedByServer: true,
      });
    await expect.poll(() => openConnections(app), { timeout: 5_000 }).toBe(0);
    expect(await closesPromptly(app)).toBe('closed');
  });
});
