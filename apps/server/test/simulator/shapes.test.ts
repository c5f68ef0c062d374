/**
 * The simulator's answers against the real recorded responses in ../shared/fixtures (read at
 * run time, never copied): the same keys with the same JSON types at the top levels for the
 * same endpoint, and the error bodies the fixtures show exactly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock, startSimulator, type Simulator } from './index.js';
import { accountOf, call, field, postJson, withBearer } from './helpers.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

function fixture(path: string): unknown {
  return JSON.parse(readFileSync(`${fixtures}${path}`, 'utf8')) as unknown;
}
/** The response body of the n-th exchange of a normalized envelope. */
function recorded(path: string, n = 0): unknown {
  return field(fixture(path), 'interactions', n, 'response', 'body');
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Every key of the fixture object (minus `optional`) exists in ours with the same JSON type. */
function expectShape(ours: unknown, theirs: unknown, optional: string[] = []): void {
  expect(typeOf(ours)).toBe(typeOf(theirs));
  const wanted = Object.entries(theirs as Record<string, unknown>)
    .filter(([k]) => !optional.includes(k))
    .map(([k, v]) => [k, typeOf(v)]);
  const got = wanted.map(([k]) => [k, typeOf((ours as Record<string, unknown>)[k as string])]);
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(wanted));
}

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    seed: 21,
    clock: createManualClock().now,
    accounts: { x: 1, youtube: 1, instagram: 1, tiktok: 1, bluesky: 1, mastodon: 1, reddit: 1 },
    postsPerAccount: 60,
    instagram: { legacyInsightsFraction: 0 },
  });
});
afterAll(async () => {
  await sim.close();
});

// Locally, without ../shared, the comparison is skipped; in CI that is a failure, not a skip.
if (!existsSync(fixtures) && process.env.CI === 'true')
  throw new Error(`fixtures not found at ${fixtures} (CI requires them)`);

describe.skipIf(!existsSync(fixtures))('shapes match the recorded fixtures', () => {
  it('X: timeline pages, tweet objects, lookups with errors[], 401, usage-capped', async () => {
    const a = accountOf(sim, 'x');
    const fields =
      'tweet.fields=author_id,conversation_id,created_at,entities,lang,public_metrics,possibly_sensitive&expansions=author_id&user.fields=public_metrics,created_at,description,protected,verified,profile_image_url';
    const page1 = await call(
      `${sim.url('x')}/2/users/${a.id}/tweets?max_results=10&${fields}`,
      withBearer(a.accessToken),
    );
    const page2 = await call(
      `${sim.url('x')}/2/users/${a.id}/tweets?max_results=10&${fields}&pagination_token=${field(page1.body, 'meta', 'next_token') as string}`,
      withBearer(a.accessToken),
    );
    const theirs = recorded('x/recorded/academictwitter_user_tweets_page2.json');
    expectShape(page2.body, theirs);
    expectShape(field(page2.body, 'meta'), field(theirs, 'meta'));
    const tweet =
      (field(page2.body, 'data') as unknown[]).find(
        (t) => (t as { entities?: unknown }).entities !== undefined,
      ) ?? field(page2.body, 'data', 0);
    expectShape(tweet, field(theirs, 'data', 0), [
      'source',
      'in_reply_to_user_id',
      'referenced_tweets',
    ]);
    expectShape(field(tweet, 'public_metrics'), field(theirs, 'data', 0, 'public_metrics'));
    expectShape(field(page2.body, 'includes', 'users', 0), field(theirs, 'includes', 'users', 0), [
      'pinned_tweet_id',
      'entities',
      'url',
      'location',
    ]);
    expectShape(
      field(page1.body, 'meta'),
      field(recorded('x/recorded/academictwitter_user_tweets_page1.json'), 'meta'),
    );

    const missing = await call(`${sim.url('x')}/2/tweets?ids=1,2`, withBearer(a.accessToken));
    const notFound = recorded('x/recorded/academictwitter_tweets_lookup_all_not_found.json');
    expectShape(missing.body, notFound);
    expect(field(missing.body, 'errors', 0)).toEqual(field(notFound, 'errors', 0));

    const unauthorized = await call(`${sim.url('x')}/2/tweets?ids=1`, withBearer('nope'));
    expect([unauthorized.status, unauthorized.body]).toEqual([
      401,
      recorded('x/recorded/academictwitter_search_all_401_unauthorized.json'),
    ]);
    sim.setFaults([{ platform: 'x', kind: 'usage_cap' }]);
    const capped = await call(`${sim.url('x')}/2/tweets?ids=1`, withBearer(a.accessToken));
    expectShape(capped.body, recorded('x/issue_transcripts/usage_capped_429.json'));
    expect(capped.headers.get('x-rate-limit-limit')).not.toBeNull();
    sim.setFaults([{ platform: 'x', kind: 'rate_limit' }]);
    const limited = await call(`${sim.url('x')}/2/tweets?ids=1`, withBearer(a.accessToken));
    expect(limited.body).toEqual(recorded('x/issue_transcripts/rate_limit_429_problem_json.json'));
    sim.setFaults([]);
  });

  it('YouTube: channels, playlistItems, videos; quotaExceeded and keyInvalid bodies exactly', async () => {
    const a = accountOf(sim, 'youtube');
    const key = sim.apps.youtube.appToken ?? '';
    const channels = await call(
      `${sim.url('youtube')}/youtube/v3/channels?part=snippet,statistics&id=${a.id}&key=${key}`,
    );
    const theirChannels = fixture('youtube/bodies/apidata__channel_info_single.json');
    expectShape(channels.body, theirChannels);
    expectShape(field(channels.body, 'items', 0), field(theirChannels, 'items', 0));
    expectShape(
      field(channels.body, 'items', 0, 'snippet'),
      field(theirChannels, 'items', 0, 'snippet'),
    );
    expectShape(
      field(channels.body, 'items', 0, 'statistics'),
      field(theirChannels, 'items', 0, 'statistics'),
      ['commentCount'],
    );

    const items = await call(
      `${sim.url('youtube')}/youtube/v3/playlistItems?part=snippet&playlistId=${a.uploadsPlaylistId ?? ''}&maxResults=10&key=${key}`,
    );
    const theirItems = fixture(
      'youtube/bodies/apidata__playlist_items__playlist_items_paged_1.json',
    );
    expectShape(items.body, theirItems);
    expectShape(field(items.body, 'items', 0), field(theirItems, 'items', 0));
    expectShape(field(items.body, 'items', 0, 'snippet'), field(theirItems, 'items', 0, 'snippet'));

    const ids = sim.postIds('youtube', a.id).slice(0, 3).join(',');
    const videos = await call(
      `${sim.url('youtube')}/youtube/v3/videos?part=snippet,contentDetails,statistics&id=${ids}&key=${key}`,
    );
    const theirVideos = fixture('youtube/bodies/modeldata__videos__video_api_response.json');
    expectShape(videos.body, theirVideos);
    expectShape(field(videos.body, 'items', 0), field(theirVideos, 'items', 0), ['status']);
    expectShape(
      field(videos.body, 'items', 0, 'statistics'),
      field(theirVideos, 'items', 0, 'statistics'),
      ['dislikeCount'],
    );
    expectShape(
      field(videos.body, 'items', 0, 'contentDetails'),
      field(theirVideos, 'items', 0, 'contentDetails'),
    );

    const invalid = await call(`${sim.url('youtube')}/youtube/v3/videos?part=id&id=x&key=bogus`);
    expect([invalid.status, invalid.body]).toEqual([
      400,
      fixture('youtube/bodies/error_response.json'),
    ]);
    sim.setFaults([{ platform: 'youtube', kind: 'usage_cap' }]);
    const quota = await call(`${sim.url('youtube')}/youtube/v3/videos?part=id&id=x&key=${key}`);
    expect([quota.status, quota.body]).toEqual([
      403,
      recorded('youtube/issue_transcripts/quota_exceeded_403_with_headers.json'),
    ]);
    expect(quota.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    sim.setFaults([]);
  });

  it('Instagram: user fields, media pages, new-style insights, error bodies', async () => {
    const a = accountOf(sim, 'instagram');
    const user = await call(
      `${sim.url('instagram')}/v21.0/${a.id}?fields=id,biography,name,username,profile_picture_url,followers_count,media_count&access_token=${a.accessToken}`,
    );
    expectShape(user.body, fixture('instagram/bodies/users__user_fields.json'));
    const media = await call(
      `${sim.url('instagram')}/v21.0/${a.id}/media?fields=id,comments_count,like_count,media_type,media_url,permalink,timestamp&limit=2&access_token=${a.accessToken}`,
    );
    const theirMedia = fixture('instagram/bodies/users__medias_p1.json');
    expectShape(media.body, theirMedia);
    expectShape(field(media.body, 'paging'), field(theirMedia, 'paging'));
    expectShape(field(media.body, 'paging', 'cursors'), field(theirMedia, 'paging', 'cursors'));
    expectShape(field(media.body, 'data', 0), field(theirMedia, 'data', 0));
    const mediaId = field(media.body, 'data', 0, 'id') as string;
    const insights = await call(
      `${sim.url('instagram')}/v21.0/${mediaId}/insights?metric=views,reach,saved&access_token=${a.accessToken}`,
    );
    const theirInsights = fixture('instagram/bodies/medias__insights_new.json');
    expectShape(insights.body, theirInsights);
    expectShape(field(insights.body, 'data', 0), field(theirInsights, 'data', 0));
    const badField = await call(
      `${sim.url('instagram')}/v21.0/${mediaId}?fields=nope&access_token=${a.accessToken}`,
    );
    expectShape(
      field(badField.body, 'error'),
      field(fixture('instagram/bodies/base__error_data.json'), 'error'),
    );
    sim.setFaults([{ platform: 'instagram', kind: 'rate_limit', code: 4 }]);
    const throttled = await call(
      `${sim.url('instagram')}/v21.0/${a.id}?access_token=${a.accessToken}`,
    );
    const theirThrottle = recorded('instagram/issue_transcripts/app_rate_limit_code4.json');
    expect(throttled.status).toBe(400);
    expectShape(field(throttled.body, 'error'), field(theirThrottle, 'error'));
    expect(field(throttled.body, 'error', 'message')).toBe(
      field(theirThrottle, 'error', 'message'),
    );
    sim.setFaults([{ platform: 'instagram', kind: 'expired_token' }]);
    const expired = await call(
      `${sim.url('instagram')}/v21.0/${a.id}?access_token=${a.accessToken}`,
    );
    expectShape(
      field(expired.body, 'error'),
      field(
        recorded('instagram/issue_transcripts/token_expired_code190_subcode463_fields.json'),
        'error',
      ),
    );
    sim.setFaults([]);
  });

  it('TikTok: the Research API pages and the error envelope', async () => {
    const a = accountOf(sim, 'tiktok');
    const res = await call(
      `${sim.url('tiktok')}/v2/research/video/query/?fields=id,like_count,video_description,view_count,username,create_time,hashtag_names,music_id,region_code,share_count,comment_count`,
      postJson(sim.apps.tiktok.appToken ?? '', {
        query: { and: [{ operation: 'IN', field_name: 'username', field_values: [a.handle] }] },
        start_date: '20260401',
        end_date: '20260501',
        max_count: 2,
      }),
    );
    const theirs = fixture('tiktok/bodies/research_api_videos_response_page_1_of_2.json');
    expectShape(res.body, theirs);
    expectShape(field(res.body, 'data'), field(theirs, 'data'));
    expectShape(field(res.body, 'error'), field(theirs, 'error'));
    // Ids lose precision through JSON.parse, as they do with the real API: compare the key set and types except id.
    expectShape(field(res.body, 'data', 'videos', 0), field(theirs, 'data', 'videos', 0));
    const invalid = await call(
      `${sim.url('tiktok')}/v2/research/video/query/?fields=id`,
      postJson(sim.apps.tiktok.appToken ?? '', {
        start_date: '20260401',
        end_date: '20260501',
        search_id: '1',
        cursor: 100,
      }),
    );
    const theirInvalid = recorded('tiktok/issue_transcripts/research_invalid_cursor_400.json');
    expect(invalid.status).toBe(400);
    expectShape(field(invalid.body, 'error'), field(theirInvalid, 'error'));
    expect(field(invalid.body, 'error', 'code')).toBe('invalid_params');
  });

  it('Bluesky: feedViewPost objects as in the AppView snapshot', async () => {
    const a = accountOf(sim, 'bluesky');
    const res = await call(
      `${sim.url('bluesky')}/xrpc/app.bsky.feed.getAuthorFeed?actor=${a.handle}&limit=5`,
    );
    const theirs = fixture('bluesky/server_snapshots/getAuthorFeed_feed_snapshot.json');
    expectShape(field(res.body, 'feed', 0), field(theirs, 'feed', 2));
    expectShape(field(res.body, 'feed', 0, 'post'), field(theirs, 'feed', 2, 'post'));
    expectShape(
      field(res.body, 'feed', 0, 'post', 'author'),
      field(theirs, 'feed', 2, 'post', 'author'),
    );
    expectShape(
      field(res.body, 'feed', 0, 'post', 'record'),
      field(theirs, 'feed', 2, 'post', 'record'),
    );
  });

  it('Mastodon: statuses and the 401 body', async () => {
    const a = accountOf(sim, 'mastodon');
    const res = await call(
      `${sim.url('mastodon')}/api/v1/accounts/${a.id}/statuses?limit=5`,
      withBearer(a.accessToken),
    );
    const theirs = recorded('mastodon/recorded/test_get_pagination_info.json', 11) as unknown[];
    expect(res.headers.get('link')).toMatch(/rel="next".*rel="prev"/);
    // application, quote_approval and tagged_collections appear on the recording's own, newer instance only.
    expectShape(field(res.body, 0), theirs[0], [
      'application',
      'quote_approval',
      'tagged_collections',
    ]);
    expectShape(field(res.body, 0, 'account'), field(theirs[0], 'account'), [
      'avatar_description',
      'header_description',
      'noindex',
      'feature_approval',
      'roles',
      'show_media',
      'show_media_replies',
      'show_featured',
    ]);
    const unauthorized = await call(
      `${sim.url('mastodon')}/api/v1/accounts/${a.id}/statuses`,
      withBearer('nope'),
    );
    expect([unauthorized.status, unauthorized.body]).toEqual([
      401,
      recorded('mastodon/recorded/test_unauthed_home_tl_throws.json', 1),
    ]);
  });

  it('Reddit: token response, Listing, t3 fields, 401 with www-authenticate', async () => {
    const a = accountOf(sim, 'reddit');
    const token = await call(`${sim.url('reddit')}/api/v1/access_token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${sim.apps.reddit.clientId}:${sim.apps.reddit.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expectShape(
      token.body,
      recorded('reddit/recorded/TestRedditorListings.test_overview__new.json', 0),
    );
    const res = await call(
      `${sim.url('reddit')}/user/${a.handle}/submitted?limit=5`,
      withBearer(a.accessToken),
    );
    const theirs = recorded('reddit/recorded/TestRedditorListings.test_overview__new.json', 1);
    expectShape(res.body, theirs);
    expectShape(field(res.body, 'data'), field(theirs, 'data'), ['before']);
    const theirLink = (
      field(theirs, 'data', 'children') as { kind: string; data: Record<string, unknown> }[]
    ).find((c) => c.kind === 't3');
    const ours = field(res.body, 'data', 'children', 0, 'data') as Record<string, unknown>;
    const compared = Object.keys(ours).filter(
      (k) => theirLink?.data[k] !== undefined && theirLink.data[k] !== null && ours[k] !== null,
    );
    expect(compared.length).toBeGreaterThan(30);
    for (const k of compared) expect([k, typeOf(ours[k])]).toEqual([k, typeOf(theirLink?.data[k])]);
    const unauthorized = await call(
      `${sim.url('reddit')}/user/${a.handle}/submitted`,
      withBearer('nope'),
    );
    const their401 = field(
      fixture('reddit/recorded/TestAuthImplicit.test_implicit__with_invalid_token.json'),
      'interactions',
      0,
      'response',
    ) as { body: unknown; headers: Record<string, string> };
    expect([
      unauthorized.status,
      unauthorized.body,
      unauthorized.headers.get('www-authenticate'),
    ]).toEqual([401, their401.body, their401.headers['www-authenticate']]);
  });
});
