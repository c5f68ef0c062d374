import type { PgBoss } from 'pg-boss';
import { queueDb } from '../../db/job-queue.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import { listDueConnections } from '../../db/repos/connections.repo.js';
import { purgeOAuthStates } from '../../db/repos/oauth.repo.js';
import { deleteDeliveriesOlderThan, listLatestWebhookDue } from '../../db/repos/webhooks.repo.js';
import {
  findLatestSyncRun,
  findPendingSyncRun,
  insertSyncRun,
  type SyncKind,
  type SyncRun,
  type SyncTrigger,
} from '../../db/repos/sync-runs.repo.js';
import { setTenantScope, withTenant } from '../../db/tenant.js';
import type { Logger } from '../../observability/logger.js';
import type { SecretBox } from '../auth/secret-box.js';
import { createConnectorProvider, type ConnectorProvider } from './connectors.js';
import { runSync, type SyncLimits } from './sync.service.js';

/**
 * Sync jobs on pg-boss. One queue with the `stately` policy keyed on the connection: at most one
 * queued and one active job per connection, so a connection never syncs twice at once and a
 * trigger while a sync waits joins it. Every job carries the id of its `sync_runs` row, created
 * in the same transaction as the job (a refused send rolls the row back).
 */
export const SYNC_QUEUE = 'collection-sync';

export interface SyncJobData {
  workspaceId: string;
  connectionId: string;
  kind: SyncKind;
  trigger: SyncTrigger;
  runId: string;
  deadLetterId?: string;
}

const ensured = new WeakSet<PgBoss>();

/** Creates the sync queue once per pg-boss instance (idempotent across processes). */
export async function ensureSyncQueue(boss: PgBoss): Promise<void> {
  if (ensured.has(boss)) return;
  if (!(await boss.getQueue(SYNC_QUEUE))) {
    try {
      await boss.createQueue(SYNC_QUEUE, {
        policy: 'stately',
        retryLimit: 2,
        retryDelay: 30,
        retryBackoff: true,
        retryDelayMax: 600,
        expireInSeconds: 30 * 60,
      });
    } catch (error) {
      // Another process created it between the check and the create.
      if (!(await boss.getQueue(SYNC_QUEUE))) throw error;
    }
  }
  ensured.add(boss);
}

export interface EnqueueRequest {
  workspaceId: string;
  connectionId: string;
  kind: SyncKind;
  trigger: SyncTrigger;
  deadLetterId?: string;
}

/**
 * Queues a sync in the caller's transaction (scoped to the workspace). Returns the new run, or
 * the connection's run already waiting when the queue refused a second one.
 */
export async function enqueueSync(
  client: PoolClient,
  boss: PgBoss,
  request: EnqueueRequest,
): Promise<{ run: SyncRun; queued: boolean }> {
  await ensureSyncQueue(boss);
  await client.query('SAVEPOINT enqueue_sync');
  const run = await insertSyncRun(client, request);
  const data: SyncJobData = { ...request, runId: run.id };
  const jobId = await boss.send(SYNC_QUEUE, data, {
    singletonKey: request.connectionId,
    db: queueDb(client),
  });
  if (jobId) {
    await client.query('RELEASE SAVEPOINT enqueue_sync');
    return { run, queued: true };
  }
  await client.query('ROLLBACK TO SAVEPOINT enqueue_sync');
  const pending = await findPendingSyncRun(client, request.workspaceId, request.connectionId);
  return { run: pending ?? run, queued: false };
}

export interface CollectionOptions {
  pool: Pool;
  boss: PgBoss;
  secretBox: SecretBox;
  logger: Logger;
  connectors?: ConnectorProvider;
  /** How often the scheduler looks for due connections (default 15 s). */
  schedulerIntervalMs?: number;
  /** Due connections queued per tick (default 200). */
  schedulerBatch?: number;
  /** Syncs this process runs at once (default 4). */
  concurrency?: number;
  pollIntervalSeconds?: number;
  limits?: Partial<SyncLimits>;
  now?: () => Date;
}

export interface RunningCollection {
  /** One scheduler pass now (tests; the timer does the same). Returns the jobs queued. */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Whether a due posts sync is the work of a platform webhook: a delivery made the connection due
 * (webhook_connections_due) after its last posts run started. One that arrived while that run
 * went is still due when it ends (the run keeps the request; it may have read the platform
 * before the change the delivery announced), so the sync that follows is the webhook's.
 */
async function dueToWebhook(
  c: PoolClient,
  d: { workspaceId: string; connectionId: string },
  webhookAt: Date | undefined,
): Promise<boolean> {
  if (webhookAt === undefined) return false;
  const last = await findLatestSyncRun(c, d.workspaceId, d.connectionId, 'posts');
  const since = last?.startedAt ?? last?.queuedAt ?? null;
  return since === null || webhookAt > since;
}

/**
 * Queues the posts sync asked for while a run of the connection went (a platform webhook, a
 * reconnect): called by the run's job before it completes, so the queue (stately, keyed on the
 * connection) starts it right after that job ends, never beside it. A sync already waiting is
 * joined. Trigger `webhook` when a delivery asked for it, else `schedule` (what the scheduler
 * would record for it).
 */
export async function queueFollowUpSync(
  pool: Pool,
  boss: PgBoss,
  d: { workspaceId: string; connectionId: string },
): Promise<{ run: SyncRun; queued: boolean }> {
  await ensureSyncQueue(boss);
  return withTenant(pool, { workspaceId: null, userId: null }, async (c) => {
    // Read before the transaction is scoped to the workspace (deliveries belong to none).
    const webhooks = await listLatestWebhookDue(c, [d.connectionId]);
    await setTenantScope(c, { workspaceId: d.workspaceId, userId: null });
    const byWebhook = await dueToWebhook(c, d, webhooks.get(d.connectionId));
    return enqueueSync(c, boss, {
      workspaceId: d.workspaceId,
      connectionId: d.connectionId,
      kind: 'posts',
      trigger: byWebhook ? 'webhook' : 'schedule',
    });
  });
}

/** One scheduler pass: every connection with posts or metric refreshes due gets a job (if it has none waiting). */
export async function scheduleDueSyncs(pool: Pool, boss: PgBoss, limit: number): Promise<number> {
  await ensureSyncQueue(boss);
  return withTenant(pool, { workspaceId: null, userId: null }, async (c) => {
    // Flows nobody finished (abandoned consent pages) go after a day.
    await purgeOAuthStates(c);
    const due = await listDueConnections(c, limit);
    // Read before the loop scopes the transaction to one workspace (deliveries belong to none).
    const webhooks = await listLatestWebhookDue(
      c,
      due.filter((d) => d.kind === 'posts').map((d) => d.connectionId),
    );
    let queued = 0;
    for (const d of due) {
      await setTenantScope(c, { workspaceId: d.workspaceId, userId: null });
      const byWebhook =
        d.kind === 'posts' && (await dueToWebhook(c, d, webhooks.get(d.connectionId)));
      const result = await enqueueSync(c, boss, {
        workspaceId: d.workspaceId,
        connectionId: d.connectionId,
        kind: d.kind,
        trigger: byWebhook ? 'webhook' : 'schedule',
      });
      if (result.queued) queued += 1;
    }
    return queued;
  });
}

/** How long inbound webhook deliveries are kept (for `duplicate` answers to replays, and a look). */
export const WEBHOOK_DELIVERY_RETENTION_MS = 7 * 86_400_000;
/** Deliveries deleted per transaction: bodies reach 1 MiB each, so one statement stays small. */
const WEBHOOK_PURGE_BATCH = 200;
/** Batches per pass: a backlog goes over several passes instead of holding one up. */
const WEBHOOK_PURGE_MAX_BATCHES = 10;

/**
 * Deletes webhook deliveries older than the retention, in short transactions of a batch each, so
 * that the table (whole request bodies) does not grow forever. Platforms give up retrying a
 * delivery within a day or two (Meta documents 36 h), so a week keeps every replay answered
 * `duplicate`. Returns how many went.
 */
export async function purgeWebhookDeliveries(
  pool: Pool,
  retentionMs = WEBHOOK_DELIVERY_RETENTION_MS,
): Promise<number> {
  let purged = 0;
  for (let i = 0; i < WEBHOOK_PURGE_MAX_BATCHES; i += 1) {
    const n = await withTenant(pool, { workspaceId: null, userId: null }, (c) =>
      deleteDeliveriesOlderThan(c, retentionMs, WEBHOOK_PURGE_BATCH),
    );
    purged += n;
    if (n < WEBHOOK_PURGE_BATCH) break;
  }
  return purged;
}

/**
 * The worker side of collection: consumes sync jobs and, every `schedulerIntervalMs`, queues the
 * due ones. All state is in PostgreSQL (connections, the refresh plan, runs) and the queue, so a
 * restart loses nothing: a run interrupted by a crash is retried by pg-boss and picks up again.
 */
export async function startCollection(options: CollectionOptions): Promise<RunningCollection> {
  const { pool, boss, logger } = options;
  await ensureSyncQueue(boss);
  const connectors = options.connectors ?? createConnectorProvider();
  const deps = {
    pool,
    secretBox: options.secretBox,
    connectors,
    logger,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
  const workerId = await boss.work<SyncJobData>(
    SYNC_QUEUE,
    {
      batchSize: 1,
      localConcurrency: options.concurrency ?? 4,
      pollingIntervalSeconds: options.pollIntervalSeconds ?? 1,
    },
    async ([job]) => {
      if (!job) return;
      // pg-boss aborts the signal when it gives the job up (its time limit, a lost claim) and
      // runs it again later: this run must stop then, not go on beside that one.
      const { run, followUp } = await runSync(deps, { ...job.data, signal: job.signal });
      // Queued now rather than at the scheduler's next pass (up to its interval away): the
      // stately queue holds it until this job has completed, so the two never run at once.
      if (followUp)
        await queueFollowUpSync(pool, boss, job.data).catch((error: unknown) => {
          // Not lost: the connection stays due and the scheduler queues it at its next pass.
          logger.error(
            { err: error, component: 'collection', connectionId: job.data.connectionId },
            'follow-up sync could not be queued',
          );
        });
      logger.info(
        {
          component: 'collection',
          workspaceId: job.data.workspaceId,
          connectionId: job.data.connectionId,
          kind: job.data.kind,
          status: run.status,
          requests: run.requests,
          posts: run.postsCollected,
          snapshots: run.snapshots,
        },
        'sync run finished',
      );
    },
  );
  const batch = options.schedulerBatch ?? 200;
  let stopped = false;
  let running: Promise<number> | null = null;
  const pass = async (): Promise<number> => {
    const queued = await scheduleDueSyncs(pool, boss, batch).catch((error: unknown) => {
      logger.error({ err: error, component: 'collection' }, 'sync scheduler pass failed');
      return 0;
    });
    // After the scheduling, in transactions of its own: its deletes never hold up the queueing.
    await purgeWebhookDeliveries(pool).catch((error: unknown) => {
      logger.error({ err: error, component: 'collection' }, 'webhook delivery purge failed');
    });
    return queued;
  };
  const tick = (): Promise<number> => {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void tick();
  }, options.schedulerIntervalMs ?? 15_000);
  timer.unref();
  return {
    tick,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      await boss.offWork(SYNC_QUEUE, { id: workerId }).catch(() => undefined);
    },
  };
}
