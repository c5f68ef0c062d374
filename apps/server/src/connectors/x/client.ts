import type {
  AccountKey,
  AccountRef,
  CommentPage,
  Connector,
  ConnectorContext,
  ListPostsOptions,
  MetricsResult,
  PostPage,
  ResolvedAccount,
} from '../connector.js';
import { getOnPlatform, snapshotOf } from '../connector.js';
import { ConnectorError, malformedResponse } from '../errors.js';
import type { HttpClient, HttpResponse } from '../http/http-client.js';
import { asArray, asRecord, asString, asText, toIsoTimestamp } from '../mapping.js';
import { mapXTweets, xErrorGaps } from './mapper.js';
import { xProfile } from './profile.js';

export const X_API = 'https://api.x.com';
const TWEET_FIELDS =
  'created_at,public_metrics,lang,author_id,conversation_id,referenced_tweets,attachments,entities,note_tweet';
const USER_FIELDS = 'username,name,public_metrics';

export interface XConnectorOptions {
  http: HttpClient;
  baseUrl?: string;
  /** Timeline page size, 5..100 (default 100). */
  pageSize?: number;
}

export interface XUsage {
  projectCap: number | null;
  projectUsage: number | null;
  capResetDay: number | null;
}

/** X API v2. Timelines page with `pagination_token`; only the 3,200 newest posts are listed. */
export class XConnector implements Connector {
  readonly platform = 'x' as const;
  readonly capabilities = { comments: true, metricsBatchSize: 100, historyLimit: 3200 };
  private readonly http: HttpClient;
  private readonly baseUrl: string;
  private readonly pageSize: number;

  constructor(options: XConnectorOptions) {
    this.http = options.http;
    this.baseUrl = (options.baseUrl ?? X_API).replace(/\/+$/, '');
    this.pageSize = Math.min(100, Math.max(5, options.pageSize ?? 100));
  }

  private get(
    endpoint: string,
    path: string,
    query: Record<string, string | number | undefined>,
    ctx: ConnectorContext,
  ): Promise<HttpResponse> {
    return getOnPlatform(this.http, xProfile, ctx, endpoint, `${this.baseUrl}${path}`, query);
  }

  /** A 200 that carries only `errors[]` about the requested resource itself: the resource is gone. */
  private resourceError(response: HttpResponse, endpoint: string): ConnectorError | null {
    const body = asRecord(response.body);
    if (body === null || body.data !== undefined) return null;
    const gaps = xErrorGaps(body);
    const first = gaps[0];
    if (first === undefined) return null;
    const kind = first.reason === 'forbidden' ? 'forbidden' : 'not_found';
    return new ConnectorError(kind, `X ${endpoint}: ${first.detail}`, {
      platform: 'x',
      endpoint,
      httpStatus: response.status,
      platformCode: first.reason,
      details: { resourceId: first.resourceId },
    });
  }

  async resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount> {
    const byHandle = ref.handle !== undefined;
    const endpoint = byHandle ? '/2/users/by/username/:username' : '/2/users/:id';
    const path = byHandle
      ? `/2/users/by/username/${encodeURIComponent(ref.handle.replace(/^@/, ''))}`
      : `/2/users/${encodeURIComponent(ref.id)}`;
    const response = await this.get(endpoint, path, { 'user.fields': USER_FIELDS }, ctx);
    const error = this.resourceError(response, `GET ${endpoint}`);
    if (error) throw error;
    return accountFromUser(asRecord(asRecord(response.body)?.data), `GET ${endpoint}`);
  }

  async listPosts(
    account: AccountKey,
    cursor: string | null,
    ctx: ConnectorContext,
    options: ListPostsOptions = {},
  ): Promise<PostPage> {
    const endpoint = '/2/users/:id/tweets';
    const response = await this.get(
      endpoint,
      `/2/users/${encodeURIComponent(account.externalId)}/tweets`,
      {
        max_results: Math.min(100, Math.max(5, options.pageSize ?? this.pageSize)),
        'tweet.fields': TWEET_FIELDS,
        expansions: 'author_id,attachments.media_keys',
        'user.fields': USER_FIELDS,
        'media.fields': 'type,public_metrics',
        start_time: options.since,
        // Retweets are not the account's posts; the mapper skips any that still come.
        exclude: 'retweets',
        pagination_token: cursor ?? undefined,
      },
      ctx,
    );
    return this.postPage(response, `GET ${endpoint}`, {
      externalId: account.externalId,
      handle: account.handle ?? null,
    });
  }

  /** Any tweet-list response (timeline, mentions, search) → a page. Exposed for replay. */
  postPage(
    response: HttpResponse,
    endpoint: string,
    account: { externalId: string; handle: string | null } | null,
  ): PostPage {
    const error = this.resourceError(response, endpoint);
    if (error) throw error;
    const body = asRecord(response.body);
    // X leaves `data` out of an empty page, never `meta`.
    if (body === null)
      throw malformedResponse('x', endpoint, 'the response is not a JSON object', response.status);
    if (body.data !== undefined ? !Array.isArray(body.data) : asRecord(body.meta) === null)
      throw malformedResponse(
        'x',
        endpoint,
        body.data !== undefined
          ? '`data` is not an array of posts'
          : 'neither `data` nor `meta` in the response',
        response.status,
      );
    const { posts, gaps } = mapXTweets(response.body, {
      capturedAt: new Date(response.receivedAt).toISOString(),
      account,
    });
    const meta = asRecord(asRecord(response.body)?.meta);
    const next = asText(meta?.next_token);
    return {
      posts,
      nextCursor: next,
      hasMore: next !== null,
      gaps: [...gaps, ...xErrorGaps(response.body)],
    };
  }

  async refreshMetrics(
    externalIds: readonly string[],
    ctx: ConnectorContext,
  ): Promise<MetricsResult> {
    const result: MetricsResult = { snapshots: [], gaps: [] };
    for (let i = 0; i < externalIds.length; i += 100) {
      const ids = externalIds.slice(i, i + 100);
      const response = await this.get(
        '/2/tweets',
        '/2/tweets',
        {
          ids: ids.join(','),
          'tweet.fields': TWEET_FIELDS,
          expansions: 'author_id',
          'user.fields': USER_FIELDS,
        },
        ctx,
      );
      this.collectMetrics(response, result);
    }
    return result;
  }

  /** A `GET /2/tweets?ids=` response → snapshots; missing and deleted ids → gaps. Exposed for replay. */
  collectMetrics(response: HttpResponse, into: MetricsResult): void {
    const body = asRecord(response.body);
    // Every id comes back in `data` or in `errors`: a body with neither would read as all deleted.
    if (body === null || (!Array.isArray(body.data) && !Array.isArray(body.errors)))
      throw malformedResponse(
        'x',
        'GET /2/tweets',
        body === null
          ? 'the response is not a JSON object'
          : 'neither `data` nor `errors` in the response',
        response.status,
      );
    const { posts, gaps } = mapXTweets(response.body, {
      capturedAt: new Date(response.receivedAt).toISOString(),
    });
    into.snapshots.push(...posts.map(snapshotOf));
    into.gaps.push(
      ...gaps,
      ...xErrorGaps(response.body).map((g) =>
        g.reason === 'not_found' ? { ...g, reason: 'deleted' as const } : g,
      ),
    );
  }

  async listComments(
    postExternalId: string,
    cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage> {
    // Replies are found by conversation id through recent search (last 7 days only).
    const response = await this.get(
      '/2/tweets/search/recent',
      '/2/tweets/search/recent',
      {
        query: `conversation_id:${postExternalId} is:reply`,
        max_results: 100,
        'tweet.fields': TWEET_FIELDS,
        expansions: 'author_id',
        'user.fields': USER_FIELDS,
        next_token: cursor ?? undefined,
      },
      ctx,
    );
    const page = this.postPage(response, 'GET /2/tweets/search/recent', null);
    return {
      comments: page.posts.map((p) => ({
        platform: 'x',
        external_id: p.external_id,
        post_external_id: postExternalId,
        author: p.account_handle,
        text: p.text,
        created_at: p.created_at,
        likes: p.metrics.likes,
        raw: p.raw,
      })),
      nextCursor: page.nextCursor,
      hasMore: page.hasMore,
      gaps: [
        ...page.gaps,
        {
          reason: 'history_limit',
          resourceId: postExternalId,
          detail: 'X recent search covers replies of the last 7 days only',
        },
      ],
    };
  }

  /** The project's monthly usage (`GET /2/usage/tweets`), to plan inside the usage cap. */
  async getUsage(ctx: ConnectorContext): Promise<XUsage> {
    const response = await this.get('/2/usage/tweets', '/2/usage/tweets', {}, ctx);
    return parseXUsage(response.body);
  }
}

export function parseXUsage(body: unknown): XUsage {
  const data = asRecord(asRecord(body)?.data);
  const n = (v: unknown): number | null => {
    const s = asString(v);
    return s !== null && /^\d+$/.test(s) ? Number(s) : null;
  };
  return {
    projectCap: n(data?.project_cap),
    projectUsage: n(data?.project_usage),
    capResetDay: n(data?.cap_reset_day),
  };
}

export function accountFromUser(
  user: Record<string, unknown> | null,
  endpoint: string,
): ResolvedAccount {
  const id = asString(user?.id);
  if (user === null || id === null)
    throw new ConnectorError('malformed_response', `X ${endpoint}: no user in the response`, {
      platform: 'x',
      endpoint,
    });
  return {
    platform: 'x',
    externalId: id,
    handle: asText(user.username),
    displayName: asText(user.name),
    extra: toIsoTimestamp(user.created_at)
      ? { created_at: toIsoTimestamp(user.created_at) ?? '' }
      : {},
    raw: user,
  };
}

/** `GET /2/users?ids=` → accounts (for replay of user lookups). */
export function accountsFromUsers(body: unknown, endpoint: string): ResolvedAccount[] {
  return asArray(asRecord(body)?.data).map((u) => accountFromUser(asRecord(u), endpoint));
}
