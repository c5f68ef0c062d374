import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, startSimulator, type Simulator } from './index.js';
import { accountOf, call, field, withBearer } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    seed: 5,
    clock: createManualClock().now,
    accounts: { x: 1, youtube: 1, instagram: 1, tiktok: 1, bluesky: 1, mastodon: 1, reddit: 1 },
    postsPerAccount: 12,
  });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.setFaults([]);
  sim.resetStats();
});

const timeline = (): string =>
  `${sim.url('x')}/2/users/${accountOf(sim, 'x').id}/tweets?max_results=5`;
const xToken = (): RequestInit => withBearer(accountOf(sim, 'x').accessToken);

describe('fault injection', () => {
  it('a 429 storm answers N consecutive requests in the platform format, then recovers; not counted as broken limits', async () => {
    sim.setFaults([
      {
        platform: 'x',
        endpoint: 'GET /2/users/:id/tweets',
        kind: 'rate_limit',
        times: 3,
        after: 1,
      },
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(timeline(), xToken())).status);
    expect(statuses).toEqual([200, 429, 429, 429, 200]);
    expect(sim.stats.served429).toBe(3);
    expect(sim.stats.overLimit.total).toBe(0);
    expect(sim.stats.faultsInjected.rate_limit).toBe(3);
  });

  it('5xx in each platform style', async () => {
    sim.setFaults([
      { platform: 'youtube', kind: 'server_error', status: 503 },
      { platform: 'reddit', kind: 'server_error', status: 502 },
      { platform: 'instagram', kind: 'server_error' },
    ]);
    const yt = await call(
      `${sim.url('youtube')}/youtube/v3/videos?part=statistics&id=x&key=${sim.apps.youtube.appToken ?? ''}`,
    );
    expect([yt.status, field(yt.body, 'error', 'errors', 0, 'reason')]).toEqual([
      503,
      'backendError',
    ]);
    const rd = await call(
      `${sim.url('reddit')}/api/info?id=t3_x`,
      withBearer(accountOf(sim, 'reddit').accessToken),
    );
    expect(rd.status).toBe(502);
    expect(rd.headers.get('content-type')).toContain('text/html');
    const ig = accountOf(sim, 'instagram');
    const igAnswer = await call(
      `${sim.url('instagram')}/v21.0/${ig.id}?access_token=${ig.accessToken}`,
    );
    expect([
      igAnswer.status,
      field(igAnswer.body, 'error', 'code'),
      field(igAnswer.body, 'error', 'is_transient'),
    ]).toEqual([500, 2, true]);
  });

  it('a timeout hangs until the client gives up; a network drop closes the socket', async () => {
    sim.setFaults([{ platform: 'x', kind: 'timeout' }]);
    await expect(
      fetch(timeline(), { ...xToken(), signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();
    sim.setFaults([{ platform: 'x', kind: 'network_drop' }]);
    await expect(fetch(timeline(), xToken())).rejects.toThrow();
    expect((await call(timeline(), xToken())).status).toBe(200);
  });

  it('expired tokens: the platform-specific answers', async () => {
    sim.setFaults([
      { platform: 'instagram', kind: 'expired_token' },
      { platform: 'bluesky', kind: 'expired_token' },
      { platform: 'tiktok', kind: 'expired_token' },
    ]);
    const ig = accountOf(sim, 'instagram');
    const igAnswer = await call(
      `${sim.url('instagram')}/v21.0/${ig.id}?access_token=${ig.accessToken}`,
    );
    expect([
      igAnswer.status,
      field(igAnswer.body, 'error', 'code'),
      field(igAnswer.body, 'error', 'error_subcode'),
    ]).toEqual([400, 190, 463]);
    const bs = await call(
      `${sim.url('bluesky')}/xrpc/app.bsky.actor.getProfile?actor=${accountOf(sim, 'bluesky').handle}`,
    );
    expect([bs.status, field(bs.body, 'error')]).toEqual([400, 'ExpiredToken']);
    const tt = await call(
      `${sim.url('tiktok')}/v2/user/info/?fields=open_id`,
      withBearer(accountOf(sim, 'tiktok').accessToken),
    );
    expect([tt.status, field(tt.body, 'error', 'code')]).toEqual([401, 'access_token_invalid']);
  });

  it('malformed JSON: a truncated body with a JSON content-type', async () => {
    sim.setFaults([{ platform: 'mastodon', kind: 'malformed_json' }]);
    const res = await fetch(
      `${sim.url('mastodon')}/api/v1/accounts/${accountOf(sim, 'mastodon').id}/statuses`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const text = await res.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('usage caps on demand: X usage-capped, YouTube quotaExceeded', async () => {
    sim.setFaults([
      { platform: 'x', kind: 'usage_cap' },
      { platform: 'youtube', kind: 'usage_cap' },
    ]);
    const x = await call(timeline(), xToken());
    expect([x.status, field(x.body, 'type')]).toEqual([
      429,
      'https://api.twitter.com/2/problems/usage-capped',
    ]);
    const yt = await call(
      `${sim.url('youtube')}/youtube/v3/channels?part=id&id=x&key=${sim.apps.youtube.appToken ?? ''}`,
    );
    expect([yt.status, field(yt.body, 'error', 'errors', 0, 'reason')]).toEqual([
      403,
      'quotaExceeded',
    ]);
  });

  it('partial errors: X errors[] inside a 200 next to data', async () => {
    sim.setFaults([{ platform: 'x', kind: 'partial_error', times: 2 }]);
    const page = await call(timeline(), xToken());
    expect(page.status).toBe(200);
    expect(field(page.body, 'data')).toHaveLength(5);
    expect(field(page.body, 'errors', 0, 'type')).toBe(
      'https://api.twitter.com/2/problems/resource-not-found',
    );
    const ids = sim.postIds('x', accountOf(sim, 'x').id).slice(0, 3);
    const lookup = await call(`${sim.url('x')}/2/tweets?ids=${ids.join(',')}`, xToken());
    expect(field(lookup.body, 'data')).toHaveLength(2);
    expect(field(lookup.body, 'errors', 0, 'resource_id')).toBe(ids[2]);
  });

  it('deleted posts leave listings and come back as each platform says "not found"', async () => {
    const xId = sim.postIds('x', accountOf(sim, 'x').id)[0] ?? '';
    const mdId = sim.postIds('mastodon', accountOf(sim, 'mastodon').id)[0] ?? '';
    const rdId = sim.postIds('reddit', accountOf(sim, 'reddit').id)[0] ?? '';
    const ytId = sim.postIds('youtube', accountOf(sim, 'youtube').id)[0] ?? '';
    sim.deletePosts('x', [xId]);
    sim.deletePosts('mastodon', [mdId]);
    sim.deletePosts('reddit', [rdId]);
    sim.deletePosts('youtube', [ytId]);
    expect(sim.postIds('x', accountOf(sim, 'x').id)).not.toContain(xId);
    const lookup = await call(`${sim.url('x')}/2/tweets?ids=${xId}`, xToken());
    expect(lookup.status).toBe(200);
    expect(lookup.body).toEqual({
      errors: [
        expect.objectContaining({
          resource_id: xId,
          title: 'Not Found Error',
          detail: `Could not find tweet with ids: [${xId}].`,
        }),
      ],
    });
    expect((await call(`${sim.url('mastodon')}/api/v1/statuses/${mdId}`)).body).toEqual({
      error: 'Record not found',
    });
    const info = await call(
      `${sim.url('reddit')}/api/info?id=t3_${rdId}`,
      withBearer(accountOf(sim, 'reddit').accessToken),
    );
    expect(field(info.body, 'data', 'children', 0, 'data')).toMatchObject({
      author: '[deleted]',
      removed_by_category: 'deleted',
    });
    const yt = await call(
      `${sim.url('youtube')}/youtube/v3/videos?part=statistics&id=${ytId}&key=${sim.apps.youtube.appToken ?? ''}`,
    );
    expect(field(yt.body, 'items')).toEqual([]);
  });
});
