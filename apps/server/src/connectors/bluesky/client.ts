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
import { getOnPlatform, missingFromAnswer, snapshotOf } from '../connector.js';
import { ConnectorError, malformedResponse } from '../errors.js';
import type { HttpClient, HttpResponse } from '../http/http-client.js';
import { asArray, asRecord, asString, asText, dig, toIsoTimestamp, toCount } from '../mapping.js';
import { mapBlueskyFeed, mapBlueskyPost } from './mapper.js';
import { blueskyProfile } from './profile.js';

/** Unauthenticated, cached AppView for public reads. */
export const BLUESKY_API = 'https://public.api.bsky.app';

export interface BlueskyConnectorOptions {
  http: HttpClient;
  baseUrl?: string;
}

/** AT Protocol: getProfile, getAuthorFeed (cursor), getPosts (25 uris), getPostThread for replies. */
export class BlueskyConnector implements Connector {
  readonly platform = 'bluesky' as const;
  readonly capabilities = { comments: true, metricsBatchSize: 25, historyLimit: null };
  private readonly http: HttpClient;
  private readonly baseUrl: string;

  constructor(options: BlueskyConnectorOptions) {
    this.http = options.http;
    this.baseUrl = (options.baseUrl ?? BLUESKY_API).replace(/\/+$/, '');
  }

  private get(
    method: string,
    query: Record<string, string | number | undefined>,
    ctx: ConnectorContext,
    rawQuery = '',
  ): Promise<HttpResponse> {
    const path = `/xrpc/${method}`;
    return getOnPlatform(
      this.http,
      blueskyProfile,
      ctx,
      path,
      `${this.baseUrl}${path}${rawQuery}`,
      query,
    );
  }

  async resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount> {
    const actor = ref.handle !== undefined ? ref.handle.replace(/^@/, '') : ref.id;
    const response = await this.get('app.bsky.actor.getProfile', { actor }, ctx);
    const profile = asRecord(response.body);
    const did = asText(profile?.did);
    if (profile === null || did === null)
      throw new ConnectorError('not_found', `Bluesky actor ${actor} was not found`, {
        platform: 'bluesky',
      });
    return {
      platform: 'bluesky',
      externalId: did,
      handle: asText(profile.handle),
      displayName: asText(profile.displayName),
      extra: {},
      raw: profile,
    };
  }

  async listPosts(
    account: AccountKey,
    cursor: string | null,
    ctx: ConnectorContext,
    options: ListPostsOptions = {},
  ): Promise<PostPage> {
    const response = await this.get(
      'app.bsky.feed.getAuthorFeed',
      {
        actor: account.externalId,
        limit: Math.min(100, options.pageSize ?? 100),
        filter: 'posts_with_replies',
        cursor: cursor ?? undefined,
      },
      ctx,
    );
    return this.feedPage(response, options);
  }

  /** A getAuthorFeed answer → a page. Exposed for replay. */
  feedPage(response: HttpResponse, options: ListPostsOptions = {}): PostPage {
    // getAuthorFeed's output requires `feed` (lexicon): without it the page is not one.
    if (!Array.isArray(asRecord(response.body)?.feed))
      throw malformedResponse(
        'bluesky',
        'GET /xrpc/app.bsky.feed.getAuthorFeed',
        'no `feed` array in the response',
        response.status,
      );
    const { posts, gaps } = mapBlueskyFeed(
      response.body,
      new Date(response.receivedAt).toISOString(),
    );
    const since = options.since === undefined ? null : new Date(options.since).toISOString();
    const kept = since === null ? posts : posts.filter((p) => p.created_at >= since);
    const reachedSince = kept.length < posts.length;
    const next = asText(asRecord(response.body)?.cursor);
    return {
      posts: kept,
      nextCursor: reachedSince ? null : next,
      hasMore: !reachedSince && next !== null,
      gaps,
    };
  }

  async refreshMetrics(
    externalIds: readonly string[],
    ctx: ConnectorContext,
  ): Promise<MetricsResult> {
    const result: MetricsResult = { snapshots: [], gaps: [] };
    for (let i = 0; i < externalIds.length; i += 25) {
      const uris = externalIds.slice(i, i + 25);
      // `uris` is repeated once per value.
      const rawQuery = `?${uris.map((u) => `uris=${encodeURIComponent(u)}`).join('&')}`;
      const response = await this.get('app.bsky.feed.getPosts', {}, ctx, rawQuery);
      // Without `posts` (required by the lexicon), every uri asked for would read as deleted.
      if (!Array.isArray(asRecord(response.body)?.posts))
        throw malformedResponse(
          'bluesky',
          'GET /xrpc/app.bsky.feed.getPosts',
          'no `posts` array in the response',
          response.status,
        );
      const capturedAt = new Date(response.receivedAt).toISOString();
      const seen = new Set<string>();
      // A post returned but not mappable (no creation time) exists: `unmappable`, not deleted.
      // One without a uri could be any of the missing ones: then none is called deleted.
      let anonymous = false;
      for (const p of asArray(asRecord(response.body)?.posts)) {
        const post = asRecord(p);
        const uri = asText(post?.uri);
        if (uri === null) anonymous = true;
        else seen.add(uri);
        const mapped = post === null ? null : mapBlueskyPost(post, capturedAt);
        if (mapped) result.snapshots.push(snapshotOf(mapped));
        else
          result.gaps.push({
            reason: 'unmappable',
            resourceId: uri,
            detail: 'post without uri or creation time',
          });
      }
      result.gaps.push(
        ...missingFromAnswer(uris, (uri) => seen.has(uri), anonymous, {
          withoutId: () => 'not told apart: the answer holds a post without a uri',
          notReturned: () => 'post not returned by getPosts (deleted or hidden)',
        }),
      );
    }
    return result;
  }

  async listComments(
    postExternalId: string,
    _cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage> {
    const response = await this.get(
      'app.bsky.feed.getPostThread',
      { uri: postExternalId, depth: 1 },
      ctx,
    );
    const comments = asArray(dig(response.body, 'thread', 'replies'))
      .map((r) => asRecord(asRecord(r)?.post))
      .flatMap((post) => {
        const uri = asText(post?.uri);
        if (post === null || uri === null) return [];
        return [
          {
            platform: 'bluesky' as const,
            external_id: uri,
            post_external_id: postExternalId,
            author: asText(dig(post, 'author', 'handle')),
            text: asString(dig(post, 'record', 'text')),
            created_at: toIsoTimestamp(dig(post, 'record', 'createdAt')),
            likes: toCount(post.likeCount),
            raw: post,
          },
        ];
      });
    return { comments, nextCursor: null, hasMore: false, gaps: [] };
  }
}
