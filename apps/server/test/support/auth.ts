/** Builders for security tests: tenants with every kind of caller, cookie sessions, TOTP enrolment. */
import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import type { ZodApp } from '../../src/api/types.js';
import { createApiKey } from '../../src/domain/auth/auth.service.js';
import type { ApiKeyScope, Role } from '../../src/domain/auth/permissions.js';
import { hashToken, normalizeRecoveryCode } from '../../src/domain/auth/tokens.js';
import { generateTotp } from '../../src/domain/auth/totp.js';
import {
  addMember,
  createApiKeyAs,
  createWorkspaceAs,
  signUpUser,
  strongPassword,
  type TestUser,
} from './app.js';
import type { TestDatabase } from './db.js';

export type Headers = Record<string, string>;

/** Someone calling the API: anonymous, a signed-in person, or an API key. */
export interface Caller {
  name: string;
  kind: 'anonymous' | 'user' | 'api_key';
  headers: Headers;
  user?: TestUser;
}

export const anonymous: Caller = { name: 'anonymous', kind: 'anonymous', headers: {} };
export const asUser = (name: string, user: TestUser): Caller => ({
  name,
  kind: 'user',
  headers: user.headers,
  user,
});
export const asKey = (name: string, key: { headers: Headers }): Caller => ({
  name,
  kind: 'api_key',
  headers: key.headers,
});

/** A workspace with one member per role and keys of every scope, plus a revoked and an expired key. */
export interface Tenant {
  workspaceId: string;
  owner: TestUser;
  admin: TestUser;
  analyst: TestUser;
  viewer: TestUser;
  keys: Record<ApiKeyScope, { id: string; key: string; headers: Headers }>;
  revokedKey: { id: string; key: string; headers: Headers };
  expiredKey: { id: string; key: string; headers: Headers };
}

let counter = 0;
const unique = (): string =>
  `${Date.now().toString(36)}-${++counter}-${randomBytes(3).toString('hex')}`;

/** Creates an API key through the service (no HTTP, no caller), optionally with an expiry. */
export async function createApiKeyForTest(
  db: TestDatabase,
  workspaceId: string,
  scopes: ApiKeyScope[],
  expiresAt: Date | null = null,
): Promise<{ id: string; key: string; headers: Headers }> {
  const { key, record } = await createApiKey(
    db.pool,
    {
      workspaceId,
      name: `test key ${unique()}`,
      scopes,
      expiresAt,
      createdBy: null,
      actor: 'test',
    },
    { ip: null, userAgent: null, requestId: null },
  );
  return { id: record.id, key, headers: { authorization: `Bearer ${key}` } };
}

/** A key whose expiry is already past (as a key that has aged would be). */
export const createExpiredApiKey = (
  db: TestDatabase,
  workspaceId: string,
  scopes: ApiKeyScope[] = ['admin'],
): Promise<{ id: string; key: string; headers: Headers }> =>
  createApiKeyForTest(db, workspaceId, scopes, new Date(Date.now() - 60_000));

export async function createTenant(app: ZodApp, db: TestDatabase): Promise<Tenant> {
  const owner = await signUpUser(app);
  const workspaceId = await createWorkspaceAs(app, owner, `tenant-${unique()}`);
  const [admin, analyst, viewer] = [
    await signUpUser(app),
    await signUpUser(app),
    await signUpUser(app),
  ];
  await addMember(app, owner, workspaceId, admin, 'admin');
  await addMember(app, owner, workspaceId, analyst, 'analyst');
  await addMember(app, owner, workspaceId, viewer, 'viewer');
  const keys = {
    read: await createApiKeyAs(app, owner, workspaceId, ['read']),
    write: await createApiKeyAs(app, owner, workspaceId, ['write']),
    admin: await createApiKeyAs(app, owner, workspaceId, ['admin']),
  };
  const revokedKey = await createApiKeyAs(app, owner, workspaceId, ['admin']);
  const revoke = await app.inject({
    method: 'DELETE',
    url: `/v1/workspaces/${workspaceId}/api-keys/${revokedKey.id}`,
    headers: owner.headers,
  });
  if (revoke.statusCode !== 204)
    throw new Error(`revoking a key failed: ${revoke.statusCode} ${revoke.body}`);
  const expiredKey = await createExpiredApiKey(db, workspaceId);
  return { workspaceId, owner, admin, analyst, viewer, keys, revokedKey, expiredKey };
}

/** A user row with no usable password (for membership targets): cheaper than a sign-up. */
export async function insertBareUser(db: TestDatabase): Promise<{ id: string; email: string }> {
  const email = `bare-${unique()}@example.com`;
  const { rows } = await db.adminPool.query<{ id: string }>(
    "INSERT INTO users (email, password_hash) VALUES ($1, 'not-a-hash') RETURNING id",
    [email],
  );
  return { id: (rows[0] as { id: string }).id, email };
}

/** Makes `userId` a member of `workspaceId` directly (as the owner role: no API, no audit). */
export async function insertMembership(
  db: TestDatabase,
  workspaceId: string,
  userId: string,
  role: Role,
): Promise<void> {
  await db.adminPool.query(
    'INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)',
    [workspaceId, userId, role],
  );
}

/** Adds a one-time recovery code for a user directly and returns it. */
export async function insertRecoveryCode(db: TestDatabase, userId: string): Promise<string> {
  const code = `test-${randomBytes(6).toString('hex')}`;
  await db.adminPool.query('INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)', [
    userId,
    hashToken(normalizeRecoveryCode(code)),
  ]);
  return code;
}

/** The subject and session of an access token (no verification: for building test tokens). */
export function claimsOf(accessToken: string): { userId: string; sessionId: string } {
  const payload = decodeJwt(accessToken);
  return { userId: String(payload.sub), sessionId: String(payload.sid) };
}

export const userIdOf = (user: TestUser): string => claimsOf(user.token).userId;

/** Parses the Set-Cookie headers of a response into name → value. */
export function cookiesOf(res: LightMyRequestResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.cookies) out[c.name] = c.value;
  return out;
}

export const cookieHeader = (cookies: Record<string, string>): string =>
  Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

export interface SignedIn {
  accessToken: string;
  refreshToken: string;
  csrfToken: string;
  cookies: Record<string, string>;
  headers: Headers;
}

/** Signs in with a password (no MFA) and returns tokens, cookies and the CSRF token. */
export async function signIn(
  app: ZodApp,
  user: { email: string; password: string },
): Promise<SignedIn> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/sign-in',
    payload: { email: user.email, password: user.password },
  });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.statusCode} ${res.body}`);
  return signedIn(res);
}

export function signedIn(res: LightMyRequestResponse): SignedIn {
  const body = res.json<{ access_token?: string; refresh_token?: string; csrf_token?: string }>();
  if (!body.access_token || !body.refresh_token || !body.csrf_token)
    throw new Error(`no tokens in ${res.body}`);
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    csrfToken: body.csrf_token,
    cookies: cookiesOf(res),
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

/** A TOTP code `steps` 30-second steps away from now. */
export const totpCode = (secret: string, steps = 0): string =>
  generateTotp(secret, Date.now() + steps * 30_000);

/** Enrols TOTP for a user through the API; returns the secret and the recovery codes. */
export async function enrolTotp(
  app: ZodApp,
  headers: Headers,
): Promise<{ secret: string; otpauthUri: string; qrCodeDataUrl: string; recoveryCodes: string[] }> {
  const start = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp', headers });
  if (start.statusCode !== 201)
    throw new Error(`TOTP enrolment failed: ${start.statusCode} ${start.body}`);
  const e = start.json<{ secret: string; otpauth_uri: string; qr_code_data_url: string }>();
  const confirm = await app.inject({
    method: 'POST',
    url: '/v1/auth/mfa/totp/confirm',
    headers,
    payload: { code: totpCode(e.secret) },
  });
  if (confirm.statusCode !== 200)
    throw new Error(`TOTP confirmation failed: ${confirm.statusCode} ${confirm.body}`);
  return {
    secret: e.secret,
    otpauthUri: e.otpauth_uri,
    qrCodeDataUrl: e.qr_code_data_url,
    recoveryCodes: confirm.json<{ recovery_codes: string[] }>().recovery_codes,
  };
}

/** The password step of an MFA sign-in: returns the mfa_token. */
export async function startMfaSignIn(
  app: ZodApp,
  user: { email: string; password: string },
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/sign-in',
    payload: { email: user.email, password: user.password },
  });
  const body = res.json<{ mfa_required?: boolean; mfa_token?: string }>();
  if (res.statusCode !== 200 || body.mfa_required !== true || !body.mfa_token)
    throw new Error(`expected mfa_required: ${res.statusCode} ${res.body}`);
  return body.mfa_token;
}

/** A fresh signed-up user (for calls that change the caller's own account). */
export const freshUser = (app: ZodApp): Promise<TestUser> => signUpUser(app);

export { strongPassword };

/** inject() options with the caller's headers merged in. */
export const withCaller = (caller: Caller, options: InjectOptions): InjectOptions => ({
  ...options,
  headers: { ...caller.headers, ...(options.headers as Headers | undefined) },
});

/**
 * Moves a rotated refresh token's rotation `seconds` into the past, past the grace window in
 * which renewals racing each other may present it again (REFRESH_REUSE_GRACE_MS).
 */
export async function ageRefreshRotation(
  db: TestDatabase,
  refreshToken: string,
  seconds: number,
): Promise<void> {
  const { rowCount } = await db.adminPool.query(
    `UPDATE refresh_tokens SET rotated_at = rotated_at - make_interval(secs => $2)
      WHERE token_hash = $1 AND rotated_at IS NOT NULL`,
    [hashToken(refreshToken), seconds],
  );
  if (rowCount !== 1) throw new Error('ageRefreshRotation: no rotated refresh token matched');
}
