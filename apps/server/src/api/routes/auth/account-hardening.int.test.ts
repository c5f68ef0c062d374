/**
 * Account hardening found by the security review: the MFA lockout survives a correct password,
 * a reset or password change spends every other reset link, the reset request does the same
 * work for any address and mails after answering, and a CSRF token is bound to its session.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ZodApp } from '../../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import { buildTestAppWithMail, signUpUser, strongPassword } from '../../../../test/support/app.js';
import { buildTestAppWithDeps } from '../../../../test/support/app-deps.js';
import {
  cookiesOf,
  enrolTotp,
  signIn,
  startMfaSignIn,
  totpCode,
  userIdOf,
} from '../../../../test/support/auth.js';
import type { MailMessage, MailTransport } from '../../../domain/auth/mail.js';

/** Rate limits of the API itself out of the way: these tests are about the account lockout. */
const limits = {
  RATE_LIMIT_AUTH_PER_MINUTE: '100000',
  RATE_LIMIT_READ_PER_MINUTE: '100000',
  RATE_LIMIT_WRITE_PER_MINUTE: '100000',
};

describe.skipIf(databaseUnavailable() !== '')('account hardening', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let mail: MailMessage[];

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ app, mail } = await buildTestAppWithMail(db, limits));
    await signUpUser(app); // the instance admin
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const verify = (mfaToken: string, code: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/auth/mfa/verify',
      payload: { mfa_token: mfaToken, code },
    });

  /** A six-digit code that is none of the secret's codes around now. */
  const wrongCode = (secret: string): string => {
    const valid = new Set([-2, -1, 0, 1, 2].map((step) => totpCode(secret, step)));
    return ['000000', '111111', '222222', '333333', '444444', '555555'].find(
      (c) => !valid.has(c),
    ) as string;
  };

  describe('MFA lockout', () => {
    it('a correct password between rounds of wrong codes does not reset the lockout', async () => {
      const user = await signUpUser(app);
      const { secret } = await enrolTotp(app, user.headers);
      const wrong = wrongCode(secret);

      const first = await startMfaSignIn(app, user);
      for (let i = 0; i < 4; i++) expect((await verify(first, wrong)).statusCode).toBe(401);
      // The password again (still correct, the account not yet locked)…
      const second = await startMfaSignIn(app, user);
      // …does not give the guesser five fresh tries: the fifth wrong code locks the account.
      expect((await verify(second, wrong)).statusCode).toBe(401);
      const locked = await verify(second, totpCode(secret, 1));
      expect(locked.statusCode, locked.body).toBe(429);
      expect(locked.json()).toMatchObject({ error: { code: 'rate_limited' } });
      const password = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-in',
        payload: { email: user.email, password: user.password },
      });
      expect(password.statusCode).toBe(429);
      expect(password.json()).toMatchObject({ error: { code: 'rate_limited' } });
    });

    it('a passed second factor clears the failures', async () => {
      const user = await signUpUser(app);
      const { secret } = await enrolTotp(app, user.headers);
      const wrong = wrongCode(secret);
      const first = await startMfaSignIn(app, user);
      for (let i = 0; i < 4; i++) expect((await verify(first, wrong)).statusCode).toBe(401);
      expect((await verify(first, totpCode(secret, 1))).statusCode).toBe(200);
      const again = await startMfaSignIn(app, user);
      for (let i = 0; i < 4; i++) expect((await verify(again, wrong)).statusCode).toBe(401);
      expect((await startMfaSignIn(app, user)).length).toBeGreaterThan(0);
    });

    it('without MFA a correct password still clears the failures', async () => {
      const user = await signUpUser(app);
      const signInWith = (password: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/auth/sign-in',
          payload: { email: user.email, password },
        });
      for (let i = 0; i < 4; i++) expect((await signInWith(strongPassword())).statusCode).toBe(401);
      expect((await signInWith(user.password)).statusCode).toBe(200);
      for (let i = 0; i < 4; i++) expect((await signInWith(strongPassword())).statusCode).toBe(401);
      expect((await signInWith(user.password)).statusCode).toBe(200);
    });
  });

  describe('reset links', () => {
    const requestLink = async (email: string): Promise<string> => {
      const before = mail.length;
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email },
      });
      expect(res.statusCode).toBe(202);
      const message = mail.slice(before).find((m) => m.to === email);
      const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(message?.text ?? '')?.[1];
      expect(token, message?.text).toBeDefined();
      return token ?? '';
    };
    const reset = (token: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset',
        payload: { token, new_password: strongPassword() },
      });

    it('a reset spends the other open links of the account', async () => {
      const user = await signUpUser(app);
      const older = await requestLink(user.email);
      const newer = await requestLink(user.email);
      expect((await reset(newer)).statusCode).toBe(204);
      const stale = await reset(older);
      expect(stale.statusCode).toBe(401);
      expect(stale.json()).toMatchObject({ error: { details: { reason: 'reset_token_invalid' } } });
    });

    it('a password change spends the open links of the account', async () => {
      const user = await signUpUser(app);
      const link = await requestLink(user.email);
      const change = await app.inject({
        method: 'POST',
        url: '/v1/auth/password',
        headers: user.headers,
        payload: { current_password: user.password, new_password: strongPassword() },
      });
      expect(change.statusCode, change.body).toBe(204);
      const stale = await reset(link);
      expect(stale.statusCode).toBe(401);
      expect(stale.json()).toMatchObject({ error: { details: { reason: 'reset_token_invalid' } } });
    });

    it('links of other accounts stay valid', async () => {
      const [a, b] = [await signUpUser(app), await signUpUser(app)];
      const linkOfB = await requestLink(b.email);
      expect((await reset(await requestLink(a.email))).statusCode).toBe(204);
      expect((await reset(linkOfB)).statusCode).toBe(204);
    });
  });

  describe('password reset request', () => {
    it('answers before the mail is delivered, and the mail still goes out', async () => {
      // A transport that holds every mail until the test lets it go: the answer must not wait.
      const held: { message: MailMessage; deliver: () => void }[] = [];
      const delivered: MailMessage[] = [];
      const slowMail: MailTransport = {
        send: (message) =>
          new Promise<void>((resolve) => {
            held.push({
              message,
              deliver: () => {
                delivered.push(message);
                resolve();
              },
            });
          }),
      };
      const { app: slowApp } = await buildTestAppWithDeps(db, limits, { mail: slowMail });
      try {
        const user = await signUpUser(slowApp);
        const known = await slowApp.inject({
          method: 'POST',
          url: '/v1/auth/password/forgot',
          payload: { email: user.email },
        });
        const unknown = await slowApp.inject({
          method: 'POST',
          url: '/v1/auth/password/forgot',
          payload: { email: `nobody-${Date.now()}@example.com` },
        });
        // The same answer either way, given while the known address's mail is still held.
        for (const res of [known, unknown]) {
          expect(res.statusCode).toBe(202);
          expect(res.json()).toEqual({ status: 'sent_if_account_exists' });
        }
        expect(known.body).toBe(unknown.body);
        expect(delivered).toHaveLength(0);
        expect(held.map((h) => h.message.to)).toEqual([user.email]);
        for (const h of held) h.deliver();
        expect(delivered[0]?.text).toMatch(/reset-password\?token=/);
      } finally {
        await slowApp.close();
      }
    });

    it('records the request for an unknown address too (the same work as for an account)', async () => {
      const email = `nobody-${Date.now()}@example.com`;
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email },
      });
      expect(res.statusCode).toBe(202);
      const { rows } = await db.adminPool.query<{ details: Record<string, unknown> }>(
        "SELECT details FROM audit_log WHERE action = 'auth.password_reset_requested' AND details->>'email' = $1",
        [email],
      );
      expect(rows).toEqual([{ details: { email, sent: false, reason: 'unknown_account' } }]);
    });

    it('a mail that fails is reported without the link', async () => {
      const errors: { error: unknown; purpose: string }[] = [];
      const failing: MailTransport = {
        send: (message) => Promise.reject(new Error(`550 refused: ${message.text}`)),
      };
      const { app: failingApp, deps } = await buildTestAppWithDeps(db, limits, {
        mail: failing,
      });
      deps.auth.onMailError = (error, purpose) => errors.push({ error, purpose });
      try {
        const user = await signUpUser(failingApp);
        const res = await failingApp.inject({
          method: 'POST',
          url: '/v1/auth/password/forgot',
          payload: { email: user.email },
        });
        expect(res.statusCode).toBe(202);
        await vi.waitFor(() => expect(errors).toHaveLength(1));
        expect(errors[0]?.purpose).toBe('password_reset');
        const message = (errors[0]?.error as Error).message;
        expect(message).toContain('550 refused');
        expect(message).toContain('[redacted]');
        const { rows } = await db.adminPool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM password_reset_tokens WHERE user_id = $1',
          [userIdOf(user)],
        );
        expect(rows[0]?.n).toBe(1);
        expect(message).not.toMatch(/token=[A-Za-z0-9_-]{20,}/);
      } finally {
        await failingApp.close();
      }
    });
  });

  describe('CSRF', () => {
    const createWorkspace = (cookies: Record<string, string>, csrfToken: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        cookies,
        headers: { 'x-csrf-token': csrfToken },
        payload: { name: `csrf ${Date.now()} ${Math.random()}` },
      });

    it("one user's CSRF cookie and token do not pass with another user's session", async () => {
      const attacker = await signIn(app, await signUpUser(app));
      const victim = await signIn(app, await signUpUser(app));
      // The attacker's own pair works for the attacker…
      const own = await createWorkspace(
        { sp_access: attacker.cookies.sp_access ?? '', _csrf: attacker.cookies._csrf ?? '' },
        attacker.csrfToken,
      );
      expect(own.statusCode, own.body).toBe(201);
      // …but not with the victim's session cookie (a planted _csrf cookie, a known token).
      const planted = await createWorkspace(
        { sp_access: victim.cookies.sp_access ?? '', _csrf: attacker.cookies._csrf ?? '' },
        attacker.csrfToken,
      );
      expect(planted.statusCode).toBe(403);
      expect(planted.json()).toMatchObject({
        error: { code: 'forbidden', details: { reason: 'csrf' } },
      });
      // The victim's own pair still works.
      const victims = await createWorkspace(
        { sp_access: victim.cookies.sp_access ?? '', _csrf: victim.cookies._csrf ?? '' },
        victim.csrfToken,
      );
      expect(victims.statusCode, victims.body).toBe(201);
    });

    it('a sign-in rotates the CSRF secret; the token of the session before no longer passes', async () => {
      const user = await signUpUser(app);
      const before = await signIn(app, user);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-in',
        cookies: { _csrf: before.cookies._csrf ?? '' },
        payload: { email: user.email, password: user.password },
      });
      expect(res.statusCode).toBe(200);
      const after = cookiesOf(res);
      expect(after._csrf).toBeDefined();
      expect(after._csrf).not.toBe(before.cookies._csrf);
      const token = res.json<{ csrf_token: string }>().csrf_token;
      const session = { sp_access: after.sp_access ?? '', _csrf: after._csrf ?? '' };
      expect((await createWorkspace(session, before.csrfToken)).statusCode).toBe(403);
      expect((await createWorkspace(session, token)).statusCode).toBe(201);
    });

    it('a refresh keeps the session and its CSRF secret: the token of the sign-in still passes', async () => {
      const user = await signUpUser(app);
      const session = await signIn(app, user);
      const refreshed = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        cookies: {
          sp_refresh: session.cookies.sp_refresh ?? '',
          _csrf: session.cookies._csrf ?? '',
        },
      });
      expect(refreshed.statusCode, refreshed.body).toBe(200);
      const cookies = { ...session.cookies, ...cookiesOf(refreshed) };
      const pair = { sp_access: cookies.sp_access ?? '', _csrf: cookies._csrf ?? '' };
      expect((await createWorkspace(pair, session.csrfToken)).statusCode).toBe(201);
      const fresh = refreshed.json<{ csrf_token: string }>().csrf_token;
      expect((await createWorkspace(pair, fresh)).statusCode).toBe(201);
    });
  });
});
