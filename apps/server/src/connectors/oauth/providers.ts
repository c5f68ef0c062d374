import type { Platform } from '@socialpulse/contracts';
import { GRAPH_API } from '../instagram/client.js';
import { REDDIT_API } from '../reddit/client.js';
import { TIKTOK_API } from '../tiktok/client.js';
import { X_API } from '../x/client.js';
import { YOUTUBE_API } from '../youtube/client.js';

/**
 * What SocialPulse knows about each platform's OAuth 2.0 authorization-code flow (sources:
 * ../shared/fixtures/PLATFORM-APIS.md). Three of them deviate from RFC 6749 in ways a generic
 * OAuth library would refuse (TikTok's `client_key`, Meta's GET token exchange without a refresh
 * token, Reddit's errors inside a 200), so the knowledge is written down here, per platform.
 *
 * Endpoints are given twice: the production URL, and the path below the connector's base URL
 * used when that base is overridden (the simulator, a Mastodon instance), because in production
 * the consent page and the token endpoint live on other hosts than the API.
 */
export interface OAuthProvider {
  platform: Platform;
  authorize: { url: string; path: string };
  token: { url: string; path: string; method: 'POST' | 'GET' };
  /** The API the connector talks to by default (for `whoAmI` calls). */
  apiBase: string;
  scopes: readonly string[];
  scopeSeparator: ' ' | ',';
  /** TikTok names the client id `client_key`. */
  clientIdParam: 'client_id' | 'client_key';
  /** How the client authenticates at the token endpoint. */
  clientAuth: 'basic' | 'body' | 'query';
  /** PKCE (S256) is sent where the platform requires or accepts it. */
  pkce: boolean;
  extraAuthorizeParams: Readonly<Record<string, string>>;
  /**
   * How an access token is renewed: a refresh-token grant, Meta's re-exchange of a still-valid
   * long-lived token, or not at all (Mastodon tokens do not expire).
   */
  renewal: 'refresh_token' | 'exchange' | 'none';
  /** The platform issues a new refresh token on every refresh and kills the old one. */
  rotatesRefreshTokens: boolean;
  /** Meta: the code yields a 1-hour token to exchange at once for a 60-day one. */
  exchangeForLongLived: boolean;
  /** Mastodon: client credentials are registered per instance (POST /api/v1/apps), not configured. */
  dynamicRegistration: boolean;
  /**
   * Token revocation (RFC 7009 or the platform's own): called when a connection is removed, so the
   * grant dies at the platform too. `client`: whether the client authenticates (as at the token
   * endpoint); `tokens`: which tokens the endpoint takes, in the order to send them (TikTok's
   * takes only the access token). Null where the platform has none for these tokens (Meta).
   */
  revoke: {
    url: string;
    path: string;
    client: boolean;
    tokens: readonly ('refresh_token' | 'access_token')[];
  } | null;
}

const provider = (p: OAuthProvider): OAuthProvider => p;

export const oauthProviders: Partial<Record<Platform, OAuthProvider>> = {
  x: provider({
    platform: 'x',
    authorize: { url: 'https://x.com/i/oauth2/authorize', path: '/i/oauth2/authorize' },
    token: { url: `${X_API}/2/oauth2/token`, path: '/2/oauth2/token', method: 'POST' },
    apiBase: X_API,
    // offline.access: without it X issues no refresh token and the connection dies after 2 hours.
    scopes: ['tweet.read', 'users.read', 'offline.access'],
    scopeSeparator: ' ',
    clientIdParam: 'client_id',
    clientAuth: 'basic',
    pkce: true,
    extraAuthorizeParams: {},
    renewal: 'refresh_token',
    rotatesRefreshTokens: true,
    exchangeForLongLived: false,
    dynamicRegistration: false,
    revoke: {
      url: `${X_API}/2/oauth2/revoke`,
      path: '/2/oauth2/revoke',
      client: true,
      tokens: ['refresh_token', 'access_token'],
    },
  }),
  youtube: provider({
    platform: 'youtube',
    authorize: { url: 'https://accounts.google.com/o/oauth2/v2/auth', path: '/o/oauth2/v2/auth' },
    token: { url: 'https://oauth2.googleapis.com/token', path: '/token', method: 'POST' },
    apiBase: YOUTUBE_API,
    scopes: ['https://www.googleapis.com/auth/youtube.readonly'],
    scopeSeparator: ' ',
    clientIdParam: 'client_id',
    clientAuth: 'body',
    pkce: true,
    // offline + consent: Google returns a refresh token only then (and again on every re-consent).
    extraAuthorizeParams: {
      access_type: 'offline',
      prompt: 'consent',
      include_granted_scopes: 'true',
    },
    renewal: 'refresh_token',
    rotatesRefreshTokens: false,
    exchangeForLongLived: false,
    dynamicRegistration: false,
    revoke: {
      url: 'https://oauth2.googleapis.com/revoke',
      path: '/revoke',
      client: false,
      tokens: ['refresh_token', 'access_token'],
    },
  }),
  instagram: provider({
    platform: 'instagram',
    authorize: {
      url: `${GRAPH_API.replace('graph.facebook.com', 'www.facebook.com')}/dialog/oauth`,
      path: '/dialog/oauth',
    },
    token: { url: `${GRAPH_API}/oauth/access_token`, path: '/oauth/access_token', method: 'GET' },
    apiBase: GRAPH_API,
    scopes: [
      'instagram_basic',
      'instagram_manage_insights',
      'pages_show_list',
      'pages_read_engagement',
    ],
    scopeSeparator: ',',
    clientIdParam: 'client_id',
    clientAuth: 'query',
    pkce: false,
    extraAuthorizeParams: {},
    renewal: 'exchange',
    rotatesRefreshTokens: false,
    exchangeForLongLived: true,
    dynamicRegistration: false,
    revoke: null,
  }),
  tiktok: provider({
    platform: 'tiktok',
    authorize: { url: 'https://www.tiktok.com/v2/auth/authorize/', path: '/v2/auth/authorize/' },
    token: { url: `${TIKTOK_API}/v2/oauth/token/`, path: '/v2/oauth/token/', method: 'POST' },
    apiBase: TIKTOK_API,
    scopes: ['user.info.basic', 'user.info.stats', 'video.list'],
    scopeSeparator: ',',
    clientIdParam: 'client_key',
    clientAuth: 'body',
    // TikTok's web flow has no PKCE (its desktop flow uses a non-standard hex challenge).
    pkce: false,
    extraAuthorizeParams: {},
    renewal: 'refresh_token',
    rotatesRefreshTokens: true,
    exchangeForLongLived: false,
    dynamicRegistration: false,
    revoke: {
      url: `${TIKTOK_API}/v2/oauth/revoke/`,
      path: '/v2/oauth/revoke/',
      client: true,
      tokens: ['access_token'],
    },
  }),
  mastodon: provider({
    platform: 'mastodon',
    // Per instance: the URLs are always the instance's own.
    authorize: { url: '', path: '/oauth/authorize' },
    token: { url: '', path: '/oauth/token', method: 'POST' },
    apiBase: '',
    scopes: ['read'],
    scopeSeparator: ' ',
    clientIdParam: 'client_id',
    clientAuth: 'body',
    pkce: true,
    extraAuthorizeParams: {},
    renewal: 'none',
    rotatesRefreshTokens: false,
    exchangeForLongLived: false,
    dynamicRegistration: true,
    revoke: { url: '', path: '/oauth/revoke', client: true, tokens: ['access_token'] },
  }),
  reddit: provider({
    platform: 'reddit',
    authorize: { url: 'https://www.reddit.com/api/v1/authorize', path: '/api/v1/authorize' },
    token: {
      url: 'https://www.reddit.com/api/v1/access_token',
      path: '/api/v1/access_token',
      method: 'POST',
    },
    apiBase: REDDIT_API,
    scopes: ['identity', 'read', 'history'],
    scopeSeparator: ' ',
    clientIdParam: 'client_id',
    clientAuth: 'basic',
    pkce: false,
    // permanent: a refresh token; without it the connection dies with its first access token.
    extraAuthorizeParams: { duration: 'permanent' },
    renewal: 'refresh_token',
    rotatesRefreshTokens: false,
    exchangeForLongLived: false,
    dynamicRegistration: false,
    revoke: {
      url: 'https://www.reddit.com/api/v1/revoke_token',
      path: '/api/v1/revoke_token',
      client: true,
      tokens: ['refresh_token', 'access_token'],
    },
  }),
};

export const oauthPlatforms = (): Platform[] => Object.keys(oauthProviders) as Platform[];

/** The provider's endpoints, below `baseUrl` when the connector's base is overridden or per instance. */
export function oauthEndpoints(
  p: OAuthProvider,
  baseUrl: string | undefined,
): { authorize: string; token: string; api: string; revoke: string | null } {
  if (baseUrl === undefined)
    return {
      authorize: p.authorize.url,
      token: p.token.url,
      api: p.apiBase,
      revoke: p.revoke?.url || null,
    };
  const base = baseUrl.replace(/\/+$/, '');
  return {
    authorize: `${base}${p.authorize.path}`,
    token: `${base}${p.token.path}`,
    api: base,
    revoke: p.revoke ? `${base}${p.revoke.path}` : null,
  };
}
