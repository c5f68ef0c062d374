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
import { getOnPlatform, snapshotOf } from '../connector.js';
import { ConnectorError, isConnectorError, malformedResponse } from '../errors.js';
import type { HttpClient, HttpResponse } from '../http/http-client.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  toCount,
  toIsoTimestamp,
  htmlToText,
} from '../mapping.js';
import { fullAcct, mapMastodonStatus, nextLink } from './mapper.js';
import { mastodonProfile } from './profile.js';

export interface MastodonConnectorOptions {
  http: HttpClient;
  /** The account's instance, e.g. https://mastodon.social. */
  baseUrl: string;
}

/** Mastodon REST: accounts/lookup, accounts/:id/statuses paged by the Link header (max_id). */
export class MastodonConnector implements Connector {
  readonly platform = 'mastodon' as const;
  readonly capabilities = { comments: true, metricsBatchSize: 1, historyLimit: null };
  private readonly http: HttpClient;
  readonly baseUrl: string;
  private readonly host: string;

  constructor(options: MastodonConnectorOptions) {
    this.http = options.http;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.host = new URL(this.baseUrl).host;
  }

  private get(
    endpoint: string,
    path: string,
    query: Record<string, string | number | undefined>,
    ctx: ConnectorContext,
  ): Promise<HttpResponse> {
    return getOnPlatform(
      this.http,
      mastodonProfile,
      ctx,
      endpoint,
      `${this.baseUrl}${path}`,
      query,
    );
  }

  async resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount> {
    const response =
      ref.handle !== undefined
        ? await this.get(
            '/api/v1/accounts/lookup',
            '/api/v1/accounts/lookup',
            { acct: ref.handle.replace(/^@/, '') },
            ctx,
          )
        : await this.get(
            '/api/v1/accounts/:id',
            `/api/v1/accounts/${encodeURIComponent(ref.id)}`,
            {},
            ctx,
          );
    return accountFrom(response.body, this.host);
  }

  async listPosts(
    account: AccountKey,
    cursor: string | null,
    ctx: ConnectorContext,
    options: ListPostsOptions = {},
  ): Promise<PostPage> {
    const response = await this.get(
      '/api/v1/accounts/:id/statuses',
      `/api/v1/accounts/${encodeURIComponent(account.externalId)}/statuses`,
      { limit: Math.min(40, options.pageSize ?? 40), max_id: cursor ?? undefined },
      ctx,
    );
    return this.statusPage(response, options);
  }

  /** A statuses answer → a page; the cursor is the `max_id` of the Link header's next URL. Exposed for replay. */
  statusPage(response: HttpResponse, options: ListPostsOptions = {}): PostPage {
    const capturedAt = new Date(response.receivedAt).toISOString();
    const since = options.since === undefined ? null : new Date(options.since).toISOString();
    // The statuses of an account are a JSON array (empty past the oldest).
    if (!Array.isArray(response.body))
      throw malformedResponse(
        'mastodon',
        'GET /api/v1/accounts/:id/statuses',
        'the response is not an array of statuses',
        response.status,
      );
    const posts: CollectedPost[] = [];
    const gaps: Gap[] = [];
    let reachedSince = false;
    for (const entry of asArray(response.body)) {
      const status = asRecord(entry);
      if (status === null) {
        gaps.push({
          reason: 'unmappable',
          resourceId: null,
          detail: 'an item that is not a status',
        });
        continue;
      }
      if (asRecord(status.reblog) !== null) continue;
      const post = mapMastodonStatus(status, capturedAt, this.host);
      if (post === null) {
        gaps.push({
          reason: 'unmappable',
          resourceId: asText(status.id),
          detail: 'status without id or created_at',
        });
        continue;
      }
      if (since !== null && post.created_at < since) {
        reachedSince = true;
        continue;
      }
      posts.push(post);
    }
    const next = nextLink(response.headers.get('link'));
    const maxId = next === null ? null : new URL(next).searchParams.get('max_id');
    const hasMore = !reachedSince && maxId !== null && asArray(response.body).length > 0;
    return { posts, nextCursor: hasMore ? maxId : null, hasMore, gaps };
  }

  async refreshMetrics(
    externalIds: readonly string[],
    ctx: ConnectorContext,
  ): Promise<MetricsResult> {
    const result: MetricsResult = { snapshots: [], gaps: [] };
    for (const id of externalIds) {
      try {
        const response = await this.get(
          '/api/v1/statuses/:id',
          `/api/v1/statuses/${encodeURIComponent(id)}`,
          {},
          ctx,
        );
        const status = asRecord(response.body);
        if (status === null)
          throw malformedResponse(
            'mastodon',
            'GET /api/v1/statuses/:id',
            'the response is not a status object',
            response.status,
          );
        const post = mapMastodonStatus(
          status,
          new Date(response.receivedAt).toISOString(),
          this.host,
        );
        if (post) result.snapshots.push(snapshotOf(post));
        else result.gaps.push({ reason: 'unmappable', resourceId: id, detail: 'not a status' });
      } catch (error) {
        if (isConnectorError(error) && error.kind === 'not_found')
          result.gaps.push({ reason: 'deleted', resourceId: id, detail: error.message });
        else throw error;
      }
    }
    return result;
  }

  async listComments(
    postExternalId: string,
    _cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage> {
    const response = await this.get(
      '/api/v1/statuses/:id/context',
      `/api/v1/statuses/${encodeURIComponent(postExternalId)}/context`,
      {},
      ctx,
    );
    const comments = asArray(asRecord(response.body)?.descendants)
      .map(asRecord)
      .flatMap((s) => {
        const id = asText(s?.id);
        if (s === null || id === null) return [];
        const content = asString(s.content);
        return [
          {
            platform: 'mastodon' as const,
            external_id: id,
            post_external_id: postExternalId,
            author: asText(asRecord(s.account)?.acct),
            text: content === null ? null : htmlToText(content),
            created_at: toIsoTimestamp(s.created_at),
            likes: toCount(s.favourites_count),
            raw: s,
          },
        ];
      });
    return { comments, nextCursor: null, hasMore: false, gaps: [] };
  }
}

/** An Account entity → the account; its handle as `name@host` (see fullAcct). */
export function accountFrom(body: unknown, instanceHost: string | null = null): ResolvedAccount {
  const account = asRecord(body);
  const id = asText(account?.id);
  if (account === null || id === null)
    throw new ConnectorError('not_found', 'Mastodon: no such account', { platform: 'mastodon' });
  return {
    platform: 'mastodon',
    externalId: id,
    handle: fullAcct(asText(account.acct), instanceHost),
    displayName: asText(account.display_name),
    extra: {},
    raw: account,
  };
}
