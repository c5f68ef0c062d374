import type { MediaType } from '@socialpulse/contracts';
import type { CollectedComment, CollectedPost, MetricValues } from '../connector.js';
import { emptyMetrics } from '../connector.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  toCount,
  toIsoTimestamp,
  type Json,
} from '../mapping.js';

export function instagramMediaType(media: Json): MediaType | null {
  const product = asString(media.media_product_type);
  if (product === 'REELS') return 'reel';
  if (product === 'STORY') return 'story';
  switch (asString(media.media_type)) {
    case 'CAROUSEL_ALBUM':
      return 'carousel';
    case 'VIDEO':
      return 'video';
    case 'IMAGE':
      return 'image';
    default:
      return null;
  }
}

export function mapInstagramMedia(
  media: Json,
  capturedAt: string,
  owner: { externalId: string | null; handle: string | null } | null,
): CollectedPost | null {
  const id = asText(media.id);
  const createdAt = toIsoTimestamp(media.timestamp);
  if (id === null || createdAt === null) return null;
  const handle = asText(media.username) ?? owner?.handle ?? null;
  return {
    platform: 'instagram',
    external_id: id,
    account_external_id: asText(asRecord(media.owner)?.id) ?? owner?.externalId ?? null,
    account_handle: handle,
    author: handle,
    created_at: createdAt,
    text: asString(media.caption),
    language: null,
    url: asText(media.permalink),
    media_type: instagramMediaType(media),
    metrics: {
      ...emptyMetrics(),
      likes: toCount(media.like_count),
      comments: toCount(media.comments_count),
      views: toCount(media.view_count),
    },
    metrics_captured_at: capturedAt,
    raw: media,
  };
}

/** One insight's value in either style: new `total_value.value`, or legacy `values[]` (the latest). */
export function insightValue(insight: Json): number | null {
  const total = toCount(asRecord(insight.total_value)?.value);
  if (total !== null) return total;
  const values = asArray(insight.values);
  for (let i = values.length - 1; i >= 0; i -= 1) {
    const v = toCount(asRecord(values[i])?.value);
    if (v !== null) return v;
  }
  return null;
}

/** Every insight by name (`reach`, `views`, `saved`…), whichever style the response uses. */
export function parseInsights(body: unknown): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const entry of asArray(asRecord(body)?.data)) {
    const insight = asRecord(entry);
    const name = asText(insight?.name);
    if (insight && name) out[name] = insightValue(insight);
  }
  return out;
}

/** Insights → metric fields; `views` replaced `impressions`/`plays`/`video_views` (deprecated 2025). */
export function metricsFromInsights(
  insights: Record<string, number | null>,
): Partial<MetricValues> {
  const pick = (...names: string[]): number | null => {
    for (const n of names) {
      const v = insights[n];
      if (v !== undefined && v !== null) return v;
    }
    return null;
  };
  const out: Partial<MetricValues> = {};
  const entries: [keyof MetricValues, number | null][] = [
    ['views', pick('views', 'plays', 'video_views', 'ig_reels_aggregated_all_plays_count')],
    ['impressions', pick('impressions')],
    ['saves', pick('saved', 'saves')],
    ['shares', pick('shares')],
    ['likes', pick('likes')],
    ['comments', pick('comments')],
  ];
  for (const [key, value] of entries) if (value !== null) out[key] = value;
  return out;
}

export function mapInstagramComment(comment: Json, postId: string | null): CollectedComment | null {
  const id = asText(comment.id);
  if (id === null) return null;
  return {
    platform: 'instagram',
    external_id: id,
    post_external_id: postId ?? asText(asRecord(comment.media)?.id) ?? '',
    author: asText(comment.username) ?? asText(asRecord(comment.from)?.username),
    text: asString(comment.text),
    created_at: toIsoTimestamp(comment.timestamp),
    likes: toCount(comment.like_count),
    raw: comment,
  };
}

/** `GET /?ids=a,b` answers an object keyed by id. */
export function idKeyedValues(body: unknown): Json[] {
  const record = asRecord(body);
  if (record === null || 'data' in record || 'error' in record) return [];
  return Object.values(record)
    .map(asRecord)
    .filter((v): v is Json => v !== null && asText(v.id) !== null);
}
