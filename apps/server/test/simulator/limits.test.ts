import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, startSimulator, type Simulator } from './index.js';
import { accountOf, call, field, postJson, withBearer } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('rate limits and quotas', () => {
  it('window history: per key, the units served and requests refused in each window, closed and current', async () => {
    const clock = createManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    sim = await startSimulator({
      seed: 1,
      clock: clock.now,
      accounts: { x: 1 },
      postsPerAccount: 10,
      limits: { x: { 'GET /2/users/:id/tweets': { limit: 2, windowSeconds: 10 } } },
    });
    const a = accountOf(sim, 'x');
    const url = `${sim.url('x')}/2/users/${a.id}/tweets?max_results=5`;
    expect(sim.windowHistory()).toEqual([]);
    for (let i = 0; i < 3; i += 1) await call(url, withBearer(a.accessToken));
    clock.advance(25_000); // skips the window 12:00:10–20 entirely
    await call(url, withBearer(a.accessToken));
    const start = Date.UTC(2026, 5, 1, 12, 0, 0);
    const key = `x|GET /2/users/:id/tweets|account:${a.id}`;
    expect(sim.windowHistory()).toEqual([
      { key, startMs: start, endMs: start + 10_000, limit: 2, used: 2, refused: 1 },
      { key, startMs: start + 20_000, endMs: start + 30_000, limit: 2, used: 1, refused: 0 },
    ]);
    expect(sim.stats.overLimit.total).toBe(1);
  });

  it('X: x-rate-limit-* per endpoint and token, problem+json 429 after the limit, counted, reset after the window', async () => {
    const clock = createManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    sim = await startSimulator({
      seed: 1,
      clock: clock.now,
      accounts: { x: 1 },
      postsPerAccount: 10,
      limits: { x: { 'GET /2/users/:id/tweets': { limit: 3 } } },
    });
    const a = accountOf(sim, 'x');
    const url = `${sim.url('x')}/2/users/${a.id}/tweets?max_results=5`;
    const reset = String(Date.UTC(2026, 5, 1, 12, 15, 0) / 1000);
    for (const remaining of ['2', '1', '0']) {
      const ok = await call(url, withBearer(a.accessToken));
      expect(ok.status).toBe(200);
      expect([
        ok.headers.get('x-rate-limit-limit'),
        ok.headers.get('x-rate-limit-remaining'),
        ok.headers.get('x-rate-limit-reset'),
      ]).toEqual(['3', remaining, reset]);
    }
    const refused = await call(url, withBearer(a.accessToken));
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      title: 'Too Many Requests',
      detail: 'Too Many Requests',
      type: 'about:blank',
      status: 429,
    });
    expect(refused.headers.get('x-rate-limit-remaining')).toBe('0');
    expect(refused.headers.get('x-rate-limit-reset')).toBe(reset);
    // Another endpoint and another token have their own windows.
    expect(
      (await call(`${sim.url('x')}/2/users/by/username/${a.handle}`, withBearer(a.accessToken)))
        .status,
    ).toBe(200);
    expect((await call(url, withBearer(sim.apps.x.appToken ?? ''))).status).toBe(200);
    expect(sim.stats.overLimit).toMatchObject({
      total: 1,
      byKind: { rate: 1 },
      byEndpoint: { x: { 'GET /2/users/:id/tweets': 1 } },
    });
    expect(sim.stats.served429).toBe(1);
    clock.advance(15 * 60_000);
    const again = await call(url, withBearer(a.accessToken));
    expect(again.status).toBe(200);
    expect(again.headers.get('x-rate-limit-remaining')).toBe('2');
  });

  it('X: the monthly usage cap answers 429 usage-capped while the rate headers show headroom', async () => {
    sim = await startSimulator({
      seed: 1,
      clock: createManualClock().now,
      accounts: { x: 1 },
      postsPerAccount: 30,
      x: { usageCapPosts: 10 },
    });
    const a = accountOf(sim, 'x');
    const url = `${sim.url('x')}/2/users/${a.id}/tweets?max_results=10`;
    expect((await call(url, withBearer(a.accessToken))).status).toBe(200);
    const capped = await call(url, withBearer(a.accessToken));
    expect(capped.status).toBe(429);
    expect(field(capped.body, 'type')).toBe('https://api.twitter.com/2/problems/usage-capped');
    expect(Number(capped.headers.get('x-rate-limit-remaining'))).toBeGreaterThan(0);
    expect(sim.stats.overLimit.byKind.usage_cap).toBe(1);
  });

  it('YouTube: units per day per project, 403 quotaExceeded with no rate headers, reset at midnight Pacific', async () => {
    // 2026-06-01 06:00 UTC is 23:00 PDT on May 31.
    const clock = createManualClock(Date.UTC(2026, 5, 1, 6, 0, 0));
    sim = await startSimulator({
      seed: 1,
      clock: clock.now,
      accounts: { youtube: 1 },
      postsPerAccount: 5,
      limits: { youtube: { units: { limit: 2 } } },
    });
    const key = sim.apps.youtube.appToken ?? '';
    const url = `${sim.url('youtube')}/youtube/v3/channels?part=statistics&id=${accountOf(sim, 'youtube').id}&key=${key}`;
    expect((await call(url)).status).toBe(200);
    expect((await call(url, withBearer(accountOf(sim, 'youtube').accessToken))).status).toBe(200);
    const refused = await call(url);
    expect(refused.status).toBe(403);
    expect(field(refused.body, 'error', 'errors', 0, 'reason')).toBe('quotaExceeded');
    expect([...refused.headers.keys()].filter((k) => k.includes('rate'))).toEqual([]);
    expect(sim.stats.overLimit.byKind.quota).toBe(1);
    clock.advance(59 * 60_000); // 23:59 PDT: same day
    expect((await call(url)).status).toBe(403);
    clock.advance(60_000); // midnight PDT
    expect((await call(url)).status).toBe(200);
  });

  it('Instagram: X-App-Usage and X-Business-Use-Case-Usage percentages, then code 4 with is_transient', async () => {
    sim = await startSimulator({
      seed: 1,
      clock: createManualClock().now,
      accounts: { instagram: 1 },
      postsPerAccount: 5,
      limits: { instagram: { app: { limit: 4 } } },
    });
    const a = accountOf(sim, 'instagram');
    const url = `${sim.url('instagram')}/v21.0/${a.id}?fields=username,followers_count&access_token=${a.accessToken}`;
    const firstAnswer = await call(url);
    expect(JSON.parse(firstAnswer.headers.get('x-app-usage') ?? '{}')).toEqual({
      call_count: 25,
      total_cputime: 8,
      total_time: 12,
    });
    expect(
      field(
        JSON.parse(firstAnswer.headers.get('x-business-use-case-usage') ?? '{}'),
        a.id,
        0,
        'type',
      ),
    ).toBe('instagram');
    for (let i = 0; i < 3; i++) await call(url);
    const refused = await call(url);
    expect(refused.status).toBe(400);
    expect(field(refused.body, 'error')).toMatchObject({
      code: 4,
      is_transient: true,
      message: '(#4) Application request limit reached',
      type: 'OAuthException',
    });
    expect(typeof field(refused.body, 'error', 'fbtrace_id')).toBe('string');
  });

  it('TikTok, Bluesky, Mastodon and Reddit: their own 429 bodies and headers', async () => {
    const clock = createManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    sim = await startSimulator({
      seed: 1,
      clock: clock.now,
      accounts: { tiktok: 1, bluesky: 1, mastodon: 1, reddit: 1 },
      postsPerAccount: 5,
      limits: {
        tiktok: { 'POST /v2/video/list/': { limit: 1 } },
        bluesky: { global: { limit: 1 } },
        mastodon: { account: { limit: 1 } },
        reddit: { client: { limit: 1 } },
      },
    });
    const tt = accountOf(sim, 'tiktok');
    const list = (): Promise<Awaited<ReturnType<typeof call>>> =>
      call(
        `${sim?.url('tiktok') ?? ''}/v2/video/list/?fields=id`,
        postJson(tt.accessToken, { max_count: 5 }),
      );
    expect((await list()).status).toBe(200);
    const ttRefused = await list();
    expect(ttRefused.status).toBe(429);
    expect(field(ttRefused.body, 'error', 'code')).toBe('rate_limit_exceeded');

    const bs = `${sim.url('bluesky')}/xrpc/app.bsky.actor.getProfile?actor=${accountOf(sim, 'bluesky').handle}`;
    expect((await call(bs)).headers.get('ratelimit-policy')).toBe('1;w=300');
    const bsRefused = await call(bs);
    expect([
      bsRefused.status,
      field(bsRefused.body, 'error'),
      bsRefused.headers.get('ratelimit-remaining'),
    ]).toEqual([429, 'RateLimitExceeded', '0']);

    const md = `${sim.url('mastodon')}/api/v1/accounts/lookup?acct=${accountOf(sim, 'mastodon').handle}`;
    const mdOk = await call(md);
    expect(mdOk.headers.get('x-ratelimit-reset')).toBe('2026-06-01T12:05:00.000000Z');
    expect((await call(md)).status).toBe(429);

    const rd = accountOf(sim, 'reddit');
    const rdOk = await call(
      `${sim.url('reddit')}/user/${rd.handle}/about`,
      withBearer(rd.accessToken),
    );
    expect([
      rdOk.headers.get('x-ratelimit-used'),
      rdOk.headers.get('x-ratelimit-remaining'),
      rdOk.headers.get('x-ratelimit-reset'),
    ]).toEqual(['1', '0.0', '600']);
    const rdRefused = await call(
      `${sim.url('reddit')}/user/${rd.handle}/about`,
      withBearer(rd.accessToken),
    );
    expect([rdRefused.status, rdRefused.body]).toEqual([
      429,
      { message: 'Too Many Requests', error: 429 },
    ]);
    expect(sim.stats.overLimit.total).toBe(4);
  });

  it('limitScale scales every default limit', async () => {
    sim = await startSimulator({
      seed: 1,
      accounts: { x: 1 },
      postsPerAccount: 1,
      limitScale: 0.01,
    });
    expect(sim.limits('x')['GET /2/users/:id/tweets']).toEqual({ limit: 9, windowSeconds: 900 });
    expect(sim.limits('youtube').units?.limit).toBe(100);
  });
});
