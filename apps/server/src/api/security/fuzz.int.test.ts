/**
 * Fuzzed bodies and query strings on the auth, member and API-key routes: the answer is a 2xx
 * or a 4xx with one of our error codes, never a 5xx.
 */
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { ZodApp } from '../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildTestApp,
  signUpUser,
  strongPassword,
  type TestUser,
  noRateLimitsAtAll,
} from '../../../test/support/app.js';
import { userIdOf } from '../../../test/support/auth.js';
import { signMfaToken } from '../../domain/auth/access-tokens.js';
import {
  FUZZ_RUNS as RUNS,
  anyString,
  anyValue,
  expectHandled,
} from '../../../test/support/fuzz.js';

const anyEmail = fc.oneof(
  fc.emailAddress(),
  anyString,
  fc.emailAddress().map((e) => `${e}\u0000`),
);
const isoish = fc.oneof(
  fc
    .date({
      min: new Date(-62_198_755_200_000),
      max: new Date(253_402_300_799_000),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00+15:59',
    '2020-01-01T00:00:00+23:59',
    '2999-12-31T23:59:59.999999Z',
    '2020-02-30T00:00:00Z',
  ),
  anyString,
);
const passwords = [strongPassword(), strongPassword()];

describe.skipIf(databaseUnavailable() !== '')('fuzzed auth, member and API-key routes', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let owner: TestUser;
  let workspaceId: string;
  let memberId: string;
  let mfaToken: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, noRateLimitsAtAll);
    owner = await signUpUser(app);
    const ws = await app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: owner.headers,
      payload: { name: 'fuzz' },
    });
    workspaceId = ws.json<{ id: string }>().id;
    const member = await signUpUser(app);
    await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/members`,
      headers: owner.headers,
      payload: { email: member.email, role: 'viewer' },
    });
    memberId = userIdOf(member);
    mfaToken = await signMfaToken(db.secrets.jwtSecret, userIdOf(owner));
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  interface Target {
    name: string;
    method: 'POST' | 'PATCH';
    url: () => string;
    /** Bodies shaped like the real one, with arbitrary values. */
    shaped: () => fc.Arbitrary<Record<string, unknown>>;
    authed?: boolean;
  }

  const targets: Target[] = [
    {
      name: 'sign-up',
      method: 'POST',
      url: () => '/v1/auth/sign-up',
      shaped: () =>
        fc.record(
          {
            email: anyEmail,
            password: fc.oneof(fc.constantFrom(...passwords), anyString),
            display_name: anyValue,
          },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'sign-in',
      method: 'POST',
      url: () => '/v1/auth/sign-in',
      shaped: () =>
        fc.record(
          {
            email: fc.oneof(anyEmail, fc.constant('')),
            password: fc.oneof(anyString, fc.constantFrom(...passwords)),
          },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'mfa/verify',
      method: 'POST',
      url: () => '/v1/auth/mfa/verify',
      shaped: () =>
        fc.record(
          {
            mfa_token: fc.oneof(anyString, fc.constant(mfaToken)),
            code: fc.oneof(anyString, fc.stringMatching(/^\d{6}$/)),
            recovery_code: anyString,
          },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'refresh',
      method: 'POST',
      url: () => '/v1/auth/refresh',
      shaped: () => fc.record({ refresh_token: anyValue }, { requiredKeys: [] }),
    },
    {
      name: 'password/forgot',
      method: 'POST',
      url: () => '/v1/auth/password/forgot',
      shaped: () => fc.record({ email: anyEmail }, { requiredKeys: [] }),
    },
    {
      name: 'password/reset',
      method: 'POST',
      url: () => '/v1/auth/password/reset',
      shaped: () =>
        fc.record(
          { token: anyString, new_password: fc.oneof(anyString, fc.constantFrom(...passwords)) },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'setup',
      method: 'POST',
      url: () => '/v1/auth/setup',
      shaped: () =>
        fc.record(
          {
            token: anyString,
            email: anyEmail,
            password: fc.oneof(anyString, fc.constantFrom(...passwords)),
            display_name: anyValue,
          },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'members (add)',
      method: 'POST',
      url: () => `/v1/workspaces/${workspaceId}/members`,
      authed: true,
      shaped: () =>
        fc.record(
          {
            email: anyEmail,
            role: fc.oneof(fc.constantFrom('owner', 'admin', 'analyst', 'viewer'), anyString),
          },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'members (change role)',
      method: 'PATCH',
      url: () => `/v1/workspaces/${workspaceId}/members/${memberId}`,
      authed: true,
      shaped: () =>
        fc.record(
          { role: fc.oneof(fc.constantFrom('admin', 'analyst', 'viewer'), anyValue) },
          { requiredKeys: [] },
        ),
    },
    {
      name: 'api-keys',
      method: 'POST',
      url: () => `/v1/workspaces/${workspaceId}/api-keys`,
      authed: true,
      shaped: () =>
        fc.record(
          {
            name: fc.oneof(anyString, fc.constant('ok')),
            scopes: fc.oneof(
              fc.subarray(['read', 'write', 'admin'] as const),
              fc.array(anyValue, { maxLength: 4 }),
            ),
            expires_at: isoish,
          },
          { requiredKeys: ['name', 'scopes'] },
        ),
    },
  ];
  const call = (
    t: Target,
    extra: Partial<InjectOptions>,
    remoteAddress: string,
  ): Promise<LightMyRequestResponse> =>
    app.inject({
      method: t.method,
      url: t.url(),
      remoteAddress,
      ...extra,
      headers: {
        ...(t.authed ? owner.headers : {}),
        ...(extra.headers as Record<string, string> | undefined),
      },
    });

  // The cases random shapes rarely reach: everything valid but one hostile text or date field.
  it('sign-up: valid email and password, any display name', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyString, fc.ipV4(), async (displayName, ip) => {
        const payload = {
          email: `fuzz-${Date.now()}-${++n}@example.com`,
          password: passwords[0],
          display_name: displayName,
        };
        expectHandled(
          await app.inject({ method: 'POST', url: '/v1/auth/sign-up', payload, remoteAddress: ip }),
          payload,
        );
      }),
      // Each valid sign-up hashes a password (argon2id): fewer runs keep the file fast.
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('api-keys: valid scopes, any name and expiry', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyString, fc.constant('ok')),
        fc.option(isoish, { nil: undefined }),
        async (name, expiresAt) => {
          const payload = {
            name,
            scopes: ['read'],
            ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
          };
          expectHandled(
            await app.inject({
              method: 'POST',
              url: `/v1/workspaces/${workspaceId}/api-keys`,
              headers: owner.headers,
              payload,
            }),
            payload,
          );
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('members: any email of the right shape and a valid role', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.emailAddress(), anyEmail),
        fc.constantFrom('admin', 'analyst', 'viewer'),
        async (email, role) => {
          const payload = { email, role };
          expectHandled(
            await app.inject({
              method: 'POST',
              url: `/v1/workspaces/${workspaceId}/members`,
              headers: owner.headers,
              payload,
            }),
            payload,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  // Regression: the workspace name schema once let NUL through to PostgreSQL (500).
  it('a workspace name with NUL or an unpaired surrogate is a 400', async () => {
    for (const name of ['a\u0000b', '\ud800']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: owner.headers,
        payload: { name },
      });
      expectHandled(res, { name });
    }
  });

  describe.each(targets.map((t) => [t.name, t] as const))('%s', (_name, t) => {
    it('arbitrary JSON bodies', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined)),
          fc.ipV4(),
          async (body, ip) => {
            expectHandled(
              await call(
                t,
                body === undefined
                  ? {}
                  : {
                      payload: JSON.stringify(body),
                      headers: { 'content-type': 'application/json' },
                    },
                ip,
              ),
              body,
            );
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('bodies shaped like the real one, with arbitrary values', async () => {
      // Built here, not at collection: the MFA token arbitrary needs the token beforeAll made.
      const shaped = t.shaped();
      await fc.assert(
        fc.asyncProperty(shaped, fc.ipV4(), async (body, ip) => {
          expectHandled(await call(t, { payload: body }, ip), body);
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
          fc.ipV4(),
          async (raw, type, ip) => {
            expectHandled(await call(t, { payload: raw, headers: { 'content-type': type } }, ip), {
              raw,
              type,
            });
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('arbitrary query strings', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(anyString, anyString, { maxKeys: 4 }),
          fc.ipV4(),
          async (query, ip) => {
            const qs = Object.entries(query)
              .map(
                ([k, v]) =>
                  `${encodeURIComponent(k.replace(/[\ud800-\udfff]/g, ''))}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, ''))}`,
              )
              .join('&');
            const res = await app.inject({
              method: t.method,
              url: `${t.url()}?${qs}`,
              remoteAddress: ip,
              headers: t.authed ? owner.headers : {},
              payload: {},
            });
            expectHandled(res, query);
          },
        ),
        { numRuns: RUNS },
      );
    });
  });
});
