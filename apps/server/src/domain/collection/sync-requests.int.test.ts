/**
 * A sync asked for while one of the same connection runs, through the real path (the API, the
 * queue and its worker, the simulator): a platform webhook's request survives the run's own
 * schedule and is collected right after it, and the user's "sync now" runs after it too (also
 * when it could only join a waiting metrics refresh); never two runs of one connection at once. The run is held mid-way by the test's fetch (a gate on its
 * second listing page), so "during the run" is a state, not a timing.
 */
import type { ConnectionView, SyncRunView } from '@socialpulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../../api/types.js';
import { loadConfig } from '../../config.js';
import { openJobQueue, jobQueueSettings, type JobQueue } from '../../db/job-queue.js';
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
  startSimulator,
  type SimAccountInfo,
  type Simulator,
} from '../../../test/simulator/index.js';
import { createConnectorProvider, type ConnectorProvider } from './connectors.js';
import { scheduleDueSyncs, startCollection, type RunningCollection } from './sync-queue.js';
import { syncConnection } from './sync.service.js';

const TERMINAL = ['completed', 'partial', 'failed'];
const LISTING = '/v2/video/list/';

/** Holds the n-th listing request made with one token until released (a run stopped mid-way). */
class ListingGate {
  private seen = 0;
  private holdAt: number | null = null;
  private token = '';
  private release: (() => void) | null = null;
  private reached: (() => void) | null = null;

  /** Arms the gate on the `nth` listing request with `token` from now; resolves once it waits. */
  arm(nth: number, token: string): Promise<void> {
    this.seen = 0;
    this.holdAt = nth;
    this.token = token;
    return new Promise((resolve) => {
      this.reached = resolve;
    });
  }

  open(): void {
    this.holdAt = null;
    this.release?.();
    this.release = null;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    // Only the account's own requests: another connection's run may be going meanwhile.
    const mine = new Headers(init?.headers).get('authorization') === `Bearer ${this.token}`;
    if (url.includes(LISTING) && mine && this.holdAt !== null) {
      this.seen += 1;
      if (this.seen === this.holdAt) {
        await new Promise<void>((resolve) => {
          this.release = resolve;
          this.reached?.();
        });
      }
    }
    return fetch(input, init);
  };
}

describe.skipIf(databaseUnavailable() !== '')('collection: a sync asked for during a run', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let app: ZodApp;
  let queue: JobQueue;
  let collection: RunningCollection;
  let box: SecretBox;
  let connectors: ConnectorProvider;
  let owner: TestUser;
  let workspaceId: string;
  const gate = new ListingGate();

  const account = (index: number): SimAccountInfo => {
    const found = sim.accounts.tiktok[index];
    if (!found) throw new Error(`no simulated tiktok account ${index}`);
    return found;
  };

  const connect = async (of: SimAccountInfo): Promise<ConnectionView> => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/connections`,
      headers: owner.headers,
      payload: {
        platform: 'tiktok',
        account: of.handle,
        credentials: { access_token: of.accessToken },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<ConnectionView>();
  };

  const syncNow = async (
    connectionId: string,
    kind: 'posts' | 'metrics' = 'posts',
  ): Promise<SyncRunView> => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/connections/${connectionId}/sync`,
      headers: owner.headers,
      payload: { kind },
    });
    expect(res.statusCode, res.body).toBe(202);
    return res.json<SyncRunView>();
  };

  interface RunRow {
    id: string;
    trigger: string;
    status: string;
    started_at: Date | null;
    finished_at: Date | null;
  }
  const runsOf = async (
    connectionId: string,
    kinds: 'posts' | 'all' = 'posts',
  ): Promise<RunRow[]> => {
    const { rows } = await db.adminPool.query<RunRow>(
      `SELECT id::text AS id, trigger, status, started_at, finished_at FROM sync_runs
        WHERE connection_id = $1 AND ($2 = 'all' OR kind = 'posts') ORDER BY queued_at, id`,
      [connectionId, kinds],
    );
    return rows;
  };

  /** Waits (bounded) until `done` holds for the connection's runs; returns them. */
  const waitForRuns = async (
    connectionId: string,
    done: (runs: RunRow[]) => boolean,
    kinds: 'posts' | 'all' = 'posts',
  ): Promise<RunRow[]> => {
    const deadline = Date.now() + 30_000;
    let runs = await runsOf(connectionId, kinds);
    while (!done(runs)) {
      if (Date.now() > deadline)
        throw new Error(`the runs never got there: ${JSON.stringify(runs)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      runs = await runsOf(connectionId, kinds);
    }
    return runs;
  };

  const stored = async (externalId: string): Promise<boolean> => {
    const { rows } = await db.adminPool.query(
      "SELECT 1 FROM posts WHERE workspace_id = $1 AND platform = 'tiktok' AND external_id = $2",
      [workspaceId, externalId],
    );
    return rows.length > 0;
  };

  /** Runs of one connection one after the other: each started after the one before ended. */
  const expectOneAtATime = (runs: RunRow[]): void => {
    for (let i = 1; i < runs.length; i += 1) {
      const before = runs[i - 1]?.finished_at;
      const started = runs[i]?.started_at;
      expect(before).toBeInstanceOf(Date);
      expect(started).toBeInstanceOf(Date);
      expect((started ?? new Date(0)).getTime()).toBeGreaterThanOrEqual(
        (before ?? new Date(0)).getTime(),
      );
    }
  };

  /** A post the platform does not show yet (dated in the future), published later by `publish`. */
  const unpublished = (of: SimAccountInfo): { id: string; publish: () => void } => {
    const id = sim.postIds('tiktok', of.id)[0];
    if (id === undefined) throw new Error('no post');
    sim.setPostCreatedAt('tiktok', id, Date.now() + 30 * 86_400_000);
    return { id, publish: () => sim.setPostCreatedAt('tiktok', id, Date.now() - 1000) };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({
      seed: 53,
      accounts: { tiktok: 4 },
      // Three listing pages of 20: the run is held on its second.
      postsPerAccount: 45,
      tokenTtlSeconds: { tiktok: 60 * 86_400 },
    });
    connectors = createConnectorProvider({
      baseUrls: sim.baseUrls,
      fetch: gate.fetch,
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
    collection = await startCollection({
      pool: db.pool,
      boss: queue.boss,
      secretBox: box,
      logger: createLogger('silent'),
      connectors,
      // The scheduler's timer stays out of the way: only the runs' own follow-ups may queue.
      schedulerIntervalMs: 3_600_000,
      pollIntervalSeconds: 0.5,
    });
  }, 60_000);

  afterAll(async () => {
    gate.open();
    await collection?.stop();
    await queue?.stop();
    await app?.close();
    await sim?.close();
    await db?.drop();
  });

  it('a platform webhook arriving while the sync runs is collected right after the run, as trigger webhook', async () => {
    const of = account(0);
    const post = unpublished(of);
    const connection = await connect(of);
    const held = gate.arm(2, of.accessToken);
    const first = await syncNow(connection.id);
    await held;

    // The run has read its first page; the account publishes, and TikTok says so.
    post.publish();
    const { rows: delivery } = await db.adminPool.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (platform, delivery_key, payload)
       VALUES ('tiktok', 'during-run-1', $1) RETURNING id::text AS id`,
      [JSON.stringify({ event: 'video.publish.complete', user_openid: of.id })],
    );
    const processed = await processDelivery(db.pool, Number(delivery[0]?.id));
    expect(processed).toEqual({ status: 'processed', connections: [connection.id] });
    gate.open();

    const runs = await waitForRuns(
      connection.id,
      (rs) => rs.length >= 2 && rs.every((r) => TERMINAL.includes(r.status)),
    );
    expect(runs[0]).toMatchObject({ id: first.id, trigger: 'manual', status: 'completed' });
    expect(runs[1]).toMatchObject({ trigger: 'webhook', status: 'completed' });
    expect(runs).toHaveLength(2);
    expectOneAtATime(runs);
    expect(await stored(post.id)).toBe(true);
  }, 60_000);

  it("the user's sync now during a run joins no run in flight: it runs right after and collects what was published meanwhile", async () => {
    const of = account(1);
    const post = unpublished(of);
    const connection = await connect(of);
    const held = gate.arm(2, of.accessToken);
    const first = await syncNow(connection.id);
    await held;

    post.publish();
    const second = await syncNow(connection.id);
    expect(second.id).not.toBe(first.id);
    expect(second.status).toBe('queued');
    gate.open();

    const runs = await waitForRuns(
      connection.id,
      (rs) => rs.length >= 2 && rs.every((r) => TERMINAL.includes(r.status)),
    );
    expect(runs.map((r) => [r.id, r.status])).toEqual([
      [first.id, 'completed'],
      [second.id, 'completed'],
    ]);
    expectOneAtATime(runs);
    expect(await stored(post.id)).toBe(true);
  }, 60_000);

  it("a run a webhook interrupts leaves the connection due (the run's own schedule does not overwrite it); the scheduler's pass queues it as trigger webhook", async () => {
    const of = account(2);
    const connection = await connect(of);
    const held = gate.arm(2, of.accessToken);
    // Outside the queue: only the connection's state can make the next sync happen.
    const running = syncConnection(
      { pool: db.pool, secretBox: box, connectors },
      { workspaceId, connectionId: connection.id, kind: 'posts', trigger: 'manual' },
    );
    await held;
    const { rows: delivery } = await db.adminPool.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (platform, delivery_key, payload)
       VALUES ('tiktok', 'during-run-2', $1) RETURNING id::text AS id`,
      [JSON.stringify({ event: 'video.publish.complete', user_openid: of.id })],
    );
    await processDelivery(db.pool, Number(delivery[0]?.id));
    gate.open();
    expect((await running).status).toBe('completed');

    const { rows } = await db.adminPool.query<{ due: boolean }>(
      'SELECT next_sync_at <= now() AS due FROM platform_connections WHERE id = $1',
      [connection.id],
    );
    expect(rows[0]?.due).toBe(true);
    await scheduleDueSyncs(db.pool, queue.boss, 100);
    const runs = await runsOf(connection.id);
    expect(runs.map((r) => r.trigger)).toEqual(['manual', 'webhook']);
    // The worker runs it: settled before the next test arms the gate.
    await waitForRuns(connection.id, (rs) => rs.every((r) => TERMINAL.includes(r.status)));
  }, 60_000);

  it('a sync now that joins a waiting metrics refresh is not lost: the connection stays due for posts, and the next pass collects them', async () => {
    const of = account(3);
    const post = unpublished(of);
    const connection = await connect(of);
    const held = gate.arm(2, of.accessToken);
    const first = await syncNow(connection.id);
    await held;

    post.publish();
    // A metrics refresh waits behind the running sync; "sync now" can only join it.
    const metrics = await syncNow(connection.id, 'metrics');
    expect(metrics.kind).toBe('metrics');
    const joined = await syncNow(connection.id);
    expect(joined.id).toBe(metrics.id);
    gate.open();

    const settled = (rs: RunRow[]): boolean =>
      rs.length >= 2 && rs.every((r) => TERMINAL.includes(r.status));
    await waitForRuns(connection.id, settled, 'all');
    expect(await stored(post.id)).toBe(false);
    await scheduleDueSyncs(db.pool, queue.boss, 100);
    const runs = await waitForRuns(
      connection.id,
      (rs) => rs.length >= 3 && rs.every((r) => TERMINAL.includes(r.status)),
      'all',
    );
    expect(runs.map((r) => r.id).slice(0, 2)).toEqual([first.id, metrics.id]);
    expect(runs).toHaveLength(3);
    expectOneAtATime(runs);
    expect(await stored(post.id)).toBe(true);
  }, 60_000);
});
