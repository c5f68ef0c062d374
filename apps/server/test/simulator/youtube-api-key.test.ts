/**
 * The simulator's YouTube takes the API key both ways Google documents: `?key=` and the
 * `x-goog-api-key` header, which is how the product's connector sends it (never in the URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YoutubeConnector } from '../../src/connectors/youtube/client.js';
import { createHttpClient } from '../../src/connectors/http/http-client.js';
import { startSimulator, type Simulator } from './index.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 4, accounts: { youtube: 1 }, postsPerAccount: 3 });
});
afterAll(async () => {
  await sim.close();
});

describe('YouTube API key', () => {
  it('the real connector, sending x-goog-api-key, resolves a channel and lists its videos', async () => {
    const key = sim.apps.youtube.appToken ?? '';
    expect(key).not.toBe('');
    const youtube = new YoutubeConnector({
      http: createHttpClient({ trustedOrigins: [sim.url('youtube')] }),
      baseUrl: sim.url('youtube'),
    });
    const ctx = { credential: { id: 'key-1', apiKey: key } };
    const account = sim.accounts.youtube[0];
    if (!account) throw new Error('no simulated channel');
    const channel = await youtube.resolveAccount({ id: account.id }, ctx);
    expect(channel.externalId).toBe(account.id);
    const page = await youtube.listPosts(channel, null, ctx);
    expect(page.posts.map((p) => p.external_id).sort()).toEqual(
      sim.postIds('youtube', account.id).sort(),
    );
  });

  it('?key= still works, and a wrong key in the header is refused as keyInvalid', async () => {
    const key = sim.apps.youtube.appToken ?? '';
    const url = `${sim.url('youtube')}/youtube/v3/channels?part=id&id=${sim.accounts.youtube[0]?.id ?? ''}`;
    expect((await fetch(`${url}&key=${key}`)).status).toBe(200);
    const wrong = await fetch(url, { headers: { 'x-goog-api-key': 'AIzaSyWrong' } });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(await wrong.json())).toContain('keyInvalid');
  });
});
