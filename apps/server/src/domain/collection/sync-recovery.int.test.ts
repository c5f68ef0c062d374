/**
 * The sync service recovering from what would otherwise stop a connection's collection: a post
 * PostgreSQL cannot store (a NUL character, an unpaired surrogate) among good ones, in a listing
 * or a metric refresh, a token the platform refuses in the middle of a multi-page backfill, and
 * a run stopped from outside (the queue gave its job up) in the middle of one.
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
  createManualClock,
  startSimulator,
  type SimAccountInfo,
  type Simulator,
} from '../../../test/simulator/index.js';
import { createConnectorProvider, type ConnectorProvider } from './connectors.js';
import { syncConnection } from './sync.service.js';

const DAY = 86_400_000;
// TikTok lists 20 videos a page: 70 make four pages.
const POSTS = 70;

describe.skipIf(databaseUnavailable() !== '')('collection: the sync recovers', () => {
  const clock = createManualClock(Date.UTC(2026, 2, 1, 12));
  const now = (): Date => new Date(clock.now());
  let db: TestDatabase;
  let sim: Simulator;
  let app: ZodApp;
  let box: SecretBox;
  let connectors: ConnectorProvider;
  let owner: TestUser;
  let workspaceId: string;

  const accountOf = (index: number): SimAccountInfo => {
    const account = sim.accounts.tiktok[index];
    if (!account) throw new Error(`no simulated tiktok account ${index}`);
    return account;
  };

  /** A pasted token with its refresh token: the sync can renew it when it is refused. */
  const connect = async (account: SimAccountInfo): Promise<ConnectionView> => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/connections`,
      headers: owner.headers,
      payload: {
        platform: 'tiktok',
        account: `@${account.handle}`,
        credentials: {
          access_token: account.accessToken,
          refresh_token: account.refreshToken ?? '',
        },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<ConnectionView>();
  };

  const sync = (connectionId: string, kind: 'posts' | 'metrics') =>
    syncConnection(
      { pool: db.pool, secretBox: box, connectors, now },
      { workspaceId, connectionId, kind, trigger: 'manual' },
    );

  const storedIds = async (accountId: string): Promise<string[]> => {
    const { rows } = await db.adminPool.query<{ external_id: string }>(
      `SELECT p.external_id FROM posts p JOIN platform_accounts a ON a.id = p.account_id
        WHERE p.workspace_id = $1 AND p.platform = 'tiktok' AND a.external_id = $2`,
      [workspaceId, accountId],
    );
    return rows.map((r) => r.external_id).sort();
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({
      seed: 23,
      clock: clock.now,
      accounts: { tiktok: 4 },
      postsPerAccount: POSTS,
      // One post dated after the start per account: it appears when the clock passes it.
      upcomingPostsPerAccount: 1,
      upcomingSpanDays: 1,
      // Tokens outlive the test's clock: a refusal happens only where a fault says so.
      tokenTtlSeconds: { tiktok: 60 * 86_400 },
    });
    connectors = createConnectorProvider({
      baseUrls: sim.baseUrls,
      oauthClients: {
        tiktok: { clientId: sim.apps.tiktok.clientId, clientSecret: sim.apps.tiktok.clientSecret },
      },
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

  it('a post whose text PostgreSQL cannot store is kept with the character replaced; the run completes, and the next run goes on', async () => {
    const account = accountOf(0);
    const ids = sim.postIds('tiktok', account.id);
    // The newest post (on the first page, re-read by every incremental run's overlap) holds a
    // NUL; one on the second page an unpaired surrogate. A character of a caption is not worth
    // the post: both are stored, the character replaced as the analysis does.
    const withNul = ids[0] ?? '';
    const withSurrogate = ids[25] ?? '';
    sim.setPostText('tiktok', withNul, 'morning run \u0000 #fyp');
    sim.setPostText('tiktok', withSurrogate, 'half an emoji \ud83d here');
    const connection = await connect(account);

    const first = await sync(connection.id, 'posts');
    expect(first.status, JSON.stringify(first)).toBe('completed');
    expect(await storedIds(account.id)).toEqual([...ids].sort());
    expect(first).toMatchObject({ postsCollected: ids.length, skipped: 0 });
    expect(first.gaps.filter((g) => g.reason === 'unmappable')).toEqual([]);
    const { rows } = await db.adminPool.query<{ external_id: string; text: string }>(
      `SELECT external_id, text FROM posts WHERE workspace_id = $1 AND platform = 'tiktok'
          AND external_id = ANY($2::text[])`,
      [workspaceId, [withNul, withSurrogate]],
    );
    const textOf = (id: string): string | undefined => rows.find((r) => r.external_id === id)?.text;
    expect(textOf(withNul)).toBe('morning run   #fyp');
    expect(textOf(withSurrogate)).toBe('half an emoji \ufffd here');

    // A post published since: the next run stores it, past the one it reads again.
    clock.advance(2 * DAY);
    const fresh = sim.postIds('tiktok', account.id).filter((id) => !ids.includes(id));
    expect(fresh).toHaveLength(1);
    const second = await sync(connection.id, 'posts');
    expect(second.status, JSON.stringify(second)).toBe('completed');
    expect(await storedIds(account.id)).toEqual([...ids, ...fresh].sort());
    expect(second.skipped).toBe(0);
  }, 60_000);

  it('a refreshed post whose record PostgreSQL cannot store gets its snapshot, the character replaced; the plan moves on', async () => {
    const account = accountOf(0);
    const { rows: connections } = await db.adminPool.query<{ id: string }>(
      "SELECT id FROM platform_connections WHERE workspace_id = $1 AND platform = 'tiktok' AND external_account_id = $2",
      [workspaceId, account.id],
    );
    const connectionId = connections[0]?.id ?? '';
    const ids = await storedIds(account.id);
    const [edited, ...others] = ids.slice(0, 3);
    // Edited on the platform since it was stored: its refreshed record now holds a NUL.
    sim.setPostText('tiktok', edited ?? '', 'edited \u0000 caption');
    await db.adminPool.query(
      'UPDATE post_refresh_schedule SET due_at = $2 WHERE connection_id = $1',
      [connectionId, new Date(clock.now() + 30 * DAY)],
    );
    const { rows: due } = await db.adminPool.query<{ post_id: string; stage: number }>(
      `UPDATE post_refresh_schedule r SET due_at = $3 FROM posts p
        WHERE p.id = r.post_id AND r.connection_id = $1 AND p.external_id = ANY($2::text[])
        RETURNING r.post_id::text AS post_id, r.stage`,
      [connectionId, [edited, ...others], new Date(clock.now() - 1000)],
    );
    expect(due).toHaveLength(3);

    const run = await sync(connectionId, 'metrics');
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(run).toMatchObject({ snapshots: 3, skipped: 0 });
    expect(run.gaps.filter((g) => g.reason === 'unmappable')).toEqual([]);
    const { rows: stored } = await db.adminPool.query<{ raw: string }>(
      'SELECT raw::text AS raw FROM posts WHERE workspace_id = $1 AND external_id = $2',
      [workspaceId, edited],
    );
    expect(stored[0]?.raw).toContain('edited   caption');
    // Every refreshed post moved to its next stage.
    const { rows: after } = await db.adminPool.query<{ post_id: string; stage: number }>(
      'SELECT post_id::text AS post_id, stage FROM post_refresh_schedule WHERE post_id = ANY($1::bigint[]) AND due_at > $2',
      [due.map((d) => d.post_id), new Date(clock.now())],
    );
    expect(after).toHaveLength(3);
    for (const row of after)
      expect(row.stage).toBeGreaterThan(due.find((d) => d.post_id === row.post_id)?.stage ?? 0);
  }, 60_000);

  it('a post PostgreSQL refuses although it passed the checks is left out by bisecting its page; the rest is stored', async () => {
    const account = accountOf(2);
    const ids = sim.postIds('tiktok', account.id);
    // Dated in year 0: a valid ISO timestamp to the import schema, out of range to PostgreSQL.
    const [older, oldest] = ids.slice(-2);
    const yearZero = Date.parse('0000-06-01T00:00:00Z');
    sim.setPostCreatedAt('tiktok', older ?? '', yearZero + 1000);
    sim.setPostCreatedAt('tiktok', oldest ?? '', yearZero);
    const connection = await connect(account);

    const run = await sync(connection.id, 'posts');
    expect(run.status, JSON.stringify(run)).toBe('completed');
    const good = ids.filter((id) => id !== older && id !== oldest).sort();
    expect(await storedIds(account.id)).toEqual(good);
    expect(run).toMatchObject({ postsCollected: good.length, skipped: 2 });
    const gaps = run.gaps.filter((g) => g.what === 'posts' && g.reason === 'unmappable');
    expect(gaps.flatMap((g) => g.resourceIds ?? []).sort()).toEqual([older, oldest].sort());
    expect(gaps.every((g) => /rejected by the database: .*out of range/.test(g.detail))).toBe(true);
    // The refused posts have no refresh planned; every stored one has.
    const { rows } = await db.adminPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM post_refresh_schedule WHERE connection_id = $1',
      [connection.id],
    );
    expect(rows[0]?.n).toBe(good.length);
  }, 60_000);

  it('a token refused in the middle of a backfill is renewed and the run goes on from the page it stopped at', async () => {
    const account = accountOf(1);
    const connection = await connect(account);
    // Pages 1 and 2 go through; the third is refused once, as a token revoked early would be.
    sim.setFaults([
      { platform: 'tiktok', endpoint: 'POST /v2/video/list/', kind: 'expired_token', after: 2 },
    ]);
    try {
      const run = await sync(connection.id, 'posts');
      expect(run.status, JSON.stringify(run)).toBe('completed');
      expect(sim.stats.faultsInjected.expired_token).toBe(1);
    } finally {
      sim.setFaults([]);
    }
    expect(await storedIds(account.id)).toEqual([...sim.postIds('tiktok', account.id)].sort());
    const { rows } = await db.adminPool.query<{ cursor: { resume?: unknown } | null }>(
      'SELECT cursor FROM platform_connections WHERE id = $1',
      [connection.id],
    );
    expect(rows[0]?.cursor?.resume ?? null).toBeNull();
  }, 60_000);
  it('a run stopped from outside mid-backfill ends partial at once; the next run collects the rest', async () => {
    const account = accountOf(3);
    const connection = await connect(account);
    // The third page is slow to come: the run is stopped while it waits for it.
    sim.setFaults([
      {
        platform: 'tiktok',
        endpoint: 'POST /v2/video/list/',
        kind: 'delay',
        delayMs: 30_000,
        after: 2,
      },
    ]);
    const stop = new AbortController();
    let stopped: Awaited<ReturnType<typeof sync>>;
    try {
      const requestsBefore = sim.stats.totalRequests;
      const running = syncConnection(
        { pool: db.pool, secretBox: box, connectors, now },
        {
          workspaceId,
          connectionId: connection.id,
          kind: 'posts',
          trigger: 'manual',
          signal: stop.signal,
        },
      );
      // Counted, not timed: the third listing request has reached the platform.
      for (let polls = 0; sim.stats.totalRequests - requestsBefore < 3; polls += 1) {
        if (polls > 3000) throw new Error('the third page was never asked for');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      stop.abort();
      stopped = await running;
    } finally {
      sim.setFaults([]);
    }
    expect(stopped.status, JSON.stringify(stopped)).toBe('partial');
    expect(stopped.gaps).toEqual([expect.objectContaining({ what: 'posts', reason: 'stopped' })]);
    const all = [...sim.postIds('tiktok', account.id)].sort();
    const first = await storedIds(account.id);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(all.length);

    const next = await sync(connection.id, 'posts');
    expect(next.status, JSON.stringify(next)).toBe('completed');
    expect(await storedIds(account.id)).toEqual(all);
  }, 60_000);
});
