/**
 * Fuzzed bodies and query strings on the signed-in account routes (password change, TOTP
 * confirmation, MFA disabling, recovery codes) and the invitation routes: the answer is never a
 * 5xx, and a refusal is a 4xx with one of our error codes. And every /v1 GET route refuses an
 * unknown query parameter with 400 validation_failed (a misspelt filter is never ignored).
 */
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  noRateLimitsAtAll,
} from '../../../test/support/app.js';
import { enrolTotp, totpCode } from '../../../test/support/auth.js';
import { insertCollectionRowsFor } from '../../../test/support/collection-rows.js';
import { postRecord, toJsonl } from '../../../test/support/factories.js';
import { registeredRoutes } from '../../../test/support/routes.js';
import {
  FUZZ_RUNS as RUNS,
  anyString,
  anyValue,
  expectHandled,
  type ErrorBody,
} from '../../../test/support/fuzz.js';

/** Query strings of 1 to 4 parameters with any names and values (surrogates dropped: not encodable). */
const anyQuery = fc.dictionary(anyString, anyString, { minKeys: 1, maxKeys: 4 }).map((q) =>
  Object.entries(q)
    .map(([k, v]) => [k.replace(/[\ud800-\udfff]/g, ''), v.replace(/[\ud800-\udfff]/g, '')])
    .map(([k, v]) => `${encodeURIComponent(k ?? '')}=${encodeURIComponent(v ?? '')}`)
    .join('&'),
);

describe.skipIf(databaseUnavailable() !== '')('fuzzed account and invitation routes', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let admin: TestUser;
  let workspaceId: string;
  /** Changes its password when a fuzzed body happens to be a valid change. */
  let changer: TestUser;
  let changerPassword: string;
  /** Has started TOTP enrolment (a pending secret), so confirmation reaches the code check. */
  let enrolling: TestUser;
  /** Has TOTP enabled, so disabling reaches the password and code checks. */
  let mfaUser: TestUser;
  let mfaSecret: string;
  /** Invitation tokens: one for `invitee`'s own address, one for someone else's. */
  let invitee: TestUser;
  let ownToken: string;
  let foreignToken: string;

  async function invite(email: string): Promise<string> {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/invitations`,
      headers: admin.headers,
      payload: { email, role: 'viewer' },
    });
    expect(res.statusCode, res.body).toBe(201);
    return new URL(res.json<{ invite_url: string }>().invite_url).searchParams.get('token') ?? '';
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, noRateLimitsAtAll);
    admin = await signUpUser(app); // the instance admin
    workspaceId = await createWorkspaceAs(app, admin, 'fuzz');
    changer = await signUpUser(app);
    changerPassword = changer.password;
    enrolling = await signUpUser(app);
    const start = await app.inject({
      method: 'POST',
      url: '/v1/auth/mfa/totp',
      headers: enrolling.headers,
    });
    expect(start.statusCode).toBe(201);
    mfaUser = await signUpUser(app);
    mfaSecret = (await enrolTotp(app, mfaUser.headers)).secret;
    invitee = await signUpUser(app);
    ownToken = await invite(invitee.email);
    foreignToken = await invite(`someone-else-${Date.now()}@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  interface Target {
    name: string;
    url: string;
    headers: () => Record<string, string>;
    /** Bodies shaped like the real one, with arbitrary values (and sometimes the real secrets). */
    shaped: () => fc.Arbitrary<Record<string, unknown>>;
    /** A body the schema accepts (the request then fails later, if at all): only the query is wrong. */
    valid: Record<string, unknown>;
    /** Called after a 2xx: keeps the test's view of the account in step. */
    onSuccess?: (body: Record<string, unknown>) => void;
  }

  const targets: Target[] = [
    {
      name: 'POST /v1/auth/password',
      valid: { current_password: 'not the password', new_password: 'not a strong one' },
      url: '/v1/auth/password',
      headers: () => changer.headers,
      shaped: () =>
        fc.record(
          {
            current_password: fc.oneof(anyValue, fc.constant(changerPassword)),
            new_password: fc.oneof(anyValue, fc.constant(strongPassword())),
          },
          { requiredKeys: [] },
        ),
      onSuccess: (body) => {
        changerPassword = String(body.new_password);
      },
    },
    {
      name: 'POST /v1/auth/mfa/totp/confirm',
      valid: { code: '000000' },
      url: '/v1/auth/mfa/totp/confirm',
      headers: () => enrolling.headers,
      shaped: () => fc.record({ code: anyValue }, { requiredKeys: [] }),
    },
    {
      name: 'POST /v1/auth/mfa/disable',
      valid: { password: 'not the password', code: '000000' },
      url: '/v1/auth/mfa/disable',
      headers: () => mfaUser.headers,
      shaped: () =>
        fc.record(
          {
            password: fc.oneof(anyValue, fc.constant(mfaUser.password)),
            code: fc.oneof(anyValue, fc.constant(totpCode(mfaSecret, 5))),
            recovery_code: anyValue,
          },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'POST /v1/auth/mfa/recovery-codes',
      valid: {},
      url: '/v1/auth/mfa/recovery-codes',
      headers: () => mfaUser.headers,
      shaped: () => fc.dictionary(anyString, anyValue, { maxKeys: 3 }),
    },
    {
      name: 'POST /v1/invitations/accept',
      valid: { token: 'not-a-real-invitation-token' },
      url: '/v1/invitations/accept',
      headers: () => invitee.headers,
      shaped: () =>
        fc.record({ token: fc.oneof(anyValue, fc.constant(foreignToken)) }, { requiredKeys: [] }),
    },
    {
      name: 'POST /v1/invitations/preview',
      valid: { token: 'not-a-real-invitation-token' },
      url: '/v1/invitations/preview',
      headers: () => ({}),
      shaped: () =>
        fc.record(
          { token: fc.oneof(anyValue, fc.constantFrom(foreignToken, ownToken)) },
          { requiredKeys: [] },
        ),
    },
  ];

  const call = (t: Target, extra: Partial<InjectOptions>): Promise<LightMyRequestResponse> =>
    app.inject({
      method: 'POST',
      url: t.url,
      ...extra,
      headers: { ...t.headers(), ...(extra.headers as Record<string, string> | undefined) },
    });

  it('the fixtures are what the fuzzing needs (pending enrolment, MFA on, open invitations)', async () => {
    const me = await app.inject({ url: '/v1/auth/me', headers: mfaUser.headers });
    expect(me.json()).toMatchObject({ mfa_enabled: true });
    const preview = await app.inject({
      method: 'POST',
      url: '/v1/invitations/preview',
      payload: { token: foreignToken },
    });
    expect(preview.statusCode).toBe(200);
    const { rows } = await db.adminPool.query<{ pending: boolean }>(
      'SELECT mfa_pending_secret_enc IS NOT NULL AS pending FROM users WHERE email = $1',
      [enrolling.email],
    );
    expect(rows[0]?.pending).toBe(true);
  });

  describe.each(targets.map((t) => [t.name, t] as const))('%s', (_name, t) => {
    it('arbitrary JSON bodies', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined)),
          async (body) => {
            const res = await call(
              t,
              body === undefined
                ? {}
                : {
                    payload: JSON.stringify(body),
                    headers: { 'content-type': 'application/json' },
                  },
            );
            expectHandled(res, body);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('bodies shaped like the real one, with arbitrary values', async () => {
      // Built here, not at collection: the arbitraries need the fixtures beforeAll made.
      await fc.assert(
        fc.asyncProperty(t.shaped(), async (body) => {
          const res = await call(t, { payload: body });
          expectHandled(res, body);
          if (res.statusCode < 300) t.onSuccess?.(body);
        }),
        { numRuns: RUNS * 2 },
      );
    });

    it('raw bytes and odd content types', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/x-www-form-urlencoded',
            'application/json; charset=latin1',
            'multipart/form-data',
          ),
          async (raw, type) => {
            expectHandled(await call(t, { payload: raw, headers: { 'content-type': type } }), {
              raw,
              type,
            });
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('arbitrary query strings are refused (these routes read none)', async () => {
      await fc.assert(
        fc.asyncProperty(anyQuery, async (qs) => {
          const res = await call(t, { url: `${t.url}?${qs}`, payload: t.valid });
          expectHandled(res, qs);
          // A parameter with a name is an unknown parameter: refused as such, whatever the body.
          if (new URLSearchParams(qs).keys().next().value) {
            const error = res.json<ErrorBody>().error;
            const where = `${res.statusCode} ${res.body} for ?${qs}`;
            expect(error?.code, where).toBe('validation_failed');
            expect(
              error?.details?.problems?.map((p) => p.in),
              where,
            ).toContain('querystring');
          }
        }),
        { numRuns: RUNS },
      );
    });
  });
});

describe.skipIf(databaseUnavailable() !== '')(
  'unknown query parameters on every /v1 GET route',
  () => {
    let db: TestDatabase;
    let app: ZodApp;
    let admin: TestUser;
    const ids: Record<string, string> = {};

    /** Routes that platforms call with parameters of their own choosing: they accept any (by design). */
    const platformCalled = new Set(['/v1/oauth/:platform/callback', '/v1/webhooks/:platform']);

    beforeAll(async () => {
      db = await createTestDatabase();
      app = await buildTestApp(db, noRateLimitsAtAll);
      admin = await signUpUser(app); // the instance admin: every route is open to them
      const ws = await createWorkspaceAs(app, admin, 'queries');
      const imported = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/imports`,
        headers: { ...admin.headers, 'content-type': 'application/x-ndjson' },
        payload: toJsonl([postRecord(), { platform: 'x' }]),
      });
      expect(imported.statusCode, imported.body).toBe(201);
      const posts = await app.inject({ url: `/v1/workspaces/${ws}/posts`, headers: admin.headers });
      // No post matches: the analysis completes at submission, so its event stream ends at once.
      const analysis = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses`,
        headers: admin.headers,
        payload: { posts: { filter: { q: 'matchesnothing' } }, engines: ['local'] },
      });
      expect(analysis.statusCode, analysis.body).toBe(202);
      const rows = await insertCollectionRowsFor(db, ws, 'queries');
      Object.assign(ids, {
        workspaceId: ws,
        postId: posts.json<{ data: { id: string }[] }>().data[0]?.id ?? '',
        importId: imported.json<{ id: string }>().id,
        analysisId: analysis.json<{ id: string }>().id,
        connectionId: rows.connectionId,
        runId: rows.syncRunId,
        deadLetterId: rows.deadLetterId,
        platform: 'x',
      });
    });
    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    const getRoutes = (): string[] =>
      registeredRoutes(app)
        .filter((r) => r.method === 'GET' && r.url.startsWith('/v1/'))
        .map((r) => r.url);
    const fill = (url: string): string =>
      url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
        const value = ids[name];
        if (!value) throw new Error(`no value for :${name} in ${url}: add one to the fixtures`);
        return value;
      });

    it('finds the GET routes (the check below is not vacuous)', () => {
      const routes = getRoutes();
      expect(routes.length).toBeGreaterThan(20);
      for (const url of [
        '/v1/auth/me',
        '/v1/workspaces/:workspaceId/posts',
        '/v1/oauth/:platform/callback',
      ])
        expect(routes).toContain(url);
    });

    it('each refuses an unknown parameter with 400 validation_failed, and answers without it', async () => {
      const wrong: string[] = [];
      for (const route of getRoutes().filter((r) => !platformCalled.has(r))) {
        const url = fill(route);
        const plain = await app.inject({ url, headers: admin.headers });
        if (plain.statusCode === 400 || plain.statusCode >= 500)
          wrong.push(`${route} without a query: ${plain.statusCode} ${plain.body.slice(0, 200)}`);
        await fc.assert(
          fc.asyncProperty(
            fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/),
            fc.string({ maxLength: 8 }),
            async (name, value) => {
              const param = `zz_${name}`;
              const res = await app.inject({
                url: `${url}?${param}=${encodeURIComponent(value)}`,
                headers: admin.headers,
              });
              const body = res.json<ErrorBody>();
              const ok =
                res.statusCode === 400 &&
                body.error?.code === 'validation_failed' &&
                (body.error.details?.problems ?? []).some((p) => p.in === 'querystring');
              if (!ok) wrong.push(`${route}?${param}: ${res.statusCode} ${res.body.slice(0, 200)}`);
            },
          ),
          { numRuns: 3 },
        );
      }
      expect(wrong).toEqual([]);
    });

    it('the routes platforms call accept parameters of their own (the exception above is real)', async () => {
      for (const route of platformCalled) {
        const res = await app.inject({
          url: `${fill(route)}?zz_platform_extra=1`,
          headers: admin.headers,
        });
        expect(res.statusCode, `${route}: ${res.body}`).toBeLessThan(500);
        const problems =
          res.statusCode === 400 ? (res.json<ErrorBody>().error?.details?.problems ?? []) : [];
        expect(
          problems.filter((p) => p.in === 'querystring'),
          route,
        ).toEqual([]);
      }
    });
  },
);
