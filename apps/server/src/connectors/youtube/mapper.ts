import type { MediaType } from '@socialpulse/contracts';
import type { CollectedComment, CollectedPost, Gap, MetricValues } from '../connector.js';
import { emptyMetrics } from '../connector.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  dig,
  toCount,
  toIsoTimestamp,
  toLanguage,
  type Json,
} from '../mapping.js';

/** Statistics arrive as strings ("7920"); dislikeCount is private since Dec 2021 and ignored. */
export function youtubeMetrics(video: Json | null): MetricValues {
  const stats = asRecord(video?.statistics);
  if (stats === null) return emptyMetrics();
  return {
    likes: toCount(stats.likeCount),
    comments: toCount(stats.commentCount),
    shares: null,
    views: toCount(stats.viewCount),
    saves: null,
    impressions: null,
  };
}

function mediaType(video: Json | null): MediaType {
  const live = asString(dig(video, 'snippet', 'liveBroadcastContent'));
  if (live === 'live' || live === 'upcoming' || asRecord(video?.liveStreamingDetails) !== null)
    return 'live';
  return 'video';
}

export interface YoutubeMapContext {
  capturedAt: string;
  /**
   * The channel listed (its uploads playlist), with the handle its connection stores (null:
   * none, the account is then known by its id): its videos belong to that account.
   */
  owner?: { externalId: string; handle: string | null } | null;
}

/** A video resource (videos.list), optionally completed by its playlist item. */
export function mapYoutubeVideo(
  videoId: string,
  video: Json | null,
  item: Json | null,
  context: YoutubeMapContext,
): CollectedPost | null {
  const snippet = asRecord(video?.snippet) ?? asRecord(item?.snippet);
  const createdAt =
    toIsoTimestamp(dig(video, 'snippet', 'publishedAt')) ??
    toIsoTimestamp(dig(item, 'contentDetails', 'videoPublishedAt')) ??
    toIsoTimestamp(dig(item, 'snippet', 'publishedAt'));
  if (createdAt === null) return null;
  const title = asText(snippet?.title);
  const description = asText(snippet?.description);
  const channelId =
    asText(snippet?.channelId) ?? asText(dig(item, 'snippet', 'videoOwnerChannelId'));
  // Videos name their channel by id only; posts are matched to their account by handle.
  const owner = context.owner;
  const ownHandle =
    owner && (channelId === null || channelId === owner.externalId)
      ? (owner.handle ?? owner.externalId)
      : null;
  return {
    platform: 'youtube',
    external_id: videoId,
    account_external_id: channelId ?? owner?.externalId ?? null,
    account_handle: ownHandle,
    author: asText(snippet?.channelTitle),
    created_at: createdAt,
    text: title && description ? `${title}\n\n${description}` : (title ?? description),
    language: toLanguage(snippet?.defaultAudioLanguage) ?? toLanguage(snippet?.defaultLanguage),
    url: `https://www.youtube.com/watch?v=${encodeURIComponent(videoId)}`,
    media_type: mediaType(video),
    metrics: youtubeMetrics(video),
    metrics_captured_at: context.capturedAt,
    raw: video ?? item,
  };
}

/** The video id of any list item: a video, a playlist item, a search result or an upload activity. */
export function videoIdOf(item: Json): string | null {
  const kind = asString(item.kind);
  if (kind === 'youtube#video') return asText(item.id);
  return (
    asText(dig(item, 'contentDetails', 'videoId')) ??
    asText(dig(item, 'snippet', 'resourceId', 'videoId')) ??
    asText(dig(item, 'id', 'videoId')) ??
    asText(dig(item, 'contentDetails', 'upload', 'videoId'))
  );
}

/**
 * Posts from any list response (videos, playlistItems, search, activities). Items that name no
 * video (a channel in search results, a like in activities) are not posts and are skipped.
 */
export function mapYoutubeList(
  body: unknown,
  context: YoutubeMapContext,
): { posts: CollectedPost[]; gaps: Gap[] } {
  const posts: CollectedPost[] = [];
  const gaps: Gap[] = [];
  for (const entry of asArray(asRecord(body)?.items)) {
    const item = asRecord(entry);
    if (item === null) continue;
    const id = videoIdOf(item);
    if (id === null) {
      if (asString(dig(item, 'snippet', 'type')) === 'upload')
        gaps.push({
          reason: 'unmappable',
          resourceId: asText(item.id),
          detail: 'upload activity without contentDetails (no video id)',
        });
      continue;
    }
    const isVideo = asString(item.kind) === 'youtube#video';
    const post = mapYoutubeVideo(id, isVideo ? item : null, isVideo ? null : item, context);
    if (post === null)
      gaps.push({ reason: 'unmappable', resourceId: id, detail: 'no publication time' });
    else posts.push(post);
  }
  return { posts, gaps };
}

export function mapYoutubeComments(body: unknown): CollectedComment[] {
  const comments: CollectedComment[] = [];
  for (const entry of asArray(asRecord(body)?.items)) {
    const thread = asRecord(entry);
    const top = asRecord(dig(thread, 'snippet', 'topLevelComment'));
    const snippet = asRecord(top?.snippet);
    const id = asText(top?.id) ?? asText(thread?.id);
    if (thread === null || id === null) continue;
    comments.push({
      platform: 'youtube',
      external_id: id,
      post_external_id: asText(snippet?.videoId) ?? asText(dig(thread, 'snippet', 'videoId')) ?? '',
      author: asText(snippet?.authorDisplayName),
      text: asString(snippet?.textOriginal) ?? asString(snippet?.textDisplay),
      created_at: toIsoTimestamp(snippet?.publishedAt),
      likes: toCount(snippet?.likeCount),
      raw: thread,
    });
  }
  return comments;
}
