import { createHash } from 'node:crypto';
import type { Platform } from '@socialpulse/contracts';
import { isConnectorError } from '../../connectors/errors.js';
import {
  authorizationUrl,
  createPkce,
  createState,
  exchangeCode,
  registerMastodonClient,
  whoAmI,
  type OAuthClientCredentials,
} from '../../connectors/oauth/oauth-client.js';
import {
  oauthEndpoints,
  oauthPlatforms,
  oauthProviders,
  type OAuthProvider,
} from '../../connectors/oauth/providers.js';
import { AppError, validationFailed } from '../../errors.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import type { Connection } from '../../db/repos/connections.repo.js';
import {
  consumeOAuthState,
  findRegisteredClient,
  insertOAuthState,
  insertRegisteredClient,
  type OAuthFlow,
} from '../../db/repos/oauth.repo.js';
import { findRole } from '../../db/repos/memberships.repo.js';
import { withTenant } from '../../db/tenant.js';
import { roleAllows } from '../auth/permissions.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { ConnectorProvider } from '../collection/connectors.js';
import { storeConnection } from '../collection/connections.service.js';
import { storedCredentialsOf } from './credentials.js';

export interface OAuthDeps {
  pool: Pool;
  secretBox: SecretBox;
  connectors: ConnectorProvider;
  stateTtlSeconds: number;
  now?: () => Date;
}

export interface OAuthStart {
  platform: Platform;
  /** Mastodon: the instance (`mastodon.social` or `https://mastodon.social`). */
  instance?: string | undefined;
  /** Left out: a reconnected account keeps its interval, a new connection gets the default. */
  pollMinutes?: number | undefined;
  /** A path of this SocialPulse to send the browser back to (`/connections`); never another origin. */
  returnTo?: string | undefined;
}

const stateHash = (state: string): Buffer => createHash('sha256').update(state).digest();
const verifierContext = (hash: Buffer): string => `oauth_state:${hash.toString('hex')}`;

/** `https://host[:port][/path]` of a Mastodon instance, from what the user typed (https unless said otherwise). */
export function normaliseInstance(value: string): string {
  const trimmed = value.trim().replace(/\/+$/, '');
  const withScheme = /^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw validationFailed(
      `"${value}" is not a Mastodon instance (expected a host such as mastodon.social)`,
      { field: 'instance', value },
    );
  }
  if (
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== '' ||
    !/^[a-z0-9.-]+$/i.test(url.hostname)
  )
    throw validationFailed(
      `"${value}" is not a Mastodon instance (expected a host such as mastodon.social)`,
      { field: 'instance', value },
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The server will call the instance (app registration, tokens), so an instance is a public https
 * host: not http, not localhost, not an IP literal (the cloud metadata address, internal
 * services). The configured Mastodon base URL (the simulator, a proxy) is the one exception.
 * A name that resolves to an internal address is refused later, at connect time, by the HTTP
 * layer (connectors/http/public-address.ts), which no name check can replace.
 */
export function allowedInstance(instance: string, configured: string | undefined): string {
  if (configured !== undefined && instance === configured.replace(/\/+$/, '')) return instance;
  const url = new URL(instance);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = /^[\d.]+$/.test(host) || host.includes(':');
  if (
    url.protocol !== 'https:' ||
    literal ||
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.local') ||
    host.endsWith('.internal') ||
    !host.includes('.')
  )
    throw validationFailed(
      `"${instance}" is not a public Mastodon instance (https and a host name, such as mastodon.social)`,
      { field: 'instance', value: instance },
    );
  return instance;
}

/** A stand-in origin to resolve paths against: only what stays on it is a path of this site. */
const PATH_ORIGIN = 'http://socialpulse.invalid';

/**
 * `value` as a browser at this SocialPulse would follow it, normalised as the URL parser does
 * (dot segments, tabs and line breaks, backslashes), or null when that would leave this site or
 * could be read as another site's address: `/.//evil.example` normalises to `//evil.example`, a
 * protocol-relative address, so the check is on the normalised path, not on what was given.
 * Encoded slashes and backslashes at the start are refused too: a router that decodes the path
 * before following it would turn `/%2F%2Fevil.example` into the same thing.
 */
export function sameOriginPath(value: string): string | null {
  // Control characters and backslashes are never in a path this application hands out; the URL
  // parser would drop or reinterpret them, which is how the tricks above work.
  if (!value.startsWith('/') || /[\p{Cc}\\]/u.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, PATH_ORIGIN);
  } catch {
    return null;
  }
  if (url.origin !== PATH_ORIGIN || !/^\/(?![/\\]|%2f|%5c)/i.test(url.pathname)) return null;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** Only a path of this application: `//evil.example` and `https://…` would be open redirects. */
export function safeReturnPath(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const path = value.length > 512 ? null : sameOriginPath(value);
  if (path === null || path.length > 1024)
    throw validationFailed('return_to must be a path of this SocialPulse, such as /connections', {
      field: 'return_to',
      value: value.slice(0, 512),
    });
  return path;
}

function providerOf(platform: string): OAuthProvider {
  const provider = oauthProviders[platform as Platform];
  if (!provider)
    throw new AppError(
      'oauth_not_configured',
      `${platform} has no OAuth flow (OAuth platforms: ${oauthPlatforms().join(', ')}); connect it with a token instead`,
      {
        details: { platform, oauth_platforms: oauthPlatforms() },
      },
    );
  return provider;
}

function configuredClient(
  connectors: ConnectorProvider,
  platform: Platform,
): OAuthClientCredentials {
  const client = connectors.oauthClient(platform);
  if (!client) {
    const names: Partial<Record<Platform, string>> = {
      x: 'X_CLIENT_ID and X_CLIENT_SECRET',
      youtube: 'YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET',
      instagram: 'META_APP_ID and META_APP_SECRET',
      tiktok: 'TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET',
      reddit: 'REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET',
    };
    throw new AppError(
      'oauth_not_configured',
      `No OAuth client is configured for ${platform}: the operator sets ${names[platform] ?? 'its client id and secret'}`,
      { details: { platform } },
    );
  }
  return client;
}

/** Mastodon: the client SocialPulse registered with this instance, registering it the first time. */
async function instanceClient(
  deps: OAuthDeps,
  c: PoolClient,
  instance: string,
  redirectUri: string,
  provider: OAuthProvider,
): Promise<OAuthClientCredentials> {
  const known = await findRegisteredClient(c, provider.platform, instance, redirectUri);
  if (known)
    return {
      clientId: known.clientId,
      clientSecret: deps.secretBox.decrypt(
        known.clientSecretSealed,
        `oauth_client:${provider.platform}:${instance}`,
      ),
    };
  const registered = await registerMastodonClient(deps.connectors.http, instance, {
    redirectUri,
    scopes: provider.scopes,
    clientName: 'SocialPulse',
  });
  const stored = await insertRegisteredClient(c, provider.platform, instance, redirectUri, {
    clientId: registered.clientId,
    clientSecretSealed: deps.secretBox.encrypt(
      registered.clientSecret,
      `oauth_client:${provider.platform}:${instance}`,
    ),
  });
  return stored.clientId === registered.clientId
    ? registered
    : {
        clientId: stored.clientId,
        clientSecret: deps.secretBox.decrypt(
          stored.clientSecretSealed,
          `oauth_client:${provider.platform}:${instance}`,
        ),
      };
}

function endpointsFor(
  deps: OAuthDeps,
  provider: OAuthProvider,
  instance: string | null,
): ReturnType<typeof oauthEndpoints> {
  return oauthEndpoints(
    provider,
    provider.dynamicRegistration
      ? (instance ?? undefined)
      : deps.connectors.baseUrl(provider.platform),
  );
}

/**
 * Starts an authorization-code flow: remembers the flow under the SHA-256 of a fresh 256-bit
 * state (the PKCE verifier sealed), and returns the platform's consent URL for the browser.
 */
export async function startOAuth(
  deps: OAuthDeps,
  c: PoolClient,
  scope: { workspaceId: string; userId: string | null },
  input: OAuthStart,
  redirectUri: string,
): Promise<{ authorizationUrl: string; expiresAt: Date }> {
  const provider = providerOf(input.platform);
  const instance = provider.dynamicRegistration
    ? allowedInstance(
        normaliseInstance(input.instance ?? ''),
        deps.connectors.baseUrl(provider.platform),
      )
    : null;
  if (!provider.dynamicRegistration && input.instance !== undefined)
    throw validationFailed(`instance is only for Mastodon, not ${input.platform}`, {
      field: 'instance',
    });
  const returnTo = safeReturnPath(input.returnTo);
  const client =
    instance !== null
      ? await instanceClient(deps, c, instance, redirectUri, provider)
      : configuredClient(deps.connectors, provider.platform);
  const state = createState();
  const hash = stateHash(state);
  const pkce = provider.pkce ? createPkce() : null;
  const now = deps.now?.() ?? new Date();
  const expiresAt = new Date(now.getTime() + deps.stateTtlSeconds * 1000);
  const flow: OAuthFlow = {
    workspaceId: scope.workspaceId,
    userId: scope.userId,
    platform: provider.platform,
    codeVerifierSealed: pkce ? deps.secretBox.encrypt(pkce.verifier, verifierContext(hash)) : null,
    redirectUri,
    instance,
    pollMinutes: input.pollMinutes ?? null,
    returnTo,
    scopes: provider.scopes.join(' '),
  };
  await insertOAuthState(c, hash, flow, expiresAt);
  return {
    authorizationUrl: authorizationUrl(provider, endpointsFor(deps, provider, instance), {
      clientId: client.clientId,
      redirectUri,
      state,
      codeChallenge: pkce?.challenge ?? null,
    }),
    expiresAt,
  };
}

export interface OAuthCallback {
  state?: string | undefined;
  code?: string | undefined;
  error?: string | undefined;
  errorDescription?: string | undefined;
}

export interface OAuthCompletion {
  connection: Connection;
  created: boolean;
  returnTo: string | null;
}

/** The failure of a consumed flow, with where to send the browser back to. */
export class OAuthFlowError extends AppError {
  constructor(
    error: AppError,
    readonly returnTo: string | null,
  ) {
    super(error.code, error.message, { details: error.details, cause: error });
  }
}

/**
 * Completes a flow at the platform's redirect: consumes the state once, trades the code for
 * tokens, asks the platform who consented, resolves that account through its connector and
 * stores the connection with its tokens sealed. Every refusal says what went wrong; the tokens
 * never appear in an error, a log line or the audit log.
 */
export async function completeOAuth(
  deps: OAuthDeps,
  platform: string,
  callback: OAuthCallback,
  request: {
    ip: string | null;
    requestId: string | null;
    /** The SocialPulse user whose session the browser carries at the callback, if any. */
    signedInUserId?: string | null;
  },
): Promise<OAuthCompletion> {
  const provider = providerOf(platform);
  if (!callback.state || callback.state.length > 512)
    throw new AppError(
      'oauth_state_invalid',
      'The platform came back without the state of a flow SocialPulse started; start connecting again',
    );
  const hash = stateHash(callback.state);
  const flow = await withTenant(deps.pool, { workspaceId: null, userId: null }, (c) =>
    consumeOAuthState(c, hash),
  );
  if (!flow || flow.platform !== provider.platform)
    throw new AppError(
      'oauth_state_invalid',
      'This sign-in link was already used, or was not started here; start connecting again',
      { details: { platform } },
    );
  const fail = (error: AppError): OAuthFlowError => new OAuthFlowError(error, flow.returnTo);
  // A consent link is not bound to a browser (the flow may be started by a script and finished
  // in any browser), so someone could send theirs to another person, whose account would land in
  // the sender's workspace. A browser signed in to this instance as someone else says so: refused
  // (the state is spent, so the link is dead). A flow an API key started has no user: the
  // signed-in person must then be one who may connect accounts to that workspace.
  const signedIn = request.signedInUserId ?? null;
  const mayFinish = async (userId: string): Promise<boolean> => {
    if (flow.userId !== null) return userId === flow.userId;
    const role = await withTenant(deps.pool, { workspaceId: flow.workspaceId, userId }, (c) =>
      findRole(c, flow.workspaceId, userId),
    );
    return role !== null && roleAllows(role, 'manage_connections');
  };
  if (signedIn !== null && !(await mayFinish(signedIn)))
    throw fail(
      new AppError(
        'forbidden',
        'This sign-in link was started by someone else, for a workspace where you may not connect accounts: the account was not connected. Connect it from your own workspace',
        { details: { platform, reason: 'flow_of_another_user' } },
      ),
    );
  if (flow.expired)
    throw fail(
      new AppError(
        'oauth_state_invalid',
        'The sign-in took too long and expired; start connecting again',
        { details: { platform } },
      ),
    );
  if (callback.error !== undefined)
    throw fail(
      new AppError(
        'oauth_denied',
        `${platform} did not grant access: ${callback.error}${callback.errorDescription ? ` (${callback.errorDescription.slice(0, 300)})` : ''}`,
        { details: { platform, error: callback.error.slice(0, 100) } },
      ),
    );
  if (!callback.code || callback.code.length > 4096)
    throw fail(
      new AppError('oauth_state_invalid', `${platform} came back without an authorization code`, {
        details: { platform },
      }),
    );

  const scope = { workspaceId: flow.workspaceId, userId: null };
  const endpoints = endpointsFor(deps, provider, flow.instance);
  try {
    const client =
      flow.instance !== null
        ? await withTenant(deps.pool, scope, (c) =>
            instanceClient(deps, c, flow.instance ?? '', flow.redirectUri, provider),
          )
        : configuredClient(deps.connectors, provider.platform);
    const codeVerifier =
      flow.codeVerifierSealed === null
        ? null
        : deps.secretBox.decrypt(flow.codeVerifierSealed, verifierContext(hash));
    const tokens = await exchangeCode(
      { http: deps.connectors.http, provider, endpoints, client },
      { code: callback.code, redirectUri: flow.redirectUri, codeVerifier },
    );
    const ref = await whoAmI(deps.connectors.http, provider, endpoints, tokens);
    const connector = deps.connectors.create(provider.platform, undefined, {
      handle: ref.handle ?? null,
    });
    const account = await connector.resolveAccount(ref, {
      credential: {
        id: `oauth-resolve:${hash.toString('hex').slice(0, 16)}`,
        accessToken: tokens.accessToken,
      },
    });
    const credentials = storedCredentialsOf(tokens, deps.now?.() ?? new Date());
    const accountName = ref.handle ?? ref.id;
    return await withTenant(deps.pool, scope, async (c) => {
      const stored = await storeConnection(
        c,
        deps.secretBox,
        flow.workspaceId,
        flow.userId,
        {
          platform: provider.platform,
          account: accountName,
          credentials: {},
          poll_minutes: flow.pollMinutes ?? undefined,
        },
        { account, credentials },
      );
      await insertAuditEntry(c, {
        workspaceId: flow.workspaceId,
        userId: flow.userId,
        actor: flow.userId ? `user:${flow.userId}` : 'oauth',
        action: 'connection.created',
        target: stored.connection.id,
        ip: request.ip,
        requestId: request.requestId,
        details: {
          platform: provider.platform,
          account: stored.connection.handle ?? stored.connection.externalAccountId,
          via: 'oauth',
          reconnected: !stored.created,
          scope: tokens.scope,
        },
      });
      return { connection: stored.connection, created: stored.created, returnTo: flow.returnTo };
    });
  } catch (error) {
    if (isConnectorError(error)) {
      const reason =
        error.platformCode === 'non_public_address'
          ? `${error.message}; SocialPulse calls only public servers`
          : error.kind === 'auth_expired'
            ? `${platform} refused the authorization code (used, expired or for another redirect URI); start connecting again`
            : error.kind === 'forbidden'
              ? `${platform} refused SocialPulse's OAuth client: ${error.message}`
              : error.kind === 'not_found'
                ? error.message
                : `${platform} could not complete the sign-in: ${error.message}`;
      throw fail(
        new AppError(
          error.kind === 'transient' || error.kind === 'circuit_open' ? error.code : 'oauth_denied',
          reason,
          { details: { platform, platform_error: error.toJSON() }, cause: error },
        ),
      );
    }
    if (error instanceof AppError) throw fail(error);
    throw error;
  }
}
