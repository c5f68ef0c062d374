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
import type { HttpClient, HttpResponse, PlatformProfile } from '../http/http-client.js';
import { asArray, asRecord, asText, dig, type Json } from '../mapping.js';
import { mapYoutubeComments, mapYoutubeVideo, videoIdOf } from './mapper.js';
import { youtubeProfile } from './profile.js';

export const YOUTUBE_API = 'https://www.googleapis.com';

export interface YoutubeConnectorOptions {
  http: HttpClient;
  baseUrl?: string;
  profile?: PlatformProfile;
}

/** Errors that spoil one secondary call but not the page: recorded as gaps. Others propagate. */
const gapKinds = new Set([
  'transient',
  'circuit_open',
  'malformed_response',
  'not_found',
  'forbidden',
]);

/**
 * YouTube Data API v3. Enumeration: channels.list → uploads playlist → playlistItems.list pages
 * (1 unit / 50 videos) → videos.list for statistics (1 unit / 50 ids). Never search.list (100 units).
 */
export class YoutubeConnector implements Connector {
  readonly platform = 'youtube' as const;
  readonly capabilities = { comments: true, metricsBatchSize: 50, historyLimit: null };
  private readonly http: HttpClient;
  private readonly baseUrl: string;
  private readonly profile: PlatformProfile;

  constructor(options: YoutubeConnectorOptions) {
    this.http = options.http;
    this.baseUrl = (options.baseUrl ?? YOUTUBE_API).replace(/\/+$/, '');
    this.profile = options.profile ?? youtubeProfile;
  }

  private get(
    method: string,
    query: Record<string, string | number | undefined>,
    ctx: ConnectorContext,
  ): Promise<HttpResponse> {
    const path = `/youtube/v3/${method}`;
    return getOnPlatform(this.http, this.profile, ctx, path, `${this.baseUrl}${path}`, query);
  }

  async resolveAccount(ref: AccountRef, ctx: ConnectorContext): Promise<ResolvedAccount> {
    const query: Record<string, string> = { part: 'snippet,contentDetails,statistics' };
    if (ref.handle !== undefined)
      query.forHandle = ref.handle.startsWith('@') ? ref.handle : `@${ref.handle}`;
    else query.id = ref.id;
    const response = await this.get('channels', query, ctx);
    return this.accountFrom(response, ref.handle ?? ref.id);
  }

  /** A channels.list response → the channel. Exposed for replay. */
  accountFrom(response: HttpResponse, asked: string): ResolvedAccount {
    const channel = asRecord(asArray(asRecord(response.body)?.items)[0]);
    const id = asText(channel?.id);
    if (channel === null || id === null)
      throw new ConnectorError('not_found', `YouTube channel ${asked} was not found`, {
        platform: 'youtube',
        endpoint: 'GET /youtube/v3/channels',
        httpStatus: response.status,
      });
    const uploads =
      asText(dig(channel, 'contentDetails', 'relatedPlaylists', 'uploads')) ??
      uploadsPlaylistOf(id);
    return {
      platform: 'youtube',
      externalId: id,
      handle: asText(dig(channel, 'snippet', 'customUrl')),
      displayName: asText(dig(channel, 'snippet', 'title')),
      extra: uploads === null ? {} : { uploadsPlaylistId: uploads },
      raw: channel,
    };
  }

  async listPosts(
    account: AccountKey,
    cursor: string | null,
    ctx: ConnectorContext,
    options: ListPostsOptions = {},
  ): Promise<PostPage> {
    const playlistId = account.extra?.uploadsPlaylistId ?? uploadsPlaylistOf(account.externalId);
    if (playlistId === null)
      throw new ConnectorError(
        'bad_request',
        `YouTube: no uploads playlist for channel ${account.externalId}`,
        { platform: 'youtube' },
      );
    const response = await this.get(
      'playlistItems',
      {
        part: 'snippet,contentDetails',
        playlistId,
        maxResults: Math.min(50, options.pageSize ?? 50),
        pageToken: cursor ?? undefined,
      },
      ctx,
    );
    return this.pageFromPlaylist(response, ctx, options, {
      externalId: account.externalId,
      handle: account.handle ?? null,
    });
  }

  /** A playlistItems page → posts with statistics from videos.list. Exposed for replay. */
  async pageFromPlaylist(
    response: HttpResponse,
    ctx: ConnectorContext,
    options: ListPostsOptions = {},
    owner: { externalId: string; handle: string | null } | null = null,
  ): Promise<PostPage> {
    const body = asRecord(response.body);
    // YouTube always sends `items` (empty on an empty page).
    if (!Array.isArray(body?.items))
      throw malformedResponse(
        'youtube',
        'GET /youtube/v3/playlistItems',
        'no `items` array in the response',
        response.status,
      );
    const items = asArray(body?.items)
      .map(asRecord)
      .filter((i): i is Json => i !== null);
    const ids = items.map(videoIdOf).filter((id): id is string => id !== null);
    const gaps: Gap[] = [];
    const videos = new Map<string, Json>();
    let capturedAt = new Date(response.receivedAt).toISOString();
    if (ids.length > 0) {
      try {
        const stats = await this.get(
          'videos',
          { part: 'snippet,statistics,contentDetails', id: ids.join(','), maxResults: 50 },
          ctx,
        );
        if (!Array.isArray(asRecord(stats.body)?.items))
          throw malformedResponse(
            'youtube',
            'GET /youtube/v3/videos',
            'no `items` array in the response',
            stats.status,
          );
        capturedAt = new Date(stats.receivedAt).toISOString();
        for (const v of asArray(asRecord(stats.body)?.items)) {
          const video = asRecord(v);
          const id = asText(video?.id);
          if (video && id) videos.set(id, video);
        }
      } catch (error) {
        if (!isConnectorError(error) || !gapKinds.has(error.kind)) throw error;
        gaps.push({
          reason: 'metrics_unavailable',
          resourceId: null,
          detail: `videos.list failed (${error.kind}): ${error.message}`,
        });
      }
    }
    const posts: CollectedPost[] = [];
    let reachedSince = false;
    for (const item of items) {
      const id = videoIdOf(item);
      if (id === null) continue;
      const video = videos.get(id) ?? null;
      if (video === null && gaps.length === 0) {
        // In the playlist but not returned by videos.list: private or deleted since.
        const title = asText(dig(item, 'snippet', 'title'));
        gaps.push({
          reason: title === 'Private video' ? 'forbidden' : 'deleted',
          resourceId: id,
          detail: `video ${id} is listed in the uploads playlist but videos.list did not return it`,
        });
        continue;
      }
      const post = mapYoutubeVideo(id, video, item, { capturedAt, owner });
      if (post === null) {
        gaps.push({ reason: 'unmappable', resourceId: id, detail: 'no publication time' });
        continue;
      }
      if (options.since !== undefined && post.created_at < new Date(options.since).toISOString()) {
        reachedSince = true;
        continue;
      }
      posts.push(post);
    }
    const next = asText(body?.nextPageToken);
    return {
      posts,
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
    for (let i = 0; i < externalIds.length; i += 50) {
      const ids = externalIds.slice(i, i + 50);
      const response = await this.get(
        'videos',
        { part: 'snippet,statistics', id: ids.join(','), maxResults: 50 },
        ctx,
      );
      this.collectMetrics(response, ids, result);
    }
    return result;
  }

  /** A videos.list response → snapshots; ids asked for but absent → gaps (deleted or private). */
  collectMetrics(response: HttpResponse, asked: readonly string[], into: MetricsResult): void {
    // Without `items`, every id asked for would read as deleted.
    if (!Array.isArray(asRecord(response.body)?.items))
      throw malformedResponse(
        'youtube',
        'GET /youtube/v3/videos',
        'no `items` array in the response',
        response.status,
      );
    const capturedAt = new Date(response.receivedAt).toISOString();
    const seen = new Set<string>();
    for (const v of asArray(asRecord(response.body)?.items)) {
      const video = asRecord(v);
      const id = asText(video?.id);
      if (video === null || id === null) continue;
      seen.add(id);
      const post = mapYoutubeVideo(id, video, null, { capturedAt });
      if (post) into.snapshots.push(snapshotOf(post));
      else into.gaps.push({ reason: 'unmappable', resourceId: id, detail: 'no publication time' });
    }
    for (const id of asked)
      if (!seen.has(id))
        into.gaps.push({
          reason: 'deleted',
          resourceId: id,
          detail: `video ${id} was not returned (deleted or private)`,
        });
  }

  async listComments(
    postExternalId: string,
    cursor: string | null,
    ctx: ConnectorContext,
  ): Promise<CommentPage> {
    const response = await this.get(
      'commentThreads',
      {
        part: 'snippet',
        videoId: postExternalId,
        maxResults: 100,
        pageToken: cursor ?? undefined,
        textFormat: 'plainText',
      },
      ctx,
    );
    const next = asText(asRecord(response.body)?.nextPageToken);
    return {
      comments: mapYoutubeComments(response.body),
      nextCursor: next,
      hasMore: next !== null,
      gaps: [],
    };
  }
}

/** A channel's uploads playlist is its id with UC → UU (what relatedPlaylists.uploads returns). */
export function uploadsPlaylistOf(channelId: string): string | null {
  return /^UC[\w-]{22}$/.test(channelId) ? `UU${channelId.slice(2)}` : null;
}
