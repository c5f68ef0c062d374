/**
 * Hardening of the account routes, through the HTTP API on a real database: brute-force
 * lockouts (per account with a doubling back-off, per address, the MFA step, reset requests per
 * address) in-process and on Redis; the one-time setup link of a fresh instance; closed
 * sign-up; refused refresh and access tokens.
 */
import { randomInt } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { ZodApp } from '../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildTestApp,
  buildTestAppWithMail,
  signUpUser,
  strongPassword,
} from '../../../test/support/app.js';
import { buildTestAppWithDeps } from '../../../test/support/app-deps.js';
import { redisUnavailable } from '../../../test/support/redis.js';
import {
  claimsOf,
  enrolTotp,
  signIn,
  startMfaSignIn,
  totpCode,
} from '../../../test/support/auth.js';
import { createRedisHealth, type RedisHealth } from '../../observability/redis-health.js';
import { createSetupLink, signUp } from '../../domain/auth/auth.service.js';
import { randomToken } from '../../domain/auth/tokens.js';
import type { MailMessage } from '../../domain/auth/mail.js';

const redisUrl = inject('redisUrl');
const redisReason = databaseUnavailable() === '' ? await redisUnavailable(redisUrl) : 'no database';

/** Every test calls from its own address: per-address counters (kept in Redis across runs) never collide. */
const randomIp = (): string => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
let n = 0;
const uniqueEmail = (what: string): string =>
  `${what}-${Date.now().toString(36)}-${++n}-${randomInt(1_000_000)}@example.com`;

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
const errorOf = (res: LightMyRequestResponse): ErrorBody['error'] => res.json<ErrorBody>().error;

/** A lockout answer: 429 rate_limited, with the same positive wait in Retry-After and the details. */
function lockedFor(res: LightMyRequestResponse): number {
  expect(res.statusCode, res.body).toBe(429);
  const error = errorOf(res);
  expect(error.code).toBe('rate_limited');
  const seconds = error.details?.retryAfterSeconds;
  expect(typeof seconds).toBe('number');
  expect(seconds as number).toBeGreaterThan(0);
  expect(res.headers['retry-after']).toBe(String(seconds));
  return seconds as number;
}

const modes = [
  { name: 'in-process', redis: false, skip: '' },
  { name: 'on Redis', redis: true, skip: redisReason },
] as const;

describe.skipIf(databaseUnavailable() !== '')('auth hardening', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  for (const mode of modes) {
    describe.skipIf(mode.skip !== '')(`brute force, ${mode.name}`, () => {
      let redis: RedisHealth | null = null;
      let app: ZodApp;
      let mail: MailMessage[];

      beforeAll(async () => {
        if (mode.redis) {
          redis = createRedisHealth(redisUrl);
          await redis.ping();
        }
        // The per-address API limit of the auth routes is tested elsewhere: here only the throttle bites.
        ({ app, mail } = await buildTestAppWithMail(
          db,
          { RATE_LIMIT_AUTH_PER_MINUTE: '1000000', RATE_LIMIT_WRITE_PER_MINUTE: '1000000' },
          redis,
        ));
        await signUpUser(app); // the instance admin (if this app made the first account)
      });
      afterAll(async () => {
        await app?.close();
        await redis?.close();
      });
      afterEach(() => {
        vi.useRealTimers();
      });

      const signInAs = (email: string, password: string, remoteAddress: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/auth/sign-in',
          payload: { email, password },
          remoteAddress,
        });

      async function failSignIns(email: string, ip: string, times: number): Promise<void> {
        for (let i = 0; i < times; i++) {
          const res = await signInAs(email, strongPassword(), ip);
          expect({ attempt: i + 1, status: res.statusCode }).toEqual({
            attempt: i + 1,
            status: 401,
          });
        }
      }

      it('a stolen session cannot guess the password: wrong current passwords lock the account like sign-ins do', async () => {
        const victim = await signUpUser(app);
        const ip = randomIp();
        const change = (current: string) =>
          app.inject({
            method: 'POST',
            url: '/v1/auth/password',
            headers: victim.headers,
            remoteAddress: ip,
            payload: { current_password: current, new_password: strongPassword() },
          });
        for (let i = 0; i < 5; i++) expect((await change(strongPassword())).statusCode).toBe(401);
        const locked = await change(victim.password);
        expect(locked.statusCode).toBe(429);
        expect(lockedFor(locked)).toBeGreaterThan(0);
        // The account is locked for sign-in as well (the same counter).
        expect((await signInAs(victim.email, victim.password, randomIp())).statusCode).toBe(429);
      });

      it('5 wrong passwords lock the account: 429 with Retry-After, the right password refused; another account from the same address is not locked', async () => {
        const victim = await signUpUser(app);
        const bystander = await signUpUser(app);
        const ip = randomIp();
        await failSignIns(victim.email, ip, 4);
        // Four failures do not lock yet.
        expect((await signInAs(bystander.email, bystander.password, ip)).statusCode).toBe(200);
        await failSignIns(victim.email, ip, 1);

        const locked = await signInAs(victim.email, victim.password, ip);
        const wait = lockedFor(locked);
        // The first lockout lasts one minute.
        expect(wait).toBeLessThanOrEqual(60);
        expect(locked.body).not.toContain('access_token');
        // From another address too: the lock is on the account.
        lockedFor(await signInAs(victim.email, victim.password, randomIp()));
        // The same address still signs another account in.
        expect((await signInAs(bystander.email, bystander.password, ip)).statusCode).toBe(200);
      });

      it('50 failures from one address across many accounts lock the address, not the accounts', async () => {
        const user = await signUpUser(app);
        const ip = randomIp();
        // One failure per (unknown) account: no account reaches its own limit.
        for (let i = 0; i < 49; i++) {
          const res = await signInAs(uniqueEmail('nobody'), strongPassword(), ip);
          expect({ attempt: i + 1, status: res.statusCode }).toEqual({
            attempt: i + 1,
            status: 401,
          });
        }
        // 49 failures: the address still works.
        expect((await signInAs(user.email, user.password, ip)).statusCode).toBe(200);
        expect((await signInAs(uniqueEmail('nobody'), strongPassword(), ip)).statusCode).toBe(401);

        const locked = await signInAs(user.email, user.password, ip);
        const wait = lockedFor(locked);
        expect(errorOf(locked).message).toContain('address');
        // The address window is an hour, longer than any first account lockout.
        expect(wait).toBeGreaterThan(60);
        expect(wait).toBeLessThanOrEqual(3600);
        // The account itself is not locked: from another address it signs in.
        expect((await signInAs(user.email, user.password, randomIp())).statusCode).toBe(200);
      });

      it('each lockout of the same account lasts longer than the one before (back-off doubles)', async () => {
        if (!mode.redis) {
          // The in-process limiter forgets a lock with a timer: fake it to let the first lock run out.
          vi.useFakeTimers({
            toFake: ['setTimeout', 'clearTimeout', 'Date'],
            shouldAdvanceTime: true,
            advanceTimeDelta: 5,
          });
        }
        const user = await signUpUser(app);
        const ip = randomIp();
        const key = user.email.toLowerCase();
        await failSignIns(user.email, ip, 5);
        const first = lockedFor(await signInAs(user.email, user.password, ip));
        if (redis) {
          expect(await redis.client.get(`sp:login:lockouts:${key}`)).toBe('1');
          const ttl = await redis.client.pttl(`sp:login:account:${key}`);
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(60_000);
          // The lock runs out (as Redis would expire it).
          await redis.client.del(`sp:login:account:${key}`);
        } else {
          vi.advanceTimersByTime(first * 1000 + 1000);
        }
        // The first lock is over: the right password works again, and resets the failure count…
        expect((await signInAs(user.email, user.password, ip)).statusCode).toBe(200);
        // …but not the lockout history: five more failures lock it for longer.
        await failSignIns(user.email, ip, 5);
        const second = lockedFor(await signInAs(user.email, user.password, ip));
        expect(first).toBeLessThanOrEqual(60);
        expect(second).toBeGreaterThan(first);
        expect(second).toBeGreaterThan(60);
        expect(second).toBeLessThanOrEqual(120);
        if (redis) {
          expect(await redis.client.get(`sp:login:lockouts:${key}`)).toBe('2');
          const ttl = await redis.client.pttl(`sp:login:account:${key}`);
          expect(ttl).toBeGreaterThan(60_000);
          expect(ttl).toBeLessThanOrEqual(120_000);
        }
      });

      it('wrong MFA codes count toward the same lockout as wrong passwords', async () => {
        const user = await signUpUser(app);
        const { secret } = await enrolTotp(app, user.headers);
        const ip = randomIp();
        const mfaToken = await startMfaSignIn(app, user);
        const valid = new Set([-2, -1, 0, 1, 2].map((step) => totpCode(secret, step)));
        const wrong = ['000000', '111111', '222222', '333333', '444444'].find((c) => !valid.has(c));
        const verify = (code: string | undefined) =>
          app.inject({
            method: 'POST',
            url: '/v1/auth/mfa/verify',
            payload: { mfa_token: mfaToken, code },
            remoteAddress: ip,
          });
        // 3 wrong passwords + 2 wrong codes = 5 failures of one account.
        await failSignIns(user.email, ip, 3);
        for (let i = 0; i < 2; i++) {
          const res = await verify(wrong);
          expect(res.statusCode).toBe(401);
          expect(errorOf(res).details).toMatchObject({ reason: 'invalid_mfa_code' });
        }
        lockedFor(await verify(totpCode(secret)));
        lockedFor(await signInAs(user.email, user.password, ip));
      });

      it('password-reset requests are limited per address: 429 for that address, 202 for another; the sign-in is not locked', async () => {
        const user = await signUpUser(app);
        const other = await signUpUser(app);
        const ip = randomIp();
        const forgot = (email: string) =>
          app.inject({
            method: 'POST',
            url: '/v1/auth/password/forgot',
            payload: { email },
            remoteAddress: ip,
          });
        let served = 0;
        let limited: LightMyRequestResponse | null = null;
        for (let i = 0; i < 10 && !limited; i++) {
          const res = await forgot(user.email);
          if (res.statusCode === 429) limited = res;
          else {
            expect(res.statusCode, res.body).toBe(202);
            served++;
          }
        }
        expect(limited, 'no 429 after 10 reset requests for one address').not.toBeNull();
        lockedFor(limited as LightMyRequestResponse);
        expect(served).toBeGreaterThanOrEqual(1);
        expect(served).toBeLessThanOrEqual(5);
        // Only the served requests mailed a link: a flood does not fill the mailbox.
        expect(mail.filter((m) => m.to === user.email)).toHaveLength(served);
        // The same address in capitals is the same key.
        lockedFor(await forgot(user.email.toUpperCase()));
        // Another address, from the same machine, is served.
        expect((await forgot(other.email)).statusCode).toBe(202);
        expect(mail.filter((m) => m.to === other.email)).toHaveLength(1);
        // The reset key is not the sign-in key: the account still signs in.
        expect((await signInAs(user.email, user.password, ip)).statusCode).toBe(200);
      });
    });
  }

  describe('the setup link of a fresh instance', () => {
    let fresh: TestDatabase;
    let app: ZodApp;
    let createLink: () => Promise<string | null>;
    const remoteAddress = '203.0.113.5';

    beforeAll(async () => {
      fresh = await createTestDatabase();
      const built = await buildTestAppWithDeps(fresh, {
        RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
        PUBLIC_URL: 'https://pulse.example.com',
      });
      app = built.app;
      createLink = () => createSetupLink(built.deps.auth);
    });
    afterAll(async () => {
      await app?.close();
      await fresh?.drop();
    });

    const setup = (token: string, email: string, password = strongPassword()) =>
      app.inject({
        method: 'POST',
        url: '/v1/auth/setup',
        payload: { token, email, password },
        remoteAddress,
      });
    const userCount = async (): Promise<number> =>
      (await fresh.adminPool.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]
        ?.n ?? -1;

    it('creates the instance admin once: a remote sign-up is refused, a random token is refused, the link works from afar, then never again', async () => {
      expect(await userCount()).toBe(0);
      const remoteSignUp = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: { email: uniqueEmail('early'), password: strongPassword() },
        remoteAddress,
      });
      expect(remoteSignUp.statusCode).toBe(403);
      expect(errorOf(remoteSignUp)).toMatchObject({
        code: 'forbidden',
        details: { reason: 'setup_required' },
      });

      const link = await createLink();
      expect(link).toMatch(/^https:\/\/pulse\.example\.com\/setup\?token=[A-Za-z0-9_-]{20,}$/);
      const token = new URL(link ?? '').searchParams.get('token') ?? '';

      const random = await setup(randomToken(), uniqueEmail('guess'));
      expect(random.statusCode).toBe(403);
      expect(errorOf(random)).toMatchObject({ details: { reason: 'setup_token_invalid' } });
      expect(await userCount()).toBe(0);

      const email = uniqueEmail('admin');
      const created = await setup(token, email);
      expect(created.statusCode, created.body).toBe(201);
      const tokens = created.json<{
        access_token: string;
        refresh_token: string;
        token_type: string;
      }>();
      expect(tokens.token_type).toBe('Bearer');
      expect(tokens.refresh_token.length).toBeGreaterThan(20);
      const me = await app.inject({
        url: '/v1/auth/me',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ email, is_instance_admin: true });
      const refreshed = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refresh_token: tokens.refresh_token },
      });
      expect(refreshed.statusCode).toBe(200);

      const again = await setup(token, uniqueEmail('second'));
      expect(again.statusCode).toBe(403);
      expect(errorOf(again)).toMatchObject({ details: { reason: 'setup_token_invalid' } });
      expect(await userCount()).toBe(1);
      // An instance with an account issues no more links.
      expect(await createLink()).toBeNull();
    });

    it('lets only a request straight from this machine create the first account without the link: not one a proxy forwarded, nor one claiming loopback in X-Forwarded-For', async () => {
      const other = await createTestDatabase();
      const direct = await buildTestAppWithDeps(other, { RATE_LIMIT_AUTH_PER_MINUTE: '1000000' });
      const trusting = await buildTestAppWithDeps(other, {
        RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
        TRUST_PROXY: 'true',
      });
      const signUpVia = (target: ZodApp, from: string, headers: Record<string, string> = {}) =>
        target.inject({
          method: 'POST',
          url: '/v1/auth/sign-up',
          payload: { email: uniqueEmail('first'), password: strongPassword() },
          remoteAddress: from,
          headers,
        });
      try {
        for (const [target, from, headers] of [
          // A reverse proxy on the same host: its socket is loopback, the client is not.
          [direct.app, '127.0.0.1', { 'x-forwarded-for': remoteAddress }],
          [direct.app, '::1', { forwarded: `for=${remoteAddress}` }],
          [direct.app, '127.0.0.1', { 'x-real-ip': remoteAddress }],
          // With TRUST_PROXY the request's ip is what the client claims.
          [trusting.app, remoteAddress, { 'x-forwarded-for': '127.0.0.1' }],
          [trusting.app, '127.0.0.1', { 'x-forwarded-for': '127.0.0.1' }],
        ] as const) {
          const refused = await signUpVia(target, from, headers);
          expect(refused.statusCode, JSON.stringify(headers)).toBe(403);
          expect(errorOf(refused)).toMatchObject({ details: { reason: 'setup_required' } });
        }
        expect(
          (await other.adminPool.query<{ n: number }>('SELECT count(*)::int AS n FROM users'))
            .rows[0]?.n,
        ).toBe(0);
        // The operator's own browser on the machine that runs `npm start`.
        expect((await signUpVia(direct.app, '127.0.0.1')).statusCode).toBe(201);
      } finally {
        await direct.app.close();
        await trusting.app.close();
        await other.drop();
      }
    });

    it('the link is single-use even once the instance is empty again (the token itself is spent)', async () => {
      // Another fresh instance: whatever the test above left does not matter here.
      const other = await createTestDatabase();
      const built = await buildTestAppWithDeps(other, { RATE_LIMIT_AUTH_PER_MINUTE: '1000000' });
      try {
        const token =
          new URL((await createSetupLink(built.deps.auth)) ?? '').searchParams.get('token') ?? '';
        const post = (email: string) =>
          built.app.inject({
            method: 'POST',
            url: '/v1/auth/setup',
            payload: { token, email, password: strongPassword() },
            remoteAddress,
          });
        expect((await post(uniqueEmail('first'))).statusCode).toBe(201);
        // The account goes (an operator wiped it); the used link must still not create another admin.
        await other.adminPool.query('TRUNCATE users CASCADE');
        const reused = await post(uniqueEmail('reuse'));
        expect(reused.statusCode).toBe(403);
        expect(errorOf(reused)).toMatchObject({ details: { reason: 'setup_token_invalid' } });
      } finally {
        await built.app.close();
        await other.drop();
      }
    });

    // Regression: the token was consumed before the password was checked, so a refused (weak)
    // password spent the one-time link and the retry was refused as setup_token_invalid.
    it('a setup refused for a weak password leaves the link usable', async () => {
      const other = await createTestDatabase();
      const built = await buildTestAppWithDeps(other, { RATE_LIMIT_AUTH_PER_MINUTE: '1000000' });
      try {
        const token =
          new URL((await createSetupLink(built.deps.auth)) ?? '').searchParams.get('token') ?? '';
        const email = uniqueEmail('typo');
        const post = (password: string) =>
          built.app.inject({
            method: 'POST',
            url: '/v1/auth/setup',
            payload: { token, email, password },
            remoteAddress,
          });
        const weak = await post('password1234');
        expect(weak.statusCode).toBe(400);
        const retry = await post(strongPassword());
        expect(retry.statusCode, retry.body).toBe(201);
      } finally {
        await built.app.close();
        await other.drop();
      }
    });
  });

  describe('SIGNUP_ENABLED=false', () => {
    let closedDb: TestDatabase;
    let app: ZodApp;
    let deps: Awaited<ReturnType<typeof buildTestAppWithDeps>>['deps'];

    beforeAll(async () => {
      closedDb = await createTestDatabase();
      ({ app, deps } = await buildTestAppWithDeps(closedDb, {
        SIGNUP_ENABLED: 'false',
        RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
      }));
    });
    afterAll(async () => {
      await app?.close();
      await closedDb?.drop();
    });

    it('refuses a second sign-up (signup_closed) from anywhere; an operator-created account still works', async () => {
      // The first account, from the machine itself, is the admin even with sign-up closed.
      const admin = await signUpUser(app, uniqueEmail('admin'));
      for (const remoteAddress of ['127.0.0.1', '203.0.113.7']) {
        const email = uniqueEmail('late');
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/sign-up',
          payload: { email, password: strongPassword() },
          remoteAddress,
        });
        expect(res.statusCode).toBe(403);
        expect(errorOf(res)).toMatchObject({
          code: 'forbidden',
          details: { reason: 'signup_closed' },
        });
        const { rows } = await closedDb.adminPool.query('SELECT 1 FROM users WHERE email = $1', [
          email,
        ]);
        expect(rows).toEqual([]);
      }

      // What `socialpulse users create` does.
      const email = uniqueEmail('operator-made');
      const password = strongPassword();
      const created = await signUp(
        deps.auth,
        { email, password },
        { ip: null, userAgent: 'socialpulse-cli', requestId: null },
        { viaAdmin: true },
      );
      expect(created.isInstanceAdmin).toBe(false);
      const session = await signIn(app, { email, password });
      const me = await app.inject({ url: '/v1/auth/me', headers: session.headers });
      expect(me.json()).toMatchObject({ email, is_instance_admin: false });
      const adminMe = await app.inject({ url: '/v1/auth/me', headers: admin.headers });
      expect(adminMe.json()).toMatchObject({ is_instance_admin: true });
    });
  });

  describe('refused tokens', () => {
    let app: ZodApp;
    beforeAll(async () => {
      app = await buildTestApp(db, {
        RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
        RATE_LIMIT_READ_PER_MINUTE: '1000000',
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    const refresh = (token: string) =>
      app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } });
    const me = (token: string) =>
      app.inject({ url: '/v1/auth/me', headers: { authorization: `Bearer ${token}` } });
    const flip = (s: string, i: number): string =>
      s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

    function expectRefused(res: LightMyRequestResponse, reason: string): void {
      expect(res.statusCode, res.body).toBe(401);
      expect(errorOf(res)).toMatchObject({ code: 'unauthorized', details: { reason } });
      expect(res.body).not.toContain('access_token');
    }

    it('a refresh token with one character changed is unknown; the real one still works after', async () => {
      const user = await signUpUser(app);
      for (const i of [0, Math.floor(user.refreshToken.length / 2), user.refreshToken.length - 1])
        expectRefused(await refresh(flip(user.refreshToken, i)), 'refresh_token_unknown');
      expect((await refresh(user.refreshToken)).statusCode).toBe(200);
    });

    it('an expired refresh token is refused', async () => {
      const user = await signUpUser(app);
      const { rowCount } = await db.adminPool.query(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 minute' WHERE session_id = $1",
        [claimsOf(user.token).sessionId],
      );
      expect(rowCount).toBe(1);
      expectRefused(await refresh(user.refreshToken), 'refresh_token_expired');
    });

    it('the refresh token of a signed-out session, or of one that expired, is refused', async () => {
      const user = await signUpUser(app);
      const out = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-out',
        headers: user.headers,
      });
      expect(out.statusCode).toBe(204);
      expectRefused(await refresh(user.refreshToken), 'refresh_token_revoked');

      const other = await signUpUser(app);
      await db.adminPool.query(
        "UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = $1",
        [claimsOf(other.token).sessionId],
      );
      expectRefused(await refresh(other.refreshToken), 'refresh_token_revoked');
      expect((await me(other.token)).statusCode).toBe(401);
    });

    it('an access token with its payload or its signature changed is refused', async () => {
      const user = await signUpUser(app);
      const other = await signUpUser(app);
      expect((await me(user.token)).statusCode).toBe(200);
      const [header, payload, signature] = user.token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      const otherClaims = claimsOf(other.token);
      const forged = {
        'another user (sub)': `${header}.${b64({ ...claims, sub: otherClaims.userId })}.${signature}`,
        'another session (sid)': `${header}.${b64({ ...claims, sid: otherClaims.sessionId })}.${signature}`,
        'a later expiry': `${header}.${b64({ ...claims, exp: Number(claims.exp) + 86_400 })}.${signature}`,
        'one payload character': `${header}.${flip(payload, 3)}.${signature}`,
        'one signature character': `${header}.${payload}.${flip(signature, 7)}`,
        'no signature': `${header}.${payload}.`,
        'another token’s signature': `${header}.${payload}.${other.token.split('.')[2] ?? ''}`,
      };
      for (const [what, token] of Object.entries(forged)) {
        const res = await me(token);
        expect({ what, status: res.statusCode, code: errorOf(res).code }).toEqual({
          what,
          status: 401,
          code: 'unauthorized',
        });
        expect(res.body, what).not.toContain(other.email);
        expect(res.body, what).not.toContain(user.email);
      }
      // The untouched token still works (the refusals were the forgeries).
      expect((await me(user.token)).statusCode).toBe(200);
    });
  });
});
