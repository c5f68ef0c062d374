/**
 * What one chunk costs in PostgreSQL: the statements (round trips) and transactions the worker
 * sends per chunk, counted on the worker's own connections while it runs a known number of
 * chunks. A regression guard for ADR 0006's per-chunk budget; it counts, it never times.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '@socialpulse/contracts';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildTestApp,
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
} from '../../../test/support/app.js';
import {
  importTestPosts,
  startTestWorker,
  testQueueConfig,
  waitForAnalysis,
} from '../../../test/support/analyses.js';
import type { ZodApp } from '../../api/types.js';

interface Sent {
  app: string;
  text: string;
  /** Sent while an earlier statement of the same pipelined connection was in flight: no round trip of its own. */
  pipelined: boolean;
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/** Records every statement sent by a client whose application name passes `keep`. */
function recordStatements(keep: (app: string, options: string) => boolean): {
  sent: Sent[];
  stop(): void;
} {
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  const sent: Sent[] = [];
  const inFlight = new WeakMap<pg.Client, number>();
  proto.query = function (this: pg.Client, ...args: unknown[]): unknown {
    // connectionParameters is not in pg's public types; it carries what the client connected with.
    const params = (
      this as unknown as { connectionParameters?: { application_name?: string; options?: string } }
    ).connectionParameters;
    const app = params?.application_name ?? '';
    const first = args[0];
    const text =
      typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
    const pipelined = this.pipeline && (inFlight.get(this) ?? 0) > 0;
    if (keep(app, params?.options ?? '')) sent.push({ app, text, pipelined });
    const result = original.apply(this, args);
    if (result instanceof Promise) {
      inFlight.set(this, (inFlight.get(this) ?? 0) + 1);
      const settled = (): void => void inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
      result.then(settled, settled);
    }
    return result;
  };
  return { sent, stop: () => (proto.query = original) };
}

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')(
  'analysis chunk cost in PostgreSQL',
  () => {
    let db: TestDatabase;
    let app: ZodApp;

    beforeAll(async () => {
      db = await createTestDatabase();
      app = await buildTestApp(db, { ...noRateLimits, ...testQueueConfig });
    });

    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    it('runs a chunk in one fetch and seven statements in three round trips on the worker pool, one of them a write transaction', async () => {
      const user = await signUpUser(app);
      const ws = await createWorkspaceAs(app, user);
      const chunks = 20;
      await importTestPosts(app, user, ws, chunks * 10);
      // Only the worker's connections: its pool, its slot locks, and its pg-boss pool (which,
      // unlike the API's, runs with asynchronous commit).
      const recorder = recordStatements(
        (name, options) =>
          name === 'socialpulse-worker' ||
          name === 'socialpulse-worker-slot' ||
          (name === 'socialpulse-queue' && options.includes('synchronous_commit=off')),
      );
      const worker = await startTestWorker(db, {
        ANALYSIS_SLOTS: '1',
        ANALYSIS_WORKER_CONCURRENCY: '1',
      });
      let startIndex = 0;
      let analysis: Analysis;
      try {
        startIndex = recorder.sent.length;
        const res = await app.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws}/analyses`,
          headers: user.headers,
          payload: { engines: ['local'], options: { chunk_size: 10 } },
        });
        expect(res.statusCode, res.body).toBe(202);
        analysis = await waitForAnalysis(app, user, res.json<Analysis>().id);
      } finally {
        await worker.stop();
        recorder.stop();
      }
      expect(analysis).toMatchObject({ status: 'completed', chunks_done: chunks });
      const run = recorder.sent.slice(startIndex);
      const byKind = new Map<string, number>();
      for (const s of run) {
        const kind = `${s.app}: ${s.text.replace(/\s+/g, ' ').trim().slice(0, 60)}`;
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      }
      const report = [...byKind.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${(n / chunks).toFixed(2)}  ${k}`);
      console.log(
        `statements per chunk (${run.length} for ${chunks} chunks, background passes included):\n${report.join('\n')}`,
      );

      // The worker pool's statements are the chunks' own (no trace batches: a committed chunk's
      // traces go with it): per chunk, the start, then BEGIN, the commit function, the job's
      // completion, the next turn's job, the database's check of both and COMMIT. The last
      // chunk queues no next job.
      const pool = run.filter((s) => s.app === 'socialpulse-worker').map((s) => s.text.trim());
      expect(pool.filter((t) => t.startsWith('SELECT analysis_chunk_start'))).toHaveLength(chunks);
      expect(pool.filter((t) => t.startsWith('SELECT analysis_chunk_commit'))).toHaveLength(chunks);
      expect(pool.filter((t) => t.startsWith('SELECT analysis_chunk_settled'))).toHaveLength(
        chunks,
      );
      expect(pool.filter((t) => t.startsWith('BEGIN'))).toHaveLength(chunks);
      expect(pool.filter((t) => t === 'COMMIT')).toHaveLength(chunks);
      expect(pool.length).toBe(7 * chunks - 1);
      // COMMIT is the last statement of every chunk's transaction, after the check.
      const commits = pool.flatMap((t, i) => (t === 'COMMIT' ? [pool[i - 1] ?? ''] : []));
      expect(commits.every((t) => t.startsWith('SELECT analysis_chunk_settled'))).toBe(true);
      // Round trips: the start; BEGIN with the commit function; the completion, the next turn's
      // job, the check and COMMIT. (The chunk loops' connections are pipelined.)
      const roundTrips = run.filter((s) => s.app === 'socialpulse-worker' && !s.pipelined).length;
      console.log(`worker pool round trips: ${roundTrips} for ${chunks} chunks`);
      expect(roundTrips).toBe(3 * chunks);
      // One fetch per chunk on the queue's pool (plus idle polls, which depend on timing).
      const fetches = run.filter(
        (s) => s.app === 'socialpulse-queue' && s.text.includes('strict_fifo_heads'),
      );
      expect(fetches.length).toBeGreaterThanOrEqual(chunks);
    });
  },
);
