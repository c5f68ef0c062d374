/** The connectors' public surface: see README.md. */
export * from './connector.js';
export {
  ConnectorError,
  connectorErrorKinds,
  isConnectorError,
  kindRules,
  redactUrl,
  type ConnectorErrorKind,
} from './errors.js';
export {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  type PlatformProfile,
} from './http/http-client.js';
export { InMemoryBudgetStore, type BudgetStore, type BudgetState } from './http/budget-store.js';
export { RedisBudgetStore } from './http/redis-budget-store.js';
export { XConnector } from './x/client.js';
export { YoutubeConnector } from './youtube/client.js';
export { InstagramConnector } from './instagram/client.js';
export { TiktokConnector } from './tiktok/client.js';
export { BlueskyConnector } from './bluesky/client.js';
export { MastodonConnector } from './mastodon/client.js';
export { RedditConnector } from './reddit/client.js';
export {
  replayEnvelope,
  formatResult,
  isEnvelope,
  type Envelope,
  type ReplayResult,
} from './replay/replay.js';
