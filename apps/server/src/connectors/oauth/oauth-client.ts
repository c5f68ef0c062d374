import { createHash, randomBytes } from 'node:crypto';
import type { Platform } from '@socialpulse/contracts';
import type { AccountRef, Credential } from '../connector.js';
import { ConnectorError } from '../errors.js';
import {
  classifyByStatus,
  type HttpClient,
  type HttpResponse,
  type PlatformProfile,
  type RawResponse,
} from '../http/http-client.js';
import { instagramProfile } from '../instagram/profile.js';
import { mastodonProfile } from '../mastodon/profile.js';
import { redditProfile } from '../reddit/profile.js';
import { xProfile } from '../x/profile.js';
import { youtubeProfile } from '../youtube/profile.js';
import type { OAuthProvider } from './providers.js';

/** The app's OAuth client at a platform (configured, or registered per Mastodon instance). */
export interface OAuthClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** What a token endpoint granted, normalised across the platforms' dialects. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  /** ISO 8601; null when the platform says the token does not expire. */
  expiresAt: string | null;
  refreshExpiresAt: string | null;
  scope: string | null;
  tokenType: string | null;
  /** The account the grant is for, when the token response says so (TikTok's open_id). */
  accountId: string | null;
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** RFC 7636: a 256-bit verifier, its S256 challenge. */
export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A 256-bit state: the only thing binding the platform's redirect to the flow that started it. */
export const createState = (): string => randomBytes(32).toString('base64url');

export interface Endpoints {
  authorize: string;
  token: string;
  api: string;
  /** Token revocation, where the platform has it. */
  revoke?: string | null;
}

export function authorizationUrl(
  provider: OAuthProvider,
  endpoints: Endpoints,
  input: {
    clientId: string;
    redirectUri: string;
    state: string;
    codeChallenge: string | null;
    scopes?: readonly string[];
  },
): string {
  const url = new URL(endpoints.authorize);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set(provider.clientIdParam, input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('scope', (input.scopes ?? provider.scopes).join(provider.scopeSeparator));
  url.searchParams.set('state', input.state);
  if (provider.pkce && input.codeChallenge !== null) {
    url.searchParams.set('code_challenge', input.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  for (const [name, value] of Object.entries(provider.extraAuthorizeParams))
    url.searchParams.set(name, value);
  return url.toString();
}

const str = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;
const num = (value: unknown): number | null => {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
};

/**
 * Token endpoints answer in three dialects: RFC 6749 `{error, error_description}` (X, Google,
 * TikTok, Mastodon; Reddit even inside a 200), and Meta's Graph `{error: {message, code, error_subcode}}`.
 * A refused grant (invalid, used, expired, revoked) is `auth_expired`: the user must consent again.
 * A refused client is `forbidden`: the operator's client id or secret is wrong.
 */
export function tokenEndpointProfile(
  platform: Platform,
  grantType: string | null = null,
): PlatformProfile {
  return {
    platform,
    budgetScope: 'credential',
    readBudget: () => null,
    classify(response: RawResponse, context): ConnectorError | null {
      const record = grantOf(response.body);
      const graph =
        record && typeof record.error === 'object' && record.error !== null
          ? (record.error as Record<string, unknown>)
          : null;
      const code = graph
        ? typeof graph.code === 'number' || typeof graph.code === 'string'
          ? graph.code
          : null
        : str(record?.error);
      const description = graph
        ? str(graph.message)
        : (str(record?.error_description) ?? str(record?.message));
      const base = {
        platform,
        endpoint: context.endpoint,
        httpStatus: response.status,
        platformCode: code,
      };
      if (code === null && response.status >= 200 && response.status < 300) {
        if (str(record?.access_token) === null)
          return new ConnectorError(
            'malformed_response',
            `${platform} token endpoint answered without an access_token`,
            base,
          );
        return null;
      }
      const message = `${platform} token endpoint refused the request: ${String(code ?? response.status)}${description ? ` (${description})` : ''}`;
      if (code === 'invalid_grant' || code === 190 || (graph !== null && code === 100))
        return new ConnectorError('auth_expired', message, base);
      // X answers a refresh with a revoked or spent refresh token `invalid_request` ("Value
      // passed for the token was invalid.") where RFC 6749 says invalid_grant. Only that answer
      // to that grant: any other invalid_request is still our request's fault.
      if (
        platform === 'x' &&
        grantType === 'refresh_token' &&
        code === 'invalid_request' &&
        description !== null &&
        /\btoken was invalid\b/i.test(description)
      )
        return new ConnectorError('auth_expired', message, {
          ...base,
          platformCode: 'invalid_token',
        });
      if (
        code === 'invalid_client' ||
        code === 'unauthorized_client' ||
        (graph !== null && code === 1) ||
        response.status === 401
      )
        return new ConnectorError(
          'forbidden',
          `${message}: check the OAuth client id and secret configured for ${platform}`,
          base,
        );
      if (code === 'temporarily_unavailable' || code === 'server_error')
        return new ConnectorError('transient', message, base);
      return (
        classifyByStatus(platform, response.status, context, message, {
          headers: response.headers,
          platformCode: code,
        }) ?? new ConnectorError('bad_request', message, base)
      );
    },
  };
}

/**
 * The revocation endpoint: success is any 2xx (Reddit answers 204, the others `{}` or nothing),
 * and a token the platform already considers dead (`invalid_token`, `invalid_grant`) is revoked
 * as far as anyone can tell; every other refusal is classified as at the token endpoint.
 */
function revocationProfile(platform: Platform): PlatformProfile {
  const tokenEndpoint = tokenEndpointProfile(platform);
  return {
    ...tokenEndpoint,
    classify(response: RawResponse, context): ConnectorError | null {
      const record =
        typeof response.body === 'object' && response.body !== null
          ? (response.body as Record<string, unknown>)
          : null;
      const code = str(record?.error);
      if (code === 'invalid_token' || code === 'invalid_grant') return null;
      if (code === null && response.status >= 200 && response.status < 300) return null;
      return tokenEndpoint.classify(response, context);
    },
  };
}

export interface TokenRequestContext {
  http: HttpClient;
  provider: OAuthProvider;
  endpoints: Endpoints;
  client: OAuthClientCredentials;
  signal?: AbortSignal;
}

/** TikTok's legacy token endpoint wrapped the grant in `data`; every other answers it flat. */
function grantOf(body: unknown): Record<string, unknown> | null {
  if (typeof body !== 'object' || body === null) return null;
  const record = body as Record<string, unknown>;
  const data = record.data;
  if (
    record.access_token === undefined &&
    typeof data === 'object' &&
    data !== null &&
    'access_token' in data
  )
    return data;
  return record;
}

function tokenSetOf(body: unknown, receivedAt: number): TokenSet {
  const r = grantOf(body) ?? {};
  const expiresIn = num(r.expires_in);
  const refreshExpiresIn = num(r.refresh_expires_in);
  return {
    accessToken: str(r.access_token) ?? '',
    refreshToken: str(r.refresh_token),
    expiresAt: expiresIn === null ? null : new Date(receivedAt + expiresIn * 1000).toISOString(),
    refreshExpiresAt:
      refreshExpiresIn === null
        ? null
        : new Date(receivedAt + refreshExpiresIn * 1000).toISOString(),
    // Google has been seen answering the scopes as an array.
    scope: Array.isArray(r.scope)
      ? r.scope.filter((x): x is string => typeof x === 'string').join(' ') || null
      : str(r.scope),
    tokenType: str(r.token_type),
    accountId: str(r.open_id),
  };
}

/** The client's authentication, the platform's way: HTTP Basic, or its id and secret in the form. */
function withClientAuth(
  t: TokenRequestContext,
  form: Record<string, string>,
): { params: Record<string, string>; headers: Record<string, string> } {
  const { provider, client } = t;
  const params: Record<string, string> = { ...form };
  const headers: Record<string, string> = {};
  if (provider.clientAuth === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
  } else {
    params[provider.clientIdParam] = client.clientId;
    params.client_secret = client.clientSecret;
  }
  return { params, headers };
}

/** One call of the token endpoint, sent once: codes are single-use and rotated refresh tokens die on use. */
async function callTokenEndpoint(
  t: TokenRequestContext,
  grant: Record<string, string>,
  secrets: string[],
): Promise<HttpResponse> {
  const { provider, client } = t;
  const { params, headers } = withClientAuth(t, grant);
  const credential: Credential = { id: `oauth-client:${provider.platform}:${client.clientId}` };
  const endpoint = `${provider.token.method} ${provider.token.path}`;
  return t.http.request(tokenEndpointProfile(provider.platform, grant.grant_type ?? null), {
    endpoint,
    method: provider.token.method,
    url: t.endpoints.token,
    ...(provider.token.method === 'GET' ? { query: params } : { form: params }),
    headers,
    credential,
    maxAttempts: 1,
    secrets: [client.clientSecret, ...secrets],
    ...(t.signal ? { signal: t.signal } : {}),
  });
}

/** Trades the authorization code for tokens (and, on Meta, the 1-hour token for a 60-day one). */
export async function exchangeCode(
  t: TokenRequestContext,
  input: { code: string; redirectUri: string; codeVerifier: string | null },
): Promise<TokenSet> {
  const grant: Record<string, string> = {
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: input.redirectUri,
  };
  if (t.provider.pkce && input.codeVerifier !== null) grant.code_verifier = input.codeVerifier;
  const response = await callTokenEndpoint(t, grant, [
    input.code,
    ...(input.codeVerifier ? [input.codeVerifier] : []),
  ]);
  const tokens = tokenSetOf(response.body, response.receivedAt);
  if (!t.provider.exchangeForLongLived) return tokens;
  return exchangeLongLived(t, tokens.accessToken);
}

async function exchangeLongLived(t: TokenRequestContext, accessToken: string): Promise<TokenSet> {
  const response = await callTokenEndpoint(
    t,
    { grant_type: 'fb_exchange_token', fb_exchange_token: accessToken },
    [accessToken],
  );
  return tokenSetOf(response.body, response.receivedAt);
}

/**
 * A new access token from the stored grant. The result carries the refresh token to keep: the
 * new one where the platform rotates (or sends one), else the one given.
 */
export async function renewTokens(
  t: TokenRequestContext,
  current: { accessToken: string | null; refreshToken: string | null },
): Promise<TokenSet> {
  const { provider } = t;
  if (provider.renewal === 'exchange') {
    if (current.accessToken === null)
      throw noRenewal(provider.platform, 'no access token to exchange');
    return exchangeLongLived(t, current.accessToken);
  }
  if (provider.renewal === 'none')
    throw noRenewal(provider.platform, `${provider.platform} tokens are not renewed`);
  if (current.refreshToken === null)
    throw noRenewal(provider.platform, 'no refresh token was granted');
  const response = await callTokenEndpoint(
    t,
    { grant_type: 'refresh_token', refresh_token: current.refreshToken },
    [current.refreshToken],
  );
  const tokens = tokenSetOf(response.body, response.receivedAt);
  return { ...tokens, refreshToken: tokens.refreshToken ?? current.refreshToken };
}

/**
 * An app's own token (OAuth 2.0 client credentials grant): TikTok's Research API is read with
 * the client token of an approved research app, not a user's. Renewed by asking again.
 */
export async function clientCredentialsToken(t: TokenRequestContext): Promise<TokenSet> {
  const response = await callTokenEndpoint(t, { grant_type: 'client_credentials' }, []);
  const tokens = tokenSetOf(response.body, response.receivedAt);
  if (tokens.accessToken === '')
    throw new ConnectorError(
      'malformed_response',
      `${t.provider.platform}: the token endpoint granted no access_token`,
      {
        platform: t.provider.platform,
        endpoint: `${t.provider.token.method} ${t.provider.token.path}`,
      },
    );
  return tokens;
}

/**
 * Revokes one token at the platform (RFC 7009 and the platforms' variants), so a removed
 * connection's grant stops working there too; which tokens a platform takes, and in what order,
 * is `provider.revoke.tokens`. Returns false where the platform has no revocation for these
 * tokens (Meta).
 */
export async function revokeToken(
  t: TokenRequestContext,
  token: string,
  hint: 'access_token' | 'refresh_token',
): Promise<boolean> {
  const { provider, client } = t;
  const url = t.endpoints.revoke;
  if (!provider.revoke || !url) return false;
  const form: Record<string, string> = { token, token_type_hint: hint };
  const { params, headers } = provider.revoke.client
    ? withClientAuth(t, form)
    : { params: form, headers: {} };
  await t.http.request(revocationProfile(provider.platform), {
    endpoint: `POST ${provider.revoke.path}`,
    method: 'POST',
    url,
    form: params,
    headers,
    credential: { id: `oauth-client:${provider.platform}:${client.clientId}` },
    maxAttempts: 2,
    // Only the status matters: platforms answer a revocation with JSON, text or nothing.
    responseBody: 'ignored',
    secrets: [client.clientSecret, token],
    ...(t.signal ? { signal: t.signal } : {}),
  });
  return true;
}

const noRenewal = (platform: Platform, why: string): ConnectorError =>
  new ConnectorError(
    'auth_expired',
    `${platform}: the access token cannot be renewed (${why}); connect the account again`,
    { platform, platformCode: 'no_renewal' },
  );

/** Who consented: an account reference the connector resolves into the full account. */
export async function whoAmI(
  http: HttpClient,
  provider: OAuthProvider,
  endpoints: Endpoints,
  tokens: TokenSet,
  signal?: AbortSignal,
): Promise<AccountRef> {
  const credential: Credential = {
    id: `oauth-identify:${provider.platform}`,
    accessToken: tokens.accessToken,
  };
  const get = async (
    profile: PlatformProfile,
    path: string,
    query: Record<string, string> = {},
  ): Promise<Record<string, unknown>> => {
    const response = await http.request(profile, {
      endpoint: `GET ${path}`,
      url: `${endpoints.api}${path}`,
      query,
      credential,
      ...(signal ? { signal } : {}),
    });
    return (response.body ?? {}) as Record<string, unknown>;
  };
  const malformed = (what: string): ConnectorError =>
    new ConnectorError(
      'malformed_response',
      `${provider.platform}: the answer about the consenting account has no ${what}`,
      { platform: provider.platform },
    );
  switch (provider.platform) {
    case 'x': {
      const body = await get(xProfile, '/2/users/me');
      const username = str((body.data as Record<string, unknown> | undefined)?.username);
      if (username === null) throw malformed('data.username');
      return { handle: username };
    }
    case 'youtube': {
      const body = await get(youtubeProfile, '/youtube/v3/channels', { part: 'id', mine: 'true' });
      const first = Array.isArray(body.items)
        ? (body.items[0] as Record<string, unknown> | undefined)
        : undefined;
      const id = str(first?.id);
      if (id === null)
        throw new ConnectorError(
          'not_found',
          'youtube: the consenting Google account has no YouTube channel',
          { platform: 'youtube', platformCode: 'no_channel' },
        );
      return { id };
    }
    case 'instagram': {
      const body = await get(instagramProfile, '/me/accounts', {
        fields: 'instagram_business_account{id,username}',
      });
      const pages = Array.isArray(body.data) ? (body.data as Record<string, unknown>[]) : [];
      const ig = pages
        .map((p) => p.instagram_business_account as Record<string, unknown> | undefined)
        .find((a) => str(a?.id) !== null);
      const id = str(ig?.id);
      if (id === null)
        throw new ConnectorError(
          'not_found',
          'instagram: none of the Facebook Pages granted has an Instagram professional account linked',
          { platform: 'instagram', platformCode: 'no_instagram_account' },
        );
      return { id };
    }
    case 'tiktok': {
      if (tokens.accountId === null) throw malformed('open_id');
      return { id: tokens.accountId };
    }
    case 'mastodon': {
      const body = await get(mastodonProfile, '/api/v1/accounts/verify_credentials');
      const acct = str(body.acct) ?? str(body.username);
      if (acct === null) throw malformed('acct');
      const host = new URL(endpoints.api).host;
      return { handle: acct.includes('@') ? acct : `${acct}@${host}` };
    }
    case 'reddit': {
      const body = await get(redditProfile, '/api/v1/me');
      const name = str(body.name);
      if (name === null) throw malformed('name');
      return { handle: name };
    }
    default:
      throw new ConnectorError(
        'bad_request',
        `${provider.platform} has no OAuth flow in SocialPulse`,
        { platform: provider.platform },
      );
  }
}

/** Mastodon: registers SocialPulse as an app on the instance (done once per instance and redirect URI). */
export async function registerMastodonClient(
  http: HttpClient,
  instance: string,
  input: { redirectUri: string; scopes: readonly string[]; clientName: string; website?: string },
): Promise<OAuthClientCredentials> {
  const response = await http.request(mastodonProfile, {
    endpoint: 'POST /api/v1/apps',
    method: 'POST',
    url: `${instance.replace(/\/+$/, '')}/api/v1/apps`,
    form: {
      client_name: input.clientName,
      redirect_uris: input.redirectUri,
      scopes: input.scopes.join(' '),
      ...(input.website ? { website: input.website } : {}),
    },
    credential: { id: `oauth-register:mastodon:${instance}` },
    maxAttempts: 1,
  });
  const body = (response.body ?? {}) as Record<string, unknown>;
  const clientId = str(body.client_id);
  const clientSecret = str(body.client_secret);
  if (clientId === null || clientSecret === null)
    throw new ConnectorError(
      'malformed_response',
      `mastodon ${instance}: app registration answered without client_id/client_secret`,
      { platform: 'mastodon', endpoint: 'POST /api/v1/apps' },
    );
  return { clientId, clientSecret };
}
