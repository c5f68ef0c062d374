import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHttpClient } from '../http/http-client.js';
import { defaultFixturesDir } from '../replay/fixtures.js';
import {
  authorizationUrl,
  createPkce,
  exchangeCode,
  renewTokens,
  tokenEndpointProfile,
} from './oauth-client.js';
import { oauthEndpoints, oauthProviders, type OAuthProvider } from './providers.js';
import { startSimulator } from '../../../test/simulator/index.js';

const provider = (platform: keyof typeof oauthProviders): OAuthProvider => {
  const p = oauthProviders[platform];
  if (!p) throw new Error(platform);
  return p;
};

const classify = (
  platform: 'x' | 'youtube' | 'instagram' | 'tiktok' | 'reddit',
  status: number,
  body: unknown,
) =>
  tokenEndpointProfile(platform).classify(
    { status, headers: new Headers({ 'content-type': 'application/json' }), body },
    { endpoint: 'POST /token', nowMs: 0 },
  );

const fixture = async (relative: string): Promise<unknown> =>
  JSON.parse(await readFile(path.join(defaultFixturesDir(), relative), 'utf8'));

describe('PKCE and the consent URL', () => {
  it('S256 challenge of a 256-bit verifier (RFC 7636)', () => {
    const { verifier, challenge } = createPkce();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
    expect(createPkce().verifier).not.toBe(verifier);
  });

  it('speaks each platform dialect: PKCE for X, client_key and commas for TikTok, a permanent grant on Reddit, offline access on Google', () => {
    const input = {
      clientId: 'cid',
      redirectUri: 'https://sp.example/v1/oauth/x/callback',
      state: 'st',
      codeChallenge: 'ch',
    };
    const x = new URL(
      authorizationUrl(provider('x'), oauthEndpoints(provider('x'), undefined), input),
    );
    expect(x.origin + x.pathname).toBe('https://x.com/i/oauth2/authorize');
    expect(Object.fromEntries(x.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'cid',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
      scope: 'tweet.read users.read offline.access',
    });

    const tiktok = new URL(
      authorizationUrl(provider('tiktok'), oauthEndpoints(provider('tiktok'), undefined), input),
    );
    expect(tiktok.searchParams.get('client_key')).toBe('cid');
    expect(tiktok.searchParams.has('client_id')).toBe(false);
    expect(tiktok.searchParams.has('code_challenge')).toBe(false);
    expect(tiktok.searchParams.get('scope')).toBe('user.info.basic,user.info.stats,video.list');

    expect(
      new URL(
        authorizationUrl(provider('reddit'), oauthEndpoints(provider('reddit'), undefined), input),
      ).searchParams.get('duration'),
    ).toBe('permanent');
    const google = new URL(
      authorizationUrl(provider('youtube'), oauthEndpoints(provider('youtube'), undefined), input),
    );
    expect(google.searchParams.get('access_type')).toBe('offline');
    expect(google.origin).toBe('https://accounts.google.com');

    // A base URL override (simulator, proxy) moves every endpoint below it.
    expect(oauthEndpoints(provider('instagram'), 'http://127.0.0.1:4010/instagram/v21.0/')).toEqual(
      {
        authorize: 'http://127.0.0.1:4010/instagram/v21.0/dialog/oauth',
        token: 'http://127.0.0.1:4010/instagram/v21.0/oauth/access_token',
        api: 'http://127.0.0.1:4010/instagram/v21.0',
        revoke: null, // Meta has no revocation endpoint for these tokens
      },
    );
    expect(oauthEndpoints(provider('reddit'), undefined).revoke).toBe(
      'https://www.reddit.com/api/v1/revoke_token',
    );
    expect(oauthEndpoints(provider('x'), 'http://127.0.0.1:4010/x').revoke).toBe(
      'http://127.0.0.1:4010/x/2/oauth2/revoke',
    );
  });
});

describe('token endpoint answers', () => {
  it('recorded: Google refusing a dead refresh token is auth_expired (the user must consent again)', async () => {
    const recorded = (await fixture(
      'youtube/issue_transcripts/oauth_refresh_invalid_grant.json',
    )) as { interactions: { response: { status: number; body: unknown } }[] };
    const response = recorded.interactions[0]?.response;
    const error = classify('youtube', response?.status ?? 0, response?.body);
    expect(error).toMatchObject({
      kind: 'auth_expired',
      platformCode: 'invalid_grant',
      httpStatus: 400,
    });
    expect(error?.message).toContain('Token has been expired or revoked.');
  });

  it('recorded: successful grants parse, including Google scopes as an array and Reddit without a refresh token', async () => {
    expect(
      classify('youtube', 200, await fixture('youtube/bodies/apidata__access_token.json')),
    ).toBeNull();
    const reddit = (await fixture(
      'reddit/recorded/TestRedditorListings.test_overview__new.json',
    )) as { interactions: { response: { status: number; body: unknown } }[] };
    expect(classify('reddit', 200, reddit.interactions[0]?.response.body)).toBeNull();
    const legacyTiktok = (await fixture('tiktok/doc_examples/oauth_token_response.json')) as {
      example: unknown;
    };
    expect(classify('tiktok', 200, legacyTiktok.example)).toBeNull();
  });

  it('tells a refused grant from a refused client, an outage and nonsense', () => {
    expect(classify('reddit', 200, { error: 'invalid_grant' })?.kind).toBe('auth_expired'); // Reddit: an error inside a 200
    expect(
      classify('x', 401, {
        error: 'unauthorized_client',
        error_description: 'Missing valid authorization header',
      })?.kind,
    ).toBe('forbidden');
    expect(
      classify('tiktok', 401, {
        error: 'invalid_client',
        error_description: 'Client key or secret is incorrect.',
        log_id: '1',
      })?.message,
    ).toContain('client id and secret');
    expect(
      classify('instagram', 400, {
        error: { message: 'Error validating client secret.', type: 'OAuthException', code: 1 },
      })?.kind,
    ).toBe('forbidden');
    expect(
      classify('instagram', 400, {
        error: {
          message: 'This authorization code has been used.',
          type: 'OAuthException',
          code: 100,
          error_subcode: 36009,
        },
      })?.kind,
    ).toBe('auth_expired');
    expect(classify('x', 503, 'upstream connect error')?.kind).toBe('transient');
    expect(classify('x', 429, { title: 'Too Many Requests' })?.kind).toBe('rate_limited');
    expect(classify('x', 200, { token_type: 'bearer' })?.kind).toBe('malformed_response');
    expect(classify('x', 400, { error: 'unsupported_grant_type' })?.kind).toBe('bad_request');
  });

  it('sends a code once, authenticates the client the platform way, keeps secrets out of errors', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const http = createHttpClient({
      maxAttempts: 4,
      backoffBaseMs: 1,
      fetch: (url, init) => {
        seen.push({ url: url instanceof Request ? url.url : url.toString(), init: init ?? {} });
        return Promise.resolve(
          new Response(
            JSON.stringify({
              error: 'temporarily_unavailable',
              error_description: 'try again (code c0de-s3cret)',
            }),
            { status: 503, headers: { 'content-type': 'application/json' } },
          ),
        );
      },
    });
    const t = {
      http,
      provider: provider('x'),
      endpoints: oauthEndpoints(provider('x'), 'http://sim.test/x'),
      client: { clientId: 'cid', clientSecret: 'very-secret-value' },
    };
    const failure = await exchangeCode(t, {
      code: 'c0de-s3cret',
      redirectUri: 'https://sp.example/cb',
      codeVerifier: 'v'.repeat(43),
    }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'transient' });
    expect(seen).toHaveLength(1); // single-use code: never retried
    expect(String((failure as Error).message)).not.toContain('c0de-s3cret');
    const init = seen[0]?.init;
    expect(new Headers(init?.headers).get('authorization')).toBe(
      `Basic ${Buffer.from('cid:very-secret-value').toString('base64')}`,
    );
    expect(
      Object.fromEntries(new URLSearchParams(typeof init?.body === 'string' ? init.body : '')),
    ).toEqual({
      grant_type: 'authorization_code',
      code: 'c0de-s3cret',
      redirect_uri: 'https://sp.example/cb',
      code_verifier: 'v'.repeat(43),
    });
  });

  it('keeps the refresh token when the platform does not send a new one (Reddit, Google)', async () => {
    const http = createHttpClient({
      now: () => 1_000_000,
      fetch: () =>
        Promise.resolve(
          new Response(
            JSON.stringify({
              access_token: 'new-access',
              token_type: 'bearer',
              expires_in: 3600,
              scope: '*',
            }),
            { status: 200, headers: { 'content-type': 'application/json' } },
          ),
        ),
    });
    const tokens = await renewTokens(
      {
        http,
        provider: provider('reddit'),
        endpoints: oauthEndpoints(provider('reddit'), undefined),
        client: { clientId: 'a', clientSecret: 'b-secret' },
      },
      { accessToken: 'old', refreshToken: 'keep-me' },
    );
    expect(tokens).toMatchObject({
      accessToken: 'new-access',
      refreshToken: 'keep-me',
      expiresAt: new Date(1_000_000 + 3_600_000).toISOString(),
    });
  });

  it('X: a refresh with a revoked refresh token (400 invalid_request "Value passed for the token was invalid.") is auth_expired; the same answer to another grant stays bad_request', async () => {
    const sim = await startSimulator({ seed: 5, accounts: { x: 1 }, postsPerAccount: 1 });
    try {
      const account = sim.accounts.x[0];
      if (!account?.refreshToken) throw new Error('no simulated X refresh token');
      const t = {
        http: createHttpClient({ trustedOrigins: [sim.url('x')] }),
        provider: provider('x'),
        endpoints: oauthEndpoints(provider('x'), sim.url('x')),
        client: { clientId: sim.apps.x.clientId, clientSecret: sim.apps.x.clientSecret },
      };
      sim.revokeGrants('x');
      const refused = await renewTokens(t, {
        accessToken: account.accessToken,
        refreshToken: account.refreshToken,
      }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ kind: 'auth_expired', platform: 'x', httpStatus: 400 });
      expect(String((refused as Error).message)).not.toContain(account.refreshToken);
      const code = await exchangeCode(t, {
        code: 'not-a-code',
        redirectUri: 'https://sp.example/cb',
        codeVerifier: 'v'.repeat(43),
      }).catch((e: unknown) => e);
      expect(code).toMatchObject({ kind: 'bad_request', platformCode: 'invalid_request' });
    } finally {
      await sim.close();
    }
  });
});
