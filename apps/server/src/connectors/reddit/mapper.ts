import type { MediaType } from '@socialpulse/contracts';
import type { CollectedPost } from '../connector.js';
import { emptyMetrics } from '../connector.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  firstCount,
  toIsoTimestamp,
  type Json,
} from '../mapping.js';

function mediaType(link: Json): MediaType {
  if (link.is_video === true) return 'video';
  if (link.is_gallery === true) return 'carousel';
  const hint = asString(link.post_hint);
  if (hint === 'image') return 'image';
  if (hint === 'link' || (link.is_self === false && asText(link.url) !== null)) return 'link';
  return 'text';
}

/** A `t3` (submission) → a post. Comments (`t1`) are not posts. */
export function mapRedditLink(link: Json, capturedAt: string): CollectedPost | null {
  const id = asText(link.id);
  const createdAt = toIsoTimestamp(link.created_utc);
  if (id === null || createdAt === null) return null;
  const title = asString(link.title);
  const body = asText(link.selftext);
  const permalink = asText(link.permalink);
  return {
    platform: 'reddit',
    external_id: id,
    account_external_id: asText(link.author_fullname),
    account_handle: asText(link.author),
    author: asText(link.author),
    created_at: createdAt,
    text: title !== null && body !== null ? `${title}\n\n${body}` : (title ?? body),
    language: null,
    url: permalink === null ? asText(link.url) : `https://www.reddit.com${permalink}`,
    media_type: mediaType(link),
    metrics: {
      ...emptyMetrics(),
      // `ups` is the displayed score's upvote side (fuzzed); `score` when ups is absent.
      likes: firstCount(link, 'ups', 'score'),
      comments: firstCount(link, 'num_comments'),
      shares: firstCount(link, 'num_crossposts'),
      views: firstCount(link, 'view_count'),
    },
    metrics_captured_at: capturedAt,
    raw: link,
  };
}

/**
 * Reddit's own marks of a submission gone while /api/info still returns it: `removed_by_category`
 * (set when a moderator, the admins or the author removed it; null otherwise, as in the recorded
 * listings) or the author shown as `[deleted]`.
 */
export function removedOnReddit(link: Json): boolean {
  return asString(link.removed_by_category) !== null || link.author === '[deleted]';
}

export interface RedditListing {
  children: { kind: string | null; data: Json }[];
  after: string | null;
}

export function readListing(body: unknown): RedditListing | null {
  const record = asRecord(body);
  if (record === null || asString(record.kind) !== 'Listing') return null;
  const data = asRecord(record.data);
  const children = asArray(data?.children).flatMap((c) => {
    const child = asRecord(c);
    const d = asRecord(child?.data);
    return d === null ? [] : [{ kind: asString(child?.kind), data: d }];
  });
  return { children, after: asText(data?.after) };
}
