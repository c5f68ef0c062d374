import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock, startSimulator, type Simulator } from './index.js';
import { accountOf, call, field, postJson, withBearer } from './helpers.js';

// 57 posts: no page size divides it; Mastodon and Bluesky also get a 40-post account (full last page).
let sim: Simulator;
const clock = createManualClock(Date.UTC(2026, 5, 1));

beforeAll(async () => {
  sim = await startSimulator({
    seed: 11,
    clock: clock.now,
    accounts: { x: 1, youtube: 1, instagram: 1, tiktok: 2, bluesky: 1, mastodon: 1, reddit: 1 },
    postsPerAccount: 57,
  });
});
afterAll(async () => {
  await sim.close();
});

function expectWalk(seen: string[], expected: string[]): void {
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen).toEqual(expected);
  expect(seen).toHaveLength(57);
}

describe('pagination walks every post exactly once, newest first', () => {
  it('X: meta.next_token → pagination_token until absent; since_id returns only newer posts', async () => {
    const a = accountOf(sim, 'x');
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const url = `${sim.url('x')}/2/users/${a.id}/tweets?max_results=10&tweet.fields=created_at,public_metrics${token === undefined ? '' : `&pagination_token=${token}`}`;
      const res = await call(url, withBearer(a.accessToken));
      expect(res.status).toBe(200);
      const data = field(res.body, 'data') as { id: string }[];
      expect(field(res.body, 'meta', 'result_count')).toBe(data.length);
      seen.push(...data.map((t) => t.id));
      token = field(res.body, 'meta', 'next_token') as string | undefined;
    } while (token !== undefined);
    expectWalk(seen, sim.postIds('x', a.id));
    const since = seen[5] ?? '';
    const newer = await call(
      `${sim.url('x')}/2/users/${a.id}/tweets?max_results=100&since_id=${since}`,
      withBearer(a.accessToken),
    );
    expect((field(newer.body, 'data') as { id: string }[]).map((t) => t.id)).toEqual(
      seen.slice(0, 5),
    );
  });

  it('YouTube: uploads playlist nextPageToken → pageToken, then videos.list by id', async () => {
    const a = accountOf(sim, 'youtube');
    const key = sim.apps.youtube.appToken ?? '';
    const channel = await call(
      `${sim.url('youtube')}/youtube/v3/channels?part=contentDetails,statistics&forHandle=${encodeURIComponent(a.handle)}&key=${key}`,
    );
    const uploads = field(
      channel.body,
      'items',
      0,
      'contentDetails',
      'relatedPlaylists',
      'uploads',
    ) as string;
    expect(uploads).toBe(a.uploadsPlaylistId);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const res = await call(
        `${sim.url('youtube')}/youtube/v3/playlistItems?part=contentDetails&playlistId=${uploads}&maxResults=50&key=${key}${token === undefined ? '' : `&pageToken=${token}`}`,
      );
      expect(res.status).toBe(200);
      seen.push(
        ...(field(res.body, 'items') as { contentDetails: { videoId: string } }[]).map(
          (i) => i.contentDetails.videoId,
        ),
      );
      token = field(res.body, 'nextPageToken') as string | undefined;
    } while (token !== undefined);
    expectWalk(seen, sim.postIds('youtube', a.id));
    const videos = await call(
      `${sim.url('youtube')}/youtube/v3/videos?part=statistics&id=${seen.slice(0, 50).join(',')}&key=${key}`,
    );
    expect(field(videos.body, 'items')).toHaveLength(50);
    expect(typeof field(videos.body, 'items', 0, 'statistics', 'viewCount')).toBe('string');
  });

  it('Instagram: paging.next URL until absent', async () => {
    const a = accountOf(sim, 'instagram');
    const seen: string[] = [];
    let next: string | undefined =
      `${sim.url('instagram')}/v21.0/${a.id}/media?fields=id,timestamp,like_count&limit=25&access_token=${a.accessToken}`;
    while (next !== undefined) {
      const res = await call(next);
      expect(res.status).toBe(200);
      seen.push(...(field(res.body, 'data') as { id: string }[]).map((m) => m.id));
      next = field(res.body, 'paging', 'next') as string | undefined;
    }
    expectWalk(seen, sim.postIds('instagram', a.id));
  });

  it('TikTok Display: data.cursor while has_more; Research: cursor + search_id while has_more', async () => {
    const a = accountOf(sim, 'tiktok');
    const seen: string[] = [];
    let cursor: number | undefined;
    for (;;) {
      const res = await call(
        `${sim.url('tiktok')}/v2/video/list/?fields=id,create_time,view_count`,
        postJson(
          a.accessToken,
          cursor === undefined ? { max_count: 20 } : { max_count: 20, cursor },
        ),
      );
      expect(field(res.body, 'error', 'code')).toBe('ok');
      seen.push(...(field(res.body, 'data', 'videos') as { id: string }[]).map((v) => v.id));
      if (field(res.body, 'data', 'has_more') !== true) break;
      cursor = field(res.body, 'data', 'cursor') as number;
    }
    expectWalk(seen, sim.postIds('tiktok', a.id));

    const research: string[] = [];
    let searchId: string | undefined;
    let researchCursor = 0;
    for (;;) {
      const body = {
        query: { and: [{ operation: 'IN', field_name: 'username', field_values: [a.handle] }] },
        start_date: '20260502',
        end_date: '20260531',
        max_count: 7,
        cursor: researchCursor,
        ...(searchId === undefined ? {} : { search_id: searchId }),
      };
      const res = await call(
        `${sim.url('tiktok')}/v2/research/video/query/?fields=id,username,create_time`,
        postJson(sim.apps.tiktok.appToken ?? '', body),
      );
      expect(res.status).toBe(200);
      // int64 ids arrive as bare JSON numbers, as the real Research API sends them.
      research.push(...[...res.text.matchAll(/"id":(\d+)/g)].map((m) => m[1] ?? ''));
      searchId = field(res.body, 'data', 'search_id') as string;
      if (field(res.body, 'data', 'has_more') !== true) break;
      researchCursor = field(res.body, 'data', 'cursor') as number;
    }
    const inMay = sim
      .postIds('tiktok', a.id)
      .filter((id) => Number(BigInt(id) >> 32n) * 1000 >= Date.UTC(2026, 4, 2));
    expect(research).toEqual(inMay);
  });

  it('Bluesky: cursor until absent (a full last page still carries one)', async () => {
    const a = accountOf(sim, 'bluesky');
    const seen: string[] = [];
    let cursor: string | undefined;
    let calls = 0;
    do {
      const res = await call(
        `${sim.url('bluesky')}/xrpc/app.bsky.feed.getAuthorFeed?actor=${a.handle}&limit=19${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(res.status).toBe(200);
      seen.push(...(field(res.body, 'feed') as { post: { uri: string } }[]).map((f) => f.post.uri));
      cursor = field(res.body, 'cursor') as string | undefined;
      calls += 1;
    } while (cursor !== undefined);
    expectWalk(seen, sim.postIds('bluesky', a.id));
    expect(calls).toBe(4); // 19 + 19 + 19, then an empty page without a cursor
  });

  it('Mastodon: Link rel="next" until absent', async () => {
    const a = accountOf(sim, 'mastodon');
    const seen: string[] = [];
    let next: string | undefined =
      `${sim.url('mastodon')}/api/v1/accounts/${a.id}/statuses?limit=40`;
    while (next !== undefined) {
      const res = await call(next);
      expect(res.status).toBe(200);
      seen.push(...(res.body as { id: string }[]).map((s) => s.id));
      next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    }
    expectWalk(seen, sim.postIds('mastodon', a.id));
  });

  it('Reddit: data.after until null', async () => {
    const a = accountOf(sim, 'reddit');
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await call(
        `${sim.url('reddit')}/user/${a.handle}/submitted?limit=25&sort=new${after === null ? '' : `&after=${after}`}`,
        withBearer(a.accessToken),
      );
      expect(res.status).toBe(200);
      expect(field(res.body, 'kind')).toBe('Listing');
      seen.push(
        ...(field(res.body, 'data', 'children') as { data: { id: string } }[]).map(
          (c) => c.data.id,
        ),
      );
      after = field(res.body, 'data', 'after') as string | null;
    } while (after !== null);
    expectWalk(seen, sim.postIds('reddit', a.id));
  });
});

describe('data', () => {
  it('is deterministic for a seed and metrics grow with the clock', async () => {
    const again = await startSimulator({
      seed: 11,
      clock: clock.now,
      accounts: { x: 1 },
      postsPerAccount: 57,
    });
    try {
      const a = accountOf(again, 'x');
      expect(a.id).toBe(accountOf(sim, 'x').id);
      expect(again.postIds('x', a.id)).toEqual(sim.postIds('x', a.id));
      const url = `${again.url('x')}/2/tweets?ids=${again.postIds('x', a.id).slice(0, 3).join(',')}&tweet.fields=public_metrics`;
      const before = await call(url, withBearer(a.accessToken));
      clock.advance(3 * 86_400_000);
      const after = await call(url, withBearer(again.apps.x.appToken ?? ''));
      const likes = (body: unknown): number[] =>
        (
          field(body, 'data') as {
            public_metrics: { like_count: number; impression_count: number };
          }[]
        ).map((t) => t.public_metrics.impression_count);
      likes(after.body).forEach((v, i) =>
        expect(v).toBeGreaterThanOrEqual(likes(before.body)[i] ?? 0),
      );
      expect(likes(after.body).reduce((s, v) => s + v, 0)).toBeGreaterThan(
        likes(before.body).reduce((s, v) => s + v, 0),
      );
    } finally {
      await again.close();
    }
  });

  it('upcoming posts appear when the clock passes them', async () => {
    const c = createManualClock(Date.UTC(2026, 0, 10));
    const s = await startSimulator({
      seed: 3,
      clock: c.now,
      accounts: { mastodon: 1 },
      postsPerAccount: 5,
      upcomingPostsPerAccount: 4,
      upcomingSpanDays: 2,
    });
    try {
      const a = accountOf(s, 'mastodon');
      expect(s.postIds('mastodon', a.id)).toHaveLength(5);
      c.advance(3 * 86_400_000);
      const res = await call(`${s.url('mastodon')}/api/v1/accounts/${a.id}/statuses?limit=40`);
      expect(res.body).toHaveLength(9);
    } finally {
      await s.close();
    }
  });
});
