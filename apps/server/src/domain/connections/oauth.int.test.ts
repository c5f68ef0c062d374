/**
 * "Connect with <platform>" end to end against the platform simulator: the OAuth flow through the
 * API (start → the platform's consent redirect → our callback), tokens sealed at rest, renewal
 * before expiry and after a 401 with rotation, concurrent renewals spending a rotating refresh
 * token once, and every refusal (replayed or unknown state, denied consent, a dead grant).
 */
import { createHash } from 'node:crypto';
import type { ConnectionView } from '@socialpulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createAppDeps } from '../../api/deps.js';
import type { ZodApp } from '../../api/types.js';
import { loadConfig } from '../../config.js';
import { findConnection } from '../../db/repos/connections.repo.js';
import { withTenant } from '../../db/tenant.js';
import { createLogger } from '../../observability/logger.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildCollectionTestApp,
  addMember,
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
  type TestUser,
} from '../../../test/support/app.js';
import {
  createManualClock,
  startSimulator,
  type Platform,
  type Simulator,
} from '../../../test/simulator/index.js';
import { createSecretBox, type SecretBox } from '../auth/secret-box.js';
import { createConnectorProvider, type ConnectorProvider } from '../collection/connectors.js';
import { syncConnection } from '../collection/sync.service.js';
import { openCredentials } from './credentials.js';
import { currentCredential } from './token-renewal.js';

const OAUTH_PLATFORMS: Platform[] = ['x', 'youtube', 'instagram', 'tiktok', 'mastodon', 'reddit'];

describe.skipIf(databaseUnavailable() !== '')('OAuth connections against the simulator', () => {
  const clock = createManualClock(Date.now());
  let db: TestDatabase;
  let sim: Simulator;
  let app: ZodApp;
  let connectors: ConnectorProvider;
  let box: SecretBox;
  let owner: TestUser;
  let workspaceId: string;
  const now = (): Date => new Date(clock.now());

  const ws = (): string => `/v1/workspaces/${workspaceId}`;
  const inject = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    user: TestUser | null,
    payload?: object,
  ) => {
    const res = await app.inject({
      method,
      url,
      ...(user ? { headers: user.headers } : {}),
      ...(payload ? { payload } : {}),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.body === '' ? null : res.json<Record<string, unknown>>(),
    };
  };

  /** Plays the browser: starts the flow, follows the platform's consent redirect, returns our callback URL. */
  async function consent(
    platform: Platform,
    options: {
      accountIndex?: number;
      returnTo?: string;
      startedBy?: TestUser;
      pollMinutes?: number;
      workspaceId?: string;
    } = {},
  ): Promise<string> {
    const base = options.workspaceId ? `/v1/workspaces/${options.workspaceId}` : ws();
    const started = await inject('POST', `${base}/connections/oauth`, options.startedBy ?? owner, {
      platform,
      ...(platform === 'mastodon' ? { instance: sim.url('mastodon') } : {}),
      ...(options.returnTo ? { return_to: options.returnTo } : {}),
      ...(options.pollMinutes !== undefined ? { poll_minutes: options.pollMinutes } : {}),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const authorizeUrl = new URL(String(started.body?.authorization_url));
    const account = sim.accounts[platform][options.accountIndex ?? 0];
    if (account) authorizeUrl.searchParams.set('sim_account', account.id);
    const res = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location') ?? '');
    expect(back.pathname).toBe(`/v1/oauth/${platform}/callback`);
    return `${back.pathname}${back.search}`;
  }

  async function connect(platform: Platform, accountIndex = 0): Promise<ConnectionView> {
    const callback = await consent(platform, { accountIndex });
    const done = await inject('GET', callback, null);
    expect([200, 201], JSON.stringify(done.body)).toContain(done.status);
    return done.body as unknown as ConnectionView;
  }

  const storedCredentials = async (connectionId: string) =>
    withTenant(db.pool, { workspaceId, userId: null }, async (c) => {
      const connection = await findConnection(c, workspaceId, connectionId);
      if (!connection?.credentialsSealed) throw new Error('no credentials');
      return {
        connection,
        credentials: openCredentials(box, connection.id, connection.credentialsSealed),
      };
    });

  const tokenCalls = (platform: Platform, path: string): number => {
    const byEndpoint = sim.stats.requests[platform] ?? {};
    return Object.entries(byEndpoint)
      .filter(([endpoint]) => endpoint.endsWith(path))
      .reduce((sum, [, n]) => sum + n, 0);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({
      seed: 11,
      clock: clock.now,
      accounts: { x: 2, youtube: 1, instagram: 1, tiktok: 2, bluesky: 1, mastodon: 1, reddit: 1 },
      postsPerAccount: 8,
      tokenTtlSeconds: { x: 7200, tiktok: 7200, youtube: 3600 },
    });
    const oauthClients = Object.fromEntries(
      OAUTH_PLATFORMS.filter((p) => p !== 'mastodon').map((p) => [
        p,
        { clientId: sim.apps[p].clientId, clientSecret: sim.apps[p].clientSecret },
      ]),
    );
    connectors = createConnectorProvider({
      baseUrls: { ...sim.baseUrls, instagram: `${sim.url('instagram')}/v21.0` },
      oauthClients,
      now: clock.now,
      backoffBaseMs: 10,
      backoffMaxMs: 50,
      maxWaitMs: 2_000,
      maxAttempts: 2,
    });
    box = createSecretBox(db.secrets.encryptionKey);
    app = await buildCollectionTestApp(db, connectors);
    owner = await signUpUser(app);
    workspaceId = await createWorkspaceAs(app, owner);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    await db?.drop();
  });

  it.each(OAUTH_PLATFORMS)(
    '%s: consent on the platform connects the account; tokens are sealed, never shown',
    async (platform) => {
      const account = sim.accounts[platform][0];
      if (!account) throw new Error('no account');
      const connection = await connect(platform);
      expect(connection).toMatchObject({ platform, status: 'active' });
      expect(connection.account.external_id?.endsWith(account.id) ?? false).toBe(true);
      const { credentials } = await storedCredentials(connection.id);
      expect(credentials.via).toBe('oauth');
      expect(credentials.accessToken).toBeTruthy();
      // Where the platform grants a refresh token, it is kept; Meta and Mastodon grant none.
      expect(credentials.refreshToken !== undefined).toBe(
        ['x', 'youtube', 'tiktok', 'reddit'].includes(platform),
      );
      if (platform === 'instagram') {
        // The 1-hour code token was exchanged for the long-lived one.
        expect(Date.parse(credentials.expiresAt ?? '') - clock.now()).toBeGreaterThan(
          24 * 3600_000,
        );
      }
      // Sealed at rest: no token in any column of the row.
      const { rows } = await db.adminPool.query<{ row: string }>(
        'SELECT row_to_json(c)::text AS row FROM platform_connections c WHERE id = $1',
        [connection.id],
      );
      expect(rows[0]?.row).not.toContain(credentials.accessToken ?? '-');
      if (credentials.refreshToken) expect(rows[0]?.row).not.toContain(credentials.refreshToken);
      const audit = await db.adminPool.query<{ details: Record<string, unknown> }>(
        "SELECT details FROM audit_log WHERE target = $1 AND action = 'connection.created'",
        [connection.id],
      );
      expect(audit.rows[0]?.details).toMatchObject({ platform, via: 'oauth' });
      expect(JSON.stringify(audit.rows)).not.toContain(credentials.accessToken ?? '-');

      // The connection collects with the granted token.
      const run = await syncConnection(
        { pool: db.pool, secretBox: box, connectors, now },
        { workspaceId, connectionId: connection.id, kind: 'posts', trigger: 'manual' },
      );
      expect(run.status, JSON.stringify(run)).toBe('completed');
      // Instagram also lists Stories, which the ground truth leaves out.
      if (platform === 'instagram')
        expect(run.postsCollected).toBeGreaterThanOrEqual(sim.postIds(platform, account.id).length);
      else expect(run.postsCollected).toBe(sim.postIds(platform, account.id).length);
    },
  );

  it('a state works once; an unknown or expired state and a denied consent are refused with the reason', async () => {
    const callback = await consent('x', { accountIndex: 1 });
    expect([200, 201]).toContain((await inject('GET', callback, null)).status);
    const replay = await inject('GET', callback, null);
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ error: { code: 'oauth_state_invalid' } });

    const unknown = await inject(
      'GET',
      '/v1/oauth/x/callback?code=abc&state=not-a-state-we-issued',
      null,
    );
    expect(unknown.body).toMatchObject({ error: { code: 'oauth_state_invalid' } });

    // Expired: the flow took longer than OAUTH_STATE_TTL_SECONDS.
    const late = await consent('youtube');
    await db.adminPool.query(
      "UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL",
    );
    const expired = await inject('GET', late, null);
    expect(expired.status).toBe(400);
    expect(expired.body).toMatchObject({
      error: {
        code: 'oauth_state_invalid',
        message: expect.stringContaining('expired') as unknown,
      },
    });

    // The user said no on the platform: back to the dashboard with the reason's code only.
    const denied = await consent('tiktok', { returnTo: '/connections?tab=oauth' });
    const state = new URL(denied, 'http://x').searchParams.get('state') ?? '';
    const refused = await inject(
      'GET',
      `/v1/oauth/tiktok/callback?error=access_denied&error_description=${encodeURIComponent('The user denied the request')}&state=${state}`,
      null,
    );
    expect(refused.status).toBe(303);
    const location = new URL(String(refused.headers.location), 'http://socialpulse.local');
    expect(location.pathname).toBe('/connections');
    expect(location.searchParams.get('tab')).toBe('oauth');
    expect(location.searchParams.get('oauth_error')).toBe('oauth_denied');
    expect(location.searchParams.has('message')).toBe(false);
  });

  it("refuses a consent link finished in a browser signed in as another SocialPulse user (someone else's link), and spends it", async () => {
    const other = await signUpUser(app);
    const connections = async (): Promise<number> =>
      ((await inject('GET', `${ws()}/connections`, owner)).body?.data as unknown[]).length;
    const before = await connections();
    const callback = await consent('reddit', { accountIndex: 1, returnTo: '/connections' });
    const refused = await inject('GET', callback, other);
    expect(refused.status).toBe(303);
    const location = new URL(String(refused.headers.location), 'http://socialpulse.local');
    expect(location.searchParams.get('oauth_error')).toBe('forbidden');
    expect(location.searchParams.has('message')).toBe(false);
    expect(await connections()).toBe(before);
    // The link is dead, for its owner too.
    const replay = await inject('GET', callback, owner);
    expect(replay.body).toMatchObject({ error: { code: 'oauth_state_invalid' } });
    // A link an API key started has no user: only someone who may connect accounts to its
    // workspace finishes it signed in.
    const key = await inject('POST', `${ws()}/api-keys`, owner, {
      name: 'oauth',
      scopes: ['admin'],
    });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    // A caller with the key's header (inject sends `headers` as they are).
    const keyCaller = {
      ...owner,
      headers: { authorization: `Bearer ${String(key.body?.key)}` },
    };
    const byKey = (): Promise<string> =>
      consent('reddit', { accountIndex: 1, startedBy: keyCaller });
    const refusedByKey = await inject('GET', await byKey(), other);
    expect(refusedByKey.body).toMatchObject({
      error: { code: 'forbidden', details: { reason: 'flow_of_another_user' } },
    });
    expect(await connections()).toBe(before);
    expect([200, 201]).toContain((await inject('GET', await byKey(), owner)).status);
    expect([200, 201]).toContain((await inject('GET', await byKey(), null)).status);
    // Its own user's browser, or one signed in to no account, finishes a link as before.
    expect([200, 201]).toContain(
      (await inject('GET', await consent('reddit', { accountIndex: 1 }), owner)).status,
    );
  });

  it('a reconnect through OAuth without poll_minutes keeps the chosen interval; a new connection gets 30; a given one always wins', async () => {
    // A workspace of its own: the accounts connected in the shared one stay as the other tests left them.
    const workspace = await createWorkspaceAs(app, owner);
    const viaOAuth = async (
      platform: Platform,
      options: { pollMinutes?: number; accountIndex?: number } = {},
    ): Promise<ConnectionView> => {
      const callback = await consent(platform, { workspaceId: workspace, ...options });
      const done = await inject('GET', callback, null);
      expect([200, 201], JSON.stringify(done.body)).toContain(done.status);
      return done.body as unknown as ConnectionView;
    };

    const first = await viaOAuth('reddit');
    expect(first.poll_minutes).toBe(30);
    const patched = await inject(
      'PATCH',
      `/v1/workspaces/${workspace}/connections/${first.id}`,
      owner,
      { poll_minutes: 240 },
    );
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);

    const again = await viaOAuth('reddit');
    expect(again.id).toBe(first.id);
    expect(again.poll_minutes).toBe(240);

    const asked = await viaOAuth('reddit', { pollMinutes: 60 });
    expect(asked.id).toBe(first.id);
    expect(asked.poll_minutes).toBe(60);

    const fresh = await viaOAuth('x', { pollMinutes: 15, accountIndex: 1 });
    expect(fresh.poll_minutes).toBe(15);
  });

  it('return_to sends the browser back with the connection; only paths of this application are accepted', async () => {
    const callback = await consent('reddit', { returnTo: '/connections' });
    const done = await inject('GET', callback, null);
    expect(done.status).toBe(303);
    const location = new URL(String(done.headers.location), 'http://socialpulse.local');
    expect(location.pathname).toBe('/connections');
    expect(location.searchParams.get('connection_id')).toMatch(/^[0-9a-f-]{36}$/);

    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const res = await inject('POST', `${ws()}/connections/oauth`, owner, {
        platform: 'x',
        return_to: evil,
      });
      expect(res.status, evil).toBe(400);
      expect(res.body).toMatchObject({
        error: { code: 'validation_failed', details: { field: 'return_to' } },
      });
    }
  });

  it('a return_to that would leave this site, however written, is refused; a stored one is never followed off it', async () => {
    const crafted = [
      '/.//evil.example/x',
      '/..//evil.example/x',
      '/a/../..//evil.example',
      '/%2e%2e//evil.example',
      '/\\evil.example',
      '/./\\evil.example',
      '//evil.example',
      '/%2F%2Fevil.example',
      '/%5Cevil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      '/.\t//evil.example',
      'https://evil.example/',
    ];
    /** Where a browser at this SocialPulse goes with the callback's Location. */
    const expectSameOrigin = (location: unknown, returnTo: string): void => {
      expect(typeof location, returnTo).toBe('string');
      const value = String(location);
      // A path: one slash, then neither slash nor backslash (which browsers read as a slash).
      expect(value, returnTo).toMatch(/^\/(?![/\\])/);
      expect(value, returnTo).not.toMatch(/[\p{Cc}\\]/u);
      const followed = new URL(value, 'https://socialpulse.example/connections/');
      expect(followed.origin, returnTo).toBe('https://socialpulse.example');
      expect(followed.pathname.toLowerCase(), returnTo).not.toMatch(/^\/(%2f|%5c)/);
    };
    /** The callback's Location after the platform granted the consent. */
    const granted = async (callback: string): Promise<unknown> => {
      const res = await inject('GET', callback, null);
      expect(res.status, JSON.stringify(res.body)).toBe(303);
      return res.headers.location;
    };
    const stateOf = (callback: string): string =>
      new URL(callback, 'http://x').searchParams.get('state') ?? '';
    /** The callback's Location after the user refused the consent on the platform. */
    const denied = async (callback: string): Promise<unknown> => {
      const res = await inject(
        'GET',
        `/v1/oauth/reddit/callback?error=access_denied&state=${stateOf(callback)}`,
        null,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(303);
      return res.headers.location;
    };

    for (const returnTo of crafted) {
      const started = await inject('POST', `${ws()}/connections/oauth`, owner, {
        platform: 'reddit',
        return_to: returnTo,
      });
      expect(started.status, returnTo).toBe(400);
      expect(started.body, returnTo).toMatchObject({
        error: { code: 'validation_failed', details: { field: 'return_to' } },
      });
      // A flow stored with such a path before it was refused at the start is still only followed
      // to a path of this site, whether the consent was granted or denied.
      for (const outcome of ['granted', 'denied'] as const) {
        const callback = await consent('reddit', { returnTo: '/connections' });
        await db.adminPool.query('UPDATE oauth_states SET return_to = $1 WHERE state_hash = $2', [
          returnTo,
          createHash('sha256').update(stateOf(callback)).digest(),
        ]);
        expectSameOrigin(
          outcome === 'granted' ? await granted(callback) : await denied(callback),
          returnTo,
        );
      }
    }
    // What was a path of this site stays that path.
    const kept = await consent('reddit', { returnTo: '/connections/./new?tab=oauth#top' });
    const location = String(await granted(kept));
    expect(location).toMatch(/^\/connections\/new\?tab=oauth&connection_id=[0-9a-f-]{36}$/);
  });

  it('refuses platforms without an OAuth flow or client, and callers without manage_connections', async () => {
    const bluesky = await inject('POST', `${ws()}/connections/oauth`, owner, {
      platform: 'bluesky',
    });
    expect(bluesky.status).toBe(409);
    expect(bluesky.body).toMatchObject({ error: { code: 'oauth_not_configured' } });

    const bare = createConnectorProvider({ baseUrls: sim.baseUrls });
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...noRateLimits }, {});
    const other = await buildApp(
      Object.assign(createAppDeps(config, db, null, createLogger('silent')), {
        collection: { connectors: bare },
      }),
    );
    try {
      const res = await other.inject({
        method: 'POST',
        url: `${ws()}/connections/oauth`,
        headers: owner.headers,
        payload: { platform: 'x' },
      });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({
        error: {
          code: 'oauth_not_configured',
          message: expect.stringContaining('X_CLIENT_ID') as unknown,
        },
      });
    } finally {
      await other.close();
    }

    const viewer = await signUpUser(app);
    await addMember(app, owner, workspaceId, viewer, 'viewer');
    expect(
      (await inject('POST', `${ws()}/connections/oauth`, viewer, { platform: 'x' })).status,
    ).toBe(403);
    const mastodonWithoutInstance = await inject('POST', `${ws()}/connections/oauth`, owner, {
      platform: 'mastodon',
    });
    expect(mastodonWithoutInstance.body).toMatchObject({
      error: { code: 'validation_failed', details: { field: 'instance' } },
    });
  });

  it('TikTok Research: any public account by username, read with the instance client token, renewed by asking again', async () => {
    // Not the account the Display tests connected: this one's posts are all new here.
    const account = sim.accounts.tiktok[1];
    if (!account) throw new Error('no account');
    const created = await inject('POST', `${ws()}/connections`, owner, {
      platform: 'tiktok',
      api: 'research',
      account: `@${account.handle}`,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      platform: 'tiktok',
      api: 'research',
      status: 'active',
      account: { external_id: account.handle, handle: account.handle },
    });
    const id = String(created.body?.id);
    const first = await storedCredentials(id);
    expect(first.credentials).toMatchObject({
      via: 'client',
      accessToken: expect.stringMatching(/^clt\./) as unknown,
    });
    expect(first.credentials.refreshToken).toBeUndefined();
    // One app credential: every Research connection spends the same budgets and breaker.
    expect(
      (
        await currentCredential(
          { pool: db.pool, secretBox: box, connectors, now },
          first.connection,
          null,
        )
      ).id,
    ).toBe('app:tiktok');

    const deps = { pool: db.pool, secretBox: box, connectors, now };
    const run = await syncConnection(deps, {
      workspaceId,
      connectionId: id,
      kind: 'posts',
      trigger: 'manual',
    });
    expect(run.status, JSON.stringify(run)).toBe('completed');
    // A year of history, 30 days per query, newest window first: every post of the account.
    expect(run.postsCollected).toBe(account.postCount);
    expect(
      sim.stats.requests.tiktok?.['POST /v2/research/video/query/'] ?? 0,
    ).toBeGreaterThanOrEqual(13);
    const stored = await db.adminPool.query<{ n: number; research: number }>(
      "SELECT count(*)::int n, count(*) FILTER (WHERE raw ? 'region_code')::int research FROM posts WHERE workspace_id = $1 AND platform = 'tiktok' AND account_id = (SELECT account_id FROM platform_connections WHERE id = $2)",
      [workspaceId, id],
    );
    expect(stored.rows[0]?.n).toBe(run.postsCollected);
    expect(stored.rows[0]?.research).toBe(run.postsCollected);

    // A client token has no refresh token: SocialPulse asks for a new one near expiry.
    const calls = tokenCalls('tiktok', '/v2/oauth/token/');
    clock.advance(2 * 3600_000 - 10 * 60_000);
    const again = await syncConnection(deps, {
      workspaceId,
      connectionId: id,
      kind: 'posts',
      trigger: 'manual',
    });
    expect(again.status, JSON.stringify(again)).toBe('completed');
    expect(tokenCalls('tiktok', '/v2/oauth/token/')).toBe(calls + 1);
    const renewed = await storedCredentials(id);
    expect(renewed.credentials.via).toBe('client');
    expect(renewed.credentials.accessToken).not.toBe(first.credentials.accessToken);
    expect(Date.parse(renewed.credentials.expiresAt ?? '')).toBe(clock.now() + 7200_000);
    // Metrics a day after collection, when every post is due (the older ones refresh daily), of
    // posts up to a year old: each batch queries the window its videos were made in (a video
    // outside the query's window would come back missing).
    clock.advance(25 * 3600_000);
    const metrics = await syncConnection(deps, {
      workspaceId,
      connectionId: id,
      kind: 'metrics',
      trigger: 'manual',
    });
    expect(metrics.status, JSON.stringify(metrics)).toBe('completed');
    expect(metrics.snapshots).toBe(account.postCount);
    expect(metrics.gaps).toEqual([]);

    const wrongPlatform = await inject('POST', `${ws()}/connections`, owner, {
      platform: 'x',
      api: 'research',
      account: '@someone',
      credentials: { access_token: 't' },
    });
    expect(wrongPlatform.status).toBe(400);
    const noCredentials = await inject('POST', `${ws()}/connections`, owner, {
      platform: 'tiktok',
      account: `@${account.handle}`,
    });
    expect(noCredentials.status).toBe(400);
    const bare = createConnectorProvider({ baseUrls: sim.baseUrls });
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...noRateLimits }, {});
    const other = await buildApp(
      Object.assign(createAppDeps(config, db, null, createLogger('silent')), {
        collection: { connectors: bare },
      }),
    );
    try {
      const res = await other.inject({
        method: 'POST',
        url: `${ws()}/connections`,
        headers: owner.headers,
        payload: { platform: 'tiktok', api: 'research', account: `@${account.handle}` },
      });
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json()).toMatchObject({
        error: {
          code: 'oauth_not_configured',
          message: expect.stringContaining('TIKTOK_CLIENT_KEY') as unknown,
        },
      });
    } finally {
      await other.close();
    }
  });

  it.each(['x', 'youtube', 'tiktok', 'reddit', 'mastodon', 'instagram'] as const)(
    '%s: disconnecting revokes the grant at the platform where it can, and wipes the tokens',
    async (platform) => {
      const connection = await connect(platform);
      const { credentials } = await storedCredentials(connection.id);
      const tokens = [credentials.accessToken, credentials.refreshToken].filter(
        (t): t is string => t !== undefined,
      );
      for (const token of tokens) expect(sim.tokenStatus(platform, token)).toBe('valid');
      // TikTok revokes only access tokens, which last a day there: an expired one is renewed first.
      if (platform === 'tiktok') clock.advance(3 * 3600_000);
      const res = await inject('DELETE', `${ws()}/connections/${connection.id}`, owner);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ status: 'disconnected' });
      const audit = await db.adminPool.query<{ details: Record<string, unknown> }>(
        "SELECT details FROM audit_log WHERE target = $1 AND action = 'connection.deleted'",
        [connection.id],
      );
      if (platform === 'instagram') {
        // Meta has no revocation endpoint for these tokens: said, and the token outlives us there.
        expect(audit.rows[0]?.details).toMatchObject({ grant_revocation: 'not_supported' });
        expect(sim.tokenStatus(platform, credentials.accessToken ?? '')).toBe('valid');
      } else {
        expect(audit.rows[0]?.details).toMatchObject({ grant_revocation: 'revoked' });
        for (const token of tokens) expect(sim.tokenStatus(platform, token)).toBe('revoked');
      }
      const { rows } = await db.adminPool.query<{ credentials_sealed: string | null }>(
        'SELECT credentials_sealed FROM platform_connections WHERE id = $1',
        [connection.id],
      );
      expect(rows[0]?.credentials_sealed).toBeNull();
    },
  );

  it('refuses an account whose server is not a public address, and says so', async () => {
    // No configured Mastodon base URL: the instance comes from the handle, as in production.
    const { mastodon: _configured, ...others } = sim.baseUrls;
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...noRateLimits }, {});
    const other = await buildApp(
      Object.assign(createAppDeps(config, db, null, createLogger('silent')), {
        collection: { connectors: createConnectorProvider({ baseUrls: others, maxAttempts: 1 }) },
      }),
    );
    try {
      for (const account of ['@alice@127.0.0.1', '@alice@localhost']) {
        const res = await other.inject({
          method: 'POST',
          url: `${ws()}/connections`,
          headers: owner.headers,
          payload: { platform: 'mastodon', account, credentials: { access_token: 'token' } },
        });
        expect(res.statusCode, account).toBe(400);
        expect(res.json()).toMatchObject({
          error: {
            code: 'validation_failed',
            message: expect.stringContaining('calls only public servers') as unknown,
            details: { field: 'account' },
          },
        });
      }
    } finally {
      await other.close();
    }
  });

  it('renews an expiring token before a sync, rotating the refresh token; the old one is dead at the platform', async () => {
    const connection = await connect('tiktok');
    const before = await storedCredentials(connection.id);
    clock.advance(2 * 3600_000 - 10 * 60_000); // 10 minutes left of a 2-hour token: within its last quarter
    const run = await syncConnection(
      { pool: db.pool, secretBox: box, connectors, now },
      { workspaceId, connectionId: connection.id, kind: 'posts', trigger: 'manual' },
    );
    expect(run.status, JSON.stringify(run)).toBe('completed');
    const after = await storedCredentials(connection.id);
    expect(after.credentials.accessToken).not.toBe(before.credentials.accessToken);
    expect(after.credentials.refreshToken).not.toBe(before.credentials.refreshToken);
    expect(Date.parse(after.credentials.expiresAt ?? '')).toBe(clock.now() + 7200_000);
    expect(after.connection.tokenExpiresAt?.getTime()).toBe(clock.now() + 7200_000);
    // TikTok rotates: the old refresh token no longer works.
    const reuse = await fetch(`${sim.url('tiktok')}/v2/oauth/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_key: sim.apps.tiktok.clientId,
        client_secret: sim.apps.tiktok.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: before.credentials.refreshToken ?? '',
      }),
    });
    expect(((await reuse.json()) as { error?: string }).error).toBe('invalid_grant');
  });

  it('a token the platform refuses mid-sync is renewed once and the sync goes on', async () => {
    const connection = await connect('x');
    const before = await storedCredentials(connection.id);
    sim.expireTokens('x'); // revoked early: our clock still thinks the token is good
    const calls = tokenCalls('x', '/2/oauth2/token');
    const run = await syncConnection(
      { pool: db.pool, secretBox: box, connectors, now },
      { workspaceId, connectionId: connection.id, kind: 'posts', trigger: 'manual' },
    );
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(tokenCalls('x', '/2/oauth2/token')).toBe(calls + 1);
    const after = await storedCredentials(connection.id);
    expect(after.credentials.accessToken).not.toBe(before.credentials.accessToken);
    expect(after.connection.status).toBe('active');
  });

  it('two processes renewing at once spend the rotating refresh token once and share the new token', async () => {
    const connection = await connect('x');
    const { connection: row } = await storedCredentials(connection.id);
    clock.advance(2 * 3600_000); // expired
    const calls = tokenCalls('x', '/2/oauth2/token');
    const deps = { pool: db.pool, secretBox: box, connectors, now };
    const [a, b] = await Promise.all([
      currentCredential(deps, row, null),
      currentCredential(deps, row, null),
    ]);
    expect(a.accessToken).toBe(b.accessToken);
    expect(tokenCalls('x', '/2/oauth2/token')).toBe(calls + 1);
  });

  it('a dead grant marks the connection platform_auth_expired with the reason, and nothing is retried', async () => {
    const connection = await connect('youtube');
    const { credentials } = await storedCredentials(connection.id);
    sim.revokeGrants('youtube'); // the user removed SocialPulse from their Google account
    const calls = tokenCalls('youtube', '/token');
    const run = await syncConnection(
      { pool: db.pool, secretBox: box, connectors, now },
      { workspaceId, connectionId: connection.id, kind: 'posts', trigger: 'manual' },
    );
    expect(run.status).toBe('failed');
    expect(tokenCalls('youtube', '/token')).toBe(calls + 1); // one renewal attempt, refused: no loop
    const res = await inject('GET', `${ws()}/connections/${connection.id}`, owner);
    expect(res.body).toMatchObject({
      status: 'platform_auth_expired',
      last_error: { code: 'platform_auth_expired' },
    });
    expect(JSON.stringify(res.body)).not.toContain(credentials.refreshToken ?? '-');

    // Signing in again revives the same connection.
    const again = await connect('youtube');
    expect(again).toMatchObject({ id: connection.id, status: 'active', last_error: null });
  });
});
