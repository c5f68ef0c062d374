/**
 * Analysis-jobs benchmark (issue 6): `npm run bench:jobs`.
 *
 * Runs the real job engine: fresh database, posts and users inserted in bulk, analyses submitted
 * through the real service (the same code as POST /analyses), and the real worker as separate
 * processes (`socialpulse serve --services worker`, from the build). The LLM is the fake
 * OpenAI-compatible server (test/support) with a fixed latency. Every figure is computed from
 * what the database recorded (chunk start/finish times, results), so it holds across processes.
 *
 * Scenarios (BENCH_SCENARIOS, comma-separated; default all):
 *   local  100 users × 1,000 posts, local engines
 *   llm    100 users × 1,000 posts, fake LLM at 200 ms per chunk (ideal 20 s)
 *   big    one 100,000-post job, then 99 × 1,000-post jobs; against the 99 alone, and a plain FIFO
 *   kill   100 users × 1,000 posts, fake LLM; one of two workers SIGKILLed mid-run
 * In local and llm, every 5th analysis is also followed live with the API's event hub, which
 * times each chunk's progress event from the worker's commit to this (another) process.
 * Environment: BENCH_DATABASE_URL (admin URL; default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_WORKERS (worker processes, default 2), BENCH_USERS (100), BENCH_POSTS_PER_USER (1000),
 * BENCH_BIG_POSTS (100000), BENCH_LLM_MS (200), BENCH_BIG_LLM_MS (50), BENCH_FAKE_USAGE (estimate | tokenizer), BENCH_KEEP_DB (keep each scenario's database for inspection), BENCH_WORKER_NODE_ARGS (node flags for the workers, after the shipped executable's own, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  openJobQueue,
  type JobQueue,
  type JobQueueSettings,
} from '../apps/server/src/db/job-queue.js';
import { withTenant } from '../apps/server/src/db/tenant.js';
import { submitAnalysis } from '../apps/server/src/domain/analyses/analyses.service.js';
import { AnalysisEventHub } from '../apps/server/src/domain/analyses/event-hub.js';
import { analysisCreateSchema } from '../packages/contracts/src/analyses.js';
import {
  startFakeLlmServer,
  type FakeLlmServer,
} from '../apps/server/test/support/fake-llm-server.js';
import { createBenchDatabase, type BenchDatabase } from './bench-database.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'local,llm,big,kill')
  .split(',')
  .map((s) => s.trim());
const WORKERS = int('BENCH_WORKERS', 2);
const USERS = int('BENCH_USERS', 100);
const POSTS_PER_USER = int('BENCH_POSTS_PER_USER', 1000);
const BIG_POSTS = int('BENCH_BIG_POSTS', 100_000);
const LLM_MS = int('BENCH_LLM_MS', 200);
const BIG_LLM_MS = int('BENCH_BIG_LLM_MS', 50);
/**
 * The fake provider's usage counting (BENCH_FAKE_USAGE): `estimate` (default) keeps its o200k
 * tokenizer off the 2 cores the workers and PostgreSQL share (a real provider's tokenizing runs
 * on its own machines); `tokenizer` counts exactly, as the tests do. The workers always count
 * with the real tokenizer before sending (budget checks), whichever is chosen.
 */
const FAKE_USAGE: 'estimate' | 'tokenizer' =
  process.env.BENCH_FAKE_USAGE === 'tokenizer' ? 'tokenizer' : 'estimate';
const SLOTS = 10;
const CHUNK = 100;
/** Every how many analyses one is followed live, as an SSE or WebSocket client would. */
const FOLLOW_EVERY = 5;
const CLI = fileURLToPath(new URL('../apps/server/dist/cli/main.js', import.meta.url));
/** Workers start as the shipped executable does: with the node flags of its `#!/usr/bin/env -S node …` line. */
const SHIPPED_NODE_FLAGS = (
  /^#!\/usr\/bin\/env -S node (.*)$/.exec(readFileSync(CLI, 'utf8').split('\n')[0] ?? '')?.[1] ?? ''
)
  .split(' ')
  .filter(Boolean);
const WORKER_NODE_FLAGS = [
  ...SHIPPED_NODE_FLAGS,
  ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
];
const QUEUE: JobQueueSettings = {
  attempts: 3,
  retryDelaySeconds: 1,
  retryDelayMaxSeconds: 10,
  leaseSeconds: 10,
  superviseIntervalSeconds: 2,
};

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
}

const WORDS = [
  'love',
  'great',
  'launch',
  'broken',
  'slow',
  'refund',
  'team',
  'update',
  'price',
  'support',
  'happy',
  'terrible',
  'new',
  'feature',
  'today',
  'thanks',
];

interface Bench extends BenchDatabase {
  queue: JobQueue;
  close(): Promise<void>;
}

async function freshDatabase(name: string): Promise<Bench> {
  const db = await createBenchDatabase({
    adminUrl: ADMIN_URL,
    name,
    poolSize: 4,
    applicationName: 'bench-jobs',
    keep: Boolean(process.env.BENCH_KEEP_DB),
  });
  const queue = await openJobQueue(db.url, QUEUE, { supervise: false });
  return {
    ...db,
    queue,
    close: async () => {
      await queue.stop();
      await db.drop();
    },
  };
}

/** `count` users, each with `posts` posts of their own (ids returned per user, oldest first). */
async function seedUsers(
  b: Bench,
  count: number,
  posts: number,
  tag: string,
): Promise<{ userId: string; postIds: string[] }[]> {
  const out: { userId: string; postIds: string[] }[] = [];
  const users = await b.admin.query<{ id: string }>(
    `INSERT INTO users (email, password_hash) SELECT 'bench-${tag}-' || g || '@example.com', 'x' FROM generate_series(1, $1) g RETURNING id`,
    [count],
  );
  for (const [i, row] of users.rows.entries()) {
    const ids = await b.admin.query<{ id: string }>(
      `INSERT INTO posts (workspace_id, platform, external_id, text, created_at, metrics_captured_at, source, likes)
       SELECT $1, 'x', '${tag}-' || $2::text || '-' || g,
              (ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}])[1 + (g * 7 + $2::int) % 16] || ' post ' || g || ' is ' ||
              (ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}])[1 + (g * 3 + $2::int) % 16] || ' #bench :)',
              now() - g * interval '1 minute', now(), 'bench', g
         FROM generate_series(1, $3) g RETURNING id::text`,
      [b.workspaceId, i, posts],
    );
    out.push({ userId: row.id, postIds: ids.rows.map((r) => r.id) });
  }
  return out;
}

/** The instance's LLM: the workers' environment, and what the submitting side checks against. */
const BENCH_LLM_MODEL = 'gpt-4o-mini';

async function submit(
  b: Bench,
  userId: string,
  postIds: string[],
  engines: string[],
  llm: FakeLlmServer | null,
): Promise<string> {
  const body = analysisCreateSchema.parse({
    posts: { ids: postIds, limit: postIds.length },
    engines,
    options: { chunk_size: CHUNK },
  });
  const scope = { workspaceId: b.workspaceId, userId: null };
  const a = await withTenant(b.app, scope, (c) =>
    submitAnalysis(c, b.queue.boss, scope, b.workspaceId, { userId, apiKeyId: null }, body, {
      baseUrl: llm?.url,
      model: llm ? BENCH_LLM_MODEL : undefined,
    }),
  );
  return a.id;
}

interface Worker {
  child: ChildProcess;
  /** Date.now() when the process said it was running: it may take chunks from then on. */
  readyAt: number;
  peakRssMb(): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

async function startWorkers(
  b: Bench,
  n: number,
  llm: FakeLlmServer | null,
  dataDir: string,
): Promise<Worker[]> {
  const env = {
    ...process.env,
    DATABASE_URL: b.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ANALYSIS_SLOTS: String(SLOTS),
    ANALYSIS_WORKER_CONCURRENCY: String(SLOTS),
    ANALYSIS_LEASE_SECONDS: String(QUEUE.leaseSeconds),
    ANALYSIS_SUPERVISE_INTERVAL_SECONDS: String(QUEUE.superviseIntervalSeconds),
    ANALYSIS_RETRY_DELAY_SECONDS: String(QUEUE.retryDelaySeconds),
    ANALYSIS_POLL_INTERVAL_MS: '200',
    ...(llm
      ? { LLM_BASE_URL: llm.url, LLM_MODEL: BENCH_LLM_MODEL, LLM_MAX_CONCURRENCY: String(SLOTS) }
      : {}),
  };
  return Promise.all(
    Array.from({ length: n }, () => {
      const child = spawn(
        process.execPath,
        [...WORKER_NODE_FLAGS, CLI, 'serve', '--services', 'worker', '--no-demo'],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      return new Promise<Worker>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          output += d.toString();
          if (output.includes('worker is running')) {
            resolve({
              child,
              readyAt: Date.now(),
              peakRssMb: async () => {
                const status = await readFile(`/proc/${child.pid ?? 0}/status`, 'utf8').catch(
                  () => '',
                );
                return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
              },
              stop: async (signal = 'SIGTERM') => {
                child.kill(signal);
                await exited;
              },
            });
          }
        });
        child.stderr.on('data', (d: Buffer) => {
          output += d.toString();
          if (process.env.BENCH_DEBUG) process.stderr.write(d);
        });
        void exited.then(() => reject(new Error(`worker exited early:\n${output}`)));
      });
    }),
  );
}

/**
 * The clock starts when the first worker is ready, not when the last is: the first one takes
 * chunks while the others are still starting.
 */
function firstReady(workers: Worker[]): number {
  return Math.min(...workers.map((w) => w.readyAt));
}

async function waitFinished(
  b: Bench,
  ids: string[],
  onProgress?: (done: number) => Promise<void>,
): Promise<void> {
  for (;;) {
    const { rows } = await b.admin.query<{ unfinished: number; chunks: number }>(
      "SELECT count(*) FILTER (WHERE status NOT IN ('completed','completed_with_errors','failed','cancelled'))::int AS unfinished, sum(chunks_done)::int AS chunks FROM analyses WHERE id = ANY($1)",
      [ids],
    );
    if (onProgress) await onProgress(rows[0]?.chunks ?? 0);
    if ((rows[0]?.unfinished ?? 1) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ChunkRow {
  key: string;
  analysis_id: string;
  seq: number;
  started: number;
  finished: number;
  work_ms: number;
  created: number;
  attempts: number;
}

async function chunkRows(b: Bench, ids: string[]): Promise<ChunkRow[]> {
  const { rows } = await b.admin.query<ChunkRow>(
    `SELECT a.fairness_key AS key, c.analysis_id, c.seq, extract(epoch FROM c.started_at) * 1000 AS started, extract(epoch FROM c.finished_at) * 1000 AS finished,
            c.work_ms, extract(epoch FROM a.created_at) * 1000 AS created, c.attempts
       FROM analysis_chunks c JOIN analyses a ON a.id = c.analysis_id WHERE c.analysis_id = ANY($1) AND c.status = 'done'`,
    [ids],
  );
  return rows.map((r) => ({
    ...r,
    started: Number(r.started),
    finished: Number(r.finished),
    created: Number(r.created),
  }));
}

/**
 * Follows every FOLLOW_EVERY-th analysis with the API's event hub (in this process, so the
 * workers' NOTIFYs cross processes as they do to an API process) and times each chunk's event
 * from its commit transaction's start (the database's clock, the machine's) to its follower.
 */
function followProgress(
  b: Bench,
  ids: string[],
): { stop(): Promise<{ followed: number; delaysMs: number[] }> } {
  const hub = new AnalysisEventHub(b.app, b.url);
  const abort = new AbortController();
  const delaysMs: number[] = [];
  const followed = ids.filter((_, i) => i % FOLLOW_EVERY === 0);
  // One signal for every follower (each listens to it), where a route has one per stream.
  setMaxListeners(followed.length + 1, abort.signal);
  const following = Promise.all(
    followed.map(async (id) => {
      for await (const event of hub.follow(b.workspaceId, id, 0, abort.signal)) {
        if (event.type === 'chunk_completed') delaysMs.push(Date.now() - event.createdAt.getTime());
      }
    }),
  );
  // A follower's failure is reported by stop(), not as an unhandled rejection meanwhile.
  following.catch(() => undefined);
  return {
    stop: async () => {
      // The last chunks' events are read within a poll of the end; then the followers stop.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      abort.abort();
      await following;
      await hub.close();
      return { followed: followed.length, delaysMs };
    },
  };
}

/** The most intervals open at once (overall, and per key). */
function maxOverlap(rows: ChunkRow[]): { overall: number; perKey: number } {
  const events = rows.flatMap((r) => [
    { t: r.started, d: 1, k: r.key },
    { t: r.finished, d: -1, k: r.key },
  ]);
  events.sort((x, y) => x.t - y.t || x.d - y.d);
  let open = 0;
  let overall = 0;
  let perKey = 0;
  const byKey = new Map<string, number>();
  for (const e of events) {
    open += e.d;
    overall = Math.max(overall, open);
    const k = (byKey.get(e.k) ?? 0) + e.d;
    byKey.set(e.k, k);
    perKey = Math.max(perKey, k);
  }
  return { overall, perKey };
}

function stats(values: number[]): { p50: number; p95: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? 0 };
}

const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function fairnessScenario(
  name: string,
  engines: string[],
  latencyMs: number | null,
): Promise<void> {
  const b = await freshDatabase(`sp_bench_jobs_${name}`);
  const llm =
    latencyMs === null ? null : await startFakeLlmServer({ latencyMs, usage: FAKE_USAGE });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sp-bench-jobs-'));
  try {
    const users = await seedUsers(b, USERS, POSTS_PER_USER, name);
    const t0 = Date.now();
    const ids: string[] = [];
    for (const u of users) ids.push(await submit(b, u.userId, u.postIds, engines, llm));
    const submittedMs = Date.now() - t0;
    const live = followProgress(b, ids);
    const workers = await startWorkers(b, WORKERS, llm, dataDir);
    const start = firstReady(workers);
    await waitFinished(b, ids);
    const delivery = await live.stop();
    // The end as the database recorded it (the last analysis's finish), not when the poll saw it.
    const last = await b.admin.query<{ f: number }>(
      'SELECT extract(epoch FROM max(finished_at)) * 1000 AS f FROM analyses WHERE id = ANY($1)',
      [ids],
    );
    const totalMs = Number(last.rows[0]?.f) - start;
    const rss = await Promise.all(workers.map((w) => w.peakRssMb()));
    await Promise.all(workers.map((w) => w.stop()));
    const rows = await chunkRows(b, ids);
    const overlap = maxOverlap(rows);
    const workMs = rows.reduce((s, r) => s + r.work_ms, 0);
    const firstWaits = ids.map((id) => {
      const mine = rows.filter((r) => r.analysis_id === id);
      return Math.min(...mine.map((r) => r.started)) - start;
    });
    const results = await b.admin.query<{ n: number; d: number }>(
      'SELECT count(*)::int n, count(DISTINCT (analysis_id, post_id))::int d FROM analysis_results',
    );
    const ideal = workMs / SLOTS;
    console.log(
      `\n## ${name}: ${USERS} users × ${POSTS_PER_USER} posts, engines ${engines.join('+')}${latencyMs !== null ? `, fake LLM ${latencyMs} ms/chunk` : ''}, ${WORKERS} worker processes, ${SLOTS} slots`,
    );
    console.log(
      `submission of ${ids.length} analyses (${rows.length} chunks): ${fmt(submittedMs)}`,
    );
    console.log(
      `total time (first worker ready → last analysis finished): ${fmt(totalMs)}; posts/s ${Math.round((USERS * POSTS_PER_USER) / (totalMs / 1000))}`,
    );
    console.log(
      `max chunks of one user at once: ${overlap.perKey} (must be 1); max users at once: ${overlap.overall} (must be ≤ ${SLOTS})`,
    );
    console.log(
      `longest wait of any user before their first chunk: ${fmt(Math.max(...firstWaits))} (p50 ${fmt(stats(firstWaits).p50)})`,
    );
    console.log(
      `sum of chunk work ${fmt(workMs)}; ideal (sum / ${SLOTS}) ${fmt(ideal)}; ratio total/ideal ${(totalMs / ideal).toFixed(2)} (target ≤ 1.5)`,
    );
    if (latencyMs === null) {
      const cores = os.availableParallelism();
      console.log(
        `CPU-bound chunks on ${cores} cores: ideal with ${Math.min(cores, SLOTS)} cores ${fmt(workMs / Math.min(cores, SLOTS))}, ratio ${(totalMs / (workMs / Math.min(cores, SLOTS))).toFixed(2)}`,
      );
    }
    const busyMs = rows.reduce((sum, r) => sum + (r.finished - r.started), 0);
    const dbWork = busyMs / rows.length;
    console.log(
      `mean chunks in flight ${(busyMs / totalMs).toFixed(1)} of ${SLOTS}; mean chunk in the database (claim→commit) ${dbWork.toFixed(0)} ms, of which engine work ${(workMs / rows.length).toFixed(0)} ms`,
    );
    const perSecond = Array.from({ length: Math.ceil(totalMs / 1000) }, (_, i) => {
      const from = start + i * 1000;
      const to = from + 1000;
      return (
        rows.reduce(
          (sum, r) => sum + Math.max(0, Math.min(r.finished, to) - Math.max(r.started, from)),
          0,
        ) / 1000
      );
    });
    console.log(
      `chunks in flight, mean of each second: ${perSecond.map((n) => n.toFixed(1)).join(' ')}`,
    );
    const usersWithWork = perSecond.map(
      (_, i) => new Set(rows.filter((r) => r.finished > start + i * 1000).map((r) => r.key)).size,
    );
    console.log(`users with chunks left, at each second: ${usersWithWork.join(' ')}`);
    console.log(
      `results ${results.rows[0]?.n} (distinct ${results.rows[0]?.d}); worker peak RSS ${rss.map((r) => `${r.toFixed(0)} MB`).join(', ')}`,
    );
    const d = stats(delivery.delaysMs);
    console.log(
      `progress delivered across processes (${delivery.followed} analyses followed, ${delivery.delaysMs.length} chunk events; from the commit transaction's start to the follower, so an upper bound): p50 ${d.p50.toFixed(0)} ms, p95 ${d.p95.toFixed(0)} ms, max ${d.max.toFixed(0)} ms (target ≤ 1,000 ms)`,
    );
  } finally {
    await llm?.close();
    await rm(dataDir, { recursive: true, force: true });
    await b.close();
  }
}

async function bigScenario(): Promise<void> {
  const smallTimes = async (
    withBig: boolean,
  ): Promise<{
    times: number[];
    rss: number[];
    bigChunksDuring: number;
    meanChunkMs: number;
    bigMs: number;
  }> => {
    const b = await freshDatabase(`sp_bench_jobs_big_${withBig ? 'with' : 'alone'}`);
    const llm = await startFakeLlmServer({ latencyMs: BIG_LLM_MS, usage: FAKE_USAGE });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sp-bench-jobs-'));
    try {
      const big = withBig ? (await seedUsers(b, 1, BIG_POSTS, 'big'))[0] : undefined;
      const small = await seedUsers(b, 99, POSTS_PER_USER, 'small');
      const bigId = big ? await submit(b, big.userId, big.postIds, ['local', 'llm'], llm) : null;
      const ids: string[] = [];
      for (const u of small) {
        const id = await submit(b, u.userId, u.postIds, ['local', 'llm'], llm);
        ids.push(id);
      }
      const workers = await startWorkers(b, WORKERS, llm, dataDir);
      const start = firstReady(workers);
      await waitFinished(b, ids);
      const rss = await Promise.all(workers.map((w) => w.peakRssMb()));
      const finished = await b.admin.query<{ id: string; f: number }>(
        'SELECT id, extract(epoch FROM finished_at) * 1000 AS f FROM analyses WHERE id = ANY($1)',
        [ids],
      );
      const times = finished.rows.map((r) => Number(r.f) - start);
      let bigChunksDuring = 0;
      let bigMs = 0;
      const rows = await chunkRows(b, ids);
      const meanChunkMs =
        rows.reduce((s, r) => s + (r.finished - r.started), 0) / Math.max(1, rows.length);
      if (bigId) {
        const c = await b.admin.query<{ n: number }>(
          "SELECT count(*)::int n FROM analysis_chunks WHERE analysis_id = $1 AND status = 'done'",
          [bigId],
        );
        bigChunksDuring = c.rows[0]?.n ?? 0;
        // Let the big job run on for the RSS figure of a 100k-post run, then stop.
        await waitFinished(b, [bigId]);
        bigMs = Date.now() - start;
        rss.splice(0, rss.length, ...(await Promise.all(workers.map((w) => w.peakRssMb()))));
      }
      await Promise.all(workers.map((w) => w.stop()));
      return { times, rss, bigChunksDuring, meanChunkMs, bigMs };
    } finally {
      await llm.close();
      await rm(dataDir, { recursive: true, force: true });
      await b.close();
    }
  };
  const alone = await smallTimes(false);
  const withBig = await smallTimes(true);
  const a = stats(alone.times);
  const w = stats(withBig.times);
  const ratios = withBig.times.map((t, i) => t / (alone.times[i] ?? t)).sort((x, y) => x - y);
  // A plain FIFO (one global queue, no per-user turns) would run the big job's 1,000 chunks on
  // all 10 slots before any small chunk: simulated with the chunk time measured here.
  const bigChunks = BIG_POSTS / CHUNK;
  const fifoStart = (bigChunks / SLOTS) * withBig.meanChunkMs;
  const fifoTimes = alone.times.map((t) => t + fifoStart);
  console.log(
    `\n## big: one ${BIG_POSTS}-post job, then 99 × ${POSTS_PER_USER}-post jobs (local+LLM at ${BIG_LLM_MS} ms/chunk, ${WORKERS} workers, ${SLOTS} slots)`,
  );
  console.log(
    `99 small jobs alone:          completion p50 ${fmt(a.p50)}, p95 ${fmt(a.p95)}, max ${fmt(a.max)}`,
  );
  console.log(
    `same, after the big job:      completion p50 ${fmt(w.p50)}, p95 ${fmt(w.p95)}, max ${fmt(w.max)}; big-job chunks done meanwhile: ${withBig.bigChunksDuring}`,
  );
  console.log(
    `ratio with/without big job:   max ${(ratios[ratios.length - 1] ?? 0).toFixed(2)} (target ≤ 2), p50 ${(ratios[Math.floor(ratios.length / 2)] ?? 0).toFixed(2)}`,
  );
  console.log(
    `plain FIFO (simulated, mean chunk ${withBig.meanChunkMs.toFixed(0)} ms): small jobs start after ${fmt(fifoStart)}; completion p50 ${fmt(stats(fifoTimes).p50)}, max ${fmt(stats(fifoTimes).max)}`,
  );
  console.log(
    `the ${BIG_POSTS}-post job: done ${fmt(withBig.bigMs)} after the workers started (${((BIG_POSTS + 99 * POSTS_PER_USER) / (withBig.bigMs / 1000)).toFixed(0)} posts/s overall)`,
  );
  console.log(
    `worker peak RSS through the ${BIG_POSTS}-post run: ${withBig.rss.map((r) => `${r.toFixed(0)} MB`).join(', ')} (target < 256 MB)`,
  );
}

async function killScenario(): Promise<void> {
  const b = await freshDatabase('sp_bench_jobs_kill');
  const llm = await startFakeLlmServer({
    latencyMs: Math.max(50, Math.round(LLM_MS / 2)),
    usage: FAKE_USAGE,
  });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sp-bench-jobs-'));
  try {
    const users = await seedUsers(b, USERS, POSTS_PER_USER, 'kill');
    const ids: string[] = [];
    for (const u of users) ids.push(await submit(b, u.userId, u.postIds, ['local', 'llm'], llm));
    const workers = await startWorkers(b, 2, llm, dataDir);
    const start = firstReady(workers);
    let killedAt = -1;
    const total = ids.length * (POSTS_PER_USER / CHUNK);
    await waitFinished(b, ids, async (done) => {
      if (killedAt < 0 && done >= total * 0.3) {
        killedAt = Date.now() - start;
        await workers[0]?.stop('SIGKILL');
      }
    });
    const totalMs = Date.now() - start;
    await workers[1]?.stop();
    const check = await b.admin.query<{
      analyses_done: number;
      chunks_done: number;
      results: number;
      distinct_results: number;
      retried: number;
      missing: number;
    }>(
      `SELECT (SELECT count(*)::int FROM analyses WHERE id = ANY($1) AND status = 'completed') AS analyses_done,
              (SELECT count(*)::int FROM analysis_chunks WHERE analysis_id = ANY($1) AND status = 'done') AS chunks_done,
              (SELECT count(*)::int FROM analysis_results WHERE analysis_id = ANY($1)) AS results,
              (SELECT count(DISTINCT (analysis_id, post_id))::int FROM analysis_results WHERE analysis_id = ANY($1)) AS distinct_results,
              (SELECT count(*)::int FROM analysis_chunks WHERE analysis_id = ANY($1) AND attempts > 1) AS retried,
              (SELECT count(*)::int FROM analysis_chunks c, unnest(c.post_ids) p WHERE c.analysis_id = ANY($1)
                 AND NOT EXISTS (SELECT 1 FROM analysis_results r WHERE r.analysis_id = c.analysis_id AND r.post_id = p)) AS missing`,
      [ids],
    );
    const r = check.rows[0];
    console.log(
      `\n## kill: ${USERS} users × ${POSTS_PER_USER} posts, 2 workers, one SIGKILLed after ${fmt(killedAt)} (30% of chunks done)`,
    );
    console.log(
      `total ${fmt(totalMs)}; analyses completed ${r?.analyses_done}/${ids.length}; chunks done ${r?.chunks_done}/${total}`,
    );
    console.log(
      `results ${r?.results}, distinct ${r?.distinct_results}, posts without a result ${r?.missing}; chunks run more than once (the killed worker's) ${r?.retried}`,
    );
    console.log(
      r && r.analyses_done === ids.length && r.results === r.distinct_results && r.missing === 0
        ? 'PASS: nothing lost, nothing duplicated'
        : 'FAIL',
    );
  } finally {
    await llm.close();
    await rm(dataDir, { recursive: true, force: true });
    await b.close();
  }
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  console.log(
    `# bench:jobs — ${new Date().toISOString()}, Node ${process.version}, ${os.availableParallelism()} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}, worker node flags: ${WORKER_NODE_FLAGS.join(' ') || 'none'}, fake LLM usage counting: ${FAKE_USAGE}`,
  );
  if (SCENARIOS.includes('local')) await fairnessScenario('local', ['local'], null);
  if (SCENARIOS.includes('llm')) await fairnessScenario('llm', ['llm'], LLM_MS);
  if (SCENARIOS.includes('big')) await bigScenario();
  if (SCENARIOS.includes('kill')) await killScenario();
}

await main();
