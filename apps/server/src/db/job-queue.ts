import { PgBoss, type JobWithMetadata } from 'pg-boss';
import pg from 'pg';
import type { Config } from '../config.js';
import { APP_ROLE } from './pool.js';

/**
 * The durable queue under analysis jobs: pg-boss on the same PostgreSQL, in its own schema.
 * pg-boss owns claims, leases (heartbeats), retries with back-off and jitter, and dead letters;
 * `key_strict_fifo` keyed on the requester keeps one chunk per requester in flight, in order,
 * through retries and across processes. Fairness between requesters and the global cap on
 * chunks in flight are ours (domain/analyses/scheduler.ts and `ChunkSlots` below): see ADR 0006.
 */
/** pg-boss's executor interface (not exported by name). */
/** What pg-boss runs its statements through when they must join one of our transactions. */
export type QueueDb = NonNullable<NonNullable<Parameters<PgBoss['complete']>[3]>['db']>;

export const JOB_SCHEMA = 'pgboss';
export const CHUNK_QUEUE = 'analysis-chunk';
export const CHUNK_DEAD_LETTER_QUEUE = 'analysis-chunk-dead';
/** Webhook deliveries, stored by the receiver, processed by a worker. */
export const WEBHOOK_QUEUE = 'webhook-delivery';
/** Channel a new chunk job is announced on, so idle workers fetch at once instead of polling. */
export const CHUNK_READY_CHANNEL = 'socialpulse_chunk_ready';

export interface ChunkJobData {
  analysisId: string;
  workspaceId: string;
  seq: number;
  fairnessKey: string;
}

export type ChunkJob = JobWithMetadata<ChunkJobData>;

export interface JobQueueSettings {
  /** Attempts per chunk, the first included (pg-boss retryLimit = attempts − 1). */
  attempts: number;
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
  /** A claimed chunk whose worker stops heartbeating for this long is retried elsewhere (≥ 10). */
  leaseSeconds: number;
  /** How often pg-boss looks for expired leases. */
  superviseIntervalSeconds: number;
}

export function jobQueueSettings(config: Config): JobQueueSettings {
  const a = config.analysis;
  return {
    attempts: a.attempts,
    retryDelaySeconds: a.retryDelaySeconds,
    retryDelayMaxSeconds: a.retryDelayMaxSeconds,
    leaseSeconds: a.leaseSeconds,
    superviseIntervalSeconds: a.superviseIntervalSeconds,
  };
}

export interface JobQueue {
  boss: PgBoss;
  settings: JobQueueSettings;
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

/** pg-boss's executor over one of our clients, so its writes join our transaction. */
export function queueDb(client: pg.ClientBase): QueueDb {
  return {
    executeSql: async (text: string, values?: unknown[]) => {
      const result = await client.query(text, values);
      return { rows: result.rows };
    },
  };
}

/**
 * pg-boss's executor over our client for one call whose statement ends a transaction (see
 * withTransactionTail): `issued` settles when the call has put its statement on the client (or
 * finished without one), and `close()` refuses anything the call would issue later, which would
 * otherwise run after COMMIT, outside the transaction.
 */
export function tailQueueDb<T>(
  client: pg.ClientBase,
  call: (db: QueueDb) => Promise<T>,
): { result: Promise<T>; issued: Promise<void>; close(): void } {
  let closed = false;
  let markIssued!: () => void;
  const firstStatement = new Promise<void>((resolve) => (markIssued = resolve));
  const result = call({
    executeSql: async (text: string, values?: unknown[]) => {
      if (closed) throw new Error('statement refused: its transaction was already ended');
      const answer = client.query(text, values);
      markIssued();
      const { rows } = await answer;
      return { rows };
    },
  });
  result.catch(() => undefined);
  const issued = Promise.race([firstStatement, result.then(() => undefined)]);
  return { result, issued, close: () => (closed = true) };
}

/**
 * Changes how many attempts a chunk job has, before its failed attempt is handed to pg-boss's
 * `fail` (same transaction), which decides from `retry_limit` whether it is retried or
 * dead-lettered: `last` makes this attempt the last one (an error that no retry can fix);
 * `uncounted` gives back the attempt (every call was refused by the open circuit before it
 * reached the provider), at most up to `maxRetryLimit`, so that a provider that stays down
 * still dead-letters the chunk. Returns the job's retry limit after the change, or null when
 * this attempt no longer owns the job (its claim lapsed). Reads and writes pg-boss's `job` row,
 * as `analysis_chunk_settled` (migration 0013) reads it: pg-boss has no call for either.
 */
export async function setChunkAttemptLimit(
  client: pg.ClientBase,
  job: { id: string; retryCount: number },
  change: 'last' | 'uncounted',
  maxRetryLimit: number,
): Promise<number | null> {
  const { rows } = await client.query<{ retry_limit: number }>(
    `UPDATE ${JOB_SCHEMA}.job
        SET retry_limit = CASE WHEN $4 THEN retry_count ELSE GREATEST(retry_limit, LEAST(retry_limit + 1, $5::int)) END
      WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active'
      RETURNING retry_limit`,
    [CHUNK_QUEUE, job.id, job.retryCount, change === 'last', maxRetryLimit],
  );
  return rows[0]?.retry_limit ?? null;
}

/**
 * Moves a chunk job's next attempt, just scheduled by `fail` with the queue's back-off, to
 * `delayMs` from now (the database's clock, as pg-boss's): the error said when a new attempt
 * can succeed. A later back-off is kept, unless `exact` (an uncounted attempt: pg-boss's
 * back-off grows with every claim, which would stretch the waits of a chunk the open circuit
 * only deferred). Returns when the job will be retried, or null when it is not waiting for a
 * retry.
 */
export async function postponeChunkRetry(
  client: pg.ClientBase,
  jobId: string,
  delayMs: number,
  exact = false,
): Promise<Date | null> {
  const { rows } = await client.query<{ start_after: Date }>(
    `UPDATE ${JOB_SCHEMA}.job
        SET start_after = CASE WHEN $4 THEN ${JOB_SCHEMA}.job_now() + $3::float8 * interval '1 millisecond'
                          ELSE GREATEST(start_after, ${JOB_SCHEMA}.job_now() + $3::float8 * interval '1 millisecond') END
      WHERE name = $1 AND id = $2 AND state = 'retry'
      RETURNING start_after`,
    [CHUNK_QUEUE, jobId, delayMs, exact],
  );
  return rows[0]?.start_after ?? null;
}

/**
 * Installs or upgrades pg-boss's schema and our two queues, as the owning role, and lets the
 * application role use them (it sends and settles chunk jobs inside its own transactions).
 */
export async function openJobQueue(
  ownerUrl: string,
  settings: JobQueueSettings,
  options: {
    supervise?: boolean;
    onError?: (error: Error) => void;
    synchronousCommit?: boolean;
    poolSize?: number;
  } = {},
): Promise<JobQueue> {
  const boss = new PgBoss({
    connectionString: ownerUrl,
    // Claims and heartbeats are repeatable: a lost one only means a chunk is claimed again.
    ...(options.synchronousCommit === false ? { options: '-c synchronous_commit=off' } : {}),
    schema: JOB_SCHEMA,
    // A worker's loops each fetch, heartbeat and settle through this pool: size it to them.
    max: options.poolSize ?? 4,
    application_name: 'socialpulse-queue',
    supervise: options.supervise ?? true,
    superviseIntervalSeconds: settings.superviseIntervalSeconds,
    // The monitor pass is what fails a chunk whose worker stopped heartbeating (a crash), so it
    // runs as often as supervision; its statistics query is cheap at our queue sizes.
    monitorIntervalSeconds: settings.superviseIntervalSeconds,
    schedule: false,
  });
  boss.on('error', (error: Error) => options.onError?.(error));
  await boss.start();
  await ensureQueues(boss, settings);
  await grantAppRole(ownerUrl);
  return {
    boss,
    settings,
    stop: async (stopOptions = {}) => {
      await boss.stop({
        graceful: stopOptions.graceful ?? true,
        timeout: stopOptions.timeoutMs ?? 10_000,
        close: true,
      });
    },
  };
}

async function ensureQueues(boss: PgBoss, settings: JobQueueSettings): Promise<void> {
  const retry = {
    retryLimit: Math.max(0, settings.attempts - 1),
    retryDelay: settings.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: settings.retryDelayMaxSeconds,
  };
  if (!(await boss.getQueue(WEBHOOK_QUEUE))) {
    await boss.createQueue(WEBHOOK_QUEUE, {
      policy: 'standard',
      retryLimit: 5,
      retryDelay: 2,
      retryBackoff: true,
      retryDelayMax: 300,
    });
  }
  if (!(await boss.getQueue(CHUNK_DEAD_LETTER_QUEUE))) {
    await boss.createQueue(CHUNK_DEAD_LETTER_QUEUE, {
      policy: 'standard',
      retryLimit: 5,
      retryDelay: 1,
      retryBackoff: true,
    });
  }
  const chunkQueue = {
    ...retry,
    heartbeatSeconds: settings.leaseSeconds,
    // A hard upper bound on one attempt even while heartbeating (an LLM chunk that hangs).
    expireInSeconds: 15 * 60,
    deadLetter: CHUNK_DEAD_LETTER_QUEUE,
  };
  if (await boss.getQueue(CHUNK_QUEUE)) {
    await boss.updateQueue(CHUNK_QUEUE, chunkQueue);
  } else {
    await boss.createQueue(CHUNK_QUEUE, { ...chunkQueue, policy: 'key_strict_fifo' });
  }
}

/** Arbitrary constant: the advisory lock that serialises the queue-schema grants of starting processes. */
const GRANT_LOCK_KEY = 740_612;

/**
 * A session of its own (not from a pool), connected. Its errors until the caller listens for them
 * reach the caller through connect() and its queries (an 'error' without a listener would be
 * thrown); a session that cannot connect is ended.
 */
async function openSession(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

async function grantAppRole(ownerUrl: string): Promise<void> {
  const client = await openSession(ownerUrl, 'socialpulse-queue-grants');
  try {
    // Processes starting together would update the same catalog rows at once ("tuple
    // concurrently updated"): one at a time.
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK_KEY]);
    await client.query(`GRANT USAGE ON SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE}`);
    await client.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE}`,
    );
    await client.query(
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE}`,
    );
    await client.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** Arbitrary constant: the first key of the advisory locks that are the global chunk slots. */
const SLOT_LOCK_CLASS = 740_611;

/**
 * The global cap on chunks in flight across every worker process: N session advisory locks.
 * A worker holds one while it runs a chunk; a killed worker's locks vanish with its connection.
 * So do this process's own when its session is lost (a database restart, a dropped connection):
 * the slot is then no longer held (`holds`), and the next `tryAcquire` opens a new session.
 */
export class ChunkSlots {
  private client: pg.Client | null = null;
  private held: number | null = null;

  constructor(
    private readonly url: string,
    private readonly slots: number,
  ) {}

  /** Opens the session now, so that a worker that cannot reach the database fails at start. */
  async connect(): Promise<void> {
    await this.session();
  }

  /** Whether this holds a slot on a live session. */
  get holds(): boolean {
    return this.held !== null;
  }

  private async session(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = await openSession(this.url, 'socialpulse-worker-slot');
    const lost = (): void => {
      if (this.client !== client) return;
      this.client = null;
      this.held = null;
    };
    client.on('error', lost);
    client.on('end', lost);
    this.client = client;
    return client;
  }

  /** Takes a free slot, trying them from a rotating start; false when all are taken. */
  async tryAcquire(start: number): Promise<boolean> {
    if (this.held !== null) return true;
    const client = await this.session();
    const { rows } = await client.query<{ slot: number | null }>(
      'SELECT analysis_slot_acquire($1, $2, $3) AS slot',
      [SLOT_LOCK_CLASS, this.slots, start],
    );
    const slot = rows[0]?.slot;
    if (slot === undefined || slot === null || this.client !== client) return false;
    this.held = slot;
    return true;
  }

  async release(): Promise<void> {
    const slot = this.held;
    const client = this.client;
    this.held = null;
    if (slot === null || client === null) return;
    try {
      await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', [SLOT_LOCK_CLASS, slot]);
    } catch (error) {
      // A lock outlives a failed unlock only as long as its session: end the session.
      if (this.client === client) this.client = null;
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.held = null;
    await client?.end().catch(() => undefined);
  }
}

/**
 * A dedicated LISTEN session; calls `onNotify` for each notification on `channel`. A lost session
 * is reopened (every `retryMs` until it succeeds); notifications sent meanwhile are lost, so
 * `onReconnect` tells the caller to look for what it may have missed.
 */
export async function listen(
  url: string,
  channel: string,
  onNotify: (payload: string) => void,
  options: { onReconnect?: () => void; retryMs?: number } = {},
): Promise<{ close(): Promise<void> }> {
  const retryMs = options.retryMs ?? 1000;
  let closed = false;
  let current: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  const scheduleRetry = (): void => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      open().then(
        () => options.onReconnect?.(),
        () => scheduleRetry(),
      );
    }, retryMs);
    retry.unref();
  };
  const open = async (): Promise<void> => {
    const client = await openSession(url, 'socialpulse-listen');
    let gone = false;
    const lost = (): void => {
      // 'error' and 'end' both report one loss: one reopening, however far apart they come.
      if (gone) return;
      gone = true;
      if (current === client) current = null;
      void client.end().catch(() => undefined);
      scheduleRetry();
    };
    client.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload ?? '');
    });
    try {
      await client.query(`LISTEN ${channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    client.on('error', lost);
    client.on('end', lost);
    current = client;
  };
  await open();
  return {
    close: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      const client = current;
      current = null;
      await client?.end().catch(() => undefined);
    },
  };
}

/** Opens the queue on first use (the API needs it only to submit and settle analyses). */
export interface JobQueueHandle {
  get(): Promise<JobQueue>;
  close(): Promise<void>;
}

export function lazyJobQueue(
  ownerUrl: string,
  settings: JobQueueSettings,
  options: { supervise?: boolean; onError?: (error: Error) => void } = {},
): JobQueueHandle {
  let opening: Promise<JobQueue> | null = null;
  return {
    get: () => {
      opening ??= openJobQueue(ownerUrl, settings, options).catch((error: unknown) => {
        opening = null;
        throw error;
      });
      return opening;
    },
    close: async () => {
      if (!opening) return;
      const queue = await opening.catch(() => null);
      opening = null;
      await queue?.stop();
    },
  };
}
