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
import type { HttpClient, HttpResponse, PlatformProfile } from '../http/http-client.js';
import { asRecord, asString, asText } from '../mapping.js';
import { cleanUsername, mapTiktokComments, mapTiktokVideo, tiktokVideos } from './mapper.js';
import { tiktokProfile } from './profile.js';

export const TIKTOK_API = 'https://open.tiktokapis.com';
const DISPLAY_FIELDS =
  'id,title,video_description,create_time,share_url,embed_link,duration,view_count,like_count,comment_count,share_count';
const RESEARCH_FIELDS =
  'id,username,create_time,video_description,region_code,view_count,like_count,comment_count,share_count,favorites_count,hashtag_names';

export interface TiktokConnectorOptions {
  http: HttpClient;
  baseUrl?: string;
  /** `display`: the creator's own videos (user token). `research`: public videos (client token, approved researchers). */
  api: 'display' | 'research';
  /** Research queries span at most 30 days: the width of each query's window (default 30). */
  researchWindowDays?: number;
  /**
   * How far back a first Research sync reaches (default 365 days), one window after another,
   * newest first; an incremental sync reaches back to its `since`.
   */
  researchHistoryDays?: number;
  now?: () => number;
  /** The platform profile (tests and benchmarks: a declared limit other than 600 per minute). */
  profile?: PlatformProfile;
}

interface ResearchCursor {
  cursor: number;
  searchId: string | null;
  start: string;
  end: string;
  /** The earliest day to reach (yyyymmdd): older windows follow this one until it is covered. */
  oldest?: string;
}

const DAY_MS = 86_400_000;
const yyyymmdd = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
const msOf = (ymd: string): number =>
  Date.UTC(Number(ymd.slice(0, 4)), Number(ymd.slice(4, 6)) - 1, Number(ymd.slice(6, 8)));

/** When a TikTok video was made, from its id (the seconds are its top 32 bits); null if the id is not one. */
export function tiktokIdCreatedMs(id: string): number | null {
  if (!/^\d{10,20}$/.test(id)) return null;
  const seconds = Number(BigInt(id) >> 32n);
  // TikTok launched in 2016: an earlier "time" means the id is not a video id of this shape.
  return seconds > 1_451_606_400 ? seconds * 1000 : null;
}

/**
 * Groups video ids into Research queries: at most 20 ids whose query window (their creation days,
 * a day of margin either side: an id's time is when the upload began, seconds to minutes before
 * `create_time`) spans at most `windowDays` days. Ids without a creation time go in windows ending now.
 */
export function researchBatches(
  ids: readonly string[],
  windowDays: number,
  nowMs: number,
): { ids: string[]; startMs: number; endMs: number }[] {
  const dated = ids
    .map((id) => ({ id, at: tiktokIdCreatedMs(id) ?? nowMs }))
    .sort((a, b) => a.at - b.at);
  const groups: { ids: string[]; first: number; last: number }[] = [];
  for (const { id, at } of dated) {
    const open = groups[groups.length - 1];
    if (open && open.ids.length < 20 && at - open.first < (windowDays - 3) * DAY_MS) {
      open.ids.push(id);
      open.last = at;
    } else {
      groups.push({ ids: [id], first: at, last: at });
    }
  }
  return groups.map((g) => ({
    ids: g.ids,
    startMs: g.first - DAY_MS,
    endMs: Math.min(nowMs, g.last + DAY_MS),
  }));
}

/** TikTok Display API (video/list, cursor = ms timestamp) or Research API (video/query, cursor + search_id). */
export class TiktokConnector implements Connector {
  readonly platform = 'tiktok' as const;
  readonly capabilities: Connector['capabilities'];
  private readonly http: HttpClient;
  private readonly baseUrl: string;
  readonly api: 'display' | 'research';
  private readonly windowDays: number;
  private readonly historyDays: number;
  private readonly now: () => number;
  private readonly profile: PlatformProfile;

  constructor(options: TiktokConnectorOptions) {
    this.http = options.http;
    this.profile = options.profile ?? tiktokProfile;
    this.baseUrl = (options.baseUrl ?? TIKTOK_API).replace(/\/+$/, '');
    this.api = options.api;
    this.windowDays = options.researchWindowDays ?? 30;
    this.historyDays = options.researchHistoryDays ?? 365;
    this.now = options.now ?? Date.now;
    this.capabilities = {
      comments: options.api === 'research',
      metricsBatchSize: 20,
      historyLimit: null,
    };
  }

  private post(
    endpoint: string,
    fields: string,
    json: unknown,
    ctx: ConnectorContext,
  ): Promise<HttpResponse> {
    return this.http.request(this.profile, {
      endpoint: `POST ${endpoint}`,
      method: 'POST',
      url: `${this.baseUrl}${endpoint}`,
      query: { fields },
      json,
      credential: ctx.credential,
      signal: ctx.signal,
    });
  }

  async resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount> {
    if (this.api === 'display') {
      const response = await getOnPlatform(
        this.http,
        this.profile,
        ctx,
        '/v2/user/info/',
        `${this.baseUrl}/v2/user/info/`,
        { fields: 'open_id,union_id,username,display_name' },
      );
      const user = asRecord(asRecord(asRecord(response.body)?.data)?.user);
      const id = asText(user?.open_id);
      if (user === null || id === null)
        throw new ConnectorError('malformed_response', 'TikTok user/info: no user', {
          platform: 'tiktok',
          endpoint: 'GET /v2/user/info/',
        });
      return {
        platform: 'tiktok',
        externalId: id,
        handle: asText(user.username),
        displayName: asText(user.display_name),
        extra: {},
        raw: user,
      };
    }
    const username = (ref.handle ?? ref.id).replace(/^@/, '');
    const response = await this.post(
      '/v2/research/user/info/',
      'display_name,follower_count,video_count',
      { username },
      ctx,
    );
    const data = asRecord(asRecord(response.body)?.data);
    if (data === null)
      throw new ConnectorError('not_found', `TikTok user ${username} was not found`, {
        platform: 'tiktok',
      });
    // The Research API identifies accounts by username only.
    return {
      platform: 'tiktok',
      externalId: username,
      handle: username,
      displayName: asText(data.display_name),
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
    const owner = { externalId: account.externalId, handle: account.handle ?? null };
    if (this.api === 'display') {
      const body: Record<string, number> = { max_count: Math.min(20, options.pageSize ?? 20) };
      if (cursor !== null && /^\d+$/.test(cursor)) body.cursor = Number(cursor);
      const response = await this.post('/v2/video/list/', DISPLAY_FIELDS, body, ctx);
      return this.videoPage(response, owner, options, null);
    }
    const now = this.now();
    const oldest =
      options.since !== undefined ? Date.parse(options.since) : now - this.historyDays * DAY_MS;
    const state: ResearchCursor =
      cursor !== null
        ? (JSON.parse(cursor) as ResearchCursor)
        : {
            cursor: 0,
            searchId: null,
            start: yyyymmdd(Math.max(oldest, now - this.windowDays * DAY_MS)),
            end: yyyymmdd(now),
            oldest: yyyymmdd(oldest),
          };
    const response = await this.post(
      '/v2/research/video/query/',
      RESEARCH_FIELDS,
      {
        query: {
          and: [
            {
              operation: 'IN',
              field_name: 'username',
              field_values: [account.handle ?? account.externalId],
            },
          ],
        },
        start_date: state.start,
        end_date: state.end,
        max_count: Math.min(100, options.pageSize ?? 100),
        cursor: state.cursor,
        ...(state.searchId !== null ? { search_id: state.searchId } : {}),
      },
      ctx,
    );
    return this.videoPage(response, owner, options, state);
  }

  /** A video/list or research/video/query answer → a page. Exposed for replay. */
  videoPage(
    response: HttpResponse,
    owner: { externalId: string | null; handle: string | null } | null,
    options: ListPostsOptions,
    research: ResearchCursor | null,
  ): PostPage {
    const capturedAt = new Date(response.receivedAt).toISOString();
    const data = asRecord(asRecord(response.body)?.data);
    // Every TikTok answer is `{data, error}`; a page's `videos`, when present, is a list.
    if (data === null || (data.videos !== undefined && !Array.isArray(data.videos)))
      throw malformedResponse(
        'tiktok',
        research === null && owner !== null ? 'POST /v2/video/list/' : 'POST /v2/video/query/',
        data === null ? 'no `data` object in the response' : '`data.videos` is not an array',
        response.status,
      );
    const posts: CollectedPost[] = [];
    const gaps: Gap[] = [];
    let reachedSince = false;
    for (const video of tiktokVideos(response.body)) {
      const post = mapTiktokVideo(video, capturedAt, owner);
      if (post === null) {
        gaps.push({
          reason: 'unmappable',
          resourceId: asString(video.id),
          detail: 'video without id or create_time',
        });
        continue;
      }
      if (options.since !== undefined && post.created_at < new Date(options.since).toISOString()) {
        reachedSince = true;
        continue;
      }
      posts.push(post);
    }
    // Display pages come newest first, so an older post ends an incremental sync; Research
    // results within a window's dates come in no promised order, so they are only filtered.
    const hasMore = data?.has_more === true && (research !== null || !reachedSince);
    const nextRaw = asString(data?.cursor);
    let nextCursor: string | null = null;
    if (hasMore && nextRaw !== null) {
      nextCursor =
        research === null
          ? nextRaw
          : JSON.stringify({
              ...research,
              cursor: Number(nextRaw),
              searchId: asString(data?.search_id) ?? research.searchId,
            } satisfies ResearchCursor);
    } else if (research?.oldest !== undefined && research.start > research.oldest) {
      // This window is done; the one before it, back to the oldest day wanted.
      const end = msOf(research.start) - DAY_MS;
      const start = Math.max(msOf(research.oldest), end - (this.windowDays - 1) * DAY_MS);
      nextCursor = JSON.stringify({
        cursor: 0,
        searchId: null,
        start: yyyymmdd(start),
        end: yyyymmdd(end),
        oldest: research.oldest,
      } satisfies ResearchCursor);
    }
    return { posts, nextCursor, hasMore: nextCursor !== null, gaps };
  }

  async refreshMetrics(
    externalIds: readonly string[],
    ctx: ConnectorContext,
  ): Promise<MetricsResult> {
    const result: MetricsResult = { snapshots: [], gaps: [] };
    if (this.api === 'display') {
      for (let i = 0; i < externalIds.length; i += 20) {
        const ids = externalIds.slice(i, i + 20);
        this.collectMetrics(
          await this.post('/v2/video/query/', DISPLAY_FIELDS, { filters: { video_ids: ids } }, ctx),
          ids,
          result,
        );
      }
      return result;
    }
    // A Research query must name a date window of at most 30 days that contains the videos, and
    // a video's id carries its creation time: batches of videos made within one window each.
    for (const batch of researchBatches(externalIds, this.windowDays, this.now())) {
      const response = await this.post(
        '/v2/research/video/query/',
        RESEARCH_FIELDS,
        {
          query: { and: [{ operation: 'IN', field_name: 'video_id', field_values: batch.ids }] },
          start_date: yyyymmdd(batch.startMs),
          end_date: yyyymmdd(batch.endMs),
          max_count: 100,
        },
        ctx,
      );
      this.collectMetrics(response, batch.ids, result);
    }
    return result;
  }

  collectMetrics(response: HttpResponse, asked: readonly string[], into: MetricsResult): void {
    const page = this.videoPage(response, null, {}, null);
    into.snapshots.push(...page.posts.map(snapshotOf));
    into.gaps.push(...page.gaps);
    // A video TikTok returned but the mapper could not read exists: it is `unmappable` (its gap
    // above), not deleted. Only a video missing from the answer is.
    const unmappable = page.gaps.filter((g) => g.reason === 'unmappable');
    const seen = new Set([
      ...page.posts.map((p) => p.external_id),
      ...unmappable.flatMap((g) => (g.resourceId === null ? [] : [g.resourceId])),
    ]);
    // A returned video without an id could be any of the missing ones: none is called deleted.
    const anonymous = unmappable.some((g) => g.resourceId === null);
    into.gaps.push(
      ...missingFromAnswer(asked, (id) => seen.has(id), anonymous, {
        withoutId: (id) => `video ${id} not told apart: the answer holds a video without an id`,
        notReturned: (id) => `video ${id} was not returned`,
      }),
    );
  }

  async listComments(
    postExternalId: string,
    cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage> {
    if (this.api !== 'research')
      throw new ConnectorError(
        'forbidden',
        'TikTok: comments are available through the Research API only',
        { platform: 'tiktok' },
      );
    const response = await this.post(
      '/v2/research/video/comment/list/',
      'id,video_id,text,like_count,reply_count,parent_comment_id,create_time',
      { video_id: postExternalId, max_count: 100, cursor: cursor === null ? 0 : Number(cursor) },
      ctx,
    );
    return this.commentPage(response);
  }

  commentPage(response: HttpResponse): CommentPage {
    const data = asRecord(asRecord(response.body)?.data);
    const next = asString(data?.cursor);
    const hasMore = data?.has_more === true && next !== null;
    return {
      comments: mapTiktokComments(response.body),
      nextCursor: hasMore ? next : null,
      hasMore,
      gaps: [],
    };
  }
}

export { cleanUsername };
