import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importRecordSchema, metricNames } from '@socialpulse/contracts';
import { toImportRecord, type CollectedPost } from './connector.js';
import { mapBlueskyPost } from './bluesky/mapper.js';
import { mapInstagramMedia, metricsFromInsights, parseInsights } from './instagram/mapper.js';
import { toCount, toIsoTimestamp } from './mapping.js';
import { mapMastodonStatus } from './mastodon/mapper.js';
import { mapRedditLink } from './reddit/mapper.js';
import { mapTiktokVideo } from './tiktok/mapper.js';
import { mapXTweets } from './x/mapper.js';
import { mapYoutubeVideo } from './youtube/mapper.js';

const AT = '2026-03-02T12:00:00.000Z';

/** A metric as a platform might send it: missing, null, a number of any kind, a string, nonsense. */
const metric = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer({ min: -5, max: 2 ** 40 }),
  fc.double(),
  fc.integer({ min: 0, max: 1e9 }).map(String),
  fc.constantFrom('', 'NaN', '1e3', '12.0', 'abc', '-1'),
  fc.boolean(),
  fc.object({ maxDepth: 1 }),
);
const date = fc.oneof(
  fc
    .date({ min: new Date('2006-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.string(),
  fc.constant(undefined),
  fc.integer({ min: 1_200_000_000, max: 1_900_000_000 }),
);

function check(post: CollectedPost | null): void {
  if (post === null) return;
  for (const name of metricNames) {
    const v = post.metrics[name];
    expect(v === null || (Number.isSafeInteger(v) && v >= 0)).toBe(true);
  }
  const parsed = importRecordSchema.safeParse(toImportRecord(post));
  if (!parsed.success)
    throw new Error(`${JSON.stringify(toImportRecord(post))}: ${parsed.error.message}`);
  expect(post.raw).toBeDefined();
}

describe('mapping robustness (property)', () => {
  it('counts are integers ≥ 0 or null, never NaN', () => {
    fc.assert(
      fc.property(metric, (v) => {
        const c = toCount(v);
        expect(c === null || (Number.isSafeInteger(c) && c >= 0)).toBe(true);
      }),
    );
    expect(toCount('7920')).toBe(7920);
    expect(toCount('997.0')).toBe(997);
    expect(toCount(-1)).toBeNull();
    expect(toCount(Number.NaN)).toBeNull();
    expect(toIsoTimestamp('2021-08-13T08:25:28+0000')).toBe('2021-08-13T08:25:28.000Z');
    expect(toIsoTimestamp(1704499196)).toBe('2024-01-05T23:59:56.000Z');
  });

  it('X: renamed, missing and null public_metrics never crash', () => {
    const pm = fc.record(
      {
        retweet_count: metric,
        repost_count: metric,
        reply_count: metric,
        like_count: metric,
        quote_count: metric,
        bookmark_count: metric,
        impression_count: metric,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record(
            {
              id: fc.oneof(
                fc.bigInt({ min: 10n ** 17n, max: 2n ** 63n - 1n }).map(String),
                fc.string(),
              ),
              text: fc.oneof(fc.string(), fc.constant(null)),
              created_at: date,
              public_metrics: fc.oneof(pm, fc.constant(null), fc.constant(undefined)),
            },
            { requiredKeys: ['id'] },
          ),
        ),
        (data) => {
          const { posts } = mapXTweets({ data }, { capturedAt: AT });
          posts.forEach(check);
        },
      ),
    );
    const { posts } = mapXTweets(
      {
        data: [
          {
            id: '1400188008909922306',
            text: 't',
            created_at: '2021-06-02T20:00:00.000Z',
            public_metrics: {
              repost_count: 3,
              quote_count: 1,
              bookmark_count: 2,
              impression_count: 90,
            },
          },
        ],
      },
      { capturedAt: AT },
    );
    expect(posts[0]?.metrics).toEqual({
      likes: null,
      comments: null,
      shares: 4,
      views: null,
      saves: 2,
      impressions: 90,
    });
  });

  it('every other platform: arbitrary metric values give valid posts or none', () => {
    fc.assert(
      fc.property(metric, metric, metric, metric, date, (a, b, c, d, when) => {
        check(
          mapYoutubeVideo(
            'vid',
            {
              kind: 'youtube#video',
              id: 'vid',
              snippet: { publishedAt: when, title: 'x' },
              statistics: { viewCount: a, likeCount: b, commentCount: c },
            },
            null,
            { capturedAt: AT },
          ),
        );
        check(
          mapInstagramMedia(
            { id: '1', timestamp: when, like_count: a, comments_count: b, view_count: c },
            AT,
            null,
          ),
        );
        check(
          mapTiktokVideo(
            {
              id: 7320768196569599000,
              create_time: when,
              like_count: a,
              comment_count: b,
              share_count: c,
              view_count: d,
              username: 'a\u0000b',
            },
            AT,
            null,
          ),
        );
        check(
          mapBlueskyPost(
            {
              uri: 'at://did:plc:x/app.bsky.feed.post/3k',
              record: { createdAt: when, text: 'hi' },
              likeCount: a,
              replyCount: b,
              repostCount: c,
              quoteCount: d,
              author: { handle: 'a.bsky.social' },
            },
            AT,
          ),
        );
        check(
          mapMastodonStatus(
            {
              id: '1',
              created_at: when,
              content: '<p>hi</p>',
              favourites_count: a,
              replies_count: b,
              reblogs_count: c,
              quotes_count: d,
              account: { id: '2', acct: 'me' },
            },
            AT,
          ),
        );
        check(
          mapRedditLink(
            {
              id: 'abc',
              created_utc: when,
              title: 't',
              ups: a,
              score: b,
              num_comments: c,
              view_count: d,
              permalink: '/r/x/comments/abc/t/',
            },
            AT,
          ),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('Instagram insights in the legacy and the new style give the same metrics', () => {
    const legacy = {
      data: [
        { name: 'saved', period: 'lifetime', values: [{ value: 4 }] },
        { name: 'views', period: 'lifetime', values: [{ value: 120 }] },
      ],
    };
    const current = {
      data: [
        { name: 'saved', period: 'lifetime', total_value: { value: 4 } },
        { name: 'views', period: 'lifetime', total_value: { value: 120, breakdowns: [] } },
      ],
    };
    expect(metricsFromInsights(parseInsights(legacy))).toEqual({ saves: 4, views: 120 });
    expect(metricsFromInsights(parseInsights(current))).toEqual({ saves: 4, views: 120 });
    fc.assert(
      fc.property(
        fc.array(
          fc.record(
            {
              name: fc.constantFrom('views', 'saved', 'shares', 'reach', 'impressions'),
              values: fc.array(fc.record({ value: metric })),
              total_value: fc.record({ value: metric }),
            },
            { requiredKeys: ['name'] },
          ),
        ),
        (data) => {
          for (const v of Object.values(metricsFromInsights(parseInsights({ data }))))
            expect(Number.isSafeInteger(v)).toBe(true);
        },
      ),
    );
  });
});
