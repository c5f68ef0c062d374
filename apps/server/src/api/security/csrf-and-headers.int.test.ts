/** CSRF protection of cookie-authenticated writes, session cookie attributes, security headers and CORS. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { buildTestApp, signUpUser, type TestUser } from '../../../test/support/app.js';
import { signIn, type SignedIn } from '../../../test/support/auth.js';

describe.skipIf(databaseUnavailable() !== '')('CSRF, cookies, security headers and CORS', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let user: TestUser;
  let session: SignedIn;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, { CORS_ORIGINS: 'https://app.example.com' });
    await signUpUser(app);
    user = await signUpUser(app);
    session = await signIn(app, user);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const createWorkspace = (cookies: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      cookies,
      headers,
      payload: { name: `csrf ${Date.now()} ${Math.random()}` },
    });

  it('sets HTTP-only, Secure, SameSite session cookies and a CSRF secret cookie', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-in',
      payload: { email: user.email, password: user.password },
    });
    const byName = Object.fromEntries(res.cookies.map((c) => [c.name, c]));
    expect(byName.sp_access).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
      path: '/',
    });
    expect(byName.sp_refresh).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: 'Strict',
      path: '/v1/auth',
    });
    expect(byName._csrf).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    // The CSRF token is in the body, never in a readable cookie of its own.
    expect(res.json<{ csrf_token: string }>().csrf_token.length).toBeGreaterThan(10);
  });

  it('a cookie-authenticated write without x-csrf-token is refused: 403 forbidden (csrf)', async () => {
    const res = await createWorkspace({
      sp_access: session.cookies.sp_access ?? '',
      _csrf: session.cookies._csrf ?? '',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'forbidden', details: { reason: 'csrf' } } });
  });

  it('a cookie-signed WebSocket upgrade from a page of another origin is refused', async () => {
    const upgrade = (origin: string) =>
      app.inject({
        url: '/v1/analyses/00000000-0000-4000-8000-00000000abcd/events',
        cookies: { sp_access: session.cookies.sp_access ?? '' },
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          origin,
        },
      });
    const foreign = await upgrade('https://evil.example.com');
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json()).toMatchObject({
      error: { code: 'forbidden', details: { reason: 'origin' } },
    });
    // Our own origins pass this check (the analysis then does not exist).
    for (const origin of ['http://localhost:80', 'https://app.example.com'])
      expect((await upgrade(origin)).statusCode).toBe(404);
  });

  it('a wrong token, or the token without its secret cookie, is refused too', async () => {
    const wrong = await createWorkspace(
      { sp_access: session.cookies.sp_access ?? '', _csrf: session.cookies._csrf ?? '' },
      { 'x-csrf-token': `${session.csrfToken.slice(0, -2)}xx` },
    );
    expect(wrong.json()).toMatchObject({
      error: { code: 'forbidden', details: { reason: 'csrf' } },
    });
    const noSecret = await createWorkspace(
      { sp_access: session.cookies.sp_access ?? '' },
      { 'x-csrf-token': session.csrfToken },
    );
    expect(noSecret.json()).toMatchObject({
      error: { code: 'forbidden', details: { reason: 'csrf' } },
    });
    // Another session's token does not fit this session's secret.
    const other = await signIn(app, await signUpUser(app));
    const foreign = await createWorkspace(
      { sp_access: session.cookies.sp_access ?? '', _csrf: session.cookies._csrf ?? '' },
      { 'x-csrf-token': other.csrfToken },
    );
    expect(foreign.statusCode).toBe(403);
  });

  it('a page that lost its token gets one for its session from GET /v1/auth/csrf, and it works', async () => {
    const fresh = await app.inject({
      url: '/v1/auth/csrf',
      cookies: { sp_access: session.cookies.sp_access ?? '', _csrf: session.cookies._csrf ?? '' },
    });
    expect(fresh.statusCode).toBe(200);
    const token = fresh.json<{ csrf_token: string }>().csrf_token;
    const res = await createWorkspace(
      { sp_access: session.cookies.sp_access ?? '', _csrf: session.cookies._csrf ?? '' },
      { 'x-csrf-token': token },
    );
    expect(res.statusCode, res.body).toBe(201);
    // Without a session there is nothing to protect and nothing is handed out.
    expect((await app.inject({ url: '/v1/auth/csrf' })).statusCode).toBe(401);
  });

  it('with the csrf_token from the sign-in body and the _csrf cookie, the write is allowed', async () => {
    const res = await createWorkspace(
      { sp_access: session.cookies.sp_access ?? '', _csrf: session.cookies._csrf ?? '' },
      { 'x-csrf-token': session.csrfToken },
    );
    expect(res.statusCode, res.body).toBe(201);
  });

  it('cookie reads need no token; bearer writes need none either (no ambient credential)', async () => {
    const read = await app.inject({
      url: '/v1/auth/me',
      cookies: { sp_access: session.cookies.sp_access ?? '' },
    });
    expect(read.statusCode).toBe(200);
    const bearerWrite = await app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: session.headers,
      payload: { name: `bearer ${Date.now()}` },
    });
    expect(bearerWrite.statusCode).toBe(201);
  });

  it('sends the security headers (helmet) on API and page responses', async () => {
    for (const url of ['/v1/auth/me', '/healthz', '/']) {
      const res = await app.inject({ url, headers: session.headers });
      expect(res.headers['content-security-policy'], url).toContain("default-src 'self'");
      expect(res.headers['content-security-policy'], url).toContain("script-src 'self'");
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['strict-transport-security'], url).toMatch(/max-age=\d+/);
      expect(res.headers['x-frame-options'], url).toBe('SAMEORIGIN');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
      expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin');
      expect(res.headers['x-powered-by'], url).toBeUndefined();
    }
  });

  it('CORS: an unconfigured origin gets no access-control-allow-origin; the configured one does', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/v1/workspaces',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-csrf-token',
        },
      });
    const evil = await preflight('https://evil.example.com');
    expect(evil.statusCode).toBeLessThan(500);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const evilGet = await app.inject({
      url: '/v1/auth/me',
      headers: { ...session.headers, origin: 'https://evil.example.com' },
    });
    expect(evilGet.headers['access-control-allow-origin']).toBeUndefined();

    const good = await preflight('https://app.example.com');
    expect(good.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(good.headers['access-control-allow-credentials']).toBe('true');
  });

  it('CORS with no origins configured: nobody cross-site', async () => {
    const closed = await buildTestApp(db);
    try {
      const res = await closed.inject({
        method: 'OPTIONS',
        url: '/v1/workspaces',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await closed.close();
    }
  });
});
