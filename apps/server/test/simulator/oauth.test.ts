import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock, startSimulator, type Simulator } from './index.js';
import { accountOf, basic, call, field, postForm, postJson, withBearer } from './helpers.js';

const clock = createManualClock(Date.UTC(2026, 5, 1));
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    seed: 9,
    clock: clock.now,
    accounts: { x: 2, youtube: 1, instagram: 1, tiktok: 1, bluesky: 1, mastodon: 1, reddit: 1 },
    postsPerAccount: 5,
    tokenTtlSeconds: 60,
  });
});
afterAll(async () => {
  await sim.close();
});

const redirectUri = 'http://localhost:9999/callback';
const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const challenge = createHash('sha256').update(verifier).digest('base64url');

/** Follows the authorize endpoint's redirect and returns the code (and checks the state round trip). */
async function authorize(url: string): Promise<string> {
  const res = await call(url);
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(location.origin + location.pathname).toBe(redirectUri);
  expect(location.searchParams.get('state')).toBe('st4te');
  return location.searchParams.get('code') ?? '';
}

describe('OAuth 2.0', () => {
  it('X: authorization code with PKCE, expiry by the clock, rotating refresh tokens', async () => {
    const client = sim.apps.x;
    const second = accountOf(sim, 'x', 1);
    expect(
      (
        await call(
          `${sim.url('x')}/i/oauth2/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${redirectUri}&state=st4te&scope=tweet.read`,
        )
      ).status,
    ).toBe(400); // PKCE required
    const authUrl = `${sim.url('x')}/i/oauth2/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&scope=${encodeURIComponent('tweet.read users.read offline.access')}&state=st4te&code_challenge=${challenge}&code_challenge_method=S256&sim_account=${second.handle}`;
    const wrong = await call(
      `${sim.url('x')}/2/oauth2/token`,
      postForm({
        grant_type: 'authorization_code',
        code: await authorize(authUrl),
        redirect_uri: redirectUri,
        code_verifier: 'not-the-verifier',
        client_id: client.clientId,
      }),
    );
    expect([wrong.status, field(wrong.body, 'error')]).toEqual([400, 'invalid_request']);
    const code = await authorize(authUrl);
    const exchange = (): Promise<Awaited<ReturnType<typeof call>>> =>
      call(
        `${sim.url('x')}/2/oauth2/token`,
        postForm({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
          client_id: client.clientId,
        }),
      );
    const tokens = await exchange();
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({
      token_type: 'bearer',
      expires_in: 60,
      scope: 'tweet.read users.read offline.access',
    });
    expect((await exchange()).status).toBe(400); // a code works once
    const access = field(tokens.body, 'access_token') as string;
    const refresh = field(tokens.body, 'refresh_token') as string;
    const me = `${sim.url('x')}/2/users/${second.id}/tweets?max_results=5`;
    expect((await call(me, withBearer(access))).status).toBe(200);
    clock.advance(61_000);
    const expired = await call(me, withBearer(access));
    expect([expired.status, field(expired.body, 'title')]).toEqual([401, 'Unauthorized']);
    const refreshed = await call(
      `${sim.url('x')}/2/oauth2/token`,
      postForm({ grant_type: 'refresh_token', refresh_token: refresh, client_id: client.clientId }),
    );
    expect(refreshed.status).toBe(200);
    expect(field(refreshed.body, 'refresh_token')).not.toBe(refresh);
    expect(
      (await call(me, withBearer(field(refreshed.body, 'access_token') as string))).status,
    ).toBe(200);
    const reused = await call(
      `${sim.url('x')}/2/oauth2/token`,
      postForm({ grant_type: 'refresh_token', refresh_token: refresh, client_id: client.clientId }),
    );
    expect(reused.status).toBe(400); // rotated: the old refresh token is dead
  });

  it('TikTok: code exchange with PKCE, open_id, rotating refresh tokens; client credentials for Research', async () => {
    const { clientId, clientSecret } = sim.apps.tiktok;
    const code = await authorize(
      `${sim.url('tiktok')}/v2/auth/authorize/?client_key=${clientId}&scope=user.info.basic,video.list&response_type=code&redirect_uri=${encodeURIComponent(redirectUri)}&state=st4te&code_challenge=${challenge}&code_challenge_method=S256`,
    );
    const tokens = await call(
      `${sim.url('tiktok')}/v2/oauth/token/`,
      postForm({
        client_key: clientId,
        client_secret: clientSecret,
        code,
        grant_type: 'authorization_code',
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    );
    expect(tokens.body).toMatchObject({
      open_id: accountOf(sim, 'tiktok').id,
      scope: 'user.info.basic,video.list',
      token_type: 'Bearer',
      expires_in: 60,
    });
    const refresh = field(tokens.body, 'refresh_token') as string;
    const rotated = await call(
      `${sim.url('tiktok')}/v2/oauth/token/`,
      postForm({
        client_key: clientId,
        client_secret: clientSecret,
        grant_type: 'refresh_token',
        refresh_token: refresh,
      }),
    );
    expect(field(rotated.body, 'refresh_token')).not.toBe(refresh);
    const reused = await call(
      `${sim.url('tiktok')}/v2/oauth/token/`,
      postForm({
        client_key: clientId,
        client_secret: clientSecret,
        grant_type: 'refresh_token',
        refresh_token: refresh,
      }),
    );
    expect(field(reused.body, 'error')).toBe('invalid_grant');
    const clientToken = await call(
      `${sim.url('tiktok')}/v2/oauth/token/`,
      postForm({
        client_key: clientId,
        client_secret: clientSecret,
        grant_type: 'client_credentials',
      }),
    );
    expect(field(clientToken.body, 'access_token')).toMatch(/^clt\./);
    const list = await call(
      `${sim.url('tiktok')}/v2/video/list/?fields=id`,
      postJson(field(rotated.body, 'access_token') as string, {}),
    );
    expect(field(list.body, 'error', 'code')).toBe('ok');
  });

  it('YouTube (Google), Meta, Reddit and Mastodon authorization codes', async () => {
    const yt = sim.apps.youtube;
    const ytCode = await authorize(
      `${sim.url('youtube')}/o/oauth2/v2/auth?client_id=${yt.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=${encodeURIComponent('https://www.googleapis.com/auth/youtube.readonly')}&access_type=offline&state=st4te`,
    );
    const ytTokens = await call(
      `${sim.url('youtube')}/token`,
      postForm({
        code: ytCode,
        client_id: yt.clientId,
        client_secret: yt.clientSecret,
        redirect_uri: redirectUri,
        grant_type: 'authorization_code',
      }),
    );
    expect(ytTokens.body).toMatchObject({ token_type: 'Bearer', expires_in: 60 });
    const mine = await call(
      `${sim.url('youtube')}/youtube/v3/channels?part=id&mine=true`,
      withBearer(field(ytTokens.body, 'access_token') as string),
    );
    expect(field(mine.body, 'items', 0, 'id')).toBe(accountOf(sim, 'youtube').id);
    const dead = await call(
      `${sim.url('youtube')}/token`,
      postForm({
        refresh_token: 'nope',
        client_id: yt.clientId,
        client_secret: yt.clientSecret,
        grant_type: 'refresh_token',
      }),
    );
    expect([dead.status, dead.body]).toEqual([
      400,
      { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
    ]);

    const ig = sim.apps.instagram;
    const igCode = await authorize(
      `${sim.url('instagram')}/v21.0/dialog/oauth?client_id=${ig.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&state=st4te&scope=instagram_basic,instagram_manage_insights`,
    );
    const short = await call(
      `${sim.url('instagram')}/v21.0/oauth/access_token?client_id=${ig.clientId}&client_secret=${ig.clientSecret}&redirect_uri=${encodeURIComponent(redirectUri)}&code=${igCode}`,
    );
    expect(field(short.body, 'token_type')).toBe('bearer');
    const long = await call(
      `${sim.url('instagram')}/v21.0/oauth/access_token?grant_type=fb_exchange_token&client_id=${ig.clientId}&client_secret=${ig.clientSecret}&fb_exchange_token=${field(short.body, 'access_token') as string}`,
    );
    expect(field(long.body, 'expires_in')).toBe(60);

    const rd = sim.apps.reddit;
    const rdCode = await authorize(
      `${sim.url('reddit')}/api/v1/authorize?client_id=${rd.clientId}&response_type=code&state=st4te&redirect_uri=${encodeURIComponent(redirectUri)}&duration=permanent&scope=identity,history,read`,
    );
    const rdTokens = await call(
      `${sim.url('reddit')}/api/v1/access_token`,
      postForm(
        { grant_type: 'authorization_code', code: rdCode, redirect_uri: redirectUri },
        basic(rd.clientId, rd.clientSecret),
      ),
    );
    expect(rdTokens.body).toMatchObject({
      token_type: 'bearer',
      expires_in: 60,
      scope: 'identity history read',
    });
    const reused = await call(
      `${sim.url('reddit')}/api/v1/access_token`,
      postForm(
        { grant_type: 'authorization_code', code: rdCode, redirect_uri: redirectUri },
        basic(rd.clientId, rd.clientSecret),
      ),
    );
    expect(reused.body).toEqual({ error: 'invalid_grant' });
    const access = field(rdTokens.body, 'access_token') as string;
    clock.advance(61_000);
    const expired = await call(
      `${sim.url('reddit')}/user/${accountOf(sim, 'reddit').handle}/about`,
      withBearer(access),
    );
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe(
      'Bearer realm="reddit", error="invalid_token"',
    );

    const md = sim.apps.mastodon;
    const mdCode = await authorize(
      `${sim.url('mastodon')}/oauth/authorize?client_id=${md.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=read&state=st4te`,
    );
    const mdToken = await call(
      `${sim.url('mastodon')}/oauth/token`,
      postForm({
        grant_type: 'authorization_code',
        code: mdCode,
        client_id: md.clientId,
        client_secret: md.clientSecret,
        redirect_uri: redirectUri,
      }),
    );
    expect(Object.keys(mdToken.body as object).sort()).toEqual([
      'access_token',
      'created_at',
      'scope',
      'token_type',
    ]);
  });

  it('Bluesky: createSession, ExpiredToken after the access JWT expires, refreshSession rotates', async () => {
    const a = accountOf(sim, 'bluesky');
    const bad = await call(`${sim.url('bluesky')}/xrpc/com.atproto.server.createSession`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: a.handle, password: 'wrong' }),
    });
    expect([bad.status, field(bad.body, 'error')]).toEqual([401, 'AuthenticationRequired']);
    const created = await call(`${sim.url('bluesky')}/xrpc/com.atproto.server.createSession`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: a.handle, password: a.password }),
    });
    expect(field(created.body, 'did')).toBe(a.id);
    const accessJwt = field(created.body, 'accessJwt') as string;
    const payload = JSON.parse(
      Buffer.from(accessJwt.split('.')[1] ?? '', 'base64url').toString(),
    ) as { exp: number; sub: string };
    expect(payload).toMatchObject({ sub: a.id, exp: Math.floor(clock.now() / 1000) + 60 });
    const profile = `${sim.url('bluesky')}/xrpc/app.bsky.actor.getProfile?actor=${a.id}`;
    expect((await call(profile, withBearer(accessJwt))).status).toBe(200);
    clock.advance(61_000);
    expect((await call(profile, withBearer(accessJwt))).body).toEqual({
      error: 'ExpiredToken',
      message: 'Token has expired',
    });
    const refreshJwt = field(created.body, 'refreshJwt') as string;
    const refreshed = await call(`${sim.url('bluesky')}/xrpc/com.atproto.server.refreshSession`, {
      method: 'POST',
      headers: { authorization: `Bearer ${refreshJwt}` },
    });
    expect(refreshed.status).toBe(200);
    expect(
      (await call(profile, withBearer(field(refreshed.body, 'accessJwt') as string))).status,
    ).toBe(200);
    const again = await call(`${sim.url('bluesky')}/xrpc/com.atproto.server.refreshSession`, {
      method: 'POST',
      headers: { authorization: `Bearer ${refreshJwt}` },
    });
    expect(again.status).toBe(400);
  });

  it('expireTokens forces every access token of a platform to be refreshed', async () => {
    const a = accountOf(sim, 'x');
    sim.expireTokens('x');
    expect(
      (await call(`${sim.url('x')}/2/users/by/username/${a.handle}`, withBearer(a.accessToken)))
        .status,
    ).toBe(401);
    const refreshed = await call(
      `${sim.url('x')}/2/oauth2/token`,
      postForm({
        grant_type: 'refresh_token',
        refresh_token: a.refreshToken ?? '',
        client_id: sim.apps.x.clientId,
      }),
    );
    expect(
      (
        await call(
          `${sim.url('x')}/2/users/by/username/${a.handle}`,
          withBearer(field(refreshed.body, 'access_token') as string),
        )
      ).status,
    ).toBe(200);
  });
});
