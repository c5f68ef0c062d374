import type { MediaType } from '@socialpulse/contracts';
import type { CollectedPost, Gap } from '../connector.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  dig,
  firstCount,
  plus,
  toIsoTimestamp,
  toLanguage,
  type Json,
} from '../mapping.js';

function mediaType(post: Json): MediaType {
  const type = asString(dig(post, 'embed', '$type')) ?? '';
  if (type.includes('images')) return 'image';
  if (type.includes('video')) return 'video';
  if (type.includes('external')) return 'link';
  if (type.includes('recordWithMedia')) return 'other';
  return 'text';
}

/** A postView (getAuthorFeed item's `post`, or getPosts) → a post. */
export function mapBlueskyPost(post: Json, capturedAt: string): CollectedPost | null {
  const uri = asText(post.uri);
  const record = asRecord(post.record);
  const createdAt = toIsoTimestamp(record?.createdAt) ?? toIsoTimestamp(post.indexedAt);
  if (uri === null || createdAt === null) return null;
  const author = asRecord(post.author);
  const handle = asText(author?.handle);
  const rkey = /\/app\.bsky\.feed\.post\/([^/]+)$/.exec(uri)?.[1] ?? null;
  return {
    platform: 'bluesky',
    external_id: uri,
    account_external_id: asText(author?.did),
    account_handle: handle,
    author: asText(author?.displayName) ?? handle,
    created_at: createdAt,
    text: asString(record?.text),
    language: toLanguage(asArray(record?.langs)[0]),
    url:
      handle !== null && rkey !== null ? `https://bsky.app/profile/${handle}/post/${rkey}` : null,
    media_type: mediaType(post),
    metrics: {
      likes: firstCount(post, 'likeCount'),
      comments: firstCount(post, 'replyCount'),
      shares: plus(firstCount(post, 'repostCount'), firstCount(post, 'quoteCount')),
      views: null,
      saves: firstCount(post, 'bookmarkCount'),
      impressions: null,
    },
    metrics_captured_at: capturedAt,
    raw: post,
  };
}

/**
 * getAuthorFeed `feed[]` → the account's own posts. Reposts (`reason: reasonRepost`) are other
 * people's posts and are skipped; pinned posts appear once.
 */
export function mapBlueskyFeed(
  body: unknown,
  capturedAt: string,
): { posts: CollectedPost[]; gaps: Gap[] } {
  const posts: CollectedPost[] = [];
  const gaps: Gap[] = [];
  const seen = new Set<string>();
  for (const entry of asArray(asRecord(body)?.feed)) {
    const item = asRecord(entry);
    if (item === null) continue;
    const reason = asString(dig(item, 'reason', '$type')) ?? '';
    if (reason.includes('reasonRepost')) continue;
    const post = asRecord(item.post);
    const mapped = post === null ? null : mapBlueskyPost(post, capturedAt);
    if (mapped === null) {
      gaps.push({
        reason: 'unmappable',
        resourceId: asText(post?.uri),
        detail: 'post without uri or creation time',
      });
      continue;
    }
    if (seen.has(mapped.external_id)) continue;
    seen.add(mapped.external_id);
    posts.push(mapped);
  }
  return { posts, gaps };
}
