/**
 * Contract tests: every recorded response under ../shared/fixtures goes through the real
 * connector + HTTP layer code (the replay fetch answers the connector's own requests) and must
 * become posts of the common model, snapshots, accounts, comments or the right typed error.
 * Files are enumerated from disk, so a new fixture is covered (or fails loudly) automatically.
 */
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { importRecordSchema, metricNames } from '@socialpulse/contracts';
import { toImportRecord } from '../connector.js';
import { defaultFixturesDir, listFixtureFiles, readJson, type FixtureFile } from './fixtures.js';
import {
  formatResult,
  isEnvelope,
  replayEnvelope,
  type Envelope,
  type ReplayResult,
} from './replay.js';

const dir = defaultFixturesDir(process.env.SOCIALPULSE_FIXTURES_DIR);
const available = existsSync(dir);
if (!available && process.env.CI === 'true')
  throw new Error(`fixtures not found at ${dir} (CI requires them)`);

/**
 * Bare response bodies have no request: the request each one answers (as an SDK made it), and
 * its status (error bodies carry it). A new body file needs a line here — the test says so.
 */
const bodyRequests: Record<
  string,
  {
    method?: string;
    url: string;
    status?: number;
    pick?: (file: unknown) => unknown;
    notAResponse?: string;
  }
> = {
  'x/bodies/pythontwitter_bearer_token.json': {
    method: 'POST',
    url: 'https://api.x.com/oauth2/token',
  },
  'x/bodies/pythontwitter_timeline_tweets.json': {
    url: 'https://api.x.com/2/users/2244994945/tweets?tweet.fields=created_at,public_metrics&max_results=5',
  },
  'x/bodies/pythontwitter_usage_tweets_resp.json': { url: 'https://api.x.com/2/usage/tweets' },
  'x/bodies/twitterdart_lookup_tweets.json': {
    url: 'https://api.x.com/2/users/2244994945/tweets?max_results=10',
  },
  'x/bodies/twitterdart_rate_limit_exceeded_error.json': {
    url: 'https://api.x.com/2/tweets/search/recent?query=x',
    status: 429,
  },
  'x/bodies/twitterdart_search_recent_with_various_fields.json': {
    url: 'https://api.x.com/2/tweets/search/recent?query=TwitterDev',
  },
  'youtube/bodies/apidata__access_token.json': {
    method: 'POST',
    url: 'https://oauth2.googleapis.com/token',
  },
  'youtube/bodies/apidata__activities__activities_by_channel_p1.json': {
    url: 'https://www.googleapis.com/youtube/v3/activities?part=snippet,contentDetails&channelId=UC_x5XG1OV2P6uZZ5FSM9Ttw',
  },
  'youtube/bodies/apidata__activities__activities_by_channel_p2.json': {
    url: 'https://www.googleapis.com/youtube/v3/activities?part=snippet,contentDetails&channelId=UC_x5XG1OV2P6uZZ5FSM9Ttw&pageToken=CAoQAA',
  },
  'youtube/bodies/apidata__channel_info_single.json': {
    url: 'https://www.googleapis.com/youtube/v3/channels?part=snippet,contentDetails,statistics&id=UC_x5XG1OV2P6uZZ5FSM9Ttw',
  },
  'youtube/bodies/apidata__comment_threads__comment_threads_by_video_paged_1.json': {
    url: 'https://www.googleapis.com/youtube/v3/commentThreads?part=snippet&videoId=F1UP7wRCPH8',
  },
  'youtube/bodies/apidata__error_permission_resp.json': {
    url: 'https://www.googleapis.com/youtube/v3/channels?part=snippet&id=UC_x5XG1OV2P6uZZ5FSM9Ttw',
    status: 403,
  },
  'youtube/bodies/apidata__playlist_items__playlist_items_paged_1.json': {
    url: 'https://www.googleapis.com/youtube/v3/playlistItems?part=snippet,contentDetails&playlistId=PLOU2XLYxmsIKpaV8h0AGE05so0fAwwfTw&maxResults=10',
  },
  'youtube/bodies/apidata__playlist_items__playlist_items_paged_2.json': {
    url: 'https://www.googleapis.com/youtube/v3/playlistItems?part=snippet,contentDetails&playlistId=PLOU2XLYxmsIKpaV8h0AGE05so0fAwwfTw&maxResults=10&pageToken=CAoQAA',
  },
  'youtube/bodies/apidata__search__search_by_keywords_p1.json': {
    url: 'https://www.googleapis.com/youtube/v3/search?part=snippet&q=surfing',
  },
  'youtube/bodies/apidata__search__search_by_keywords_p2.json': {
    url: 'https://www.googleapis.com/youtube/v3/search?part=snippet&q=surfing&pageToken=CAUQAA',
  },
  'youtube/bodies/apidata__search__search_videos_by_channel.json': {
    url: 'https://www.googleapis.com/youtube/v3/search?part=snippet&channelId=UC_x5XG1OV2P6uZZ5FSM9Ttw&type=video',
  },
  'youtube/bodies/error_response.json': {
    url: 'https://www.googleapis.com/youtube/v3/videos?part=statistics&id=D-lhorsDlUQ',
    status: 400,
  },
  'youtube/bodies/modeldata__videos__video_api_response.json': {
    url: 'https://www.googleapis.com/youtube/v3/videos?part=snippet,statistics,contentDetails&id=D-lhorsDlUQ',
  },
  'instagram/bodies/base__error_data.json': {
    url: 'https://graph.facebook.com/v23.0/17841407673135339?fields=id,username',
    status: 400,
  },
  'instagram/bodies/comments__comments_fields.json': {
    url: 'https://graph.facebook.com/v23.0/?ids=17892250648466172,17858154961981086&fields=id,like_count,text,timestamp,username',
  },
  'instagram/bodies/error.json': {
    url: 'https://graph.facebook.com/v23.0/17841407673135339?fields=business_discovery',
    status: 400,
  },
  'instagram/bodies/medias__insights_new.json': {
    url: 'https://graph.facebook.com/v23.0/18035507131611621/insights?metric=profile_activity&breakdown=action_type',
  },
  'instagram/bodies/medias__media_default.json': {
    url: 'https://graph.facebook.com/v23.0/17896129349106152?fields=id,caption,comments_count,children,like_count,media_type,media_url,permalink,timestamp',
  },
  'instagram/bodies/medias__medias_fields.json': {
    url: 'https://graph.facebook.com/v23.0/?ids=17893085207160254,17896129349106152&fields=id,caption,comments_count,like_count,media_type,permalink,timestamp',
  },
  'instagram/bodies/users__content_publish_limit.json': {
    url: 'https://graph.facebook.com/v23.0/17841407673135339/content_publishing_limit?fields=config,quota_usage',
  },
  'instagram/bodies/users__medias_p1.json': {
    url: 'https://graph.facebook.com/v23.0/17841407673135339/media?fields=id,caption,comments_count,like_count,media_type,permalink,timestamp&limit=10',
  },
  'instagram/bodies/users__medias_p2.json': {
    url: 'https://graph.facebook.com/v23.0/17841407673135339/media?fields=id,caption,comments_count,like_count,media_type,permalink,timestamp&limit=10&after=QVFIUmFCUW1NRzg4VFNaRl8ya2dGVWpVZAG1YZAm0ySXRmRklFb2ZALTHprZAkR0WFRHUUdRczNEYkhLOEVsVFRMU0l0Nk9UQWNrNmNLR2xaMUVBeWdZAdmhR',
  },
  'instagram/bodies/users__user_fields.json': {
    url: 'https://graph.facebook.com/v23.0/17841407673135339?fields=id,biography,name,username,profile_picture_url,followers_count,media_count',
  },
  'instagram/bodies/users__user_insights_new.json': {
    url: 'https://graph.facebook.com/v23.0/17841407673135339/insights?metric=reach&period=day&metric_type=total_value&breakdown=media_product_type,follow_type',
  },
  'tiktok/bodies/research_api_comments_response.json': {
    method: 'POST',
    url: 'https://open.tiktokapis.com/v2/research/video/comment/list/?fields=id,video_id,text,like_count,parent_comment_id,create_time',
  },
  'tiktok/bodies/research_api_videos_response_page_1_of_2.json': {
    method: 'POST',
    url: 'https://open.tiktokapis.com/v2/research/video/query/?fields=id,username,create_time',
  },
  'tiktok/bodies/research_api_videos_response_page_2_of_2.json': {
    method: 'POST',
    url: 'https://open.tiktokapis.com/v2/research/video/query/?fields=id,username,create_time',
  },
  'tiktok/doc_examples/error_struct.json': {
    url: 'https://open.tiktokapis.com/v2/user/info/?fields=open_id',
    status: 401,
    pick: (f) => (f as { example: unknown }).example,
  },
  'tiktok/doc_examples/oauth_token_response.json': {
    method: 'POST',
    url: 'https://open.tiktokapis.com/v2/oauth/token/',
    pick: (f) => (f as { example: unknown }).example,
  },
  'tiktok/doc_examples/video_list_request_and_response_shape.json': {
    url: '',
    notAResponse: 'a documented shape with type names instead of values, not a response',
  },
  'bluesky/server_snapshots/getAuthorFeed_feed_snapshot.json': {
    url: 'https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=alice.test',
    pick: (f) => ({ feed: (f as { feed: unknown }).feed }),
  },
};

/**
 * What each file must become, interaction by interaction (skipped writes omitted):
 * `posts:N`, `metrics:N`, `accounts:N`, `comments:N`, `info`, or `error:<kind>`.
 */
const expected: Record<string, string[]> = {
  'x/recorded/academictwitter_counts_all_with_next_token.json': ['info'],
  'x/recorded/academictwitter_liked_tweets_429_rate_limited.json': ['error:rate_limited'],
  'x/recorded/academictwitter_search_all_400_invalid_request.json': ['error:bad_request'],
  'x/recorded/academictwitter_search_all_401_unauthorized.json': ['error:auth_expired'],
  'x/recorded/academictwitter_tweets_lookup_all_not_found.json': ['metrics:0'],
  'x/recorded/academictwitter_tweets_lookup_public_metrics.json': ['metrics:1'],
  'x/recorded/academictwitter_user_mentions_suspended.json': ['error:not_found'],
  // Retweets (referenced_tweets type retweeted) are skipped: 146 of the 199 timeline items.
  'x/recorded/academictwitter_user_tweets_last_page.json': ['posts:0'],
  'x/recorded/academictwitter_user_tweets_page1.json': ['posts:38'],
  'x/recorded/academictwitter_user_tweets_page2.json': ['posts:15'],
  'x/recorded/academictwitter_user_tweets_user_not_found.json': ['error:not_found'],
  'x/recorded/academictwitter_users_lookup_400_invalid_ids.json': ['error:bad_request'],
  'x/recorded/academictwitter_users_lookup_public_metrics.json': ['accounts:3'],
  'x/issue_transcripts/rate_limit_429_problem_json.json': ['error:rate_limited'],
  'x/issue_transcripts/usage_capped_429.json': ['error:usage_cap_exceeded'],
  'x/bodies/pythontwitter_bearer_token.json': ['info'],
  'x/bodies/pythontwitter_timeline_tweets.json': ['posts:5'],
  'x/bodies/pythontwitter_usage_tweets_resp.json': ['info'],
  'x/bodies/twitterdart_lookup_tweets.json': ['posts:10'],
  'x/bodies/twitterdart_rate_limit_exceeded_error.json': ['error:rate_limited'],
  'x/bodies/twitterdart_search_recent_with_various_fields.json': ['posts:6'],
  'youtube/bodies/apidata__access_token.json': ['info'],
  // Recorded with part=snippet only: upload activities then carry no video id (reported as gaps).
  'youtube/bodies/apidata__activities__activities_by_channel_p1.json': ['posts:0'],
  'youtube/bodies/apidata__activities__activities_by_channel_p2.json': ['posts:0'],
  'youtube/bodies/apidata__search__search_by_keywords_p1.json': ['posts:25'],
  'youtube/bodies/apidata__search__search_by_keywords_p2.json': ['posts:25'],
  'youtube/bodies/apidata__search__search_videos_by_channel.json': ['posts:5'],
  'youtube/bodies/apidata__channel_info_single.json': ['accounts:1'],
  'youtube/bodies/apidata__comment_threads__comment_threads_by_video_paged_1.json': ['comments:5'],
  'youtube/bodies/apidata__error_permission_resp.json': ['error:forbidden'],
  'youtube/bodies/apidata__playlist_items__playlist_items_paged_1.json': ['posts:10'],
  'youtube/bodies/apidata__playlist_items__playlist_items_paged_2.json': ['posts:3'],
  'youtube/bodies/error_response.json': ['error:auth_expired'],
  'youtube/bodies/modeldata__videos__video_api_response.json': ['metrics:1'],
  'youtube/issue_transcripts/api_key_service_blocked_403.json': ['error:forbidden'],
  'youtube/issue_transcripts/oauth_refresh_invalid_grant.json': ['error:auth_expired'],
  'youtube/issue_transcripts/quota_exceeded_403_with_headers.json': ['error:quota_exceeded'],
  'youtube/issue_transcripts/unauthenticated_401.json': ['error:auth_expired'],
  'instagram/bodies/base__error_data.json': ['error:not_found'],
  'instagram/bodies/comments__comments_fields.json': ['comments:2'],
  'instagram/bodies/error.json': ['error:bad_request'],
  'instagram/bodies/medias__insights_new.json': ['info'],
  'instagram/bodies/medias__media_default.json': ['metrics:1'],
  'instagram/bodies/medias__medias_fields.json': ['metrics:2'],
  'instagram/bodies/users__content_publish_limit.json': ['info'],
  'instagram/bodies/users__user_fields.json': ['accounts:1'],
  'instagram/bodies/users__medias_p1.json': ['posts:2'],
  'instagram/bodies/users__medias_p2.json': ['posts:2'],
  'instagram/bodies/users__user_insights_new.json': ['info'],
  'instagram/issue_transcripts/app_rate_limit_code4.json': ['error:rate_limited'],
  'instagram/issue_transcripts/token_expired_code190_subcode463_fields.json': [
    'error:auth_expired',
  ],
  'tiktok/bodies/research_api_comments_response.json': ['comments:6'],
  'tiktok/bodies/research_api_videos_response_page_1_of_2.json': ['posts:27'],
  'tiktok/bodies/research_api_videos_response_page_2_of_2.json': ['posts:27'],
  'bluesky/server_snapshots/getAuthorFeed_feed_snapshot.json': ['posts:4'],
  'tiktok/doc_examples/error_struct.json': ['error:auth_expired'],
  'tiktok/doc_examples/oauth_token_response.json': ['info'],
  'tiktok/issue_transcripts/research_invalid_cursor_400.json': ['error:transient'],
  'mastodon/recorded/test_fetch_next_previous.json': [
    'accounts:1',
    'posts:5',
    'posts:5',
    'posts:5',
  ],
  'mastodon/recorded/test_get_pagination_info.json': ['accounts:1', 'posts:5'],
  'mastodon/recorded/test_unauthed_home_tl_throws.json': ['error:auth_expired'],
  'reddit/recorded/TestAnnouncementHelper.test_call__pagination.json': ['info', 'info', 'info'],
  'reddit/recorded/TestAuthImplicit.test_implicit__with_invalid_token.json': ['error:auth_expired'],
  'reddit/recorded/TestInbox.test_message__unauthorized.json': ['info', 'error:forbidden'],
  'reddit/recorded/TestRedditorListings.test_overview__new.json': ['info', 'posts:10'],
};

function summarize(result: ReplayResult): string | null {
  const o = result.outcome;
  switch (o.type) {
    case 'posts':
      return `posts:${o.posts.length}`;
    case 'metrics':
      return `metrics:${o.snapshots.length}`;
    case 'accounts':
      return `accounts:${o.accounts.length}`;
    case 'comments':
      return `comments:${o.comments.length}`;
    case 'info':
      return 'info';
    case 'error':
      return `error:${o.error.kind}`;
    case 'skipped':
      return null;
  }
}

async function envelopeOf(file: FixtureFile): Promise<Envelope | null> {
  const json = await readJson(file.path);
  if (isEnvelope(json)) return json;
  const request = bodyRequests[file.name];
  if (request === undefined)
    throw new Error(
      `${file.name} is a bare body: add the request it answers to bodyRequests in this test`,
    );
  if (request.notAResponse !== undefined) return null;
  const body = request.pick ? request.pick(json) : json;
  return {
    interactions: [
      {
        request: { method: request.method ?? 'GET', url: request.url },
        response: { status: request.status ?? 200, headers: {}, body },
      },
    ],
  };
}

describe.skipIf(!available)('contract: every recorded response through the real connectors', () => {
  let files: FixtureFile[] = [];
  beforeAll(async () => {
    files = await listFixtureFiles(dir);
  });

  it('finds the fixtures of every platform', () => {
    const platforms = new Set(files.map((f) => f.platform));
    expect([...platforms].sort()).toEqual([
      'bluesky',
      'instagram',
      'mastodon',
      'reddit',
      'tiktok',
      'x',
      'youtube',
    ]);
    expect(files.length).toBeGreaterThanOrEqual(60);
  });

  it('parses each file into the common model or a typed error', async () => {
    const registry = new Registry();
    const failures: string[] = [];
    let covered = 0;
    for (const file of files) {
      const envelope = await envelopeOf(file);
      if (envelope === null) continue;
      covered += 1;
      let results: ReplayResult[];
      try {
        results = await replayEnvelope(envelope, { registry });
      } catch (error) {
        failures.push(`${file.name}: threw ${(error as Error).stack ?? String(error)}`);
        continue;
      }
      // Every post is a valid import record with integer-or-null metrics and its raw record.
      for (const result of results) {
        const o = result.outcome;
        const posts = o.type === 'posts' ? o.posts : [];
        for (const post of posts) {
          const parsed = importRecordSchema.safeParse(toImportRecord(post));
          if (!parsed.success)
            failures.push(
              `${file.name}: post ${post.external_id} is not a valid record: ${parsed.error.message}`,
            );
          if (post.raw === undefined || post.raw === null)
            failures.push(`${file.name}: post ${post.external_id} lost its raw record`);
        }
        const snapshots =
          o.type === 'metrics'
            ? o.snapshots
            : o.type === 'posts'
              ? o.posts.map((p) => ({ ...p.metrics }))
              : [];
        for (const snapshot of snapshots) {
          for (const name of metricNames) {
            const v = snapshot[name];
            if (v !== null && !(Number.isSafeInteger(v) && v >= 0))
              failures.push(`${file.name}: metric ${name} = ${String(v)}`);
          }
        }
        // Output lines are JSON and never carry the credential.
        for (const line of formatResult(result)) {
          JSON.parse(line);
          if (line.includes('replay-token'))
            failures.push(`${file.name}: the token leaked into the output`);
        }
        if (
          o.type === 'error' &&
          (o.error.message.includes('replay-token') ||
            JSON.stringify(o.error.toJSON()).includes('replay-token'))
        ) {
          failures.push(`${file.name}: the token leaked into an error`);
        }
      }
      const summary = results.map(summarize).filter((s): s is string => s !== null);
      const want = expected[file.name];
      if (
        want !== undefined &&
        want.length > 0 &&
        JSON.stringify(summary) !== JSON.stringify(want)
      ) {
        failures.push(
          `${file.name}: got ${JSON.stringify(summary)}, expected ${JSON.stringify(want)}`,
        );
      }
    }
    expect(failures).toEqual([]);
    expect(covered).toBeGreaterThanOrEqual(60);
  });

  async function replayFile(name: string): Promise<ReplayResult[]> {
    const file = files.find((f) => f.name === name);
    if (file === undefined) throw new Error(`missing fixture ${name}`);
    const envelope = await envelopeOf(file);
    if (envelope === null) throw new Error(`${name} is not a response`);
    return replayEnvelope(envelope, { registry: new Registry() });
  }
  const only = (results: ReplayResult[], type: string) =>
    results.filter((r) => r.outcome.type === type).map((r) => r.outcome);

  it('follows the pagination tokens of each platform', async () => {
    const x1 = only(
      await replayFile('x/recorded/academictwitter_user_tweets_page1.json'),
      'posts',
    )[0];
    expect(x1).toMatchObject({
      nextCursor: '7140dibdnow9c7btw3w4sp4d62kxfjas0dxxpk3q5wmr9',
      hasMore: true,
    });
    expect(
      only(await replayFile('x/recorded/academictwitter_user_tweets_last_page.json'), 'posts')[0],
    ).toMatchObject({ nextCursor: null, hasMore: false });
    const md = only(await replayFile('mastodon/recorded/test_fetch_next_previous.json'), 'posts');
    expect(md[0]).toMatchObject({ nextCursor: '117020580489281910', hasMore: true });
    const tt = only(
      await replayFile('tiktok/bodies/research_api_videos_response_page_1_of_2.json'),
      'posts',
    )[0];
    expect(tt?.type === 'posts' && JSON.parse(tt.nextCursor ?? '{}')).toMatchObject({
      cursor: 100,
      searchId: '7354367454467855403',
    });
    // The last page of a query's window: the connector goes on with the window before it (a first
    // sync reaches a year back, 30 days per query), a new search from its first page.
    const tt2 = only(
      await replayFile('tiktok/bodies/research_api_videos_response_page_2_of_2.json'),
      'posts',
    )[0];
    expect(tt2).toMatchObject({ hasMore: true });
    const first = JSON.parse(tt?.type === 'posts' ? (tt.nextCursor ?? '{}') : '{}') as {
      start: string;
      end: string;
    };
    const older = JSON.parse(tt2?.type === 'posts' ? (tt2.nextCursor ?? '{}') : '{}') as {
      cursor: number;
      searchId: string | null;
      start: string;
      end: string;
      oldest: string;
    };
    expect(older).toMatchObject({ cursor: 0, searchId: null });
    expect(older.end < first.start && older.start <= older.end && older.oldest <= older.start).toBe(
      true,
    );
    expect(
      only(
        await replayFile('youtube/bodies/apidata__playlist_items__playlist_items_paged_1.json'),
        'posts',
      )[0],
    ).toMatchObject({ nextCursor: 'CAoQAA', hasMore: true });
    expect(
      only(await replayFile('instagram/bodies/users__medias_p1.json'), 'posts')[0],
    ).toMatchObject({ nextCursor: 'after', hasMore: true });
    expect(
      only(
        await replayFile('reddit/recorded/TestRedditorListings.test_overview__new.json'),
        'posts',
      )[0],
    ).toMatchObject({ nextCursor: 't1_mzqqmaw', hasMore: true });
  });

  it('maps metrics, keeping big ids exact and strings as counts', async () => {
    const x1 = only(
      await replayFile('x/recorded/academictwitter_user_tweets_page1.json'),
      'posts',
    )[0];
    if (x1?.type !== 'posts') throw new Error('no posts');
    // A retweet carries the original's counts: none is taken for the account's own post.
    const raws = x1.posts.map((p) => JSON.stringify(p.raw));
    expect(raws.filter((r) => r.includes('"retweeted"'))).toEqual([]);
    const own = x1.posts[0];
    const pm = (own?.raw as { public_metrics: Record<string, number> }).public_metrics;
    expect(own?.metrics).toMatchObject({
      shares: (pm.retweet_count ?? 0) + (pm.quote_count ?? 0),
      likes: pm.like_count,
      comments: pm.reply_count,
      impressions: null,
      saves: null,
    });
    expect(x1.gaps.every((g) => g.reason === 'partial')).toBe(true);
    const yt = only(
      await replayFile('youtube/bodies/modeldata__videos__video_api_response.json'),
      'metrics',
    )[0];
    expect(yt?.type === 'metrics' && yt.snapshots[0]).toMatchObject({
      external_id: 'D-lhorsDlUQ',
      views: 7920,
      likes: 190,
      comments: 32,
    });
    const tt = only(
      await replayFile('tiktok/bodies/research_api_videos_response_page_2_of_2.json'),
      'posts',
    )[0];
    expect(tt?.type === 'posts' && tt.posts[0]?.external_id).toBe('73207681965695990000');
    const gone = only(
      await replayFile('x/recorded/academictwitter_tweets_lookup_all_not_found.json'),
      'metrics',
    )[0];
    expect(gone?.type === 'metrics' && gone.gaps.map((g) => g.reason)).toEqual(
      Array(gone?.type === 'metrics' ? gone.gaps.length : 0).fill('deleted'),
    );
  });

  it('types the errors with the handling they imply', async () => {
    const error = async (name: string) => {
      const o = only(await replayFile(name), 'error')[0];
      if (o?.type !== 'error') throw new Error(`${name}: no error`);
      return o.error;
    };
    const capped = await error('x/issue_transcripts/usage_capped_429.json');
    expect(capped).toMatchObject({
      kind: 'usage_cap_exceeded',
      retryable: false,
      code: 'platform_usage_capped',
      httpStatus: 429,
    });
    const limited = await error('x/recorded/academictwitter_liked_tweets_429_rate_limited.json');
    expect(limited).toMatchObject({
      kind: 'rate_limited',
      retryable: true,
      resetAt: 1624621837000,
    });
    const quota = await error('youtube/issue_transcripts/quota_exceeded_403_with_headers.json');
    expect(quota).toMatchObject({
      kind: 'quota_exceeded',
      retryable: false,
      platformCode: 'quotaExceeded',
    });
    // The recorded 403 arrived Tue, 26 Nov 2024 14:13:28 GMT: the quota returns at 08:00 UTC (PST) next day.
    expect(quota.resetAt).toBe(Date.parse('2024-11-27T08:00:00Z'));
    expect(
      await error('reddit/recorded/TestAuthImplicit.test_implicit__with_invalid_token.json'),
    ).toMatchObject({
      kind: 'auth_expired',
      platformCode: 'invalid_token',
      code: 'platform_auth_expired',
    });
    expect(
      await error('instagram/issue_transcripts/token_expired_code190_subcode463_fields.json'),
    ).toMatchObject({ kind: 'auth_expired', platformCode: '190/463' });
    expect(await error('tiktok/issue_transcripts/research_invalid_cursor_400.json')).toMatchObject({
      kind: 'transient',
      retryable: true,
      platformCode: 'invalid_params',
    });
  });
});
