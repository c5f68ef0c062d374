import type {
  AccountKey,
  AccountRef,
  CollectedPost,
  CommentPage,
  Connector,
  ConnectorContext,
  Gap,
  ListPostsOptions,
  MetricsResult,
  PostPage,
  ResolvedAccount,
} from '../connector.js';
import { getOnPlatform, missingFromAnswer, snapshotOf } from '../connector.js';
import { ConnectorError, malformedResponse } from '../errors.js';
import type { HttpClient, HttpResponse } from '../http/http-client.js';
import { asRecord, asString, asText, toCount, toIsoTimestamp } from '../mapping.js';
import { mapRedditLink, readListing, removedOnReddit } from './mapper.js';
import { redditProfile } from './profile.js';

export const REDDIT_API = 'https://oauth.reddit.com';

export interface RedditConnectorOptions {
  http: HttpClient;
  baseUrl?: string;
}

/** Reddit OAuth API: user/:name/submitted Listings paged by `after`; refresh via /api/info. */
export class RedditConnector implements Connector {
  readonly platform = 'reddit' as const;
  readonly capabilities = { comments: true, metricsBatchSize: 100, historyLimit: 1000 };
  private readonly http: HttpClient;
  private readonly baseUrl: string;

  constructor(options: RedditConnectorOptions) {
    this.http = options.http;
    this.baseUrl = (options.baseUrl ?? REDDIT_API).replace(/\/+$/, '');
  }

  private get(
    endpoint: string,
    path: string,
    query: Record<string, string | number | undefined>,
    ctx: ConnectorContext,
  ): Promise<HttpResponse> {
    return getOnPlatform(this.http, redditProfile, ctx, endpoint, `${this.baseUrl}${path}`, {
      ...query,
      raw_json: 1,
    });
  }

  async resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount> {
    const name = (ref.handle ?? ref.id).replace(/^\/?u\//, '').replace(/^@/, '');
    const response = await this.get(
      '/user/:name/about',
      `/user/${encodeURIComponent(name)}/about`,
      {},
      ctx,
    );
    const data = asRecord(asRecord(response.body)?.data);
    const id = asText(data?.id);
    if (data === null || id === null)
      throw new ConnectorError('not_found', `Reddit user ${name} was not found`, {
        platform: 'reddit',
      });
    return {
      platform: 'reddit',
      externalId: `t2_${id}`,
      handle: asText(data.name),
      displayName: asText(asRecord(data.subreddit)?.title) ?? asText(data.name),
      extra: {},
      raw: data,
    };
  }

  async listPosts(
    account: AccountKey,
    cursor: string | null,
    ctx: ConnectorContext,
    options: ListPostsOptions = {},
  ): Promise<PostPage> {
    const name = account.handle ?? account.externalId;
    const response = await this.get(
      '/user/:name/submitted',
      `/user/${encodeURIComponent(name)}/submitted`,
      { sort: 'new', limit: Math.min(100, options.pageSize ?? 100), after: cursor ?? undefined },
      ctx,
    );
    return this.listingPage(response, options);
  }

  /** A Listing (submitted, overview, /r/x/new) → its submissions; comments are skipped. Exposed for replay. */
  listingPage(response: HttpResponse, options: ListPostsOptions = {}): PostPage {
    const listing = readListing(response.body);
    if (listing === null)
      throw malformedResponse(
        'reddit',
        response.url.includes('/api/info') ? 'GET /api/info' : 'GET /user/:name/submitted',
        'the answer is not a Listing',
        response.status,
      );
    const capturedAt = new Date(response.receivedAt).toISOString();
    const since = options.since === undefined ? null : new Date(options.since).toISOString();
    const posts: CollectedPost[] = [];
    const gaps: Gap[] = [];
    let reachedSince = false;
    for (const child of listing.children) {
      if (child.kind !== 't3') continue;
      const post = mapRedditLink(child.data, capturedAt);
      if (post === null) {
        gaps.push({
          reason: 'unmappable',
          resourceId: asText(child.data.name),
          detail: 'submission without id or created_utc',
        });
        continue;
      }
      if (since !== null && post.created_at < since) {
        reachedSince = true;
        continue;
      }
      posts.push(post);
    }
    const hasMore = !reachedSince && listing.after !== null;
    return { posts, nextCursor: hasMore ? listing.after : null, hasMore, gaps };
  }

  async refreshMetrics(
    externalIds: readonly string[],
    ctx: ConnectorContext,
  ): Promise<MetricsResult> {
    const result: MetricsResult = { snapshots: [], gaps: [] };
    for (let i = 0; i < externalIds.length; i += 100) {
      const ids = externalIds.slice(i, i + 100);
      const response = await this.get(
        '/api/info',
        '/api/info',
        { id: ids.map((id) => (id.startsWith('t3_') ? id : `t3_${id}`)).join(',') },
        ctx,
      );
      this.collectMetrics(response, ids, result);
    }
    return result;
  }

  /**
   * An /api/info answer → snapshots and gaps. Only Reddit's own word marks a post gone: an id it
   * did not return, or a submission it marks removed or deleted. One it returned but the mapper
   * cannot read (a field missing) is `unmappable`: it exists, and its next refresh may read it.
   * Exposed for replay.
   */
  collectMetrics(response: HttpResponse, asked: readonly string[], into: MetricsResult): void {
    const listing = readListing(response.body);
    if (listing === null)
      throw malformedResponse(
        'reddit',
        'GET /api/info',
        'the answer is not a Listing',
        response.status,
      );
    const capturedAt = new Date(response.receivedAt).toISOString();
    const bare = (id: string): string => id.replace(/^t3_/, '');
    const returned = new Set<string>();
    // A submission without an id or a fullname cannot say which post it is: while one is in the
    // answer, an id missing from it may be that one, not a deleted post.
    let anonymous = 0;
    for (const child of listing.children) {
      if (child.kind !== 't3') continue;
      const id = asText(child.data.id) ?? asText(child.data.name);
      if (id === null) anonymous += 1;
      else returned.add(bare(id));
      const post = mapRedditLink(child.data, capturedAt);
      if (post === null)
        into.gaps.push({
          reason: 'unmappable',
          resourceId: id === null ? null : bare(id),
          detail: 'submission without id or created_utc',
        });
      else into.snapshots.push(snapshotOf(post));
      if (id !== null && removedOnReddit(child.data))
        into.gaps.push({
          reason: 'deleted',
          resourceId: bare(id),
          detail: 'removed or deleted on Reddit (metrics still readable)',
        });
    }
    into.gaps.push(
      ...missingFromAnswer(asked, (id) => returned.has(bare(id)), anonymous > 0, {
        withoutId: () => 'not told apart in /api/info: the answer holds a submission without an id',
        notReturned: () => 'not returned by /api/info',
      }),
    );
  }

  async listComments(
    postExternalId: string,
    _cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage> {
    const id = postExternalId.replace(/^t3_/, '');
    const response = await this.get(
      '/comments/:id',
      `/comments/${encodeURIComponent(id)}`,
      { limit: 500, depth: 1 },
      ctx,
    );
    const listing = Array.isArray(response.body) ? readListing(response.body[1]) : null;
    const comments = (listing?.children ?? [])
      .filter((c) => c.kind === 't1')
      .map((c) => ({
        platform: 'reddit' as const,
        external_id: asText(c.data.id) ?? '',
        post_external_id: id,
        author: asText(c.data.author),
        text: asString(c.data.body),
        created_at: toIsoTimestamp(c.data.created_utc),
        likes: toCount(c.data.ups),
        raw: c.data,
      }));
    return { comments, nextCursor: null, hasMore: false, gaps: [] };
  }
}
