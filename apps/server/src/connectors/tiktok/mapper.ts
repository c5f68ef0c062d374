import type { CollectedComment, CollectedPost } from '../connector.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  toCount,
  toIsoTimestamp,
  type Json,
} from '../mapping.js';

/** Research usernames have been seen with NUL characters in them. */
export function cleanUsername(value: unknown): string | null {
  const s = asText(value);
  if (s === null) return null;
  const cleaned = s.replace(/\p{Cc}/gu, '');
  return cleaned === '' ? null : cleaned;
}

/** One video of the Display API (`video/list`, `video/query`) or of the Research API (`research/video/query`). */
export function mapTiktokVideo(
  video: Json,
  capturedAt: string,
  owner: { externalId: string | null; handle: string | null } | null,
): CollectedPost | null {
  const id = asText(video.id);
  const createdAt = toIsoTimestamp(video.create_time);
  if (id === null || createdAt === null) return null;
  const handle = cleanUsername(video.username) ?? owner?.handle ?? null;
  const title = asText(video.title);
  const description = asText(video.video_description);
  return {
    platform: 'tiktok',
    external_id: id,
    account_external_id: owner?.externalId ?? null,
    account_handle: handle,
    author: handle,
    created_at: createdAt,
    text: description ?? title,
    language: null,
    url:
      asText(video.share_url) ??
      asText(video.embed_link) ??
      (handle ? `https://www.tiktok.com/@${handle}/video/${id}` : null),
    media_type: 'video',
    metrics: {
      likes: toCount(video.like_count),
      comments: toCount(video.comment_count),
      shares: toCount(video.share_count),
      views: toCount(video.view_count),
      saves: toCount(video.favorites_count) ?? toCount(video.collect_count),
      impressions: null,
    },
    metrics_captured_at: capturedAt,
    raw: video,
  };
}

export function tiktokVideos(body: unknown): Json[] {
  return asArray(asRecord(asRecord(body)?.data)?.videos)
    .map(asRecord)
    .filter((v): v is Json => v !== null);
}

export function mapTiktokComments(body: unknown): CollectedComment[] {
  const comments: CollectedComment[] = [];
  for (const entry of asArray(asRecord(asRecord(body)?.data)?.comments)) {
    const c = asRecord(entry);
    const id = asString(c?.id);
    if (c === null || id === null) continue;
    comments.push({
      platform: 'tiktok',
      external_id: id,
      post_external_id: asString(c.video_id) ?? '',
      author: cleanUsername(c.username),
      text: asString(c.text),
      created_at: toIsoTimestamp(c.create_time),
      likes: toCount(c.like_count),
      raw: c,
    });
  }
  return comments;
}
