/**
 * What a sync must never lose or misfile, against the simulator through the real connectors: a
 * listing page whose 200 body is broken (every platform), a metrics batch failing as a whole,
 * retweets on an X timeline, and posts that must belong to their connection's account.
 */
import type { ConnectionView } from '@socialpulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../../api/types.js';
import { createSecretBox, type SecretBox } from '../auth/secret-box.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildCollectionTestApp,
  createWorkspaceAs,
  signUpUser,
  type TestUser,
} from '../../../test/support/app.js';
import {
  PLATFORMS,
  startSimulator,
  type Platform,
  type SimAccountInfo,
  type Simulator,
} from '../../../test/simulator/index.js';
import { createConnectorProvider, type ConnectorProvider } from './connectors.js';
import { syncConnection } from './sync.service.js';

// Enough for at least four listing pages on every platform (X, Bluesky, Reddit: 100 a page).
const POSTS = 450;

/** Each platform's listing route in the simulator (the fault's endpoint). */
const LISTING: Record<Platform, string> = {
  x: 'GET /2/users/:id/tweets',
  youtube: 'GET /youtube/v3/playlistItems',
  instagram: 'GET /:version/:id/media',
  tiktok: 'POST /v2/video/list/',
  bluesky: 'GET /xrpc/app.bsky.feed.getAuthorFeed',
  mastodon: 'GET /api/v1/accounts/:id/statuses',
  reddit: 'GET /user/:name/submitted',
};

describe.skipIf(databaseUnavailable() !== '')('collection: a sync loses nothing', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let app: ZodApp;
  let box: SecretBox;
  let connectors: ConnectorProvider;
  let owner: TestUser;
  let workspaceId: string;
  const connections = new Map<Platform, ConnectionView>();

  const accountOf = (platform: Platform, index = 0): SimAccountInfo => {
    const account = sim.accounts[platform][index];
    if (!account) throw new Error(`no simulated ${platform} account ${index}`);
    return account;
  };

  const connect = async (platform: Platform, index = 0): Promise<ConnectionView> => {
    const account = accountOf(platform, index);
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/connections`,
      headers: owner.headers,
      payload: {
        platform,
        // Instagram resolves a handle only through the connected account: give the id. A
        // Mastodon account is named with its instance, as users and OAuth name it.
        account:
          platform === 'instagram'
            ? account.id
            : platform === 'mastodon'
              ? `@${account.handle}@${new URL(sim.url('mastodon')).host}`
              : `@${account.handle.replace(/^@/, '')}`,
        credentials: { access_token: account.accessToken },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<ConnectionView>();
  };

  const sync = (connectionId: string, kind: 'posts' | 'metrics') =>
    syncConnection(
      { pool: db.pool, secretBox: box, connectors },
      { workspaceId, connectionId, kind, trigger: 'manual' },
    );

  const storedIds = async (platform: Platform): Promise<Set<string>> => {
    const { rows } = await db.adminPool.query<{ external_id: string }>(
      'SELECT external_id FROM posts WHERE workspace_id = $1 AND platform = $2',
      [workspaceId, platform],
    );
    return new Set(rows.map((r) => r.external_id));
  };

  const planned = async (connectionId: string): Promise<number> => {
    const { rows } = await db.adminPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM post_refresh_schedule WHERE connection_id = $1',
      [connectionId],
    );
    return rows[0]?.n ?? 0;
  };

  const makeDue = async (connectionId: string, limit: number): Promise<void> => {
    await db.adminPool.query(
      "UPDATE post_refresh_schedule SET due_at = now() + interval '2 days' WHERE connection_id = $1",
      [connectionId],
    );
    await db.adminPool.query(
      `UPDATE post_refresh_schedule SET due_at = now() - interval '1 second'
        WHERE post_id IN (SELECT post_id FROM post_refresh_schedule WHERE connection_id = $1 ORDER BY post_id LIMIT $2)`,
      [connectionId, limit],
    );
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({
      seed: 31,
      accounts: { ...Object.fromEntries(PLATFORMS.map((p) => [p, 1])), x: 2 },
      postsPerAccount: POSTS,
    });
    connectors = createConnectorProvider({
      baseUrls: { ...sim.baseUrls, instagram: `${sim.url('instagram')}/v21.0` },
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

  it.each(PLATFORMS)(
    '%s: a listing page whose 200 body is truncated fails the run as malformed_response; the pages before stay, and the next sync reads the rest',
    async (platform) => {
      const account = accountOf(platform);
      const expected = sim.postIds(platform, account.id);
      const connection = await connect(platform);
      connections.set(platform, connection);

      sim.setFaults([{ platform, endpoint: LISTING[platform], kind: 'malformed_json', after: 2 }]);
      const first = await sync(connection.id, 'posts').finally(() => sim.setFaults([]));
      expect(first.status, JSON.stringify(first)).toBe('partial');
      expect(first.error).toMatchObject({ kind: 'malformed_response', platform });
      expect(String(first.error?.message)).toContain(platform);
      expect(first.gaps.some((g) => g.reason === 'malformed_response')).toBe(true);
      const kept = [...(await storedIds(platform))].filter((id) => expected.includes(id));
      // Two pages were read and stored, not the rest.
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(expected.length);

      const second = await sync(connection.id, 'posts');
      expect(second.status, JSON.stringify(second)).toBe('completed');
      const stored = await storedIds(platform);
      expect(expected.filter((id) => !stored.has(id))).toEqual([]);
    },
    120_000,
  );

  it.each(['youtube', 'mastodon'] as const)(
    "%s: every synced post belongs to the connection's account (one account row)",
    async (platform) => {
      const connection = connections.get(platform);
      if (!connection) throw new Error(`${platform} not connected`);
      const { rows } = await db.adminPool.query<{ total: number; own: number }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE p.account_id = c.account_id)::int AS own
           FROM posts p JOIN platform_connections c ON c.id = $2
          WHERE p.workspace_id = $1 AND p.platform = $3`,
        [workspaceId, connection.id, platform],
      );
      expect(rows[0]?.total).toBeGreaterThan(0);
      expect(rows[0]?.own).toBe(rows[0]?.total);
      const { rows: accounts } = await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM platform_accounts WHERE workspace_id = $1 AND platform = $2',
        [workspaceId, platform],
      );
      expect(accounts[0]?.n).toBe(1);
    },
  );

  it('Instagram: a metrics refresh reads the media in one `?ids=` batch with their insights; the posts stay planned, a deleted one leaves the plan', async () => {
    const connection = connections.get('instagram');
    if (!connection) throw new Error('instagram not connected');
    const before = await planned(connection.id);
    await makeDue(connection.id, 30);
    const { rows: due } = await db.adminPool.query<{ external_id: string }>(
      `SELECT p.external_id FROM post_refresh_schedule r JOIN posts p ON p.id = r.post_id
        WHERE r.connection_id = $1 AND r.due_at < now() ORDER BY p.external_id`,
      [connection.id],
    );
    const gone = due[0]?.external_id ?? '';
    sim.deletePosts('instagram', [gone]);
    const run = await sync(connection.id, 'metrics');
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(run.snapshots).toBe(due.length - 1);
    expect(await planned(connection.id)).toBe(before - 1);
    const { rows } = await db.adminPool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts WHERE workspace_id = $1 AND platform = 'instagram'
          AND external_id = ANY($2::text[]) AND views IS NOT NULL AND saves IS NOT NULL`,
      [workspaceId, due.map((d) => d.external_id).filter((id) => id !== gone)],
    );
    expect(rows[0]?.n).toBe(due.length - 1);
  }, 60_000);

  it('a metrics batch failing as a whole (404 of the request, 5xx) is never read as every post deleted: the posts stay planned', async () => {
    const connection = connections.get('x');
    if (!connection) throw new Error('x not connected');
    const before = await planned(connection.id);
    for (const status of [404, 503]) {
      await makeDue(connection.id, 20);
      sim.setFaults([
        { platform: 'x', endpoint: 'GET /2/tweets', kind: 'server_error', status, times: 5 },
      ]);
      const run = await sync(connection.id, 'metrics').finally(() => sim.setFaults([]));
      expect(run.snapshots, JSON.stringify(run)).toBe(0);
      expect(await planned(connection.id)).toBe(before);
    }
  }, 60_000);

  it("X: retweets on the timeline are not stored as the account's posts", async () => {
    const account = accountOf('x', 1);
    const ids = sim.postIds('x', account.id);
    const retweets = [ids[0], ids[3], ids[150], ids[151]].filter((id): id is string => !!id);
    for (const id of retweets) sim.setRetweet('x', id);
    const connection = await connect('x', 1);
    const run = await sync(connection.id, 'posts');
    expect(run.status, JSON.stringify(run)).toBe('completed');
    const { rows } = await db.adminPool.query<{ external_id: string }>(
      `SELECT p.external_id FROM posts p JOIN platform_accounts a ON a.id = p.account_id
        WHERE p.workspace_id = $1 AND p.platform = 'x' AND a.external_id = $2`,
      [workspaceId, account.id],
    );
    const stored = new Set(rows.map((r) => r.external_id));
    expect(retweets.filter((id) => stored.has(id))).toEqual([]);
    expect(stored.size).toBe(ids.length - retweets.length);
  }, 60_000);
});
