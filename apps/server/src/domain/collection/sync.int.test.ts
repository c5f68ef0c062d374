/**
 * Collection end to end against the platform simulator: connect an account of each platform with
 * a token through the API, sync through the queue and a worker, refresh metrics at planned ages,
 * and the failure paths (a 429 storm, an expired token, a platform outage → dead letter → replay).
 */
import type { ConnectionView, DeadLetterView, SyncRunView } from '@socialpulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createAppDeps } from '../../api/deps.js';
import type { ZodApp } from '../../api/types.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../observability/logger.js';
import { startWorker, type RunningWorker } from '../../services/worker.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
  type TestUser,
} from '../../../test/support/app.js';
import { testQueueConfig } from '../../../test/support/analyses.js';
import {
  PLATFORMS,
  startSimulator,
  type Platform,
  type Simulator,
} from '../../../test/simulator/index.js';
import { createConnectorProvider, type ConnectorProvider } from './connectors.js';

const TERMINAL = ['completed', 'partial', 'failed'];

describe.skipIf(databaseUnavailable() !== '')('collection: sync against the simulator', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let app: ZodApp;
  let worker: RunningWorker;
  let connectors: ConnectorProvider;
  let owner: TestUser;
  let workspaceId: string;
  const connections = new Map<Platform, ConnectionView>();

  const api = (user: TestUser) => ({
    get: async <T>(url: string): Promise<{ status: number; body: T }> => {
      const res = await app.inject({ method: 'GET', url, headers: user.headers });
      return { status: res.statusCode, body: res.json<T>() };
    },
    post: async <T>(url: string, payload?: unknown): Promise<{ status: number; body: T }> => {
      const res = await app.inject({
        method: 'POST',
        url,
        headers: user.headers,
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      return { status: res.statusCode, body: res.json<T>() };
    },
  });
  const ws = (): string => `/v1/workspaces/${workspaceId}`;

  async function waitForRun(runId: string, timeoutMs = 40_000): Promise<SyncRunView> {
    const deadline = Date.now() + timeoutMs;
    let last: SyncRunView | undefined;
    while (Date.now() < deadline) {
      const res = await api(owner).get<SyncRunView>(`${ws()}/sync-runs/${runId}`);
      expect(res.status).toBe(200);
      last = res.body;
      if (TERMINAL.includes(last.status)) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`sync run ${runId} did not finish; last: ${JSON.stringify(last)}`);
  }

  async function syncNow(
    connectionId: string,
    kind: 'posts' | 'metrics' = 'posts',
  ): Promise<SyncRunView> {
    const res = await api(owner).post<SyncRunView>(`${ws()}/connections/${connectionId}/sync`, {
      kind,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return waitForRun(res.body.id);
  }

  const postCount = async (platform: string): Promise<number> => {
    const { rows } = await db.adminPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM posts WHERE workspace_id = $1 AND platform = $2',
      [workspaceId, platform],
    );
    return rows[0]?.n ?? 0;
  };
  const snapshotCount = async (platform: string): Promise<number> => {
    const { rows } = await db.adminPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM post_metric_snapshots s JOIN posts p ON p.id = s.post_id WHERE p.workspace_id = $1 AND p.platform = $2',
      [workspaceId, platform],
    );
    return rows[0]?.n ?? 0;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({
      seed: 7,
      accounts: Object.fromEntries(PLATFORMS.map((p) => [p, 1])),
      postsPerAccount: 25,
    });
    connectors = createConnectorProvider({
      baseUrls: { ...sim.baseUrls, instagram: `${sim.url('instagram')}/v21.0` },
      // Fail fast in tests: short back-off, and a wait longer than 2 s is reported as a limit, not slept through.
      backoffBaseMs: 10,
      backoffMaxMs: 50,
      maxWaitMs: 2_000,
      maxAttempts: 2,
    });
    const config = loadConfig(
      { LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...noRateLimits, ...testQueueConfig },
      {},
    );
    const deps = createAppDeps(config, db, null, createLogger('silent'));
    app = await buildApp(Object.assign(deps, { collection: { connectors } }));
    worker = await startWorker(
      config,
      { url: db.url, secrets: db.secrets },
      createLogger('silent'),
      {
        // The scheduler's timer stays out of the way: these tests trigger syncs themselves.
        collection: { connectors, schedulerIntervalMs: 3_600_000, pollIntervalSeconds: 0.5 },
      },
    );
    owner = await signUpUser(app);
    workspaceId = await createWorkspaceAs(app, owner);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await sim?.close();
    await db?.drop();
  });

  const refOf = (platform: Platform): string => {
    const account = sim.accounts[platform][0];
    if (!account) throw new Error(`no simulated ${platform} account`);
    // Instagram resolves a handle only through the connected account (business_discovery): give the id.
    return platform === 'instagram'
      ? account.id
      : account.handle.startsWith('@')
        ? account.handle
        : `@${account.handle}`;
  };

  it.each(PLATFORMS)(
    'connects a %s account with a pasted token; a sync collects every post once, a second adds snapshots only',
    async (platform) => {
      const account = sim.accounts[platform][0];
      if (!account) throw new Error('no account');
      const created = await api(owner).post<ConnectionView>(`${ws()}/connections`, {
        platform,
        account: refOf(platform),
        credentials: { access_token: account.accessToken },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ platform, status: 'active' });
      // Reddit answers with the kind-prefixed id (t2_…).
      expect(created.body.account.external_id?.endsWith(account.id)).toBe(true);
      expect(JSON.stringify(created.body)).not.toContain(account.accessToken);
      connections.set(platform, created.body);

      const first = await syncNow(created.body.id);
      expect(first.status, JSON.stringify(first)).toBe('completed');
      const expected = sim.postIds(platform, account.id);
      const { rows: stored } = await db.adminPool.query<{
        external_id: string;
        source: string;
        raw: unknown;
      }>('SELECT external_id, source, raw FROM posts WHERE workspace_id = $1 AND platform = $2', [
        workspaceId,
        platform,
      ]);
      // Every post the platform lists arrived, once (Instagram also lists Stories, which the ground truth leaves out).
      const ids = new Set(stored.map((r) => r.external_id));
      expect(expected.filter((id) => !ids.has(id))).toEqual([]);
      if (platform !== 'instagram') expect(stored.length).toBe(expected.length);
      const total = stored.length;
      expect(stored.every((r) => r.source === `sync:${platform}` && r.raw !== null)).toBe(true);
      expect(first.posts_collected).toBeGreaterThanOrEqual(expected.length);
      expect(first.requests).toBeGreaterThan(0);
      // Every new post has a refresh planned.
      const { rows: planned } = await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM post_refresh_schedule WHERE connection_id = $1',
        [created.body.id],
      );
      expect(planned[0]?.n).toBe(total);

      const snapshotsBefore = await snapshotCount(platform);
      const second = await syncNow(created.body.id);
      expect(second.status).toBe('completed');
      expect(await postCount(platform)).toBe(total);
      // The overlap re-reads the newest posts: new snapshots, no new posts. (Instagram's newest items are
      // Stories, whose listing carries no metrics: nothing to snapshot there.)
      expect(second.posts_collected).toBeGreaterThan(0);
      expect(await snapshotCount(platform), JSON.stringify(second)).toBe(
        snapshotsBefore + second.snapshots,
      );
      // Metrics of stored posts come from each platform's batch read (Instagram: `?ids=` and
      // insights, not in the overlap above, which holds only Stories there): due posts get a
      // snapshot and stay planned.
      await db.adminPool.query(
        "UPDATE post_refresh_schedule SET due_at = now() + interval '2 days' WHERE connection_id = $1",
        [created.body.id],
      );
      await db.adminPool.query(
        `UPDATE post_refresh_schedule SET due_at = now() - interval '1 second'
          WHERE post_id IN (SELECT post_id FROM post_refresh_schedule WHERE connection_id = $1 ORDER BY post_id LIMIT 5)`,
        [created.body.id],
      );
      const refreshed = await syncNow(created.body.id, 'metrics');
      expect(refreshed, JSON.stringify(refreshed)).toMatchObject({
        status: 'completed',
        snapshots: 5,
      });
      const { rows: stillPlanned } = await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM post_refresh_schedule WHERE connection_id = $1',
        [created.body.id],
      );
      expect(stillPlanned[0]?.n).toBe(total);

      const listed = await api(owner).get<{ data: ConnectionView[] }>(`${ws()}/connections`);
      const shown = listed.body.data.find((c) => c.id === created.body.id);
      expect(shown?.last_sync_at).not.toBeNull();
      expect(shown?.next_sync_at).not.toBeNull();
      expect(shown?.last_error).toBeNull();
    },
    60_000,
  );

  it('refreshes metrics of posts whose planned age has come, and moves them to the next stage', async () => {
    const connection = connections.get('x');
    if (!connection) throw new Error('x not connected');
    // The plan's clock is PostgreSQL's: make five posts due now instead of waiting an hour. The
    // others' refreshes are put off first: the plan spreads them over the next day, and one
    // coming due during the test would be refreshed too.
    await db.adminPool.query(
      "UPDATE post_refresh_schedule SET due_at = now() + interval '2 days' WHERE connection_id = $1",
      [connection.id],
    );
    const { rows: due } = await db.adminPool.query<{ post_id: string; stage: number }>(
      `UPDATE post_refresh_schedule SET due_at = now() - interval '1 second'
        WHERE post_id IN (SELECT post_id FROM post_refresh_schedule WHERE connection_id = $1 ORDER BY post_id LIMIT 5)
        RETURNING post_id::text AS post_id, stage`,
      [connection.id],
    );
    expect(due).toHaveLength(5);
    const before = await snapshotCount('x');
    const run = await syncNow(connection.id, 'metrics');
    expect(run, JSON.stringify(run)).toMatchObject({
      kind: 'metrics',
      status: 'completed',
      snapshots: 5,
    });
    expect(await snapshotCount('x')).toBe(before + 5);
    const { rows: after } = await db.adminPool.query<{
      post_id: string;
      stage: number;
      future: boolean;
    }>(
      'SELECT post_id::text AS post_id, stage, due_at > now() AS future FROM post_refresh_schedule WHERE post_id = ANY($1::bigint[])',
      [due.map((d) => d.post_id)],
    );
    for (const row of after) {
      const old = due.find((d) => d.post_id === row.post_id);
      expect(row.stage).toBeGreaterThan(old?.stage ?? 0);
      expect(row.future).toBe(true);
    }
    // Nothing else was due: a second metrics run refreshes nothing.
    const idle = await syncNow(connection.id, 'metrics');
    expect(idle).toMatchObject({ status: 'completed', snapshots: 0 });
  }, 60_000);

  it('the scheduler queues due connections (posts and metrics) once each', async () => {
    const connection = connections.get('bluesky');
    if (!connection) throw new Error('bluesky not connected');
    await db.adminPool.query(
      "UPDATE platform_connections SET next_sync_at = now() - interval '1 second' WHERE id = $1",
      [connection.id],
    );
    await db.adminPool.query(
      "UPDATE post_refresh_schedule SET due_at = now() - interval '1 second' WHERE connection_id = $1",
      [connection.id],
    );
    const { scheduleDueSyncs } = await import('./sync-queue.js');
    const queue = await (
      await import('../../db/job-queue.js')
    ).openJobQueue(
      db.url,
      (await import('../../db/job-queue.js')).jobQueueSettings(
        loadConfig({ DATABASE_URL: db.url, ...testQueueConfig }, {}),
      ),
      { supervise: false },
    );
    try {
      const queued = await scheduleDueSyncs(db.pool, queue.boss, 100);
      expect(queued).toBeGreaterThanOrEqual(1);
      // Once each: a second pass queues nothing already waiting. The worker may run the first
      // job in between (then only the other due kind may follow), so across both passes at most
      // one posts and one metrics job.
      const again = await scheduleDueSyncs(db.pool, queue.boss, 100);
      expect(queued + again).toBeLessThanOrEqual(2);
    } finally {
      await queue.stop();
    }
    const deadline = Date.now() + 30_000;
    let runs: SyncRunView[] = [];
    while (Date.now() < deadline) {
      runs = (
        await api(owner).get<{ data: SyncRunView[] }>(
          `${ws()}/connections/${connection.id}/sync-runs`,
        )
      ).body.data.filter((r) => r.trigger === 'schedule');
      if (runs.length > 0 && runs.every((r) => TERMINAL.includes(r.status))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
  }, 60_000);

  it('a 429 storm stops the run as partial with the gap and the reset time; no limit is broken', async () => {
    const connection = connections.get('x');
    if (!connection) throw new Error('x not connected');
    await db.adminPool.query('UPDATE platform_connections SET cursor = NULL WHERE id = $1', [
      connection.id,
    ]);
    sim.resetStats();
    sim.setFaults([{ platform: 'x', kind: 'rate_limit', times: Infinity }]);
    try {
      const run = await syncNow(connection.id);
      expect(run.status, JSON.stringify(run)).toBe('partial');
      const gap = run.gaps.find((g) => g.reason === 'rate_limited');
      expect(gap, JSON.stringify(run.gaps)).toBeDefined();
      expect(gap?.reset_at).toEqual(expect.any(String));
      const shown = (await api(owner).get<ConnectionView>(`${ws()}/connections/${connection.id}`))
        .body;
      expect(shown.blocked_until).not.toBeNull();
      expect(Date.parse(shown.next_sync_at ?? '')).toBeGreaterThanOrEqual(
        Date.parse(shown.blocked_until ?? ''),
      );
      expect(shown.last_error).toMatchObject({ kind: 'rate_limited' });
      expect(sim.stats.overLimit.total).toBe(0);
    } finally {
      sim.setFaults([]);
    }
    // Blocked: the scheduler does not pick it up before the reset.
    const { rows } = await db.pool.query<{ connection_id: string }>(
      'SELECT connection_id FROM collection_due_connections(100)',
    );
    expect(rows.map((r) => r.connection_id)).not.toContain(connection.id);
  }, 60_000);

  it('an expired token puts the connection in platform_auth_expired (visible in the API) and fails the run', async () => {
    const connection = connections.get('mastodon') ?? connections.get('reddit');
    if (!connection) throw new Error('not connected');
    sim.expireTokens(connection.platform as Platform);
    const run = await syncNow(connection.id);
    expect(run.status, JSON.stringify(run)).toBe('failed');
    expect(run.error).toMatchObject({ kind: 'auth_expired' });
    const shown = await api(owner).get<ConnectionView>(`${ws()}/connections/${connection.id}`);
    expect(shown.body.status).toBe('platform_auth_expired');
    // No further sync until the account is connected again.
    const refused = await api(owner).post<{ error: { code: string } }>(
      `${ws()}/connections/${connection.id}/sync`,
      {},
    );
    expect(refused.status).toBe(409);
  }, 60_000);

  it('a platform outage after retries becomes a dead letter; replaying it from the API collects what was missed', async () => {
    const connection = connections.get('tiktok');
    if (!connection) throw new Error('tiktok not connected');
    await db.adminPool.query('DELETE FROM posts WHERE workspace_id = $1 AND platform = $2', [
      workspaceId,
      'tiktok',
    ]);
    await db.adminPool.query('UPDATE platform_connections SET cursor = NULL WHERE id = $1', [
      connection.id,
    ]);
    sim.setFaults([{ platform: 'tiktok', kind: 'server_error', status: 503, times: Infinity }]);
    let letter: DeadLetterView | undefined;
    try {
      const run = await syncNow(connection.id);
      expect(run.status, JSON.stringify(run)).toBe('failed');
      expect(run.gaps.some((g) => g.reason === 'transient')).toBe(true);
      const letters = await api(owner).get<{ data: DeadLetterView[] }>(
        `${ws()}/dead-letters?status=open`,
      );
      letter = letters.body.data.find((d) => d.connection_id === connection.id);
      expect(letter).toMatchObject({
        operation: 'list_posts',
        attempts: 2,
        error: { kind: 'transient' },
      });
      expect(JSON.stringify(letter)).not.toContain(sim.accounts.tiktok[0]?.accessToken ?? 'never');
    } finally {
      sim.setFaults([]);
    }
    const replay = await api(owner).post<{ run: SyncRunView; dead_letter: DeadLetterView }>(
      `${ws()}/dead-letters/${letter?.id ?? ''}/replay`,
    );
    expect(replay.status, JSON.stringify(replay.body)).toBe(202);
    expect(replay.body.run.trigger).toBe('replay');
    const replayed = await waitForRun(replay.body.run.id);
    expect(replayed.status, JSON.stringify(replayed)).toBe('completed');
    expect(await postCount('tiktok')).toBe(
      sim.postIds('tiktok', sim.accounts.tiktok[0]?.id ?? '').length,
    );
    const after = await api(owner).get<DeadLetterView>(`${ws()}/dead-letters/${letter?.id ?? ''}`);
    expect(after.body.status).toBe('replayed');
    // A replayed letter is closed: it cannot be discarded.
    const late = await api(owner).post<{ error: { code: string } }>(
      `${ws()}/dead-letters/${letter?.id ?? ''}/discard`,
    );
    expect([late.status, late.body.error.code]).toEqual([409, 'conflict']);
  }, 60_000);

  it('an open dead letter can be discarded: kept for the record, no longer open or replayable, audited', async () => {
    const { rows } = await db.adminPool.query<{ id: string }>(
      `INSERT INTO dead_letters (workspace_id, connection_id, operation, request, error, attempts) VALUES ($1, $2, 'list_posts', '{}', '{"kind":"bad_request"}', 1) RETURNING id::text AS id`,
      [workspaceId, connections.get('x')?.id ?? null],
    );
    const id = rows[0]?.id ?? '';
    const discarded = await api(owner).post<DeadLetterView>(`${ws()}/dead-letters/${id}/discard`);
    expect([discarded.status, discarded.body.status]).toEqual([200, 'discarded']);
    const open = await api(owner).get<{ data: DeadLetterView[] }>(
      `${ws()}/dead-letters?status=open`,
    );
    expect(open.body.data.map((d) => d.id)).not.toContain(id);
    expect((await api(owner).post(`${ws()}/dead-letters/${id}/replay`)).status).toBe(409);
    const audit = await db.adminPool.query(
      "SELECT 1 FROM audit_log WHERE action = 'dead_letter.discarded' AND target = $1",
      [id],
    );
    expect(audit.rowCount).toBe(1);
  });

  it('another workspace sees none of it', async () => {
    const stranger = await signUpUser(app);
    const theirs = await createWorkspaceAs(app, stranger);
    const mine = connections.get('x');
    expect(
      (await api(stranger).get<{ data: unknown[] }>(`/v1/workspaces/${theirs}/connections`)).body
        .data,
    ).toEqual([]);
    expect(
      (await api(stranger).get<{ data: unknown[] }>(`/v1/workspaces/${theirs}/dead-letters`)).body
        .data,
    ).toEqual([]);
    expect(
      (await api(stranger).get(`/v1/workspaces/${theirs}/connections/${mine?.id ?? ''}`)).status,
    ).toBe(404);
    expect((await api(stranger).get(`/v1/workspaces/${workspaceId}/connections`)).status).toBe(404);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM platform_connections',
    );
    expect(rows[0]?.n).toBe(0); // the app role outside any workspace scope sees no connection
  });
});
