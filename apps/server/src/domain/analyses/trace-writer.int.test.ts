/**
 * The batched trace writer against the real PostgreSQL when the database fails it: a batch lost
 * to a transient failure (a refused connection, a backend terminated mid-insert) is kept and
 * stored by a later flush, the timer's own included; one refused for good is reported and
 * dropped; what is kept is bounded, the oldest dropped first; close() reports what is left.
 * flush() tells which workspaces still have traces not stored.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { createPool } from '../../db/pool.js';
import type { TraceRecord } from '../../db/repos/traces.repo.js';
import { TraceWriter } from './trace-writer.js';

/** A TCP front for the test database that the test opens and shuts (shut: connections refused). */
class Gate {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async shut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const trace = (
  workspaceId: string,
  operation: string,
  patch: Partial<TraceRecord> = {},
): TraceRecord => ({
  startedAt: new Date(),
  workspaceId,
  userId: null,
  analysisId: null,
  chunkSeq: null,
  operation,
  provider: 'openai',
  requestModel: 'gpt-4o-mini',
  responseModel: 'gpt-4o-mini',
  engineVersion: null,
  items: 1,
  inputTokens: 10,
  outputTokens: 5,
  cachedInputTokens: null,
  costUsd: '0.000001000',
  priced: true,
  priceVersion: 'test',
  durationMs: 12,
  status: 'ok',
  errorType: null,
  ...patch,
});

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')('TraceWriter', () => {
  let db: TestDatabase;
  let gate: Gate;
  let gatedUrl: string;
  const writers: TraceWriter[] = [];
  const pools: pg.Pool[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    gate = new Gate({ host: url.hostname, port: Number(url.port || 5432) });
    await gate.open();
    await gate.shut();
    url.hostname = '127.0.0.1';
    url.port = String(gate.port);
    gatedUrl = url.toString();
  });

  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close();
    for (const p of pools.splice(0)) await p.end();
    await gate.shut();
  });

  afterAll(async () => {
    await db?.drop();
  });

  /**
   * An application pool for one test. A checked-out client whose connection ends must not be an
   * uncaught exception (createPool listens for it): the backend terminated below checks that too.
   */
  function testPool(url: string, applicationName: string): pg.Pool {
    const pool = createPool(url, 1, { applicationName });
    pools.push(pool);
    return pool;
  }

  /** A pool that reaches the database through the gate. */
  const gatedPool = (): pg.Pool => testPool(gatedUrl, 'trace-writer-gated');

  /**
   * A writer whose losses are recorded in `errors`, and the ends of its outages in `outages`
   * (`deferred <error code> <pending>`, `caught up <stored>`).
   */
  function writer(
    pool: pg.Pool,
    options: { intervalMs?: number; maxBuffered?: number } = {},
  ): { writer: TraceWriter; errors: [unknown, number][]; outages: string[] } {
    const errors: [unknown, number][] = [];
    const outages: string[] = [];
    const w = new TraceWriter(pool, {
      intervalMs: 60_000,
      ...options,
      onError: (error, lost) => errors.push([error, lost]),
      onDeferred: (error, pending) => outages.push(`deferred ${String(codeOf(error))} ${pending}`),
      onCaughtUp: (stored) => outages.push(`caught up ${stored}`),
    });
    writers.push(w);
    return { writer: w, errors, outages };
  }

  async function stored(workspaceId: string): Promise<string[]> {
    const { rows } = await db.adminPool.query<{ operation: string }>(
      'SELECT operation FROM ai_traces WHERE workspace_id = $1 ORDER BY operation',
      [workspaceId],
    );
    return rows.map((r) => r.operation);
  }

  const codeOf = (error: unknown): unknown => (error as { code?: unknown }).code;

  it('keeps a batch whose connection was refused and stores it once the database is back, at the next timed flush; tells the outage once at each end', async () => {
    const ws = randomUUID();
    const { writer: w, errors, outages } = writer(gatedPool(), { intervalMs: 50 });
    w.add([trace(ws, 'a1'), trace(ws, 'a2'), trace(ws, 'a3')]);
    expect([...(await w.flush())]).toEqual([ws]);
    w.add([trace(ws, 'a4')]);
    expect([...(await w.flush())]).toEqual([ws]);
    expect(errors).toEqual([]);
    // Told once, at the outage's start, however many attempts fail.
    expect(outages).toEqual(['deferred ECONNREFUSED 3']);
    expect(await stored(ws)).toEqual([]);
    await gate.open();
    // No flush asked for: the timer re-armed after the failure.
    await expect.poll(() => stored(ws), { timeout: 10_000 }).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect([...(await w.flush())]).toEqual([]);
    expect(await stored(ws)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(errors).toEqual([]);
    expect(outages).toEqual(['deferred ECONNREFUSED 3', 'caught up 4']);
  });

  it('keeps a batch whose backend was terminated mid-insert, and stores it at the next flush', async () => {
    const ws = randomUUID();
    const victim = testPool(db.url, 'trace-writer-victim');
    const { writer: w, errors } = writer(victim);
    // The insert waits behind a lock, where its backend is terminated.
    const locker = await db.adminPool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE ai_traces IN ACCESS EXCLUSIVE MODE');
      w.add([trace(ws, 'b1'), trace(ws, 'b2')]);
      const flushing = w.flush();
      const waiting = async (): Promise<number | null> =>
        (
          await db.adminPool.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'trace-writer-victim' AND wait_event_type = 'Lock'",
          )
        ).rows[0]?.pid ?? null;
      await expect.poll(waiting, { timeout: 10_000 }).not.toBeNull();
      await db.adminPool.query('SELECT pg_terminate_backend($1, 5000)', [await waiting()]);
      expect([...(await flushing)]).toEqual([ws]);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect(errors).toEqual([]);
    expect(await stored(ws)).toEqual([]);
    expect([...(await w.flush())]).toEqual([]);
    expect(await stored(ws)).toEqual(['b1', 'b2']);
    expect(errors).toEqual([]);
  });

  it('reports and drops a batch refused for good, never retries it, and stores the other workspaces', async () => {
    const good = randomUUID();
    const bad = randomUUID();
    const { writer: w, errors } = writer(db.pool, { intervalMs: 50 });
    w.add([
      trace(good, 'c1'),
      trace(bad, 'c2', { status: 'not-a-status' as 'ok' }),
      trace(good, 'c3'),
    ]);
    expect([...(await w.flush())]).toEqual([bad]);
    expect(errors.map(([error, lost]) => [codeOf(error), lost])).toEqual([['23514', 1]]);
    expect(await stored(good)).toEqual(['c1', 'c3']);
    // Nothing was kept for it: the next flush has nothing to try or report.
    expect([...(await w.flush())]).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(await stored(bad)).toEqual([]);
  });

  it('keeps at most maxBuffered traces, dropping and reporting the oldest', async () => {
    const ws = randomUUID();
    const { writer: w, errors } = writer(gatedPool(), { maxBuffered: 4 });
    w.add([trace(ws, 'd1'), trace(ws, 'd2'), trace(ws, 'd3')]);
    expect([...(await w.flush())]).toEqual([ws]);
    w.add([trace(ws, 'd4'), trace(ws, 'd5'), trace(ws, 'd6')]);
    expect([...(await w.flush())]).toEqual([ws]);
    expect(errors.map(([error, lost]) => [codeOf(error), lost])).toEqual([['ECONNREFUSED', 2]]);
    await gate.open();
    // The traces dropped earlier are not stored: flushes since report them no more.
    expect([...(await w.flush())]).toEqual([]);
    expect(await stored(ws)).toEqual(['d3', 'd4', 'd5', 'd6']);
    expect(errors).toHaveLength(1);
  });

  it('makes one last attempt at close and reports what is still not stored (lost, not caught up)', async () => {
    const ws = randomUUID();
    const { writer: w, errors, outages } = writer(gatedPool());
    w.add([trace(ws, 'e1'), trace(ws, 'e2')]);
    expect([...(await w.flush())]).toEqual([ws]);
    expect([...(await w.close())]).toEqual([ws]);
    expect(errors.map(([error, lost]) => [codeOf(error), lost])).toEqual([['ECONNREFUSED', 2]]);
    expect(outages).toEqual(['deferred ECONNREFUSED 2']);
  });
});
