/**
 * Brute-force protection of sign-in and MFA, and the API rate limits: in-process, on Redis,
 * shared by two app instances, and with Redis stopped mid-test (requests are still served).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ZodApp } from '../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildTestApp,
  createWorkspaceAs,
  signUpUser,
  strongPassword,
  type TestUser,
} from '../../../test/support/app.js';
import { LOOKUP_MISSES } from '../../domain/auth/login-throttle.js';
import { closedPort, redisUnavailable } from '../../../test/support/redis.js';
import { enrolTotp, startMfaSignIn, totpCode, userIdOf } from '../../../test/support/auth.js';
import { createRedisHealth, type RedisHealth } from '../../observability/redis-health.js';

const redisUrl = inject('redisUrl');
const redisReason = databaseUnavailable() === '' ? await redisUnavailable(redisUrl) : 'no database';

/** Why a Redis server of our own cannot be started ('' when it can); fails in CI like a missing Redis. */
async function redisServerUnavailable(): Promise<string> {
  const probe = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  const [code] = (await Promise.race([
    once(probe, 'exit'),
    once(probe, 'error').then(() => [-1]),
  ])) as [number | null];
  if (code === 0) return '';
  const reason = 'redis-server is not installed';
  if (process.env.CI === 'true') throw new Error(`${reason} (CI requires it)`);
  process.stdout.write(`\n[integration] skipping the stopped-Redis test: ${reason}\n`);
  return reason;
}
const redisServerReason = redisReason === '' ? await redisServerUnavailable() : redisReason;

/** Each test calls from its own address, so per-IP counters (kept in Redis across runs) never collide. */
const randomIp = (): string => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

const signInAs = (
  app: ZodApp,
  email: string,
  password: string,
  remoteAddress = '127.0.0.1',
): Promise<LightMyRequestResponse> =>
  app.inject({
    method: 'POST',
    url: '/v1/auth/sign-in',
    payload: { email, password },
    remoteAddress,
  });

function expectRateLimitHeaders(res: LightMyRequestResponse, limit: number): void {
  expect(res.headers['ratelimit-limit']).toBe(String(limit));
  expect(Number(res.headers['ratelimit-remaining'])).toBeGreaterThanOrEqual(0);
  expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThan(0);
}

/** A 429 from the API rate limit: status, Retry-After and our error code. */
function expectRateLimited(res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(res.json()).toMatchObject({ error: { code: 'rate_limited' } });
}

/** The whole error body of a 429: exactly `{"error":{"code","message","details"}}` with the retry time. */
function expectRateLimitedBody(res: LightMyRequestResponse): void {
  expectRateLimited(res);
  const body = res.json<{
    error: { code: string; message?: string; details?: { retryAfterSeconds?: number } };
  }>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.message?.length ?? 0).toBeGreaterThan(0);
  expect(body.error.details?.retryAfterSeconds).toBeGreaterThan(0);
}

/** Calls `options` until the answer is 429; returns how many were served first (fails past `max`). */
async function callUntilLimited(
  app: ZodApp,
  options: InjectOptions,
  max: number,
): Promise<{ served: number; limited: LightMyRequestResponse }> {
  for (let served = 0; served <= max; served++) {
    const res = await app.inject(options);
    if (res.statusCode === 429) return { served, limited: res };
    expect(res.statusCode, res.body).toBeLessThan(400);
  }
  throw new Error(`no 429 after ${max + 1} requests`);
}

describe.skipIf(databaseUnavailable() !== '')('brute force and rate limits', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describe('in-process', () => {
    let app: ZodApp;
    beforeAll(async () => {
      app = await buildTestApp(db, { RATE_LIMIT_AUTH_PER_MINUTE: '100000' });
      await signUpUser(app); // the instance admin
    });
    afterAll(async () => {
      await app?.close();
    });

    it('locks an account after 5 wrong passwords (even the right one gets 429), other accounts unaffected', async () => {
      const victim = await signUpUser(app);
      const bystander = await signUpUser(app);
      for (let i = 0; i < 5; i++) {
        // Case and spaces do not make a new account key.
        const email = i % 2 === 0 ? victim.email : ` ${victim.email.toUpperCase()}`;
        const res = await signInAs(app, email.trim(), strongPassword());
        expect({ attempt: i + 1, status: res.statusCode }).toEqual({ attempt: i + 1, status: 401 });
      }
      const locked = await signInAs(app, victim.email, victim.password);
      expect(locked.statusCode).toBe(429);
      const error = locked.json<{
        error: { code: string; details: { retryAfterSeconds: number } };
      }>().error;
      expect(error.code).toBe('rate_limited');
      expect(error.details.retryAfterSeconds).toBeGreaterThan(0);
      // The same address still signs other people in.
      expect((await signInAs(app, bystander.email, bystander.password)).statusCode).toBe(200);
      // Still locked; an existing session of the victim is not affected by the lock.
      expect((await signInAs(app, victim.email, victim.password)).statusCode).toBe(429);
      expect((await app.inject({ url: '/v1/auth/me', headers: victim.headers })).statusCode).toBe(
        200,
      );
    });

    it('a success before the fifth failure resets the count', async () => {
      const user = await signUpUser(app);
      for (let i = 0; i < 4; i++)
        expect((await signInAs(app, user.email, strongPassword())).statusCode).toBe(401);
      expect((await signInAs(app, user.email, user.password)).statusCode).toBe(200);
      for (let i = 0; i < 4; i++)
        expect((await signInAs(app, user.email, strongPassword())).statusCode).toBe(401);
      expect((await signInAs(app, user.email, user.password)).statusCode).toBe(200);
    });

    it('wrong MFA codes count too: after 5 the right code is refused', async () => {
      const user = await signUpUser(app);
      const { secret } = await enrolTotp(app, user.headers);
      const mfaToken = await startMfaSignIn(app, user);
      const valid = new Set([-1, 0, 1, 2].map((step) => totpCode(secret, step)));
      const wrong = ['000000', '111111', '222222', '333333', '444444'].find((c) => !valid.has(c));
      for (let i = 0; i < 5; i++) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/mfa/verify',
          payload: { mfa_token: mfaToken, code: wrong },
        });
        expect(res.statusCode).toBe(401);
      }
      const locked = await app.inject({
        method: 'POST',
        url: '/v1/auth/mfa/verify',
        payload: { mfa_token: mfaToken, code: totpCode(secret, 1) },
      });
      expect(locked.statusCode).toBe(429);
      expect(locked.json()).toMatchObject({ error: { code: 'rate_limited' } });
    });

    it('/v1 answers carry RateLimit-* headers; /healthz is not limited', async () => {
      const user = await signUpUser(app);
      const res = await app.inject({ url: '/v1/workspaces', headers: user.headers });
      expect(res.statusCode).toBe(200);
      expectRateLimitHeaders(res, 600);
      const write = await app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: user.headers,
        payload: { name: `limits ${Date.now()}` },
      });
      expectRateLimitHeaders(write, 120);
      expect((await app.inject({ url: '/healthz' })).headers['ratelimit-limit']).toBeUndefined();
    });

    it('past a small limit: 429 with Retry-After and RateLimit headers; per user and per key', async () => {
      const small = await buildTestApp(db, {
        RATE_LIMIT_READ_PER_MINUTE: '5',
        RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      });
      try {
        const owner = await signUpUser(small);
        const reader = await signUpUser(small);
        const ws = (
          await small.inject({
            method: 'POST',
            url: '/v1/workspaces',
            headers: owner.headers,
            payload: { name: `small ${Date.now()}` },
          })
        ).json<{ id: string }>().id;
        const key = (
          await small.inject({
            method: 'POST',
            url: `/v1/workspaces/${ws}/api-keys`,
            headers: owner.headers,
            payload: { name: 'k', scopes: ['read'] },
          })
        ).json<{ key: string }>().key;
        // `reader` has made no request yet: the whole budget of 5 reads is theirs.
        const { served, limited } = await callUntilLimited(
          small,
          { url: '/v1/workspaces', headers: reader.headers },
          10,
        );
        expect(served).toBe(5);
        expectRateLimited(limited);
        expect(limited.headers['ratelimit-limit']).toBe('5');
        expect(limited.headers['ratelimit-remaining']).toBe('0');
        // The API key has its own budget, apart from the user who created it.
        const byKey = await callUntilLimited(
          small,
          { url: `/v1/workspaces/${ws}/posts`, headers: { authorization: `Bearer ${key}` } },
          10,
        );
        expect(byKey.served).toBe(5);
        expectRateLimited(byKey.limited);
      } finally {
        await small.close();
      }
    });

    // Regression: the builder once returned a plain object, rendered without message/details.
    it('the 429 body is our whole error body: message and retryAfterSeconds', async () => {
      const small = await buildTestApp(db, {
        RATE_LIMIT_READ_PER_MINUTE: '1',
        RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      });
      try {
        const user = await signUpUser(small);
        const { limited } = await callUntilLimited(
          small,
          { url: '/v1/workspaces', headers: user.headers },
          5,
        );
        expectRateLimitedBody(limited);
      } finally {
        await small.close();
      }
    });

    // Regression: the message-less 429 body once failed response serialization here (500).
    it('auth routes answer 429 (not 500) past their per-address limit', async () => {
      const strict = await buildTestApp(db, { RATE_LIMIT_AUTH_PER_MINUTE: '3' });
      try {
        const ip = randomIp();
        const forgot = (remoteAddress: string) =>
          strict.inject({
            method: 'POST',
            url: '/v1/auth/password/forgot',
            payload: { email: 'someone@example.com' },
            remoteAddress,
          });
        for (let i = 0; i < 3; i++) expect((await forgot(ip)).statusCode).toBe(202);
        expectRateLimitedBody(await forgot(ip));
      } finally {
        await strict.close();
      }
    });

    it('auth routes have their own per-address limit (another address is unaffected)', async () => {
      const strict = await buildTestApp(db, { RATE_LIMIT_AUTH_PER_MINUTE: '3' });
      try {
        const ip = randomIp();
        const forgot = (remoteAddress: string) =>
          strict.inject({
            method: 'POST',
            url: '/v1/auth/password/forgot',
            payload: { email: 'someone@example.com' },
            remoteAddress,
          });
        for (let i = 0; i < 3; i++) expect((await forgot(ip)).statusCode).toBe(202);
        expect((await forgot(ip)).statusCode).toBe(429);
        expect((await forgot(randomIp())).statusCode).toBe(202);
      } finally {
        await strict.close();
      }
    });

    it('forged tokens and unknown keys are counted per address: probing is locked out, a valid key from elsewhere is not', async () => {
      const strict = await buildTestApp(db, { RATE_LIMIT_AUTH_PER_MINUTE: '3' });
      try {
        const user = await signUpUser(strict);
        const ip = randomIp();
        const probe = (authorization: string, remoteAddress = ip) =>
          strict.inject({ url: '/v1/workspaces', headers: { authorization }, remoteAddress });
        const forged = [
          `Bearer sp_abcdefgh_${'x'.repeat(32)}`,
          'Bearer not.a.jwt',
          `Bearer ${user.token.slice(0, -2)}xx`,
        ];
        for (const authorization of forged)
          expect((await probe(authorization)).statusCode).toBe(401);
        // The fourth probe is refused before its credential is even looked at, with the wait.
        const locked = await probe(`Bearer sp_zyxwvuts_${'y'.repeat(32)}`);
        expect(locked.statusCode).toBe(429);
        expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
        expect(locked.json()).toMatchObject({
          error: {
            code: 'rate_limited',
            details: { retryAfterSeconds: expect.any(Number) as unknown },
          },
        });
        // The same address with a valid token is locked too (it is the address that probed)…
        expect((await probe(user.headers.authorization)).statusCode).toBe(429);
        // …another address is not.
        expect((await probe(user.headers.authorization, randomIp())).statusCode).toBe(200);
      } finally {
        await strict.close();
      }
    });

    it('limits the emails without an account one asker may look up by adding members, so accounts cannot be listed', async () => {
      const [owner, other, existing] = [
        await signUpUser(app),
        await signUpUser(app),
        await signUpUser(app),
      ];
      const ws = await createWorkspaceAs(app, owner);
      const otherWs = await createWorkspaceAs(app, other);
      const add = (asker: TestUser, workspace: string, email: string) =>
        app.inject({
          method: 'POST',
          url: `/v1/workspaces/${workspace}/members`,
          headers: asker.headers,
          payload: { email, role: 'viewer' },
        });
      for (let i = 0; i < LOOKUP_MISSES; i++) {
        const miss = await add(owner, ws, `nobody-${i}@example.com`);
        expect(miss.statusCode, miss.body).toBe(404);
      }
      // Spent: the next answer is the same whether the email has an account or not.
      const limited = await add(owner, ws, 'nobody-else@example.com');
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
      expect((await add(owner, ws, existing.email)).statusCode).toBe(429);
      // Per asker: someone else's lookups are not affected.
      const added = await add(other, otherWs, existing.email);
      expect(added.statusCode, added.body).toBe(201);
    });

    // Regression: reads and writes once shared one counter, so reads used up the write budget.
    it('reads do not use up the write budget', async () => {
      const split = await buildTestApp(db, {
        RATE_LIMIT_READ_PER_MINUTE: '20',
        RATE_LIMIT_WRITE_PER_MINUTE: '3',
        RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      });
      try {
        const user = await signUpUser(split);
        for (let i = 0; i < 5; i++)
          expect(
            (await split.inject({ url: '/v1/workspaces', headers: user.headers })).statusCode,
          ).toBe(200);
        const write = await split.inject({
          method: 'POST',
          url: '/v1/workspaces',
          headers: user.headers,
          payload: { name: `split ${Date.now()}` },
        });
        expect(write.statusCode, write.body).toBe(201);
      } finally {
        await split.close();
      }
    });
  });

  describe.skipIf(redisReason !== '')('with Redis', () => {
    let redis: RedisHealth;
    let first: ZodApp;
    let second: ZodApp;
    beforeAll(async () => {
      redis = createRedisHealth(redisUrl);
      await redis.ping();
      const overrides = { RATE_LIMIT_READ_PER_MINUTE: '5', RATE_LIMIT_AUTH_PER_MINUTE: '100000' };
      first = await buildTestApp(db, overrides, redis);
      second = await buildTestApp(db, overrides, redis);
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await redis?.close();
    });

    it('keeps the counters in Redis: headers, 429 with Retry-After, shared by two app instances', async () => {
      // A fresh user is a fresh key space: nothing left over from other runs or files.
      const user = await signUpUser(first);
      const res = await first.inject({ url: '/v1/workspaces', headers: user.headers });
      expectRateLimitHeaders(res, 5);
      expect(res.headers['ratelimit-remaining']).toBe('4');
      const keys = await redis.client.keys(`sp:rl:*user:${userIdOf(user)}*`);
      expect(keys.length).toBeGreaterThan(0);
      // The second instance sees the first one's count.
      const onSecond = await second.inject({ url: '/v1/workspaces', headers: user.headers });
      expect(onSecond.headers['ratelimit-remaining']).toBe('3');
      for (let i = 0; i < 3; i++)
        expect(
          (await (i % 2 ? first : second).inject({ url: '/v1/workspaces', headers: user.headers }))
            .statusCode,
        ).toBe(200);
      expectRateLimited(await first.inject({ url: '/v1/workspaces', headers: user.headers }));
      expectRateLimited(await second.inject({ url: '/v1/workspaces', headers: user.headers }));
    });

    it('shares the sign-in lockout between instances', async () => {
      const user = await signUpUser(first);
      const ip = randomIp();
      for (let i = 0; i < 5; i++)
        expect(
          (await signInAs(i % 2 ? first : second, user.email, strongPassword(), ip)).statusCode,
        ).toBe(401);
      const locked = await signInAs(second, user.email, user.password, randomIp());
      expect(locked.statusCode).toBe(429);
      expect(locked.json()).toMatchObject({
        error: {
          code: 'rate_limited',
          details: { retryAfterSeconds: expect.any(Number) as unknown },
        },
      });
    });
  });

  describe.skipIf(redisServerReason !== '')('with a Redis that stops mid-test', () => {
    let server: ChildProcess | null = null;
    let redis: RedisHealth;
    let app: ZodApp;
    let user: TestUser;

    beforeAll(async () => {
      const port = await closedPort();
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      await new Promise<void>((resolve, reject) => {
        server?.stdout?.on('data', (d: Buffer) => {
          output += d.toString();
          if (output.includes('Ready to accept connections')) resolve();
        });
        server?.once('exit', (code) =>
          reject(new Error(`redis-server exited (${String(code)}): ${output}`)),
        );
      });
      redis = createRedisHealth(`redis://127.0.0.1:${port}`);
      await redis.ping();
      app = await buildTestApp(
        db,
        { RATE_LIMIT_READ_PER_MINUTE: '1000', RATE_LIMIT_AUTH_PER_MINUTE: '100000' },
        redis,
      );
      user = await signUpUser(app);
    });
    afterAll(async () => {
      await app?.close();
      await redis?.close();
      if (server && server.exitCode === null) {
        const exited = once(server, 'exit');
        server.kill('SIGTERM');
        await exited;
      }
    });

    it('serves requests (2xx), sign-ins and lockouts while Redis is down', async () => {
      const before = await app.inject({ url: '/v1/workspaces', headers: user.headers });
      expect(before.statusCode).toBe(200);
      expectRateLimitHeaders(before, 1000);
      expect((await redis.client.keys('sp:rl:*')).length).toBeGreaterThan(0);

      const closed = once(redis.client, 'close');
      const exited = once(server as ChildProcess, 'exit');
      (server as ChildProcess).kill('SIGTERM');
      await exited;
      await closed;
      expect(redis.client.status).not.toBe('ready');

      for (let i = 0; i < 5; i++) {
        const res = await app.inject({ url: '/v1/workspaces', headers: user.headers });
        expect({ i, status: res.statusCode }).toEqual({ i, status: 200 });
      }
      const created = await app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: user.headers,
        payload: { name: `no redis ${Date.now()}` },
      });
      expect(created.statusCode, created.body).toBe(201);
      const signedIn = await signInAs(app, user.email, user.password);
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      // The throttle falls back to memory: failures still lock.
      for (let i = 0; i < 5; i++)
        expect((await signInAs(app, user.email, strongPassword())).statusCode).toBe(401);
      expect((await signInAs(app, user.email, user.password)).statusCode).toBe(429);
      // Readiness reports the outage rather than crashing.
      expect((await app.inject({ url: '/readyz' })).statusCode).toBeLessThan(600);
    });
  });
});
