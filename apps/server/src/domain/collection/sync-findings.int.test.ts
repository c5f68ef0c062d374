/**
 * Review findings on the collection side, against the simulator and the real database: free text
 * with a NUL kept (the character replaced), a reconnect keeping the poll interval, webhook-caused
 * runs recorded as such, requests counted only when sent, every unmappable record counted, and
 * old webhook deliveries purged by the scheduler's pass.
 */
import type { ConnectionView } from '@socialpulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../../api/types.js';
import { loadConfig } from '../../config.js';
import { openJobQueue, jobQueueSettings, type JobQueue } from '../../db/job-queue.js';
import { withTenant } from '../../db/tenant.js';
import { createLogger } from '../../observability/logger.js';
import { createSecretBox, type SecretBox } from '../auth/secret-box.js';
import { processDelivery } from '../webhooks/webhook-processor.js';
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
import { testQueueConfig } from '../../../test/support/analyses.js';
import {
  createManualClock,
  startSimulator,
  type Platform,
  type SimAccountInfo,
  type Simulator,
} from '../../../test/simulator/index.js';
import { resolveConnection, storeConnection } from './connections.service.js';
import { createConnectorProvider, type ConnectorProvider } from './connectors.js';
import { scheduleDueSyncs, startCollection } from './sync-queue.js';
import { syncConnection } from './sync.service.js';

describe.skipIf(databaseUnavailable() !== '')('collection: review findings', () => {
  const clock = createManualClock(Date.UTC(2026, 2, 1, 12));
  const now = (): Date => new Date(clock.now());
  let db: TestDatabase;
  let sim: Simulator;
  let app: ZodApp;
  let box: SecretBox;
  let connectors: ConnectorProvider;
  let owner: TestUser;
  let workspaceId: string;
  let queue: JobQueue;

  const account = (platform: Platform, index: number): SimAccountInfo => {
    const found = sim.accounts[platform][index];
    if (!found) throw new Error(`no simulated ${platform} account ${index}`);
    return found;
  };

  const connect = async (
    platform: Platform,
    of: SimAccountInfo,
    extra: Record<string, unknown> = {},
  ): Promise<ConnectionView> => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/connections`,
      headers: owner.headers,
      payload: {
        platform,
        account: of.handle,
        credentials: { access_token: of.accessToken },
        ...extra,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<ConnectionView>();
  };

  const sync = (connectionId: string) =>
    syncConnection(
      { pool: db.pool, secretBox: box, connectors, now },
      { workspaceId, connectionId, kind: 'posts', trigger: 'manual' },
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({
      seed: 41,
      clock: clock.now,
      accounts: { reddit: 4, tiktok: 2 },
      postsPerAccount: 10,
      tokenTtlSeconds: { tiktok: 60 * 86_400, reddit: 60 * 86_400 },
    });
    connectors = createConnectorProvider({
      baseUrls: sim.baseUrls,
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
    queue = await openJobQueue(
      db.url,
      jobQueueSettings(loadConfig({ DATABASE_URL: db.url, ...testQueueConfig }, {})),
      { supervise: false },
    );
  }, 60_000);

  afterAll(async () => {
    await queue?.stop();
    await app?.close();
    await sim?.close();
    await db?.drop();
  });

  it('a post whose text holds a NUL is stored with the character replaced; nothing is lost', async () => {
    const of = account('reddit', 0);
    const ids = sim.postIds('reddit', of.id);
    const withNul = ids.slice(0, 2);
    for (const id of withNul) sim.setPostText('reddit', id, 'morning\u0000run');
    const connection = await connect('reddit', of);

    const run = await sync(connection.id);
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(run).toMatchObject({ postsCollected: ids.length, skipped: 0, gaps: [] });
    const { rows } = await db.adminPool.query<{ text: string; raw: string }>(
      `SELECT text, raw::text AS raw FROM posts
        WHERE workspace_id = $1 AND platform = 'reddit' AND external_id = ANY($2::text[])`,
      [workspaceId, withNul],
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.text).toMatch(/^morning run/);
      expect(row.raw).toContain('morning run');
    }
  }, 60_000);

  it('every record the connector could not map counts as skipped', async () => {
    const of = account('reddit', 1);
    const ids = sim.postIds('reddit', of.id);
    // A creation time no date can hold: Reddit's mapper cannot read the submission.
    for (const id of ids.slice(0, 3)) sim.setPostCreatedAt('reddit', id, -9e15);
    const connection = await connect('reddit', of);

    const run = await sync(connection.id);
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(run).toMatchObject({ postsCollected: ids.length - 3, skipped: 3 });
    const gap = run.gaps.find((g) => g.reason === 'unmappable');
    expect(gap?.count).toBe(3);
  }, 60_000);

  it('a run the local rate budget refuses counts no request', async () => {
    const of = account('reddit', 2);
    const connection = await connect('reddit', of);
    sim.setFaults([{ platform: 'reddit', kind: 'rate_limit', times: 1 }]);
    try {
      const limited = await sync(connection.id);
      expect(limited.status, JSON.stringify(limited)).toBe('partial');
      expect(limited.requests).toBe(1);
    } finally {
      sim.setFaults([]);
    }
    const before = sim.stats.totalRequests;
    // The platform's reset is minutes away: the local budget refuses before anything is sent.
    const refused = await sync(connection.id);
    expect(refused.status, JSON.stringify(refused)).toBe('partial');
    expect(refused.error).toMatchObject({ platformCode: 'local_budget' });
    expect(sim.stats.totalRequests).toBe(before);
    expect(refused.requests).toBe(0);
  }, 60_000);

  it('reconnecting an account keeps its poll interval unless the new flow names one', async () => {
    const of = account('reddit', 3);
    const first = await connect('reddit', of, { poll_minutes: 5 });
    expect(first.poll_minutes).toBe(5);
    const input = {
      platform: 'reddit' as const,
      account: of.handle,
      credentials: { access_token: of.accessToken },
    };
    const resolved = await resolveConnection(connectors, { ...input, poll_minutes: 30 }, now());
    const again = await withTenant(db.pool, { workspaceId, userId: null }, (c) =>
      storeConnection(c, box, workspaceId, null, input, resolved),
    );
    expect(again.created).toBe(false);
    expect(again.connection.id).toBe(first.id);
    expect(again.connection.pollMinutes).toBe(5);
    const asked = await withTenant(db.pool, { workspaceId, userId: null }, (c) =>
      storeConnection(c, box, workspaceId, null, { ...input, poll_minutes: 60 }, resolved),
    );
    expect(asked.connection.pollMinutes).toBe(60);
  }, 60_000);

  it('reconnecting through the API without poll_minutes keeps the interval; one given wins', async () => {
    // Account 3 was connected above and left at 60 minutes.
    const of = account('reddit', 3);
    const reconnect = async (extra: Record<string, unknown>): Promise<ConnectionView> => {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/connections`,
        headers: owner.headers,
        payload: {
          platform: 'reddit',
          account: of.handle,
          credentials: { access_token: of.accessToken },
          ...extra,
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<ConnectionView>();
    };
    expect((await reconnect({})).poll_minutes).toBe(60);
    expect((await reconnect({ poll_minutes: 15 })).poll_minutes).toBe(15);
    expect((await reconnect({})).poll_minutes).toBe(15);
  }, 60_000);

  it('a sync made due by a platform webhook is recorded with the webhook trigger', async () => {
    const byWebhook = await connect('tiktok', account('tiktok', 0));
    const byClock = await connect('tiktok', account('tiktok', 1));
    for (const c of [byWebhook, byClock]) expect((await sync(c.id)).status).toBe('completed');
    const { rows: accounts } = await db.adminPool.query<{ external_account_id: string }>(
      'SELECT external_account_id FROM platform_connections WHERE id = $1',
      [byWebhook.id],
    );
    const { rows: delivery } = await db.adminPool.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (platform, delivery_key, payload)
       VALUES ('tiktok', 'findings-1', $1) RETURNING id::text AS id`,
      [
        JSON.stringify({
          event: 'video.publish.complete',
          user_openid: accounts[0]?.external_account_id,
        }),
      ],
    );
    const processed = await processDelivery(db.pool, Number(delivery[0]?.id));
    expect(processed).toEqual({ status: 'processed', connections: [byWebhook.id] });
    await db.adminPool.query(
      "UPDATE platform_connections SET next_sync_at = now() - interval '1 second' WHERE id = $1",
      [byClock.id],
    );

    await scheduleDueSyncs(db.pool, queue.boss, 100);
    const { rows } = await db.adminPool.query<{ connection_id: string; trigger: string }>(
      `SELECT connection_id::text AS connection_id, trigger FROM sync_runs
        WHERE connection_id = ANY($1::uuid[]) AND status = 'queued' AND kind = 'posts'`,
      [[byWebhook.id, byClock.id]],
    );
    const triggerOf = (id: string): string | undefined =>
      rows.find((r) => r.connection_id === id)?.trigger;
    expect(triggerOf(byWebhook.id)).toBe('webhook');
    expect(triggerOf(byClock.id)).toBe('schedule');
  }, 60_000);

  it("the scheduler's pass deletes webhook deliveries older than the retention, in batches", async () => {
    await db.adminPool.query(
      `INSERT INTO webhook_deliveries (platform, delivery_key, payload, raw, status, received_at)
       SELECT 'x', 'old-' || i, '{}', repeat('a', 1000), 'processed', now() - interval '8 days'
         FROM generate_series(1, 450) i`,
    );
    await db.adminPool.query(
      `INSERT INTO webhook_deliveries (platform, delivery_key, payload, status, received_at)
       SELECT 'x', 'recent-' || i, '{}', 'processed', now() - interval '6 days'
         FROM generate_series(1, 3) i`,
    );
    const collection = await startCollection({
      pool: db.pool,
      boss: queue.boss,
      secretBox: box,
      logger: createLogger('silent'),
      connectors,
      schedulerIntervalMs: 3_600_000,
      now,
    });
    try {
      await collection.tick();
    } finally {
      await collection.stop();
    }
    const { rows } = await db.adminPool.query<{ key: string }>(
      "SELECT delivery_key AS key FROM webhook_deliveries WHERE delivery_key LIKE 'old-%' OR delivery_key LIKE 'recent-%' ORDER BY 1",
    );
    expect(rows.map((r) => r.key)).toEqual(['recent-1', 'recent-2', 'recent-3']);
  }, 60_000);
});
