/**
 * Keep-alives of the progress streams on a real socket: SSE comments, WebSocket pings, and a
 * WebSocket peer that stops answering them is dropped (a peer gone without closing would
 * otherwise hold its follower forever).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, request } from 'undici';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import {
  buildTestApp,
  createWorkspaceAs,
  noRateLimitsAtAll,
  signUpUser,
  type TestUser,
} from '../../../../test/support/app.js';
import { importTestPosts, submitTestAnalysis } from '../../../../test/support/analyses.js';
import type { ZodApp } from '../../types.js';

// Long enough that a loaded machine's stall (the server's next ping tick running before it has
// read the pong of the last) does not drop the live peer.
const KEEPALIVE_MS = 1000;

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')(
  'progress stream keep-alives',
  () => {
    let db: TestDatabase;
    let app: ZodApp;
    let user: TestUser;
    let port = 0;
    let path = '';

    beforeAll(async () => {
      db = await createTestDatabase();
      app = await buildTestApp(db, {
        ...noRateLimitsAtAll,
        ANALYSIS_STREAM_KEEPALIVE_MS: String(KEEPALIVE_MS),
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('not listening');
      port = address.port;
      user = await signUpUser(app);
      const ws = await createWorkspaceAs(app, user);
      await importTestPosts(app, user, ws, 3, (i) => `post ${i}`);
      // No worker runs: the analysis stays queued and its streams stay open.
      path = `/v1/analyses/${(await submitTestAnalysis(app, user, ws)).id}/events`;
    });

    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    it('sends SSE keep-alive comments', async () => {
      const sse = await request(`http://127.0.0.1:${port}${path}`, { headers: user.headers });
      expect(sse.statusCode).toBe(200);
      let received = '';
      const reading = (async () => {
        for await (const chunk of sse.body) received += String(chunk);
      })().catch(() => undefined);
      await expect
        .poll(() => received.match(/: keep-alive\n/g)?.length ?? 0, { timeout: 15_000 })
        .toBeGreaterThanOrEqual(2);
      expect(received).toContain('event: queued');
      sse.body.destroy();
      await reading;
    });

    it('keeps a WebSocket peer that answers pings, and drops one that does not', async () => {
      // undici's WebSocket answers pings: still open after several intervals.
      const live = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: user.headers });
      const messages: string[] = [];
      live.addEventListener('message', (event) => messages.push(String(event.data)));
      let liveClosed = false;
      live.addEventListener('close', () => (liveClosed = true));

      // A raw peer: it upgrades, then never answers.
      const raw: Socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => raw.once('connect', resolve));
      raw.write(
        [
          `GET ${path} HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          `Authorization: ${user.headers.authorization}`,
          '',
          '',
        ].join('\r\n'),
      );
      let bytes = Buffer.alloc(0);
      raw.on('data', (chunk: Buffer) => (bytes = Buffer.concat([bytes, chunk])));
      const rawClosed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
      await expect
        .poll(() => bytes.toString('latin1'), { timeout: 10_000 })
        .toMatch(/^HTTP\/1\.1 101 /);

      await rawClosed;
      // Pinged (a frame with opcode 0x9), then dropped when the next interval found no pong.
      const frames = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
      expect([...frames].some((b) => b === 0x89)).toBe(true);

      await expect
        .poll(() => messages.map((m) => (JSON.parse(m) as { type: string }).type), {
          timeout: 10_000,
        })
        .toContain('queued');
      // Two more intervals: the peer that answers its pings is still there.
      await delay(2 * KEEPALIVE_MS);
      expect(liveClosed).toBe(false);
      live.close();
    });
  },
);
