import type { Redis } from 'ioredis';
import type { Platform } from '@socialpulse/contracts';
import type { Connector } from '../../connectors/connector.js';
import {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpResponse,
} from '../../connectors/http/http-client.js';
import { BlueskyConnector } from '../../connectors/bluesky/client.js';
import { InstagramConnector } from '../../connectors/instagram/client.js';
import { MastodonConnector } from '../../connectors/mastodon/client.js';
import { RedditConnector } from '../../connectors/reddit/client.js';
import { TiktokConnector } from '../../connectors/tiktok/client.js';
import { XConnector } from '../../connectors/x/client.js';
import { YoutubeConnector } from '../../connectors/youtube/client.js';
import type { OAuthClientCredentials } from '../../connectors/oauth/oauth-client.js';
import { isConnectorError } from '../../connectors/errors.js';
import { RedisBudgetStore } from '../../connectors/http/redis-budget-store.js';
import type { Config } from '../../config.js';
import { validationFailed } from '../../errors.js';

/**
 * How the collection side gets a connector for a platform. `connectors/` has no registry yet, so
 * this builds the connector classes it has; a platform without one is refused with a clear error. One HttpClient per process: the budgets, breakers and
 * ETags it keeps are shared by every sync of that process.
 */
export interface ConnectorProvider {
  readonly http: HttpClient;
  /** Attempts per request of the HTTP layer (a transient error reported has used them all). */
  readonly maxAttempts: number;
  supports(platform: string): boolean;
  /** A connector for one platform over `http` (a per-run wrapper of `this.http` that counts requests). */
  create(platform: string, http?: HttpClient, options?: ConnectorOptions): Connector;
  /** The configured base URL of a platform's API (the simulator, a proxy); undefined = the platform's own. */
  baseUrl(platform: string): string | undefined;
  /** The OAuth client configured for a platform, if any. */
  oauthClient(platform: string): OAuthClientCredentials | undefined;
}

export interface ConnectorOptions {
  tiktokApi?: 'display' | 'research';
  /** Mastodon: the account's handle `user@instance` names the instance to call. */
  handle?: string | null;
}

export interface ConnectorProviderOptions extends HttpClientOptions {
  /** Base URL per platform (tests: the simulator's). */
  baseUrls?: Partial<Record<Platform, string>>;
  oauthClients?: Partial<Record<Platform, OAuthClientCredentials>>;
  http?: HttpClient;
}

/**
 * The Mastodon instance a connection talks to: the configured base URL (the simulator, a proxy),
 * else the instance its handle `user@instance` names; null when neither says.
 */
export function mastodonInstance(
  configured: string | undefined,
  handle: string | null | undefined,
): string | null {
  if (configured !== undefined) return configured.replace(/\/+$/, '');
  const host = handle?.replace(/^@/, '').split('@')[1];
  return host && /^[a-z0-9.-]+$/i.test(host) ? `https://${host}` : null;
}

const builders: Partial<
  Record<
    Platform,
    (http: HttpClient, baseUrl: string | undefined, options: ConnectorOptions) => Connector
  >
> = {
  x: (http, baseUrl) => new XConnector({ http, ...(baseUrl ? { baseUrl } : {}) }),
  youtube: (http, baseUrl) => new YoutubeConnector({ http, ...(baseUrl ? { baseUrl } : {}) }),
  instagram: (http, baseUrl) => new InstagramConnector({ http, ...(baseUrl ? { baseUrl } : {}) }),
  tiktok: (http, baseUrl, o) =>
    new TiktokConnector({ http, api: o.tiktokApi ?? 'display', ...(baseUrl ? { baseUrl } : {}) }),
  bluesky: (http, baseUrl) => new BlueskyConnector({ http, ...(baseUrl ? { baseUrl } : {}) }),
  mastodon: (http, baseUrl, o) => {
    const instance = mastodonInstance(baseUrl, o.handle);
    if (instance === null)
      throw validationFailed(
        'A Mastodon account is given as user@instance (e.g. @alice@mastodon.social)',
        { field: 'account' },
      );
    return new MastodonConnector({ http, baseUrl: instance });
  },
  reddit: (http, baseUrl) => new RedditConnector({ http, ...(baseUrl ? { baseUrl } : {}) }),
};

export const supportedPlatforms = (): Platform[] => Object.keys(builders) as Platform[];

export function createConnectorProvider(options: ConnectorProviderOptions = {}): ConnectorProvider {
  const { baseUrls = {}, oauthClients = {}, http: given, ...httpOptions } = options;
  const http =
    given ?? createHttpClient({ ...httpOptions, trustedOrigins: Object.values(baseUrls) });
  return {
    http,
    maxAttempts: Math.max(1, options.maxAttempts ?? 4),
    supports: (platform) => platform in builders,
    baseUrl: (platform) => baseUrls[platform as Platform],
    oauthClient: (platform) => oauthClients[platform as Platform],
    create(platform, over = http, connectorOptions = {}) {
      const build = builders[platform as Platform];
      if (!build) {
        throw validationFailed(
          `SocialPulse cannot collect from ${platform} yet (supported: ${supportedPlatforms().join(', ')})`,
          {
            platform,
            supported: supportedPlatforms(),
          },
        );
      }
      return build(over, baseUrls[platform as Platform], connectorOptions);
    },
  };
}

/**
 * The process's provider from configuration: the platforms' base URLs, the OAuth clients, and the
 * rate-limit budgets in Redis when Redis is configured (shared by every API and worker process).
 */
export function connectorProviderFromConfig(
  config: Pick<Config, 'collection'>,
  redis: Redis | null,
  extra: ConnectorProviderOptions = {},
): ConnectorProvider {
  return createConnectorProvider({
    baseUrls: config.collection.baseUrls,
    oauthClients: config.collection.oauthClients,
    ...(redis ? { budgetStore: new RedisBudgetStore(redis) } : {}),
    ...extra,
  });
}

/** An HttpClient that counts the requests (attempts included) that one sync run makes. */
export function countingHttp(inner: HttpClient): { http: HttpClient; count(): number } {
  let requests = 0;
  const http: HttpClient = {
    store: inner.store,
    budgetKey: (profile, endpoint, credential) => inner.budgetKey(profile, endpoint, credential),
    request: async (profile, request): Promise<HttpResponse> => {
      try {
        const response = await inner.request(profile, request);
        requests += response.fromCache ? 1 : response.attempts;
        return response;
      } catch (error) {
        // Only what reached the platform: a request the local budget refused was never sent.
        // An error from outside the HTTP layer's accounting counts as the one request it was.
        requests += isConnectorError(error) && error.requestsSent !== null ? error.requestsSent : 1;
        throw error;
      }
    },
  };
  return { http, count: () => requests };
}
