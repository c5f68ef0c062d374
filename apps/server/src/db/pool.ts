import pg from 'pg';
import type { Writable } from 'node:stream';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything a repo can run a query on: the pool or a checked-out client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

// Counts and bigints arrive as strings by default; our counts fit in a JS number (2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
// bigint[] (OID 1016) likewise, element by element.
const parseTextArray = pg.types.getTypeParser(1016 as never) as (v: string) => (string | null)[];
pg.types.setTypeParser(1016 as never, (v: string) =>
  parseTextArray(v).map((e) => (e === null ? null : Number.parseInt(e, 10))),
);

/** The role every application connection runs as: it cannot bypass row-level security. */
export const APP_ROLE = 'socialpulse_app';

export interface PoolOptions {
  applicationName?: string;
  /**
   * Run as APP_ROLE (the default). Only migrations and operator tooling that must see across
   * tenants connect without it.
   */
  asAppRole?: boolean;
  /**
   * false: commits do not wait for the WAL flush. Only for work that is atomic and repeatable
   * (analysis chunks): a PostgreSQL crash may undo the last instants of commits, whole, and
   * those chunks run again. See ADR 0006.
   */
  synchronousCommit?: boolean;
  /**
   * Pipelined connections: a statement issued while an earlier one is still on its way is sent
   * at once, not after the earlier answer. Transactions then send BEGIN with their first
   * statement (one round trip saved), and independent statements can share a round trip.
   * Not for cursors or COPY streams (pg refuses them on a pipelined connection).
   */
  pipeline?: boolean;
}

function connectionOptions(options: PoolOptions): { options?: string } {
  const flags = [
    ...(options.asAppRole === false ? [] : [`-c role=${APP_ROLE}`]),
    ...(options.synchronousCommit === false ? ['-c synchronous_commit=off'] : []),
  ];
  return flags.length > 0 ? { options: flags.join(' ') } : {};
}

export function createPool(
  connectionString: string,
  max: number,
  options: PoolOptions = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: options.applicationName ?? 'socialpulse',
    idleTimeoutMillis: 30_000,
    pipeline: options.pipeline ?? false,
    // Set at connection start, before any query can run: no window without the role.
    ...connectionOptions(options),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor may a checked-out one: node-postgres emits 'error' on a client whose connection ends
  // between its queries, and pg-pool listens only while the client is idle. The next query on it
  // fails with the connection's error (the work's own error path), and the pool discards it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Runs `work` in a transaction on one client; rolls back on any error. `begin` may carry
 * statements to run with BEGIN in the same round trip (no parameters).
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  const client = await pool.connect();
  let commitSent = false;
  try {
    const result = await begun(client, begin, work);
    // COMMIT of a transaction an error aborted answers ROLLBACK, not an error: an error caught
    // inside `work` (by a library, say) must not pass for a commit.
    commitSent = true;
    const committed = await client.query('COMMIT').catch((error: unknown) => {
      // The server's answer was an error (a deferred constraint failing at COMMIT): rolled back.
      // No answer at all (the connection ended): it may have committed, and a caller that would
      // retry it must not store it twice.
      if (error instanceof pg.DatabaseError) throw error;
      throw new CommitOutcomeUnknownError('COMMIT got no answer', { cause: error });
    });
    if (committed.command === 'ROLLBACK')
      throw new Error('the transaction was rolled back: a statement in it failed');
    return result;
  } catch (error) {
    if (!commitSent) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Sends `begin`, runs `work` in the transaction and returns its result. On a pipelined connection
 * BEGIN goes out in one write with the statement `work` issues first (if it issues it before its
 * first await), in the same round trip. (Only a broken connection fails our BEGIN, and the work's
 * statements then fail too.)
 */
async function begun<R>(
  client: pg.PoolClient,
  begin: string,
  work: (client: pg.PoolClient) => Promise<R>,
): Promise<R> {
  if (!client.pipeline) {
    await client.query(begin);
    return work(client);
  }
  const release = holdWrites(client);
  let beginning: Promise<unknown>;
  let working: Promise<R>;
  try {
    beginning = client.query(begin);
    beginning.catch(() => undefined);
    working = work(client);
  } finally {
    release();
  }
  const result = await working;
  await beginning;
  return result;
}

/**
 * Thrown when COMMIT was sent and it is not known whether the transaction's effects are stored
 * (no answer came back), or they were stored although a statement of its tail reported failure.
 */
export class CommitOutcomeUnknownError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommitOutcomeUnknownError';
  }
}

/** The last statements of a transaction, issued and not yet answered (see withTransactionTail). */
export interface TransactionTail<T> {
  /** Settles once every statement of the tail has been issued on the client. */
  issued: Promise<void>;
  /** The tail's result, from its answers. */
  answered: Promise<T>;
}

/**
 * Buffers what `client` writes until the returned function is called, so that statements issued
 * meanwhile leave in one write (one wake-up of the server's backend, not one per statement).
 * Only on a pipelined connection; elsewhere a no-op.
 */
function holdWrites(client: pg.PoolClient): () => void {
  // `connection.stream` is not in pg's types; pg corks the same socket around every statement.
  const stream = (client as unknown as { connection?: { stream?: Partial<Writable> } }).connection
    ?.stream;
  if (!client.pipeline || typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function')
    return () => undefined;
  stream.cork();
  return () => stream.uncork?.();
}

/**
 * A transaction whose last statements go out with its COMMIT: `work` runs the statements whose
 * answers it needs, then returns a function that issues the rest without awaiting them. On a
 * pipelined connection COMMIT is sent as soon as they are issued, all in one write and one round
 * trip; so the worker cannot veto the commit on their answers, and whatever must hold for the
 * transaction to commit must be checked by a statement of the tail, in the database: a statement
 * that fails aborts the transaction and COMMIT then rolls back. On a plain connection the tail's
 * answers are awaited before COMMIT, as in withTransaction.
 */
export async function withTransactionTail<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<() => TransactionTail<T>>,
  begin = 'BEGIN',
): Promise<T> {
  const client = await pool.connect();
  let commitSent = false;
  try {
    const issueTail = await begun(client, begin, work);
    let committing: Promise<pg.QueryResult>;
    let answered: Promise<T>;
    const release = holdWrites(client);
    try {
      const tail = issueTail();
      answered = tail.answered;
      answered.catch(() => undefined);
      await tail.issued;
      if (!client.pipeline) await answered;
      committing = client.query('COMMIT');
      commitSent = true;
    } finally {
      release();
    }
    const [outcome, committed] = await Promise.allSettled([answered, committing]);
    if (committed.status === 'rejected') {
      // The server's answer was an error (a deferred constraint failing at COMMIT): rolled back.
      if (committed.reason instanceof pg.DatabaseError) throw committed.reason;
      throw new CommitOutcomeUnknownError('COMMIT got no answer', { cause: committed.reason });
    }
    if (committed.value.command === 'ROLLBACK') {
      if (outcome.status === 'rejected') throw outcome.reason;
      throw new Error('the transaction was rolled back: a statement in it failed');
    }
    if (outcome.status === 'rejected')
      throw new CommitOutcomeUnknownError(
        'the transaction committed although a statement of its tail reported failure',
        { cause: outcome.reason },
      );
    return outcome.value;
  } catch (error) {
    if (!commitSent) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Checks out one client for a sequence of statements that must share a session (temp tables). */
export async function withClient<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    return await work(client);
  } finally {
    client.release();
  }
}

/**
 * One connection as the owner (the URL's login, no role switch), for operator commands that
 * must cross tenants (key rotation). Never for request handling.
 */
export async function withOwnerConnection<T>(
  url: string,
  applicationName: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const pool = createPool(url, 1, { asAppRole: false, applicationName });
  try {
    return await withClient(pool, work);
  } finally {
    await pool.end();
  }
}

export async function ping(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}

export function poolStats(pool: pg.Pool): { total: number; idle: number; waiting: number } {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}
