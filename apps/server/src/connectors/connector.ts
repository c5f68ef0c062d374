import type { ImportRecord, MediaType, MetricName, Platform } from '@socialpulse/contracts';
import type { HttpClient, HttpRequest, HttpResponse, PlatformProfile } from './http/http-client.js';

/**
 * The one interface every platform connector implements. Connectors read; they never store.
 * The sync service (domain/) turns their results into posts, metric snapshots and sync reports.
 */
export interface Connector {
  readonly platform: Platform;
  readonly capabilities: ConnectorCapabilities;
  /** A handle (`@name`, `name`, `user@instance`) or a platform id → the account's identity. */
  resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount>;
  /**
   * One page of the account's posts, newest first, from `cursor` (null = the newest page).
   * Incremental sync: pass `since` and the connector stops (hasMore=false) once it reaches older posts.
   */
  listPosts(
    account: AccountKey,
    cursor: string | null,
    ctx: ConnectorContext,
    options?: ListPostsOptions,
  ): Promise<PostPage>;
  /** Current metrics of known posts, batched as the platform allows; unknown ids come back as gaps. */
  refreshMetrics(externalIds: readonly string[], ctx: ConnectorContext): Promise<MetricsResult>;
  /** Comments on one post, where the platform allows it (else a ConnectorError `forbidden`). */
  listComments(
    postExternalId: string,
    cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage>;
}

export interface ConnectorCapabilities {
  comments: boolean;
  /** Batch size of refreshMetrics calls. */
  metricsBatchSize: number;
  /** The platform stops listing past this many posts (X: 3,200, Reddit: ~1,000), null if none known. */
  historyLimit: number | null;
}

/**
 * A credential as the connectors see it. `id` is a stable, non-secret key (the stored
 * credential's id) for budgets, breakers and caches; the secrets go only into headers.
 */
export interface Credential {
  id: string;
  /** OAuth access token or app bearer token, sent as `Authorization: Bearer`. */
  accessToken?: string;
  /** YouTube API key, sent as `x-goog-api-key` (never in the URL). */
  apiKey?: string;
}

export interface ConnectorContext {
  credential: Credential;
  signal?: AbortSignal;
}

/**
 * A GET on a platform, with the sync's credential and cancellation. `endpoint` is the route
 * template (`/2/users/:id/tweets`) that budgets, metrics and errors are keyed by; `url` the
 * address itself.
 */
export function getOnPlatform(
  http: HttpClient,
  profile: PlatformProfile,
  ctx: ConnectorContext,
  endpoint: string,
  url: string,
  query: HttpRequest['query'],
): Promise<HttpResponse> {
  return http.request(profile, {
    endpoint: `GET ${endpoint}`,
    url,
    query,
    credential: ctx.credential,
    signal: ctx.signal,
  });
}

export type AccountRef = { handle: string; id?: undefined } | { id: string; handle?: undefined };

export interface AccountKey {
  externalId: string;
  handle?: string | null;
  /** ResolvedAccount.extra, when the platform needs it (YouTube's uploads playlist). */
  extra?: Record<string, string>;
}

export interface ResolvedAccount {
  platform: Platform;
  externalId: string;
  handle: string | null;
  displayName: string | null;
  /** Platform-specific fields other calls need (YouTube's uploads playlist id). */
  extra: Record<string, string>;
  raw: unknown;
}

export interface ListPostsOptions {
  /** ISO 8601: stop at posts created before this instant. */
  since?: string;
  pageSize?: number;
}

export type MetricValues = Record<MetricName, number | null>;

/** One post in the common model, with the metrics observed by this fetch and the raw record. */
export interface CollectedPost {
  platform: Platform;
  external_id: string;
  account_external_id: string | null;
  account_handle: string | null;
  author: string | null;
  created_at: string;
  text: string | null;
  language: string | null;
  url: string | null;
  media_type: MediaType | null;
  metrics: MetricValues;
  /** When these metrics were observed: the fetch time (a metric snapshot). */
  metrics_captured_at: string;
  raw: unknown;
}

export interface MetricSnapshot extends MetricValues {
  platform: Platform;
  external_id: string;
  captured_at: string;
  raw: unknown;
}

export interface CollectedComment {
  platform: Platform;
  external_id: string;
  post_external_id: string;
  author: string | null;
  text: string | null;
  created_at: string | null;
  likes: number | null;
  raw: unknown;
}

/** Why something was not collected. Stable codes; `detail` is for humans. */
export const gapReasons = [
  'not_found',
  'deleted',
  'suspended',
  'forbidden',
  'partial',
  'unmappable',
  'metrics_unavailable',
  'insights_unavailable',
  'history_limit',
  'not_supported',
] as const;
export type GapReason = (typeof gapReasons)[number];

export interface Gap {
  reason: GapReason;
  /** The post, account or resource concerned, when known. */
  resourceId: string | null;
  detail: string;
}

/**
 * The gaps of the ids a metrics refresh asked for and the answer did not hold: deleted, unless
 * the answer also held an item without an id, which could be any of them (then `unmappable`,
 * so that no existing post leaves the refresh plan for a platform's malformed item).
 */
export function missingFromAnswer(
  asked: Iterable<string>,
  returned: (id: string) => boolean,
  anyWithoutId: boolean,
  words: { withoutId: (id: string) => string; notReturned: (id: string) => string },
): Gap[] {
  const gaps: Gap[] = [];
  for (const id of asked)
    if (!returned(id))
      gaps.push(
        anyWithoutId
          ? { reason: 'unmappable', resourceId: id, detail: words.withoutId(id) }
          : { reason: 'deleted', resourceId: id, detail: words.notReturned(id) },
      );
  return gaps;
}

export interface PostPage {
  posts: CollectedPost[];
  nextCursor: string | null;
  hasMore: boolean;
  gaps: Gap[];
}

export interface MetricsResult {
  snapshots: MetricSnapshot[];
  gaps: Gap[];
}

export interface CommentPage {
  comments: CollectedComment[];
  nextCursor: string | null;
  hasMore: boolean;
  gaps: Gap[];
}

export const emptyMetrics = (): MetricValues => ({
  likes: null,
  comments: null,
  shares: null,
  views: null,
  saves: null,
  impressions: null,
});

/** The post in the generic import format (what `posts-import` stores); the raw record travels beside it. */
export function toImportRecord(post: CollectedPost): ImportRecord {
  return {
    platform: post.platform,
    external_id: post.external_id,
    created_at: post.created_at,
    account_handle: post.account_handle,
    account_external_id: post.account_external_id,
    author: post.author,
    text: post.text,
    language: post.language,
    url: post.url,
    media_type: post.media_type,
    ...post.metrics,
    metrics_captured_at: post.metrics_captured_at,
  };
}

export function snapshotOf(post: CollectedPost): MetricSnapshot {
  return {
    platform: post.platform,
    external_id: post.external_id,
    captured_at: post.metrics_captured_at,
    ...post.metrics,
    raw: post.raw,
  };
}
