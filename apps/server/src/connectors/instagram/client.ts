import type {
  AccountKey,
  AccountRef,
  CollectedComment,
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
import { getOnPlatform, snapshotOf } from '../connector.js';
import { ConnectorError, isConnectorError, malformedResponse } from '../errors.js';
import type { HttpClient, HttpResponse } from '../http/http-client.js';
import { asArray, asRecord, asText, dig, type Json } from '../mapping.js';
import {
  idKeyedValues,
  mapInstagramComment,
  mapInstagramMedia,
  metricsFromInsights,
  parseInsights,
} from './mapper.js';
import { instagramProfile } from './profile.js';

export const GRAPH_API = 'https://graph.facebook.com/v23.0';
const MEDIA_FIELDS =
  'id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count,username';
const MEDIA_INSIGHTS = 'views,reach,saved,shares,likes,comments,total_interactions';

export interface InstagramConnectorOptions {
  http: HttpClient;
  /** graph.facebook.com/vNN (Facebook Login) or graph.instagram.com/vNN (Instagram Login). */
  baseUrl?: string;
  /** The connected professional account, for business_discovery lookups of other handles. */
  ownUserId?: string;
  /** Fetch per-media insights (views, saves, shares) in refreshMetrics: one call per post (default true). */
  insights?: boolean;
}

const gapKinds = new Set([
  'transient',
  'circuit_open',
  'malformed_response',
  'not_found',
  'forbidden',
  'bad_request',
]);

/** Instagram Graph API: media with cursors, Reels and Stories, insights in both response styles. */
export class InstagramConnector implements Connector {
  readonly platform = 'instagram' as const;
  readonly capabilities = { comments: true, metricsBatchSize: 50, historyLimit: null };
  private readonly http: HttpClient;
  private readonly baseUrl: string;
  private readonly ownUserId: string | undefined;
  private readonly insights: boolean;

  constructor(options: InstagramConnectorOptions) {
    this.http = options.http;
    this.baseUrl = (options.baseUrl ?? GRAPH_API).replace(/\/+$/, '');
    this.ownUserId = options.ownUserId;
    this.insights = options.insights ?? true;
  }

  private get(
    endpoint: string,
    path: string,
    query: Record<string, string | number | undefined>,
    ctx: ConnectorContext,
  ): Promise<HttpResponse> {
    return getOnPlatform(
      this.http,
      instagramProfile,
      ctx,
      endpoint,
      `${this.baseUrl}${path}`,
      query,
    );
  }

  async resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount> {
    if (ref.id !== undefined) {
      const response = await this.get(
        '/:ig-user-id',
        `/${encodeURIComponent(ref.id)}`,
        { fields: 'id,username,name,followers_count,media_count' },
        ctx,
      );
      return accountFromUser(response.body);
    }
    if (this.ownUserId === undefined) {
      throw new ConnectorError(
        'bad_request',
        'Instagram: resolving a handle needs the connected account (business_discovery)',
        { platform: 'instagram' },
      );
    }
    const handle = ref.handle.replace(/^@/, '');
    const response = await this.get(
      '/:ig-user-id?business_discovery',
      `/${encodeURIComponent(this.ownUserId)}`,
      {
        fields: `business_discovery.username(${handle}){id,username,name,followers_count,media_count}`,
      },
      ctx,
    );
    return accountFromUser(asRecord(response.body)?.business_discovery);
  }

  async listPosts(
    account: AccountKey,
    cursor: string | null,
    ctx: ConnectorContext,
    options: ListPostsOptions = {},
  ): Promise<PostPage> {
    const response = await this.get(
      '/:ig-user-id/media',
      `/${encodeURIComponent(account.externalId)}/media`,
      {
        fields: MEDIA_FIELDS,
        limit: Math.min(100, options.pageSize ?? 50),
        after: cursor ?? undefined,
      },
      ctx,
    );
    const page = this.mediaPage(
      response,
      { externalId: account.externalId, handle: account.handle ?? null },
      options,
    );
    if (cursor === null) {
      // Stories live 24 h and are not in /media: collect them with the newest page.
      try {
        const stories = await this.get(
          '/:ig-user-id/stories',
          `/${encodeURIComponent(account.externalId)}/stories`,
          { fields: MEDIA_FIELDS },
          ctx,
        );
        const storyPage = this.mediaPage(
          stories,
          { externalId: account.externalId, handle: account.handle ?? null },
          {},
        );
        page.posts.unshift(...storyPage.posts.map((p) => ({ ...p, media_type: 'story' as const })));
        page.gaps.push(...storyPage.gaps);
      } catch (error) {
        if (!isConnectorError(error) || !gapKinds.has(error.kind)) throw error;
        page.gaps.push({
          reason: 'not_supported',
          resourceId: account.externalId,
          detail: `stories unavailable (${error.kind}): ${error.message}`,
        });
      }
    }
    return page;
  }

  /** A `/media` (or `/stories`) page → posts. Exposed for replay. */
  mediaPage(
    response: HttpResponse,
    owner: { externalId: string | null; handle: string | null } | null,
    options: ListPostsOptions = {},
  ): PostPage {
    // Graph always sends `data` (empty past the last media).
    if (!Array.isArray(asRecord(response.body)?.data))
      throw malformedResponse(
        'instagram',
        response.url.includes('/stories') ? 'GET /:ig-user-id/stories' : 'GET /:ig-user-id/media',
        'no `data` array in the response',
        response.status,
      );
    const capturedAt = new Date(response.receivedAt).toISOString();
    const posts: CollectedPost[] = [];
    const gaps: Gap[] = [];
    let reachedSince = false;
    for (const entry of asArray(asRecord(response.body)?.data)) {
      const media = asRecord(entry);
      const post = media === null ? null : mapInstagramMedia(media, capturedAt, owner);
      if (post === null) {
        gaps.push({
          reason: 'unmappable',
          resourceId: asText(media?.id),
          detail: 'media without id or timestamp',
        });
        continue;
      }
      if (options.since !== undefined && post.created_at < new Date(options.since).toISOString()) {
        reachedSince = true;
        continue;
      }
      posts.push(post);
    }
    const paging = asRecord(asRecord(response.body)?.paging);
    const after = asText(dig(paging, 'cursors', 'after'));
    const hasNext = asText(paging?.next) !== null && after !== null && !reachedSince;
    return { posts, nextCursor: hasNext ? after : null, hasMore: hasNext, gaps };
  }

  async refreshMetrics(
    externalIds: readonly string[],
    ctx: ConnectorContext,
  ): Promise<MetricsResult> {
    const result: MetricsResult = { snapshots: [], gaps: [] };
    for (let i = 0; i < externalIds.length; i += 50) {
      const ids = externalIds.slice(i, i + 50);
      const batch: MetricsResult = { snapshots: [], gaps: [] };
      try {
        const response = await this.get(
          '/?ids',
          '/',
          { ids: ids.join(','), fields: MEDIA_FIELDS },
          ctx,
        );
        this.collectMetrics(response, ids, batch);
      } catch (error) {
        // Graph fails a whole multiple-id read when one id cannot be loaded: which one is gone
        // only the ids one by one can tell. Any other failure is the batch's, not its posts'.
        if (!isConnectorError(error) || error.kind !== 'not_found' || ids.length === 1) throw error;
        await this.collectOneByOne(ids, ctx, batch);
      }
      if (this.insights) {
        for (const snapshot of batch.snapshots) {
          try {
            Object.assign(snapshot, await this.mediaInsights(snapshot.external_id, ctx));
          } catch (error) {
            if (!isConnectorError(error) || !gapKinds.has(error.kind)) throw error;
            batch.gaps.push({
              reason: 'insights_unavailable',
              resourceId: snapshot.external_id,
              detail: `${error.kind}: ${error.message}`,
            });
          }
        }
      }
      result.snapshots.push(...batch.snapshots);
      result.gaps.push(...batch.gaps);
    }
    return result;
  }

  private async collectOneByOne(
    ids: readonly string[],
    ctx: ConnectorContext,
    into: MetricsResult,
  ): Promise<void> {
    for (const id of ids) {
      try {
        const response = await this.get(
          '/:ig-media-id',
          `/${encodeURIComponent(id)}`,
          { fields: MEDIA_FIELDS },
          ctx,
        );
        this.collectMetrics(response, [id], into);
      } catch (error) {
        if (!isConnectorError(error) || error.kind !== 'not_found') throw error;
        into.gaps.push({ reason: 'deleted', resourceId: id, detail: error.message });
      }
    }
  }

  /** A `/?ids=` batch (object keyed by id) or a single media object → snapshots. Exposed for replay. */
  collectMetrics(
    response: HttpResponse,
    asked: readonly string[] | null,
    into: MetricsResult,
  ): void {
    const capturedAt = new Date(response.receivedAt).toISOString();
    const body = asRecord(response.body);
    // An object keyed by id, or one media: anything else would read as every id deleted.
    if (body === null || 'data' in body || 'error' in body)
      throw malformedResponse(
        'instagram',
        'GET /?ids',
        body === null
          ? 'the response is not a JSON object'
          : 'not an object keyed by the ids asked for',
        response.status,
      );
    const items = asText(body.id) !== null ? [body] : idKeyedValues(body);
    const seen = new Set<string>();
    for (const media of items) {
      const post = mapInstagramMedia(media, capturedAt, null);
      const id = asText(media.id) ?? '';
      seen.add(id);
      if (post) into.snapshots.push(snapshotOf(post));
      else
        into.gaps.push({ reason: 'unmappable', resourceId: id, detail: 'media without timestamp' });
    }
    for (const id of asked ?? [])
      if (!seen.has(id))
        into.gaps.push({
          reason: 'deleted',
          resourceId: id,
          detail: `media ${id} was not returned`,
        });
  }

  /** Lifetime insights of one media (new `total_value` or legacy `values` style) as metric fields. */
  async mediaInsights(
    mediaId: string,
    ctx: ConnectorContext,
  ): Promise<
    Partial<Record<'likes' | 'comments' | 'shares' | 'views' | 'saves' | 'impressions', number>>
  > {
    const response = await this.get(
      '/:ig-media-id/insights',
      `/${encodeURIComponent(mediaId)}/insights`,
      { metric: MEDIA_INSIGHTS },
      ctx,
    );
    return metricsFromInsights(parseInsights(response.body)) as Partial<
      Record<'likes' | 'comments' | 'shares' | 'views' | 'saves' | 'impressions', number>
    >;
  }

  async listComments(
    postExternalId: string,
    cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage> {
    const response = await this.get(
      '/:ig-media-id/comments',
      `/${encodeURIComponent(postExternalId)}/comments`,
      { fields: 'id,text,timestamp,username,like_count', limit: 50, after: cursor ?? undefined },
      ctx,
    );
    return this.commentPage(response, postExternalId);
  }

  /** A comments page (`data[]`) or an id-keyed batch → comments. Exposed for replay. */
  commentPage(response: HttpResponse, postExternalId: string | null): CommentPage {
    const body = asRecord(response.body);
    const items: Json[] = Array.isArray(body?.data)
      ? asArray(body.data)
          .map(asRecord)
          .filter((c): c is Json => c !== null)
      : idKeyedValues(body);
    const comments = items
      .map((c) => mapInstagramComment(c, postExternalId))
      .filter((c): c is CollectedComment => c !== null);
    const after = asText(dig(body, 'paging', 'cursors', 'after'));
    const hasNext = asText(dig(body, 'paging', 'next')) !== null && after !== null;
    return { comments, nextCursor: hasNext ? after : null, hasMore: hasNext, gaps: [] };
  }
}

export function accountFromUser(value: unknown): ResolvedAccount {
  const user = asRecord(value);
  const id = asText(user?.id);
  if (user === null || id === null)
    throw new ConnectorError('not_found', 'Instagram: no such professional account', {
      platform: 'instagram',
    });
  return {
    platform: 'instagram',
    externalId: id,
    handle: asText(user.username),
    displayName: asText(user.name),
    extra: {},
    raw: user,
  };
}
