import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { buildApp } from '../../src/api/app.js';
import { createAppDeps } from '../../src/api/deps.js';
import type { ZodApp } from '../../src/api/types.js';
import type { ConnectorProvider } from '../../src/domain/collection/connectors.js';
import { createMemoryMailTransport, type MailMessage } from '../../src/domain/auth/mail.js';
import { createLogger } from '../../src/observability/logger.js';
import type { RedisHealth } from '../../src/observability/redis-health.js';
import type { TestDatabase } from './db.js';

export interface TestApp {
  app: ZodApp;
  /** Mail the app sent (password resets). */
  mail: MailMessage[];
}

/** The real app on a test database, silent, for inject()-based tests. */
export async function buildTestApp(
  db: TestDatabase,
  overrides: ConfigOverrides = {},
  redis: RedisHealth | null = null,
): Promise<ZodApp> {
  return (await buildTestAppWithMail(db, overrides, redis)).app;
}

export async function buildTestAppWithMail(
  db: TestDatabase,
  overrides: ConfigOverrides = {},
  redis: RedisHealth | null = null,
): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...overrides }, {});
  const mail = createMemoryMailTransport();
  const deps = createAppDeps(config, db, redis, createLogger('silent'), { mail });
  return { app: await buildApp(deps), mail: mail.sent };
}

/** The real app collecting through `connectors` (a simulator's), for connection and sync tests. */
export async function buildCollectionTestApp(
  db: TestDatabase,
  connectors: ConnectorProvider,
  overrides: ConfigOverrides = noRateLimits,
): Promise<ZodApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...overrides }, {});
  const deps = createAppDeps(config, db, null, createLogger('silent'));
  return buildApp(Object.assign(deps, { collection: { connectors } }));
}

let counter = 0;
/** A password zxcvbn rates strong, different per call. */
export const strongPassword = (): string =>
  `correct horse battery staple ${++counter} ${Date.now()}`;

export interface TestUser {
  email: string;
  password: string;
  token: string;
  refreshToken: string;
  headers: { authorization: string };
}

/** Signs up a user through the API (the first one of a database becomes instance admin). */
export async function signUpUser(
  app: ZodApp,
  email = `user${++counter}-${Date.now()}@example.com`,
): Promise<TestUser> {
  const password = strongPassword();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/sign-up',
    payload: { email, password },
  });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  const body = res.json<{ access_token: string; refresh_token: string }>();
  return {
    email,
    password,
    token: body.access_token,
    refreshToken: body.refresh_token,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

/** Creates a workspace owned by `user` and returns its id. */
export async function createWorkspaceAs(
  app: ZodApp,
  user: TestUser,
  name = `ws-${++counter}-${Date.now()}`,
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/workspaces',
    headers: user.headers,
    payload: { name },
  });
  if (res.statusCode !== 201)
    throw new Error(`workspace creation failed: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>().id;
}

/** Adds an existing user to a workspace with a role. */
export async function addMember(
  app: ZodApp,
  owner: TestUser,
  workspaceId: string,
  member: TestUser,
  role: 'owner' | 'admin' | 'analyst' | 'viewer',
): Promise<void> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/members`,
    headers: owner.headers,
    payload: { email: member.email, role },
  });
  if (res.statusCode !== 201)
    throw new Error(`adding member failed: ${res.statusCode} ${res.body}`);
}

/** Creates an API key and returns it with its auth header. */
export async function createApiKeyAs(
  app: ZodApp,
  user: TestUser,
  workspaceId: string,
  scopes: ('read' | 'write' | 'admin')[],
): Promise<{ id: string; key: string; headers: { authorization: string } }> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/api-keys`,
    headers: user.headers,
    payload: { name: `key ${++counter}`, scopes },
  });
  if (res.statusCode !== 201)
    throw new Error(`API key creation failed: ${res.statusCode} ${res.body}`);
  const body = res.json<{ id: string; key: string }>();
  return { id: body.id, key: body.key, headers: { authorization: `Bearer ${body.key}` } };
}

/** Anything tests can send requests to: the app itself (an anonymous caller) or a `Caller`. */
export interface Injector {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** The app seen by one caller: every request carries the caller's credentials. */
export interface Caller extends Injector {
  headers: { authorization: string };
}

/**
 * Binds a user's (or an API key's) credentials to the app. Headers a request names itself are
 * merged over them, so a test can still send another (or a broken) authorization header.
 */
export function callerFor(
  app: ZodApp,
  credentials: { headers: { authorization: string } },
): Caller {
  const headers = { ...credentials.headers };
  return {
    headers,
    inject: (options) => app.inject({ ...options, headers: { ...headers, ...options.headers } }),
  };
}

/** The id of a signed-in user (from GET /v1/auth/me). */
export async function userIdOf(app: ZodApp, user: TestUser): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: user.headers });
  if (res.statusCode !== 200)
    throw new Error(`GET /v1/auth/me failed: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>().id;
}

/**
 * Rate limits high enough never to bite, for suites that send many hundreds of requests a
 * minute as one user and test something else than the limits.
 */
export const noRateLimits: ConfigOverrides = {
  RATE_LIMIT_READ_PER_MINUTE: '1000000',
  RATE_LIMIT_WRITE_PER_MINUTE: '1000000',
};

/** The same, and the auth routes' limit too (which also counts forged tokens per address). */
export const noRateLimitsAtAll: ConfigOverrides = {
  ...noRateLimits,
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
};
