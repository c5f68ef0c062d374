/** Sessions (refresh rotation, expiry, tampering), TOTP MFA and its policies, password change and reset. */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  type TestUser,
  noRateLimitsAtAll,
} from '../../../test/support/app.js';
import type { MailMessage } from '../../domain/auth/mail.js';
import {
  ageRefreshRotation,
  claimsOf,
  enrolTotp,
  insertMembership,
  signIn,
  signedIn,
  startMfaSignIn,
  totpCode,
  userIdOf,
  type Headers,
} from '../../../test/support/auth.js';
import {
  signAccessToken,
  signMfaToken,
  ACCESS_TOKEN_TTL_S,
} from '../../domain/auth/access-tokens.js';

const bearer = (token: string): Headers => ({ authorization: `Bearer ${token}` });

describe.skipIf(databaseUnavailable() !== '')('sessions and MFA', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let mail: MailMessage[];

  const me = (headers: Headers) => app.inject({ method: 'GET', url: '/v1/auth/me', headers });
  const verify = (payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/v1/auth/mfa/verify', payload });

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ app, mail } = await buildTestAppWithMail(db, noRateLimitsAtAll));
    await signUpUser(app); // the instance admin
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  describe('refresh tokens', () => {
    it('lets concurrent refreshes with one token (tabs renewing at once) all succeed within the grace window, and revokes the session on a later reuse', async () => {
      const user = await signUpUser(app);
      const renew = (token: string) =>
        app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } });
      const results = await Promise.all(Array.from({ length: 6 }, () => renew(user.refreshToken)));
      expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
      const issued = results.map((r) => r.json<{ access_token: string; refresh_token: string }>());
      expect(new Set(issued.map((t) => t.refresh_token)).size).toBe(6);
      for (const t of issued) expect((await me(bearer(t.access_token))).statusCode).toBe(200);
      // Each new token rotates on as usual.
      const [first, second] = issued;
      expect((await renew(first?.refresh_token ?? '')).statusCode).toBe(200);

      // Past the window, the rotated token presented again is theft: the whole session ends,
      // every token issued from it included.
      await ageRefreshRotation(db, user.refreshToken, 11);
      const late = await renew(user.refreshToken);
      expect(late.statusCode).toBe(401);
      expect(late.json()).toMatchObject({ error: { details: { reason: 'refresh_token_reused' } } });
      expect((await me(bearer(second?.access_token ?? ''))).statusCode).toBe(401);
      expect((await renew(second?.refresh_token ?? '')).statusCode).toBe(401);
    });

    it('refreshes from the HTTP-only cookie too, and a random token is refused', async () => {
      const user = await signUpUser(app);
      const s = await signIn(app, user);
      const viaCookie = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        cookies: { sp_refresh: s.cookies.sp_refresh ?? '' },
      });
      expect(viaCookie.statusCode, viaCookie.body).toBe(200);
      const unknown = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refresh_token: 'x'.repeat(43) },
      });
      expect(unknown.json()).toMatchObject({
        error: { code: 'unauthorized', details: { reason: 'refresh_token_unknown' } },
      });
    });

    it('an expired refresh token is refused', async () => {
      const user = await signUpUser(app);
      await db.adminPool.query(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1",
        [claimsOf(user.token).sessionId],
      );
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refresh_token: user.refreshToken },
      });
      expect(res.json()).toMatchObject({
        error: { code: 'unauthorized', details: { reason: 'refresh_token_expired' } },
      });
    });
  });

  describe('access tokens', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await signUpUser(app);
    });

    it('an expired token (signed with the real secret) is refused with token_expired', async () => {
      const claims = claimsOf(user.token);
      const expired = await signAccessToken(
        db.secrets.jwtSecret,
        { ...claims, mfa: false },
        Date.now() - (ACCESS_TOKEN_TTL_S + 60) * 1000,
      );
      const res = await me(bearer(expired));
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({
        error: { code: 'unauthorized', details: { reason: 'token_expired' } },
      });
      // The same claims, fresh: accepted (the refusal was the expiry, not the session).
      expect(
        (await me(bearer(await signAccessToken(db.secrets.jwtSecret, { ...claims, mfa: false }))))
          .statusCode,
      ).toBe(200);
    });

    it('tampered tokens are refused: flipped character, wrong secret, alg none, claims edited, wrong type', async () => {
      const claims = claimsOf(user.token);
      const [header, payload, signature] = user.token.split('.') as [string, string, string];
      const flip = (s: string, i: number): string =>
        s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      const body = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      const other = await signUpUser(app);
      const tampered = {
        'flipped signature': `${header}.${payload}.${flip(signature, 5)}`,
        'flipped payload': `${header}.${flip(payload, 10)}.${signature}`,
        'wrong secret': await new SignJWT({ sid: claims.sessionId, mfa: true, typ: 'access' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(claims.userId)
          .setIssuer('socialpulse')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('not-the-secret-not-the-secret-not-the-secret')),
        'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...body, mfa: true })}.`,
        'claims edited (mfa: true, same signature)': `${header}.${b64({ ...body, mfa: true })}.${signature}`,
        "another user's subject (same signature)": `${header}.${b64({ ...body, sub: userIdOf(other) })}.${signature}`,
        'an MFA token used as an access token': await signMfaToken(
          db.secrets.jwtSecret,
          claims.userId,
        ),
        garbage: 'not.a.jwt',
      };
      for (const [what, token] of Object.entries(tampered)) {
        const res = await me(bearer(token));
        expect({
          what,
          status: res.statusCode,
          code: res.json<{ error?: { code?: string } }>().error?.code,
        }).toEqual({ what, status: 401, code: 'unauthorized' });
      }
      // A token with an access token's shape but a session id that never existed.
      const ghost = await signAccessToken(db.secrets.jwtSecret, {
        userId: claims.userId,
        sessionId: '00000000-0000-4000-8000-000000000000',
        mfa: false,
      });
      expect((await me(bearer(ghost))).statusCode).toBe(401);
      // An access token is no MFA token either.
      expect((await verify({ mfa_token: user.token, code: '123456' })).statusCode).toBe(401);
    });
  });

  describe('TOTP', () => {
    it('enrols with a secret, an otpauth URI and a QR code; confirms with a code; stores the secret encrypted', async () => {
      const user = await signUpUser(app);
      const start = await app.inject({
        method: 'POST',
        url: '/v1/auth/mfa/totp',
        headers: user.headers,
      });
      expect(start.statusCode).toBe(201);
      const e = start.json<{ secret: string; otpauth_uri: string; qr_code_data_url: string }>();
      expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(e.otpauth_uri).toMatch(/^otpauth:\/\/totp\/SocialPulse:/);
      expect(new URL(e.otpauth_uri).searchParams.get('secret')).toBe(e.secret);
      expect(e.qr_code_data_url).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/=]{100,}$/);

      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/auth/mfa/totp/confirm',
        headers: user.headers,
        payload: { code: totpCode(e.secret, 5) },
      });
      expect(wrong.statusCode).toBe(400);
      const confirm = await app.inject({
        method: 'POST',
        url: '/v1/auth/mfa/totp/confirm',
        headers: user.headers,
        payload: { code: totpCode(e.secret) },
      });
      expect(confirm.statusCode).toBe(200);
      const codes = confirm.json<{ recovery_codes: string[] }>().recovery_codes;
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);

      const { rows } = await db.adminPool.query<{
        mfa_secret_enc: string;
        mfa_pending_secret_enc: string | null;
        mfa_enabled_at: Date | null;
      }>('SELECT mfa_secret_enc, mfa_pending_secret_enc, mfa_enabled_at FROM users WHERE id = $1', [
        userIdOf(user),
      ]);
      const row = rows[0];
      expect(row?.mfa_enabled_at).not.toBeNull();
      expect(row?.mfa_pending_secret_enc).toBeNull();
      expect(row?.mfa_secret_enc).toMatch(/^v1\./);
      expect(row?.mfa_secret_enc).not.toContain(e.secret);
      expect(row?.mfa_secret_enc.toLowerCase()).not.toContain(e.secret.toLowerCase());
      // Recovery codes are stored hashed: none appears in the table.
      const { rows: stored } = await db.adminPool.query<{ code_hash: Buffer }>(
        'SELECT code_hash FROM recovery_codes WHERE user_id = $1',
        [userIdOf(user)],
      );
      expect(stored).toHaveLength(10);
      for (const s of stored)
        for (const c of codes) expect(s.code_hash.toString('utf8')).not.toContain(c);
      // A second enrolment while enabled is refused.
      expect(
        (await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp', headers: user.headers }))
          .statusCode,
      ).toBe(409);
    });

    it('sign-in then needs a code: wrong → 401, right → tokens, the same code again → 401; outside ±1 step → 401', async () => {
      const user = await signUpUser(app);
      const { secret } = await enrolTotp(app, user.headers);
      const signInRes = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-in',
        payload: { email: user.email, password: user.password },
      });
      expect(signInRes.statusCode).toBe(200);
      expect(signInRes.json()).toEqual({
        mfa_required: true,
        mfa_token: expect.any(String) as unknown,
      });
      // No session cookie before the second factor.
      expect(signInRes.cookies.map((c) => c.name)).not.toContain('sp_access');
      const mfaToken = signInRes.json<{ mfa_token: string }>().mfa_token;

      const wrongCode = String((Number(totpCode(secret, 1)) + 1) % 1_000_000).padStart(6, '0');
      const wrong = await verify({ mfa_token: mfaToken, code: wrongCode });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json()).toMatchObject({
        error: { code: 'unauthorized', details: { reason: 'invalid_mfa_code' } },
      });
      // Three steps ahead may slide to two when a step boundary passes meanwhile; two behind to three: never within ±1.
      for (const steps of [3, -2]) {
        const far = await verify({ mfa_token: mfaToken, code: totpCode(secret, steps) });
        expect({ steps, status: far.statusCode }).toEqual({ steps, status: 401 });
      }

      // Enrolment used the current step: the next one is the first that counts (one step of skew is allowed).
      const code = totpCode(secret, 1);
      const right = await verify({ mfa_token: mfaToken, code });
      expect(right.statusCode, right.body).toBe(200);
      const session = signedIn(right);
      expect((await me(session.headers)).json()).toMatchObject({
        mfa_enabled: true,
        session_mfa: true,
      });

      const replay = await verify({ mfa_token: mfaToken, code });
      expect(replay.statusCode).toBe(401);
      expect(replay.json()).toMatchObject({ error: { details: { reason: 'invalid_mfa_code' } } });
      // An MFA token is no access token.
      expect((await me(bearer(mfaToken))).statusCode).toBe(401);
    });

    it('a recovery code works once; its replay fails; codes are normalised (case, spaces)', async () => {
      const user = await signUpUser(app);
      const { recoveryCodes } = await enrolTotp(app, user.headers);
      const code = recoveryCodes[0] ?? '';
      const first = await verify({
        mfa_token: await startMfaSignIn(app, user),
        recovery_code: ` ${code.toUpperCase()} `,
      });
      expect(first.statusCode, first.body).toBe(200);
      const replay = await verify({
        mfa_token: await startMfaSignIn(app, user),
        recovery_code: code,
      });
      expect(replay.statusCode).toBe(401);
      expect(replay.json()).toMatchObject({ error: { details: { reason: 'invalid_mfa_code' } } });
      // Another user's valid code is no good here.
      const other = await signUpUser(app);
      const otherCodes = (await enrolTotp(app, other.headers)).recoveryCodes;
      expect(
        (await verify({ mfa_token: await startMfaSignIn(app, user), recovery_code: otherCodes[0] }))
          .statusCode,
      ).toBe(401);
      // A second, unused code still works.
      expect(
        (
          await verify({
            mfa_token: await startMfaSignIn(app, user),
            recovery_code: recoveryCodes[1],
          })
        ).statusCode,
      ).toBe(200);
    });

    it('an expired MFA token is refused', async () => {
      const user = await signUpUser(app);
      const { secret } = await enrolTotp(app, user.headers);
      const stale = await signMfaToken(
        db.secrets.jwtSecret,
        userIdOf(user),
        Date.now() - 10 * 60_000,
      );
      const res = await verify({ mfa_token: stale, code: totpCode(secret, 1) });
      expect(res.json()).toMatchObject({
        error: { code: 'unauthorized', details: { reason: 'token_expired' } },
      });
    });
  });

  describe('MFA required by policy', () => {
    it('workspace require_mfa: a member without an MFA session gets 403 mfa_required until signing in with a code', async () => {
      const owner = await signUpUser(app);
      const member = await signUpUser(app);
      const ws = (
        await app.inject({
          method: 'POST',
          url: '/v1/workspaces',
          headers: owner.headers,
          payload: { name: `mfa policy ${Date.now()}` },
        })
      ).json<{ id: string }>().id;
      await insertMembership(db, ws, userIdOf(member), 'viewer');
      const key = (
        await app.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws}/api-keys`,
          headers: owner.headers,
          payload: { name: 'ci', scopes: ['read'] },
        })
      ).json<{ key: string }>().key;
      expect(
        (await app.inject({ url: `/v1/workspaces/${ws}/posts`, headers: member.headers }))
          .statusCode,
      ).toBe(200);

      const patch = await app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}`,
        headers: owner.headers,
        payload: { require_mfa: true },
      });
      expect(patch.statusCode, patch.body).toBe(200);
      const refused = await app.inject({
        url: `/v1/workspaces/${ws}/posts`,
        headers: member.headers,
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({
        error: { code: 'forbidden', details: { reason: 'mfa_required' } },
      });
      // The owner is held to it too.
      expect(
        (await app.inject({ url: `/v1/workspaces/${ws}`, headers: owner.headers })).json(),
      ).toMatchObject({ error: { details: { reason: 'mfa_required' } } });

      // Enrolling (a user route) is possible; the session that enrolled is not an MFA sign-in yet.
      const { secret } = await enrolTotp(app, member.headers);
      const mfaSession = signedIn(
        await verify({ mfa_token: await startMfaSignIn(app, member), code: totpCode(secret, 1) }),
      );
      expect(
        (await app.inject({ url: `/v1/workspaces/${ws}/posts`, headers: mfaSession.headers }))
          .statusCode,
      ).toBe(200);
      // Refreshing keeps the MFA status of the session.
      const refreshed = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refresh_token: mfaSession.refreshToken },
      });
      expect(
        (
          await app.inject({
            url: `/v1/workspaces/${ws}/posts`,
            headers: signedIn(refreshed).headers,
          })
        ).statusCode,
      ).toBe(200);
      // A password-only session of the same user is still refused.
      const passwordOnly = await signAccessToken(db.secrets.jwtSecret, {
        ...claimsOf(mfaSession.accessToken),
        mfa: false,
      });
      expect(
        (await app.inject({ url: `/v1/workspaces/${ws}/posts`, headers: bearer(passwordOnly) }))
          .statusCode,
      ).toBe(403);
      // API keys act for the workspace, not a person: the policy is about people signing in.
      expect(
        (await app.inject({ url: `/v1/workspaces/${ws}/posts`, headers: bearer(key) })).statusCode,
      ).toBe(200);
    });

    it('MFA_REQUIRED_ROLES: the listed roles need an MFA session, the others do not', async () => {
      const strict = await buildTestApp(db, {
        ...noRateLimitsAtAll,
        MFA_REQUIRED_ROLES: 'owner,admin',
      });
      try {
        const owner = await signUpUser(strict);
        const admin = await signUpUser(strict);
        const viewer = await signUpUser(strict);
        // Creating a workspace needs no workspace permission; the owner's use of it does.
        const ws = (
          await strict.inject({
            method: 'POST',
            url: '/v1/workspaces',
            headers: owner.headers,
            payload: { name: `roles policy ${Date.now()}` },
          })
        ).json<{ id: string }>().id;
        await insertMembership(db, ws, userIdOf(admin), 'admin');
        await insertMembership(db, ws, userIdOf(viewer), 'viewer');
        for (const u of [owner, admin]) {
          expect(
            (await strict.inject({ url: `/v1/workspaces/${ws}/posts`, headers: u.headers })).json(),
          ).toMatchObject({ error: { code: 'forbidden', details: { reason: 'mfa_required' } } });
        }
        expect(
          (await strict.inject({ url: `/v1/workspaces/${ws}/posts`, headers: viewer.headers }))
            .statusCode,
        ).toBe(200);
        const { secret } = await enrolTotp(strict, admin.headers);
        const mfa = signedIn(
          await strict.inject({
            method: 'POST',
            url: '/v1/auth/mfa/verify',
            payload: { mfa_token: await startMfaSignIn(strict, admin), code: totpCode(secret, 1) },
          }),
        );
        expect(
          (await strict.inject({ url: `/v1/workspaces/${ws}/posts`, headers: mfa.headers }))
            .statusCode,
        ).toBe(200);
      } finally {
        await strict.close();
      }
    });
  });

  describe('passwords', () => {
    it('changing the password ends the other sessions, keeps this one, and retires the old password', async () => {
      const user = await signUpUser(app);
      const other = await signIn(app, user);
      const newPassword = strongPassword();
      const wrongCurrent = await app.inject({
        method: 'POST',
        url: '/v1/auth/password',
        headers: user.headers,
        payload: { current_password: 'not my password', new_password: newPassword },
      });
      expect(wrongCurrent.statusCode).toBe(401);
      const change = await app.inject({
        method: 'POST',
        url: '/v1/auth/password',
        headers: user.headers,
        payload: { current_password: user.password, new_password: newPassword },
      });
      expect(change.statusCode, change.body).toBe(204);
      expect((await me(user.headers)).statusCode).toBe(200);
      expect((await me(other.headers)).json()).toMatchObject({
        error: { details: { reason: 'session_revoked' } },
      });
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/auth/refresh',
            payload: { refresh_token: other.refreshToken },
          })
        ).statusCode,
      ).toBe(401);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/auth/sign-in',
            payload: { email: user.email, password: user.password },
          })
        ).statusCode,
      ).toBe(401);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/auth/sign-in',
            payload: { email: user.email, password: newPassword },
          })
        ).statusCode,
      ).toBe(200);
    });

    it('reset through the mailed link: single-use, ends every session; an expired token is refused', async () => {
      const user = await signUpUser(app);
      const second = await signIn(app, user);
      const tokenFromMail = async (): Promise<string> => {
        const before = mail.length;
        const forgot = await app.inject({
          method: 'POST',
          url: '/v1/auth/password/forgot',
          payload: { email: user.email },
        });
        expect(forgot.statusCode).toBe(202);
        const message = mail.slice(before).find((m) => m.to === user.email);
        const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(message?.text ?? '')?.[1];
        expect(token).toBeDefined();
        return token ?? '';
      };
      // Unknown accounts get the same answer and no mail.
      const before = mail.length;
      const unknown = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: 'nobody-here@example.com' },
      });
      expect(unknown.statusCode).toBe(202);
      expect(mail.length).toBe(before);

      const token = await tokenFromMail();
      // The token is stored hashed.
      const { rows } = await db.adminPool.query<{ token_hash: Buffer }>(
        'SELECT token_hash FROM password_reset_tokens WHERE user_id = $1',
        [userIdOf(user)],
      );
      expect(rows.map((r) => r.token_hash.toString('utf8'))).not.toContain(token);

      const newPassword = strongPassword();
      const reset = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset',
        payload: { token, new_password: newPassword },
      });
      expect(reset.statusCode, reset.body).toBe(204);
      for (const h of [user.headers, second.headers])
        expect((await me(h)).json()).toMatchObject({
          error: { details: { reason: 'session_revoked' } },
        });
      const again = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset',
        payload: { token, new_password: strongPassword() },
      });
      expect(again.statusCode).toBe(401);
      expect(again.json()).toMatchObject({ error: { details: { reason: 'reset_token_invalid' } } });
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/auth/sign-in',
            payload: { email: user.email, password: newPassword },
          })
        ).statusCode,
      ).toBe(200);

      const late = await tokenFromMail();
      await db.adminPool.query(
        "UPDATE password_reset_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND used_at IS NULL",
        [userIdOf(user)],
      );
      const expired = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset',
        payload: { token: late, new_password: strongPassword() },
      });
      expect(expired.statusCode).toBe(401);
      expect(expired.json()).toMatchObject({
        error: { details: { reason: 'reset_token_invalid' } },
      });
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/auth/sign-in',
            payload: { email: user.email, password: newPassword },
          })
        ).statusCode,
      ).toBe(200);
    });

    it('a weak new password in a reset is refused and does not use up the token', async () => {
      const user = await signUpUser(app);
      const before = mail.length;
      await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: user.email },
      });
      const token = /token=([A-Za-z0-9_-]+)/.exec(mail.slice(before)[0]?.text ?? '')?.[1] ?? '';
      const weak = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset',
        payload: { token, new_password: 'password1234' },
      });
      expect(weak.json()).toMatchObject({ error: { code: 'validation_failed' } });
      const strong = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset',
        payload: { token, new_password: strongPassword() },
      });
      expect(strong.statusCode).toBe(204);
    });
  });
});
