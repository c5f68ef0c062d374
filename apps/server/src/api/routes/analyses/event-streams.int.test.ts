/**
 * The progress streams on a real socket. Keep-alives: SSE comments, WebSocket pings, and a
 * WebSocket peer that stops answering them is dropped (a peer gone without closing would
 * otherwise hold its follower forever). Access: an open stream ends once its caller's access
 * does (a removed member, a revoked key, a signed-out session), and not at its access token's
 * expiry. Resuming: a WebSocket reads Last-Event-ID as SSE does.
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
  addMember,
  buildTestApp,
  createApiKeyAs,
  createWorkspaceAs,
  noRateLimitsAtAll,
  signUpUser,
  type TestUser,
} from '../../../../test/support/app.js';
import { claimsOf } from '../../../../test/support/auth.js';
import { importTestPosts, submitTestAnalysis } from '../../../../test/support/analyses.js';
import { ACCESS_TOKEN_TTL_S, signAccessToken } from '../../../domain/auth/access-tokens.js';
import type { ZodApp } from '../../types.js';

const keepAlives = (text: string): number => text.match(/: keep-alive\n/g)?.length ?? 0;

interface SseStream {
  text: () => string;
  ended: () => boolean;
  /** Settles when the server ends the response. */
  done: Promise<void>;
  /** The `event:` names received, and the data of each `error` event. */
  events: () => string[];
  errors: () => unknown[];
}

async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const res = await request(url, { headers });
  expect(res.statusCode).toBe(200);
  res.body.setEncoding('utf8');
  let text = '';
  let ended = false;
  const done = (async () => {
    for await (const chunk of res.body) text += String(chunk);
  })()
    .catch(() => undefined)
    .finally(() => (ended = true));
  const blocks = (): { event: string; data: string }[] =>
    text.split('\n\n').flatMap((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      return event ? [{ event, data: /^data: (.*)$/m.exec(block)?.[1] ?? '' }] : [];
    });
  return {
    text: () => text,
    ended: () => ended,
    done,
    events: () => blocks().map((b) => b.event),
    errors: () =>
      blocks()
        .filter((b) => b.event === 'error')
        .map((b) => JSON.parse(b.data) as unknown),
  };
}

interface WsStream {
  messages: { id: number; type: string }[];
  /** How the server closed it, once it has. */
  closed: () => { code: number; reason: string } | null;
}

function openWs(url: string, headers: Record<string, string>): WsStream {
  const socket = new WebSocket(url, { headers });
  const messages: WsStream['messages'] = [];
  socket.addEventListener('message', (event) =>
    messages.push(JSON.parse(String(event.data)) as { id: number; type: string }),
  );
  let closed: { code: number; reason: string } | null = null;
  socket.addEventListener(
    'close',
    (event) => (closed = { code: event.code, reason: event.reason }),
  );
  return { messages, closed: () => closed };
}

// Long enough that a loaded machine's stall (the server's next ping tick running before it has
// read the pong of the last) does not drop the live peer.
const KEEPALIVE_MS = 1000;

/** The app with that keep-alive, listening on a free local port (streams need real sockets). */
async function listeningApp(db: TestDatabase): Promise<{ app: ZodApp; port: number }> {
  const app = await buildTestApp(db, {
    ...noRateLimitsAtAll,
    ANALYSIS_STREAM_KEEPALIVE_MS: String(KEEPALIVE_MS),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return { app, port: address.port };
}

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
      ({ app, port } = await listeningApp(db));
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

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')(
  "progress streams end with their caller's access",
  () => {
    let db: TestDatabase;
    let app: ZodApp;
    let owner: TestUser;
    let port = 0;
    let ws = '';

    beforeAll(async () => {
      db = await createTestDatabase();
      // The access re-check runs every two keep-alive intervals: 2 s here.
      ({ app, port } = await listeningApp(db));
      owner = await signUpUser(app);
      ws = await createWorkspaceAs(app, owner);
      await importTestPosts(app, owner, ws, 3, (i) => `post ${i}`);
    });

    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    // No worker runs: each analysis stays queued, and its streams open, until cancelled.
    const analysis = async (): Promise<string> => (await submitTestAnalysis(app, owner, ws)).id;
    const sseUrl = (id: string): string => `http://127.0.0.1:${port}/v1/analyses/${id}/events`;
    const wsUrl = (id: string): string => `ws://127.0.0.1:${port}/v1/analyses/${id}/events`;
    const member = async (): Promise<TestUser> => {
      const user = await signUpUser(app);
      await addMember(app, owner, ws, user, 'viewer');
      return user;
    };
    const removeMember = async (user: TestUser): Promise<void> => {
      const res = await app.inject({
        method: 'DELETE',
        url: `/v1/workspaces/${ws}/members/${claimsOf(user.token).userId}`,
        headers: owner.headers,
      });
      expect(res.statusCode, res.body).toBe(204);
    };
    const cancel = async (id: string): Promise<void> => {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${id}/cancel`,
        headers: owner.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
    };
    /**
     * Four more keep-alives span two re-check intervals, so at least one re-check: the stream is
     * still open after it, and then follows to the analysis's end.
     */
    const outlastsRechecks = async (stream: SseStream, id: string): Promise<void> => {
      const from = keepAlives(stream.text());
      await expect
        .poll(() => stream.ended() || keepAlives(stream.text()) >= from + 4, { timeout: 15_000 })
        .toBe(true);
      expect(stream.ended()).toBe(false);
      await cancel(id);
      await stream.done;
      expect(stream.events()).toEqual(['queued', 'cancelled']);
    };

    it('SSE: a removed member gets an access_revoked error event and the end; another member follows on', async () => {
      const id = await analysis();
      const removed = await member();
      const stays = await member();
      const gone = await openSse(sseUrl(id), removed.headers);
      const kept = await openSse(sseUrl(id), stays.headers);
      await expect.poll(() => gone.events(), { timeout: 10_000 }).toContain('queued');
      await expect.poll(() => kept.events(), { timeout: 10_000 }).toContain('queued');

      await removeMember(removed);
      await expect.poll(() => gone.ended(), { timeout: 10_000 }).toBe(true);
      expect(gone.events()).toEqual(['queued', 'error']);
      expect(gone.errors()).toEqual([
        {
          code: 'access_revoked',
          status: 404,
          reason: 'not_a_member',
          message: expect.any(String) as unknown,
        },
      ]);
      // The final event has no id: EventSource reconnects after `queued`, and is refused alike.
      expect(gone.text()).not.toMatch(/id: \d+\nevent: error/);
      const again = await app.inject({
        method: 'GET',
        url: `/v1/analyses/${id}/events`,
        headers: removed.headers,
      });
      expect(again.statusCode).toBe(404);

      await outlastsRechecks(kept, id);
    });

    it('WebSocket: a removed member is closed with 4404', async () => {
      const id = await analysis();
      const removed = await member();
      const socket = openWs(wsUrl(id), removed.headers);
      await expect
        .poll(() => socket.messages.map((m) => m.type), { timeout: 10_000 })
        .toContain('queued');
      await removeMember(removed);
      await expect
        .poll(() => socket.closed(), { timeout: 10_000 })
        .toEqual({ code: 4404, reason: 'access revoked: not_a_member' });
      await cancel(id);
    });

    it('WebSocket: an API key revoked mid-stream is closed with 4401', async () => {
      const id = await analysis();
      const key = await createApiKeyAs(app, owner, ws, ['read']);
      const socket = openWs(wsUrl(id), key.headers);
      await expect
        .poll(() => socket.messages.map((m) => m.type), { timeout: 10_000 })
        .toContain('queued');
      const revoked = await app.inject({
        method: 'DELETE',
        url: `/v1/workspaces/${ws}/api-keys/${key.id}`,
        headers: owner.headers,
      });
      expect(revoked.statusCode, revoked.body).toBe(204);
      await expect
        .poll(() => socket.closed(), { timeout: 10_000 })
        .toEqual({ code: 4401, reason: 'access revoked: api_key_revoked' });
      await cancel(id);
    });

    it('SSE: a signed-out session ends with a 401 access_revoked event', async () => {
      const id = await analysis();
      const user = await member();
      const stream = await openSse(sseUrl(id), user.headers);
      await expect.poll(() => stream.events(), { timeout: 10_000 }).toContain('queued');
      const out = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-out',
        headers: user.headers,
      });
      expect(out.statusCode, out.body).toBe(204);
      await expect.poll(() => stream.ended(), { timeout: 10_000 }).toBe(true);
      expect(stream.errors()).toEqual([
        expect.objectContaining({ code: 'access_revoked', status: 401, reason: 'session_revoked' }),
      ]);
      await cancel(id);
    });

    it('a stream outlives its access token while the session lasts', async () => {
      const id = await analysis();
      const user = await member();
      // The same session's token, issued so that it expires in 5 s.
      const token = await signAccessToken(
        db.secrets.jwtSecret,
        { ...claimsOf(user.token), mfa: false },
        Date.now() - (ACCESS_TOKEN_TTL_S - 5) * 1000,
      );
      const headers = { authorization: `Bearer ${token}` };
      const stream = await openSse(sseUrl(id), headers);
      await expect.poll(() => stream.events(), { timeout: 10_000 }).toContain('queued');
      await expect
        .poll(
          async () =>
            (await app.inject({ method: 'GET', url: '/v1/auth/me', headers })).json<{
              error?: { details?: { reason?: string } };
            }>().error?.details?.reason,
          { timeout: 15_000, interval: 250 },
        )
        .toBe('token_expired');
      await outlastsRechecks(stream, id);
    });

    it('WebSocket: resumes after Last-Event-ID, which wins over ?after= as for SSE', async () => {
      const id = await analysis();
      const from = openWs(wsUrl(id), owner.headers);
      await expect.poll(() => from.messages.length, { timeout: 10_000 }).toBe(1);
      const queued = from.messages[0];
      expect(queued?.type).toBe('queued');
      const lastEventId = String(queued?.id);
      const header = openWs(wsUrl(id), { ...owner.headers, 'last-event-id': lastEventId });
      const both = openWs(`${wsUrl(id)}?after=0`, {
        ...owner.headers,
        'last-event-id': lastEventId,
      });
      await cancel(id);
      for (const socket of [from, header, both])
        await expect.poll(() => socket.closed()?.code, { timeout: 10_000 }).toBe(1000);
      expect(from.messages.map((m) => m.type)).toEqual(['queued', 'cancelled']);
      expect(header.messages.map((m) => m.type)).toEqual(['cancelled']);
      expect(both.messages.map((m) => m.type)).toEqual(['cancelled']);
    });

    it('refuses a bad Last-Event-ID naming the header and the value, on SSE and before a WebSocket upgrade', async () => {
      const id = await analysis();
      const sse = await app.inject({
        method: 'GET',
        url: `/v1/analyses/${id}/events`,
        headers: { ...owner.headers, 'last-event-id': 'abc' },
      });
      expect(sse.statusCode).toBe(400);
      const error = sse.json<{ error: { code: string; message: string; details: unknown } }>()
        .error;
      expect(error.code).toBe('validation_failed');
      expect(error.message).toContain('last-event-id');
      expect(error.message).toContain('"abc"');
      expect(error.details).toEqual({
        problems: [
          {
            in: 'headers',
            field: 'last-event-id',
            message: expect.any(String) as unknown,
            value: 'abc',
          },
        ],
      });

      const raw: Socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => raw.once('connect', resolve));
      let bytes = '';
      raw.setEncoding('latin1');
      raw.on('data', (chunk: string) => (bytes += chunk));
      raw.write(
        [
          `GET /v1/analyses/${id}/events HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          `Authorization: ${owner.headers.authorization}`,
          'Last-Event-ID: -1',
          '',
          '',
        ].join('\r\n'),
      );
      await expect.poll(() => bytes, { timeout: 10_000 }).toMatch(/"value":"-1"/);
      expect(bytes).toMatch(/^HTTP\/1\.1 400 /);
      expect(bytes).toContain('"field":"last-event-id"');
      raw.destroy();
      await cancel(id);
    });
  },
);
