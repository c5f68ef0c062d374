import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorBodySchema } from '@socialpulse/contracts';
import { AppError } from '../../errors.js';
import { withTenant, type TenantScope } from '../../db/tenant.js';
import { findRole } from '../../db/repos/memberships.repo.js';
import { findUser } from '../../db/repos/users.repo.js';
import { findWorkspace } from '../../db/repos/workspaces.repo.js';
import type { PoolClient } from '../../db/pool.js';
import { verifyAccessToken } from '../../domain/auth/access-tokens.js';
import { authenticateApiKey, isSessionActive } from '../../domain/auth/auth.service.js';
import { analysisWorkspaceId } from '../../db/repos/analyses.repo.js';
import {
  memberRefusal,
  scopesAllow,
  type ApiKeyScope,
  type Permission,
  type Role,
} from '../../domain/auth/permissions.js';
import type { Actor } from '../../domain/workspaces/workspaces.service.js';
import type { AppDeps } from '../types.js';

export const ACCESS_COOKIE = 'sp_access';
export const REFRESH_COOKIE = 'sp_refresh';

export type Principal =
  | {
      kind: 'user';
      userId: string;
      sessionId: string;
      mfa: boolean;
      viaCookie: boolean;
      isInstanceAdmin: boolean;
      email: string;
    }
  | { kind: 'api_key'; keyId: string; workspaceId: string; scopes: ApiKeyScope[] };

/**
 * How a route is protected. Every /v1 route must declare one (checked at startup):
 * `public` (no credentials), `user` (a signed-in person, no workspace), `authenticated` (a
 * person or an API key, no workspace), or a workspace `permission` (the route has a
 * :workspaceId parameter).
 */
export type RouteAuth =
  { public: true } | { user: true } | { authenticated: true } | { permission: Permission };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
    role: Role | null;
    tenant: TenantScope;
    /** Runs work in a transaction scoped to this request's workspace and user (RLS). */
    scoped<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
    actor(): Actor;
  }
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1])
    throw new AppError('unauthorized', 'Authorization must be "Bearer <token or API key>"');
  return match[1];
}

async function authenticate(request: FastifyRequest, deps: AppDeps): Promise<Principal | null> {
  const fromHeader = bearer(request);
  const cookie = request.cookies[ACCESS_COOKIE];
  const token = fromHeader ?? cookie ?? null;
  if (!token) return null;
  if (fromHeader?.startsWith('sp_')) {
    const key = await authenticateApiKey({ pool: deps.db.pool }, fromHeader);
    return { kind: 'api_key', keyId: key.keyId, workspaceId: key.workspaceId, scopes: key.scopes };
  }
  const claims = await verifyAccessToken(deps.auth.jwtSecret, token);
  // Checked on every request so that sign-out, password change and reuse detection bite at once.
  if (!(await isSessionActive({ pool: deps.db.pool }, claims.sessionId))) {
    throw new AppError('unauthorized', 'This session has ended; sign in again', {
      details: { reason: 'session_revoked' },
    });
  }
  const user = await findUser(deps.db.pool, claims.userId);
  if (!user || user.disabledAt)
    throw new AppError('unauthorized', 'This account is disabled', {
      details: { reason: 'account_disabled' },
    });
  return {
    kind: 'user',
    userId: user.id,
    sessionId: claims.sessionId,
    mfa: claims.mfa,
    viaCookie: fromHeader === null,
    isInstanceAdmin: user.isInstanceAdmin,
    email: user.email,
  };
}

/** Credentials refused for what they are, not for their age: these count as probing. */
const FORGED = new Set([
  'token_invalid',
  'api_key_invalid',
  'api_key_revoked',
  'session_revoked',
  undefined,
]);

/**
 * Authenticates, counting forged or unknown credentials against the caller's address (the
 * sign-in brute-force limiter): a 401 is cheap for the caller, so without this anyone could try
 * keys without limit. An expired token is the normal life of a session and is not counted.
 */
async function authenticateCounted(
  request: FastifyRequest,
  deps: AppDeps,
): Promise<Principal | null> {
  const presented =
    request.headers.authorization !== undefined || request.cookies[ACCESS_COOKIE] !== undefined;
  if (presented) await deps.auth.throttle.checkAddress(request.ip);
  try {
    return await authenticate(request, deps);
  } catch (error) {
    const reason =
      error instanceof AppError
        ? (error.details as { reason?: string } | undefined)?.reason
        : 'unknown';
    if (error instanceof AppError && error.code === 'unauthorized' && FORGED.has(reason))
      await deps.auth.throttle.failCredential(request.ip);
    throw error;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Members who lack access get 404, not 403, for workspaces they cannot see: no existence leak. */
const hidden = (workspaceId: string): AppError =>
  new AppError('not_found', `workspace ${workspaceId} was not found`, {
    details: { resource: 'workspace', id: workspaceId },
  });

async function workspaceOfAnalysis(deps: AppDeps, analysisId: string): Promise<string> {
  const missing = new AppError('not_found', `analysis ${analysisId} was not found`, {
    details: { resource: 'analysis', id: analysisId },
  });
  if (!UUID.test(analysisId)) {
    throw new AppError('validation_failed', 'params.analysisId: Invalid UUID', {
      details: { problems: [{ in: 'params', field: 'analysisId', message: 'Invalid UUID' }] },
    });
  }
  const workspaceId = await withTenant(deps.db.pool, { workspaceId: null, userId: null }, (c) =>
    analysisWorkspaceId(c, analysisId),
  );
  // Unknown and not-yours answer alike (authorization below turns a foreign workspace into 404 too).
  if (!workspaceId) throw missing;
  return workspaceId;
}

async function authorizeWorkspace(
  request: FastifyRequest,
  deps: AppDeps,
  permission: Permission,
): Promise<void> {
  const params = request.params as { workspaceId?: string; analysisId?: string };
  if (params.workspaceId === undefined && params.analysisId !== undefined) {
    const analysisId = params.analysisId;
    // Before the lookup: an anonymous caller must not learn whether the analysis exists.
    if (!request.principal)
      throw new AppError('unauthorized', 'Sign in or send an API key', {
        details: { reason: 'missing_credentials' },
      });
    try {
      await authorizeInWorkspace(
        request,
        deps,
        permission,
        await workspaceOfAnalysis(deps, analysisId),
      );
    } catch (error) {
      // Someone outside the analysis's workspace learns nothing, not even which workspace it is in.
      if (error instanceof AppError && error.code === 'not_found') {
        throw new AppError('not_found', `analysis ${analysisId} was not found`, {
          details: { resource: 'analysis', id: analysisId },
        });
      }
      throw error;
    }
    return;
  }
  await authorizeInWorkspace(request, deps, permission, params.workspaceId);
}

async function authorizeInWorkspace(
  request: FastifyRequest,
  deps: AppDeps,
  permission: Permission,
  workspaceId: string | undefined,
): Promise<void> {
  const principal = request.principal;
  if (!principal)
    throw new AppError('unauthorized', 'Sign in or send an API key', {
      details: { reason: 'missing_credentials' },
    });
  if (!workspaceId)
    throw new AppError(
      'internal_error',
      `route ${request.routeOptions.url ?? ''} declares a permission but has no :workspaceId`,
    );
  // Authorization now runs in onRequest, before the params schema: a malformed id reached the
  // membership query as a uuid and failed there (22P02) as a 500. Answer as the schema would.
  if (!UUID.test(workspaceId)) {
    throw new AppError('validation_failed', 'params.workspaceId: Invalid UUID', {
      details: { problems: [{ in: 'params', field: 'workspaceId', message: 'Invalid UUID' }] },
    });
  }
  if (principal.kind === 'api_key') {
    if (principal.workspaceId !== workspaceId) throw hidden(workspaceId);
    if (!scopesAllow(principal.scopes, permission)) {
      throw new AppError(
        'forbidden',
        `This API key's scopes (${principal.scopes.join(', ')}) do not allow ${permission}`,
        { details: { permission } },
      );
    }
    request.tenant = { workspaceId, userId: null };
    return;
  }
  const scope = { workspaceId, userId: principal.userId };
  const { role, workspace } = await withTenant(deps.db.pool, scope, async (c) => ({
    role: await findRole(c, workspaceId, principal.userId),
    workspace: await findWorkspace(c, workspaceId),
  }));
  const refusal = memberRefusal({
    role: workspace ? role : null,
    sessionUsedMfa: principal.mfa,
    workspaceRequiresMfa: workspace?.requireMfa ?? false,
    mfaRequiredRoles: deps.config.auth.mfaRequiredRoles,
    permission,
  });
  if (refusal === 'not_a_member' || !role) throw hidden(workspaceId);
  if (refusal === 'mfa_required')
    throw new AppError(
      'forbidden',
      'This workspace requires two-factor authentication: enable it and sign in with a code',
      { details: { reason: 'mfa_required' } },
    );
  if (refusal === 'permission')
    throw new AppError(
      'forbidden',
      `Your role (${role}) does not allow ${permission} in this workspace`,
      { details: { permission, role } },
    );
  request.role = role;
  request.tenant = scope;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A browser opens a WebSocket from any page, with its cookies and without CORS: a cookie-signed
 * upgrade must come from one of our origins (this server's, PUBLIC_URL's or CORS_ORIGINS).
 * Clients that send no Origin are not browsers.
 */
function foreignWebSocketOrigin(request: FastifyRequest, deps: AppDeps): string | null {
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return null;
  const origin = request.headers.origin;
  if (origin === undefined) return null;
  const allowed = new Set<string>([
    `${request.protocol}://${request.host}`,
    ...deps.config.api.corsOrigins,
  ]);
  if (deps.config.api.publicUrl) allowed.add(new URL(deps.config.api.publicUrl).origin);
  return allowed.has(origin) ? null : origin;
}

/** Authentication, CSRF for cookie sessions, and per-route authorization. */
export function registerAuth(app: FastifyInstance, deps: AppDeps): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('role', null);
  // Fastify forbids object defaults on decorators (they would be shared); set per request below.
  app.decorateRequest('tenant', null as unknown as TenantScope);
  app.decorateRequest('scoped', function <
    T,
  >(this: FastifyRequest, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withTenant(deps.db.pool, this.tenant, work);
  });
  app.decorateRequest('actor', function (this: FastifyRequest): Actor {
    const p = this.principal;
    const label = !p ? 'anonymous' : p.kind === 'user' ? p.userId : `api_key:${p.keyId}`;
    return { userId: p?.kind === 'user' ? p.userId : null, label, ip: this.ip, requestId: this.id };
  });

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    const auth = route.config?.auth;
    if (!auth)
      throw new Error(
        `Route ${String(route.method)} ${route.url} declares no auth (config.auth): every route must be classified`,
      );
    // The OpenAPI document lists the answers the auth and rate-limit layers can give.
    if (route.schema) {
      const responses = (route.schema.response ??= {}) as Record<string, unknown>;
      if (!('public' in auth)) {
        responses[401] ??= errorBodySchema;
        responses[403] ??= errorBodySchema;
      }
      if ('permission' in auth) responses[404] ??= errorBodySchema;
      responses[429] ??= errorBodySchema;
      // A route that reads no query string still refuses one: a misspelt filter must not be
      // silently ignored (a client would believe it filtered).
      route.schema.querystring ??= z.strictObject({});
    }
  });

  // onRequest: before the body is read or validated, so anonymous callers learn nothing but 401.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const auth = request.routeOptions.config.auth;
    if (!auth) return;
    request.tenant = { workspaceId: null, userId: null };
    // Public routes still see who is calling (sign-out, refresh), but never fail on it.
    request.principal =
      'public' in auth
        ? await authenticate(request, deps).catch(() => null)
        : await authenticateCounted(request, deps);
    if (request.principal?.kind === 'user') {
      request.tenant = { workspaceId: null, userId: request.principal.userId };
      const foreign = request.principal.viaCookie ? foreignWebSocketOrigin(request, deps) : null;
      if (foreign !== null)
        throw new AppError('forbidden', `WebSocket from a page of another origin (${foreign})`, {
          details: { reason: 'origin' },
        });
      if (request.principal.viaCookie && UNSAFE.has(request.method)) {
        await new Promise<void>((resolve, reject) => {
          const refuse = (): void =>
            reject(
              new AppError('forbidden', 'Missing or invalid CSRF token (send x-csrf-token)', {
                details: { reason: 'csrf' },
              }),
            );
          // @fastify/csrf-protection answers a failed check itself with reply.send(error) and never
          // calls back, so the client got its raw error (mapped to validation_failed) and this
          // promise never settled. Hand it a reply whose send refuses instead: the answer is ours.
          const guarded = Object.create(reply, { send: { value: refuse } }) as FastifyReply;
          app.csrfProtection(request, guarded, (error?: Error) => (error ? refuse() : resolve()));
        });
      }
    }
    if ('public' in auth) return;
    if (!request.principal)
      throw new AppError('unauthorized', 'Sign in or send an API key', {
        details: { reason: 'missing_credentials' },
      });
    if ('authenticated' in auth) {
      if (request.principal.kind === 'api_key')
        request.tenant = { workspaceId: request.principal.workspaceId, userId: null };
      return;
    }
    if ('user' in auth) {
      if (request.principal.kind !== 'user')
        throw new AppError('forbidden', 'This route is for signed-in users, not API keys', {
          details: { reason: 'user_required' },
        });
      return;
    }
    await authorizeWorkspace(request, deps, auth.permission);
  });
}
