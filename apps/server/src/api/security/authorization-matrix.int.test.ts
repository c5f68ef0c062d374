/**
 * The authorization matrix: every operation of the OpenAPI document, classified here by hand,
 * called by every kind of caller. A route that is not in ROUTES fails the first test: classify it.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { postRecord, toJsonl } from '../../../test/support/factories.js';
import { registeredRoutes, toOpenApiPath } from '../../../test/support/routes.js';
import {
  anonymous,
  asKey,
  asUser,
  createApiKeyForTest,
  createTenant,
  insertBareUser,
  insertMembership,
  insertRecoveryCode,
  signIn,
  totpCode,
  userIdOf,
  withCaller,
  type Caller,
  type Tenant,
} from '../../../test/support/auth.js';
import { signMfaToken } from '../../domain/auth/access-tokens.js';
import { hashToken, randomToken } from '../../domain/auth/tokens.js';
import {
  roleAllows,
  scopesAllow,
  type ApiKeyScope,
  type Permission,
  type Role,
} from '../../domain/auth/permissions.js';

/** `instance_admin`: a signed-in user with the instance admin flag (none of the callers below has it). */
type Classification =
  'public' | 'user' | 'instance_admin' | 'authenticated' | { permission: Permission };

interface Ctx {
  app: ZodApp;
  db: TestDatabase;
  a: Tenant;
  postId: string;
  importId: string;
  /** A finished analysis of workspace A (its event stream ends at once). */
  analysisId: string;
  /** Connections of workspace A (one that DELETE may disconnect), a sync run and a dead letter. */
  connectionId: string;
  disposableConnectionId: string;
  syncRunId: string;
  deadLetterId: string;
  /** A user for the public sign-in and refresh calls. */
  signInUser: TestUser;
  /** A user with TOTP enabled, for the public MFA verification. */
  mfaUser: { id: string };
  /** A user whose password the public reset call changes. */
  resetUser: TestUser;
}

interface RouteSpec {
  auth: Classification;
  /** What a public route answers whoever calls (it must not depend on the caller). */
  publicStatus?: number;
  request(ctx: Ctx, caller: Caller): Promise<InjectOptions> | InjectOptions;
}

let n = 0;
const next = (): string => `${Date.now().toString(36)}-${++n}`;

/** Routes that change the caller's own account run as a fresh user, so the shared callers stay intact. */
async function ownAccount(
  ctx: Ctx,
  caller: Caller,
): Promise<{ caller: Caller; user: TestUser | null }> {
  if (caller.kind !== 'user') return { caller, user: null };
  const user = await signUpUser(ctx.app);
  return { caller: asUser(`fresh ${caller.name}`, user), user };
}

const ws = (ctx: Ctx): string => `/v1/workspaces/${ctx.a.workspaceId}`;

/** Every /v1 operation: `METHOD /openapi/path`. Keep it in the order of the OpenAPI document. */
const ROUTES: Record<string, RouteSpec> = {
  'POST /v1/auth/sign-up': {
    auth: 'public',
    publicStatus: 201,
    request: (_ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: { email: `matrix-${next()}@example.com`, password: strongPassword() },
      }),
  },
  'POST /v1/auth/setup': {
    // The instance already has accounts: every caller is refused alike.
    auth: 'public',
    publicStatus: 403,
    request: (_ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/auth/setup',
        payload: {
          token: randomToken(),
          email: `setup-${next()}@example.com`,
          password: strongPassword(),
        },
      }),
  },
  'POST /v1/auth/sign-in': {
    auth: 'public',
    publicStatus: 200,
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/auth/sign-in',
        payload: { email: ctx.signInUser.email, password: ctx.signInUser.password },
      }),
  },
  'POST /v1/auth/mfa/verify': {
    auth: 'public',
    publicStatus: 200,
    request: async (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/auth/mfa/verify',
        payload: {
          mfa_token: await signMfaToken(ctx.db.secrets.jwtSecret, ctx.mfaUser.id),
          recovery_code: await insertRecoveryCode(ctx.db, ctx.mfaUser.id),
        },
      }),
  },
  'POST /v1/auth/refresh': {
    auth: 'public',
    publicStatus: 200,
    request: async (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refresh_token: (await signIn(ctx.app, ctx.signInUser)).refreshToken },
      }),
  },
  'POST /v1/auth/sign-out': {
    auth: 'public',
    publicStatus: 204,
    // A user signs out of a second session of theirs, not of the one the other calls use.
    request: async (ctx, c) =>
      withCaller(
        c.kind === 'user' && c.user
          ? { ...c, headers: (await signIn(ctx.app, c.user)).headers }
          : c,
        { method: 'POST', url: '/v1/auth/sign-out' },
      ),
  },
  'POST /v1/auth/password/forgot': {
    // One address per caller: an address gets only a few reset mails before it is throttled.
    auth: 'public',
    publicStatus: 202,
    request: (_ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: `forgot-${next()}@example.com` },
      }),
  },
  'POST /v1/auth/password/reset': {
    auth: 'public',
    publicStatus: 204,
    request: async (ctx, c) => {
      const token = randomToken();
      await ctx.db.adminPool.query(
        "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '10 minutes')",
        [hashToken(token), userIdOf(ctx.resetUser)],
      );
      return withCaller(c, {
        method: 'POST',
        url: '/v1/auth/password/reset',
        payload: { token, new_password: strongPassword() },
      });
    },
  },
  'GET /v1/auth/csrf': {
    auth: 'user',
    request: (_ctx, c) => withCaller(c, { method: 'GET', url: '/v1/auth/csrf' }),
  },
  'GET /v1/auth/me': {
    auth: 'user',
    request: (_ctx, c) => withCaller(c, { method: 'GET', url: '/v1/auth/me' }),
  },
  'POST /v1/auth/password': {
    auth: 'user',
    request: async (ctx, c) => {
      const own = await ownAccount(ctx, c);
      return withCaller(own.caller, {
        method: 'POST',
        url: '/v1/auth/password',
        payload: {
          current_password: own.user?.password ?? 'not the password',
          new_password: strongPassword(),
        },
      });
    },
  },
  'POST /v1/auth/mfa/totp': {
    auth: 'user',
    request: async (ctx, c) =>
      withCaller((await ownAccount(ctx, c)).caller, { method: 'POST', url: '/v1/auth/mfa/totp' }),
  },
  'POST /v1/auth/mfa/totp/confirm': {
    auth: 'user',
    request: async (ctx, c) => {
      const own = await ownAccount(ctx, c);
      let code = '123456';
      if (own.user) {
        const start = await ctx.app.inject({
          method: 'POST',
          url: '/v1/auth/mfa/totp',
          headers: own.user.headers,
        });
        code = totpCode(start.json<{ secret: string }>().secret);
      }
      return withCaller(own.caller, {
        method: 'POST',
        url: '/v1/auth/mfa/totp/confirm',
        payload: { code },
      });
    },
  },
  // Without MFA enabled a user gets 409 conflict: allowed through authorization all the same.
  'POST /v1/auth/mfa/recovery-codes': {
    auth: 'user',
    request: async (ctx, c) =>
      withCaller((await ownAccount(ctx, c)).caller, {
        method: 'POST',
        url: '/v1/auth/mfa/recovery-codes',
      }),
  },
  'POST /v1/auth/mfa/disable': {
    auth: 'user',
    request: async (ctx, c) => {
      const own = await ownAccount(ctx, c);
      return withCaller(own.caller, {
        method: 'POST',
        url: '/v1/auth/mfa/disable',
        payload: { password: own.user?.password ?? 'not the password' },
      });
    },
  },
  'GET /v1/auth/status': {
    auth: 'public',
    publicStatus: 200,
    request: (_ctx, c) => withCaller(c, { method: 'GET', url: '/v1/auth/status' }),
  },
  'GET /v1/workspaces': {
    auth: 'authenticated',
    request: (_ctx, c) => withCaller(c, { method: 'GET', url: '/v1/workspaces' }),
  },
  'POST /v1/workspaces': {
    auth: 'user',
    request: (_ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/workspaces',
        payload: { name: `matrix ${next()}` },
      }),
  },
  'GET /v1/workspaces/{workspaceId}': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: ws(ctx) }),
  },
  'PATCH /v1/workspaces/{workspaceId}': {
    auth: { permission: 'manage_workspace' },
    request: (ctx, c) =>
      withCaller(c, { method: 'PATCH', url: ws(ctx), payload: { name: `renamed ${next()}` } }),
  },
  'GET /v1/workspaces/{workspaceId}/members': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/members` }),
  },
  'POST /v1/workspaces/{workspaceId}/members': {
    auth: { permission: 'manage_members' },
    request: async (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/members`,
        payload: { email: (await insertBareUser(ctx.db)).email, role: 'viewer' },
      }),
  },
  'PATCH /v1/workspaces/{workspaceId}/members/{userId}': {
    auth: { permission: 'manage_members' },
    request: async (ctx, c) => {
      const target = await insertBareUser(ctx.db);
      await insertMembership(ctx.db, ctx.a.workspaceId, target.id, 'viewer');
      return withCaller(c, {
        method: 'PATCH',
        url: `${ws(ctx)}/members/${target.id}`,
        payload: { role: 'analyst' },
      });
    },
  },
  'DELETE /v1/workspaces/{workspaceId}/members/{userId}': {
    auth: { permission: 'manage_members' },
    request: async (ctx, c) => {
      const target = await insertBareUser(ctx.db);
      await insertMembership(ctx.db, ctx.a.workspaceId, target.id, 'viewer');
      return withCaller(c, { method: 'DELETE', url: `${ws(ctx)}/members/${target.id}` });
    },
  },
  'POST /v1/workspaces/{workspaceId}/invitations': {
    auth: { permission: 'manage_members' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/invitations`,
        payload: { email: `invitee-${next()}@example.com`, role: 'viewer' },
      }),
  },
  'GET /v1/workspaces/{workspaceId}/invitations': {
    auth: { permission: 'manage_members' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/invitations` }),
  },
  'DELETE /v1/workspaces/{workspaceId}/invitations/{invitationId}': {
    auth: { permission: 'manage_members' },
    request: async (ctx, c) => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: `${ws(ctx)}/invitations`,
        headers: ctx.a.owner.headers,
        payload: { email: `invitee-${next()}@example.com`, role: 'viewer' },
      });
      return withCaller(c, {
        method: 'DELETE',
        url: `${ws(ctx)}/invitations/${created.json<{ id: string }>().id}`,
      });
    },
  },
  'POST /v1/invitations/preview': {
    auth: 'public',
    publicStatus: 200,
    request: async (ctx, c) => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: `${ws(ctx)}/invitations`,
        headers: ctx.a.owner.headers,
        payload: { email: `invitee-${next()}@example.com`, role: 'viewer' },
      });
      const token =
        new URL(created.json<{ invite_url: string }>().invite_url).searchParams.get('token') ?? '';
      return withCaller(c, { method: 'POST', url: '/v1/invitations/preview', payload: { token } });
    },
  },
  'POST /v1/invitations/accept': {
    // Allowed through authorization; a user the invitation was not sent to is refused by the
    // invitation itself (403 invitation_email_mismatch), so each user accepts one sent to them.
    auth: 'user',
    request: async (ctx, c) => {
      const own = await ownAccount(ctx, c);
      const created = await ctx.app.inject({
        method: 'POST',
        url: `${ws(ctx)}/invitations`,
        headers: ctx.a.owner.headers,
        payload: { email: own.user?.email ?? `invitee-${next()}@example.com`, role: 'viewer' },
      });
      const token =
        new URL(created.json<{ invite_url: string }>().invite_url).searchParams.get('token') ?? '';
      return withCaller(own.caller, {
        method: 'POST',
        url: '/v1/invitations/accept',
        payload: { token },
      });
    },
  },
  'GET /v1/workspaces/{workspaceId}/api-keys': {
    auth: { permission: 'manage_api_keys' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/api-keys` }),
  },
  'POST /v1/workspaces/{workspaceId}/api-keys': {
    auth: { permission: 'manage_api_keys' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/api-keys`,
        payload: { name: `matrix ${next()}`, scopes: ['read'] },
      }),
  },
  'DELETE /v1/workspaces/{workspaceId}/api-keys/{keyId}': {
    auth: { permission: 'manage_api_keys' },
    request: async (ctx, c) =>
      withCaller(c, {
        method: 'DELETE',
        url: `${ws(ctx)}/api-keys/${(await createApiKeyForTest(ctx.db, ctx.a.workspaceId, ['read'])).id}`,
      }),
  },
  'GET /v1/workspaces/{workspaceId}/audit-log': {
    auth: { permission: 'read_audit' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/audit-log` }),
  },
  'GET /v1/auth/audit-log': {
    auth: 'user',
    request: (_ctx, c) => withCaller(c, { method: 'GET', url: '/v1/auth/audit-log' }),
  },
  'GET /v1/admin/audit-log': {
    auth: 'instance_admin',
    request: (_ctx, c) => withCaller(c, { method: 'GET', url: '/v1/admin/audit-log' }),
  },
  'GET /v1/workspaces/{workspaceId}/posts': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/posts` }),
  },
  'GET /v1/workspaces/{workspaceId}/posts/export': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/posts/export?format=csv` }),
  },
  'GET /v1/workspaces/{workspaceId}/posts/{postId}': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/posts/${ctx.postId}` }),
  },
  'GET /v1/workspaces/{workspaceId}/posts/{postId}/snapshots': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/posts/${ctx.postId}/snapshots` }),
  },
  'POST /v1/workspaces/{workspaceId}/imports': {
    auth: { permission: 'import' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/imports`,
        headers: { 'content-type': 'application/x-ndjson' },
        payload: toJsonl([postRecord()]),
      }),
  },
  'GET /v1/workspaces/{workspaceId}/imports': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/imports` }),
  },
  'GET /v1/workspaces/{workspaceId}/imports/{importId}': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/imports/${ctx.importId}` }),
  },
  'GET /v1/workspaces/{workspaceId}/imports/{importId}/rejects': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/imports/${ctx.importId}/rejects` }),
  },
  // Public: signed by the platform, not by a caller. Without secrets (as here) the receivers are off.
  'GET /v1/webhooks/{platform}': {
    auth: 'public',
    publicStatus: 404,
    request: (_ctx, c) =>
      withCaller(c, {
        method: 'GET',
        url: '/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1',
      }),
  },
  'POST /v1/webhooks/{platform}': {
    auth: 'public',
    publicStatus: 404,
    request: (_ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: '/v1/webhooks/meta',
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      }),
  },
  'POST /v1/workspaces/{workspaceId}/analyses': {
    auth: { permission: 'analyze' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/analyses`,
        payload: { posts: { filter: { q: 'matchesnothing' } } },
      }),
  },
  'GET /v1/workspaces/{workspaceId}/analyses': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/analyses` }),
  },
  'GET /v1/workspaces/{workspaceId}/analyses/{analysisId}': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/analyses/${ctx.analysisId}` }),
  },
  'GET /v1/analyses/{analysisId}': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `/v1/analyses/${ctx.analysisId}` }),
  },
  'PATCH /v1/workspaces/{workspaceId}/analyses/{analysisId}': {
    auth: { permission: 'manage_analyses' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'PATCH',
        url: `${ws(ctx)}/analyses/${ctx.analysisId}`,
        payload: { priority: 0 },
      }),
  },
  'POST /v1/workspaces/{workspaceId}/analyses/{analysisId}/cancel': {
    auth: { permission: 'analyze' },
    request: (ctx, c) =>
      withCaller(c, { method: 'POST', url: `${ws(ctx)}/analyses/${ctx.analysisId}/cancel` }),
  },
  'POST /v1/workspaces/{workspaceId}/analyses/{analysisId}/retry': {
    auth: { permission: 'analyze' },
    request: (ctx, c) =>
      withCaller(c, { method: 'POST', url: `${ws(ctx)}/analyses/${ctx.analysisId}/retry` }),
  },
  'GET /v1/workspaces/{workspaceId}/analyses/{analysisId}/results': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/analyses/${ctx.analysisId}/results` }),
  },
  'GET /v1/workspaces/{workspaceId}/analyses/{analysisId}/cost': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/analyses/${ctx.analysisId}/cost` }),
  },
  'GET /v1/workspaces/{workspaceId}/analyses/{analysisId}/events': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/analyses/${ctx.analysisId}/events` }),
  },
  'GET /v1/analyses/{analysisId}/events': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `/v1/analyses/${ctx.analysisId}/events` }),
  },
  'GET /v1/workspaces/{workspaceId}/analysis-settings': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/analysis-settings` }),
  },
  'PATCH /v1/workspaces/{workspaceId}/analysis-settings': {
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'PATCH',
        url: `${ws(ctx)}/analysis-settings`,
        payload: { categories: [{ id: 'billing', keywords: ['invoice'] }] },
      }),
  },
  'PUT /v1/admin/analysis-lanes/workspaces/{workspaceId}': {
    auth: 'instance_admin',
    request: (ctx, c) =>
      withCaller(c, {
        method: 'PUT',
        url: `/v1/admin/analysis-lanes/workspaces/${ctx.a.workspaceId}`,
        payload: { priority: 0 },
      }),
  },
  'PUT /v1/admin/analysis-lanes/users/{userId}': {
    auth: 'instance_admin',
    request: (ctx, c) =>
      withCaller(c, {
        method: 'PUT',
        url: `/v1/admin/analysis-lanes/users/${ctx.mfaUser.id}`,
        payload: { priority: 0 },
      }),
  },
  'GET /v1/oauth/platforms': {
    auth: 'authenticated',
    request: (_ctx, c) => withCaller(c, { method: 'GET', url: '/v1/oauth/platforms' }),
  },
  'GET /v1/workspaces/{workspaceId}/connections': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/connections` }),
  },
  'POST /v1/workspaces/{workspaceId}/connections': {
    // A platform without a connector: refused with a 400 before any outbound request.
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/connections`,
        payload: {
          platform: 'other',
          account: '@someone',
          credentials: { access_token: 'not-a-real-token' },
        },
      }),
  },
  'POST /v1/workspaces/{workspaceId}/connections/oauth': {
    // Bluesky has no OAuth flow: refused with a 409 before anything is stored or called.
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/connections/oauth`,
        payload: { platform: 'bluesky' },
      }),
  },
  'GET /v1/oauth/{platform}/callback': {
    // The platform's redirect: only the single-use state binds it to a flow; an unknown one is refused alike for everyone.
    auth: 'public',
    publicStatus: 400,
    request: (_ctx, c) =>
      withCaller(c, {
        method: 'GET',
        url: `/v1/oauth/x/callback?code=c0de&state=${randomToken()}`,
      }),
  },
  'GET /v1/workspaces/{workspaceId}/connections/{connectionId}': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/connections/${ctx.connectionId}` }),
  },
  'PATCH /v1/workspaces/{workspaceId}/connections/{connectionId}': {
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'PATCH',
        url: `${ws(ctx)}/connections/${ctx.connectionId}`,
        payload: { poll_minutes: 60 },
      }),
  },
  'DELETE /v1/workspaces/{workspaceId}/connections/{connectionId}': {
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'DELETE',
        url: `${ws(ctx)}/connections/${ctx.disposableConnectionId}`,
      }),
  },
  'POST /v1/workspaces/{workspaceId}/connections/{connectionId}/sync': {
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, {
        method: 'POST',
        url: `${ws(ctx)}/connections/${ctx.connectionId}/sync`,
        payload: { kind: 'posts' },
      }),
  },
  'GET /v1/workspaces/{workspaceId}/connections/{connectionId}/sync-runs': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/connections/${ctx.connectionId}/sync-runs` }),
  },
  'GET /v1/workspaces/{workspaceId}/sync-runs/{runId}': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/sync-runs/${ctx.syncRunId}` }),
  },
  'GET /v1/workspaces/{workspaceId}/dead-letters': {
    auth: { permission: 'read' },
    request: (ctx, c) => withCaller(c, { method: 'GET', url: `${ws(ctx)}/dead-letters` }),
  },
  'GET /v1/workspaces/{workspaceId}/dead-letters/{deadLetterId}': {
    auth: { permission: 'read' },
    request: (ctx, c) =>
      withCaller(c, { method: 'GET', url: `${ws(ctx)}/dead-letters/${ctx.deadLetterId}` }),
  },
  'POST /v1/workspaces/{workspaceId}/dead-letters/{deadLetterId}/replay': {
    // The first allowed caller queues the replay; later ones find a sync waiting (409).
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, { method: 'POST', url: `${ws(ctx)}/dead-letters/${ctx.deadLetterId}/replay` }),
  },
  'POST /v1/workspaces/{workspaceId}/dead-letters/{deadLetterId}/discard': {
    // The first allowed caller discards it; later ones find it closed (409).
    auth: { permission: 'manage_connections' },
    request: (ctx, c) =>
      withCaller(c, { method: 'POST', url: `${ws(ctx)}/dead-letters/${ctx.deadLetterId}/discard` }),
  },
};

/** Connections (credentials are not needed: no call reaches a platform), a run and a dead letter, as the owner. */
async function insertCollectionRows(
  db: TestDatabase,
  workspaceId: string,
): Promise<Pick<Ctx, 'connectionId' | 'disposableConnectionId' | 'syncRunId' | 'deadLetterId'>> {
  const { rows: connections } = await db.adminPool.query<{ id: string }>(
    `INSERT INTO platform_connections (workspace_id, platform, external_account_id, handle, status, next_sync_at)
     VALUES ($1, 'x', 'matrix-1', 'matrix_one', 'active', now() + interval '1 day'), ($1, 'x', 'matrix-2', 'matrix_two', 'active', now() + interval '1 day') RETURNING id`,
    [workspaceId],
  );
  const connectionId = connections[0]?.id ?? '';
  const { rows: runs } = await db.adminPool.query<{ id: string }>(
    `INSERT INTO sync_runs (workspace_id, connection_id, kind, trigger, status) VALUES ($1, $2, 'posts', 'manual', 'completed') RETURNING id`,
    [workspaceId, connectionId],
  );
  const { rows: letters } = await db.adminPool.query<{ id: string }>(
    `INSERT INTO dead_letters (workspace_id, connection_id, operation, request, error, attempts) VALUES ($1, $2, 'list_posts', '{}', '{}', 4) RETURNING id::text AS id`,
    [workspaceId, connectionId],
  );
  return {
    connectionId,
    disposableConnectionId: connections[1]?.id ?? '',
    syncRunId: runs[0]?.id ?? '',
    deadLetterId: letters[0]?.id ?? '',
  };
}

/** Who calls, and what that means for workspace A. */
interface MatrixCaller {
  caller: Caller;
  /** A credential that must be refused outright (revoked or expired key). */
  dead?: boolean;
  role?: Role;
  scope?: ApiKeyScope;
  /** Signed in or keyed, but for another workspace. */
  outsider?: boolean;
}

type Expected = 'allowed' | 401 | 403 | 404;

function expectedFor(auth: Classification, c: MatrixCaller): Expected {
  if (auth === 'public') return 'allowed';
  if (c.caller.kind === 'anonymous' || c.dead) return 401;
  if (auth === 'authenticated') return 'allowed';
  if (auth === 'user') return c.caller.kind === 'user' ? 'allowed' : 403;
  if (auth === 'instance_admin') return 403;
  if (c.outsider) return 404;
  if (c.role) return roleAllows(c.role, auth.permission) ? 'allowed' : 403;
  return scopesAllow([c.scope as ApiKeyScope], auth.permission) ? 'allowed' : 403;
}

const errorCodeFor: Record<401 | 403 | 404, string> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
};

describe.skipIf(databaseUnavailable() !== '')('authorization matrix', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let ctx: Ctx;
  let callers: MatrixCaller[];
  let openApiOperations: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Hundreds of calls from one address and a few users: limits are tested elsewhere.
    app = await buildTestApp(db, noRateLimitsAtAll);
    await signUpUser(app); // the instance admin: not part of any tenant below
    const a = await createTenant(app, db);
    const b = await createTenant(app, db);

    const imported = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${a.workspaceId}/imports`,
      headers: { ...a.owner.headers, 'content-type': 'application/x-ndjson' },
      payload: toJsonl([postRecord(), { platform: 'x' }]),
    });
    expect(imported.statusCode, imported.body).toBe(201);
    const importId = imported.json<{ id: string }>().id;
    const posts = await app.inject({
      url: `/v1/workspaces/${a.workspaceId}/posts`,
      headers: a.owner.headers,
    });
    const postId = posts.json<{ data: { id: string }[] }>().data[0]?.id ?? '';
    // No post matches: the analysis completes at submission, so its event stream ends at once.
    const analysis = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${a.workspaceId}/analyses`,
      headers: a.owner.headers,
      payload: { posts: { filter: { q: 'matchesnothing' } } },
    });
    expect(analysis.statusCode, analysis.body).toBe(202);
    const analysisId = analysis.json<{ id: string }>().id;

    const mfaUser = await signUpUser(app);
    const mfaId = userIdOf(mfaUser);
    const start = await app.inject({
      method: 'POST',
      url: '/v1/auth/mfa/totp',
      headers: mfaUser.headers,
    });
    const confirmed = await app.inject({
      method: 'POST',
      url: '/v1/auth/mfa/totp/confirm',
      headers: mfaUser.headers,
      payload: { code: totpCode(start.json<{ secret: string }>().secret) },
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);

    const collection = await insertCollectionRows(db, a.workspaceId);

    ctx = {
      app,
      db,
      a,
      postId,
      importId,
      analysisId,
      ...collection,
      signInUser: await signUpUser(app),
      mfaUser: { id: mfaId },
      resetUser: await signUpUser(app),
    };
    callers = [
      { caller: anonymous },
      { caller: asUser('owner', a.owner), role: 'owner' },
      { caller: asUser('admin', a.admin), role: 'admin' },
      { caller: asUser('analyst', a.analyst), role: 'analyst' },
      { caller: asUser('viewer', a.viewer), role: 'viewer' },
      { caller: asUser('owner of another workspace', b.owner), outsider: true },
      { caller: asUser('viewer of another workspace', b.viewer), outsider: true },
      { caller: asKey('read key', a.keys.read), scope: 'read' },
      { caller: asKey('write key', a.keys.write), scope: 'write' },
      { caller: asKey('admin key', a.keys.admin), scope: 'admin' },
      { caller: asKey('revoked key', a.revokedKey), dead: true },
      { caller: asKey('expired key', a.expiredKey), dead: true },
      {
        caller: asKey('admin key of another workspace', b.keys.admin),
        outsider: true,
        scope: 'admin',
      },
    ];

    const doc = (await app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const methods = new Set(['get', 'post', 'put', 'patch', 'delete']);
    openApiOperations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => methods.has(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      );
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('classifies every /v1 operation of the OpenAPI document, and nothing else', () => {
    const unclassified = openApiOperations
      .filter((op) => !(op in ROUTES))
      .map((op) => `${op}: classify it in ROUTES`);
    const stale = Object.keys(ROUTES)
      .filter((op) => !openApiOperations.includes(op))
      .map((op) => `${op}: no longer in the OpenAPI document`);
    expect([...unclassified, ...stale]).toEqual([]);
  });

  it('documents every registered /v1 route in OpenAPI (none hidden from this test)', () => {
    const registered = registeredRoutes(app)
      .filter((r) => r.url.startsWith('/v1/'))
      .map((r) => `${r.method} ${toOpenApiPath(r.url).replace(/\/$/, '')}`);
    expect(registered.filter((op) => !openApiOperations.includes(op))).toEqual([]);
  });

  it('the key callers are what they claim: the expired key is expired, the revoked one revoked', async () => {
    const { rows } = await db.adminPool.query<{ id: string; expired: boolean; revoked: boolean }>(
      'SELECT id, expires_at < now() AS expired, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = ANY($1)',
      [[ctx.a.expiredKey.id, ctx.a.revokedKey.id]],
    );
    expect(rows.find((r) => r.id === ctx.a.expiredKey.id)).toMatchObject({
      expired: true,
      revoked: false,
    });
    expect(rows.find((r) => r.id === ctx.a.revokedKey.id)).toMatchObject({ revoked: true });
  });

  it.each(Object.entries(ROUTES))('%s answers every caller as classified', async (op, spec) => {
    const mismatches: string[] = [];
    const publicStatuses = new Set<number>();
    for (const c of callers) {
      const options = await spec.request(ctx, c.caller);
      const res = await app.inject(options);
      const expected = expectedFor(spec.auth, c);
      const what = `${c.caller.name}: expected ${String(expected)}, got ${res.statusCode} ${res.body.slice(0, 200)}`;
      if (res.statusCode >= 500) {
        mismatches.push(what);
      } else if (expected === 'allowed') {
        // A public route's answer is fixed by its input (e.g. setup is refused once accounts exist).
        if (spec.publicStatus !== undefined) {
          if (res.statusCode !== spec.publicStatus)
            mismatches.push(`${what} (public route answers ${spec.publicStatus})`);
        } else if ([401, 403, 404].includes(res.statusCode)) {
          mismatches.push(what);
        }
        publicStatuses.add(res.statusCode);
      } else if (
        res.statusCode !== expected ||
        res.json<{ error?: { code?: string } }>().error?.code !== errorCodeFor[expected]
      ) {
        mismatches.push(what);
      }
    }
    if (spec.auth === 'public')
      expect(publicStatuses.size, `${op}: a public route answers the same whoever calls`).toBe(1);
    expect(mismatches, op).toEqual([]);
  });
});
