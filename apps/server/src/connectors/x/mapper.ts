import type { MediaType } from '@socialpulse/contracts';
import type { CollectedPost, Gap, MetricValues } from '../connector.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  firstCount,
  plus,
  toIsoTimestamp,
  toLanguage,
  type Json,
} from '../mapping.js';

/** X ids are snowflakes: the creation time is in the top bits (epoch 2010-11-04T01:42:54.657Z). */
export function snowflakeTime(id: string): string | null {
  if (!/^\d{15,20}$/.test(id)) return null;
  const ms = Number(BigInt(id) >> 22n) + 1288834974657;
  return ms > 1288834974657 && ms < 4102444800000 ? new Date(ms).toISOString() : null;
}

/**
 * public_metrics as recorded (2021-22: retweet/reply/like/quote) or as documented now
 * (repost_count, bookmark_count, impression_count). Every counter optional.
 */
export function xMetrics(tweet: Json): MetricValues {
  const pm = asRecord(tweet.public_metrics);
  const npm = asRecord(tweet.non_public_metrics) ?? asRecord(tweet.organic_metrics);
  const reposts = firstCount(pm, 'repost_count', 'retweet_count');
  return {
    likes: firstCount(pm, 'like_count'),
    comments: firstCount(pm, 'reply_count'),
    shares: plus(reposts, firstCount(pm, 'quote_count')),
    views: null,
    saves: firstCount(pm, 'bookmark_count'),
    impressions: firstCount(pm, 'impression_count') ?? firstCount(npm, 'impression_count'),
  };
}

function mediaTypeOf(tweet: Json, media: Map<string, Json>): MediaType {
  const keys = asArray(asRecord(tweet.attachments)?.media_keys)
    .map(asString)
    .filter((k): k is string => k !== null);
  const types = keys.map((k) => asString(media.get(k)?.type));
  if (types.length > 1) return 'carousel';
  if (types[0] === 'video' || types[0] === 'animated_gif') return 'video';
  if (types[0] === 'photo') return 'image';
  const urls = asArray(asRecord(tweet.entities)?.urls);
  return urls.length > 0 ? 'link' : 'text';
}

export interface XPageContext {
  capturedAt: string;
  /** When known (timelines): the account the posts belong to. */
  account?: { externalId: string; handle: string | null } | null;
}

/** Tweets of a v2 response (`data` array or object) → posts; unusable items → gaps. */
export function mapXTweets(
  body: unknown,
  context: XPageContext,
): { posts: CollectedPost[]; gaps: Gap[] } {
  const record = asRecord(body);
  const data = record?.data;
  const items = Array.isArray(data) ? data : data !== undefined && asRecord(data) ? [data] : [];
  const includes = asRecord(record?.includes);
  const users = new Map<string, Json>();
  for (const u of asArray(includes?.users)) {
    const user = asRecord(u);
    const id = asString(user?.id);
    if (user && id) users.set(id, user);
  }
  const media = new Map<string, Json>();
  for (const m of asArray(includes?.media)) {
    const item = asRecord(m);
    const key = asString(item?.media_key);
    if (item && key) media.set(key, item);
  }
  const posts: CollectedPost[] = [];
  const gaps: Gap[] = [];
  for (const item of items) {
    const tweet = asRecord(item);
    const id = asText(tweet?.id);
    if (tweet === null || id === null) {
      gaps.push({ reason: 'unmappable', resourceId: null, detail: 'an item without an id' });
      continue;
    }
    // A retweet is another account's post (with that post's counts): not the account's own.
    // Replies and quotes are the account's words and stay.
    if (isRetweet(tweet)) continue;
    // The connector always asks for created_at; older samples lack it, the snowflake id still dates the post.
    const createdAt = toIsoTimestamp(tweet.created_at) ?? snowflakeTime(id);
    if (createdAt === null) {
      gaps.push({
        reason: 'unmappable',
        resourceId: id,
        detail: 'no created_at and the id is not a snowflake',
      });
      continue;
    }
    const authorId = asString(tweet.author_id) ?? context.account?.externalId ?? null;
    const author = authorId === null ? null : users.get(authorId);
    const handle =
      asString(author?.username) ??
      (authorId !== null && authorId === context.account?.externalId
        ? (context.account.handle ?? null)
        : null);
    const text =
      asString(tweet.note_tweet && asRecord(tweet.note_tweet)?.text) ?? asString(tweet.text);
    posts.push({
      platform: 'x',
      external_id: id,
      account_external_id: authorId,
      account_handle: handle,
      author: asText(author?.name) ?? handle,
      created_at: createdAt,
      text,
      language: toLanguage(tweet.lang),
      url: handle ? `https://x.com/${handle}/status/${id}` : `https://x.com/i/web/status/${id}`,
      media_type: mediaTypeOf(tweet, media),
      metrics: xMetrics(tweet),
      metrics_captured_at: context.capturedAt,
      raw: tweet,
    });
  }
  return { posts, gaps };
}

/** `referenced_tweets` names a `retweeted` tweet (v2's only sign of a retweet). */
export function isRetweet(tweet: Json): boolean {
  return asArray(tweet.referenced_tweets).some((r) => asString(asRecord(r)?.type) === 'retweeted');
}

const PROBLEM = /problems\/(.+)$/;

/** `errors[]` inside a 200: what could not be read, as gaps. */
export function xErrorGaps(body: unknown): Gap[] {
  return asArray(asRecord(body)?.errors).map((e) => {
    const error = asRecord(e) ?? {};
    const type = PROBLEM.exec(asString(error.type) ?? '')?.[1] ?? null;
    const detail =
      asString(error.detail) ?? asString(error.message) ?? asString(error.title) ?? 'error';
    const resourceId = asString(error.resource_id) ?? asString(error.value);
    const section = asString(error.section);
    let reason: Gap['reason'] = 'partial';
    // Errors about expansions (users or tweets the posts mention) leave the posts themselves whole.
    if (section === 'includes') reason = 'partial';
    else if (/suspended/i.test(detail)) reason = 'suspended';
    else if (type === 'resource-not-found') reason = 'not_found';
    else if (type === 'not-authorized-for-resource' || type === 'client-forbidden')
      reason = 'forbidden';
    return { reason, resourceId, detail: section ? `${section}: ${detail}` : detail };
  });
}
