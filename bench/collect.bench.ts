/**
 * Collection benchmark (issue 7, item 9): `npm run bench:collect`.
 *
 * Collects 100,000 posts with their metrics from the platform simulator for 50 accounts over the
 * 7 platforms, through the real product code: connections resolved and stored by
 * `resolveConnection`/`storeConnection`, the connectors and HTTP layer from
 * `createConnectorProvider` (in-memory budget store, then the Redis one when Redis answers), and
 * `syncConnection` writing into a fresh, migrated PostgreSQL database as the application role (row
 * level security on). The simulator runs in a child process (bench/collect-simulator.ts), so the
 * peak RSS reported for the collector is the collector's alone.
 *
 * The simulator's limits are scaled to windows of seconds (LIMITS below) so that collecting takes
 * several windows of every budget: the run is limit-bound, and the share of the budget used says
 * whether the collector uses what it is allowed. Each platform keeps its mechanism (see README).
 *
 * Budget share: for every limit key (platform, bucket, principal) the collector was charged on
 * during the collection, over every window that began after the collection started and ended
 * before that key's last window (the one in which its work ran out), share = Σ served / Σ limit
 * (windows with no request count as 0 served). Breaks: requests the simulator refused because a
 * real limit was spent (`stats.overLimit`).
 *
 * Environment: BENCH_DATABASE_URL (admin URL; default postgres://postgres@127.0.0.1:5432/postgres),
 * REDIS_URL (default redis://127.0.0.1:6379), BENCH_STORES (memory,redis; default both, redis
 * skipped when unreachable), BENCH_POSTS_PER_ACCOUNT (2000), BENCH_CONCURRENCY (syncs at once; 50).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { connectionCreateSchema } from '../packages/contracts/src/connections.js';
import type { Connector } from '../apps/server/src/connectors/connector.js';
import {
  InMemoryBudgetStore,
  type BudgetStore,
} from '../apps/server/src/connectors/http/budget-store.js';
import type { PlatformProfile } from '../apps/server/src/connectors/http/http-client.js';
import { RedisBudgetStore } from '../apps/server/src/connectors/http/redis-budget-store.js';
import { TiktokConnector } from '../apps/server/src/connectors/tiktok/client.js';
import { createTiktokProfile } from '../apps/server/src/connectors/tiktok/profile.js';
import { YoutubeConnector } from '../apps/server/src/connectors/youtube/client.js';
import {
  createYoutubeProfile,
  youtubeQuotaCost,
} from '../apps/server/src/connectors/youtube/profile.js';
import { findConnection } from '../apps/server/src/db/repos/connections.repo.js';
import { withTenant } from '../apps/server/src/db/tenant.js';
import { createSecretBox } from '../apps/server/src/domain/auth/secret-box.js';
import {
  resolveConnection,
  storeConnection,
} from '../apps/server/src/domain/collection/connections.service.js';
import {
  createConnectorProvider,
  type ConnectorProvider,
} from '../apps/server/src/domain/collection/connectors.js';
import { syncConnection } from '../apps/server/src/domain/collection/sync.service.js';
import { createBenchDatabase } from './bench-database.js';
import type {
  LimitRule,
  LimitWindow,
  Platform,
  SimAccountInfo,
  SimStats,
  SimulatorOptions,
} from '../apps/server/test/simulator/index.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STORES = (process.env.BENCH_STORES ?? 'memory,redis').split(',').map((s) => s.trim());
const POSTS_PER_ACCOUNT = int('BENCH_POSTS_PER_ACCOUNT', 2000);
const CONCURRENCY = int('BENCH_CONCURRENCY', 50);
const PLATFORMS: Platform[] = [
  'x',
  'youtube',
  'instagram',
  'tiktok',
  'bluesky',
  'mastodon',
  'reddit',
];
/** 50 accounts: 8 on X, 7 on each other platform. */
const ACCOUNTS: Record<Platform, number> = {
  x: 8,
  youtube: 7,
  instagram: 7,
  tiktok: 7,
  bluesky: 7,
  mastodon: 7,
  reddit: 7,
};

/** TikTok's per-endpoint limit, shared by the simulator and the connector's declared limit. */
const TIKTOK_LIMIT = 3;
const TIKTOK_WINDOW_S = 3;
/** YouTube's quota window, shared by the simulator and the connector's local count. */
const YOUTUBE_WINDOW_S = 10;
const YOUTUBE_UNITS = 60;
/**
 * The limits of the run (buckets not listed keep the platform's real limit: they are only used to
 * resolve accounts before the collection, or are not used).
 */
const LIMITS: NonNullable<SimulatorOptions['limits']> = {
  // per endpoint per token (real: 900 / 15 min)
  x: { 'GET /2/users/:id/tweets': { limit: 3, windowSeconds: 10 } },
  // units per project (real: 10,000 per Pacific day); the connector counts the same window locally
  youtube: { units: { limit: YOUTUBE_UNITS, windowSeconds: YOUTUBE_WINDOW_S, align: 'epoch' } },
  // BUC per account (real: 4,800 × impressions / 24 h); the app bucket (real: 200 × users / h) is
  // kept out of the way. Meta announces the wait in whole minutes, hence a 60 s window.
  instagram: {
    buc: { limit: 14, windowSeconds: 60 },
    app: { limit: 100_000, windowSeconds: 3600 },
  },
  // per endpoint per token (real: 600 / min); TikTok sends no rate-limit headers: the connector
  // counts its documented limit locally (the same window, see TIKTOK_* below)
  tiktok: { 'POST /v2/video/list/': { limit: TIKTOK_LIMIT, windowSeconds: TIKTOK_WINDOW_S } },
  // per account (real: 3,000 / 5 min)
  bluesky: { global: { limit: 3, windowSeconds: 10 } },
  // per account (real: 300 / 5 min)
  mastodon: { account: { limit: 6, windowSeconds: 10 } },
  // per token (real: 1,000 / 10 min)
  reddit: { client: { limit: 3, windowSeconds: 10 } },
};

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number): string => `${fmt(bytes / 1_048_576)} MB`;
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The simulator process

interface SimHello {
  origin: string;
  baseUrls: Record<Platform, string>;
  accounts: Record<Platform, SimAccountInfo[]>;
  limits: Record<Platform, Record<string, LimitRule>>;
}
interface SimReport {
  stats: SimStats;
  windows: LimitWindow[];
  maxRssBytes: number;
}

class SimProcess {
  private readonly pending: ((line: string) => void)[] = [];
  private constructor(private readonly child: ChildProcess) {
    const rl = createInterface({ input: child.stdout ?? process.stdin });
    rl.on('line', (line) => this.pending.shift()?.(line));
  }

  static async start(options: SimulatorOptions): Promise<{ sim: SimProcess; hello: SimHello }> {
    const script = fileURLToPath(new URL('./collect-simulator.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, BENCH_SIM_OPTIONS: JSON.stringify(options) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const sim = new SimProcess(child);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`simulator exited (${code ?? 'signal'})`))),
    );
    const hello = await Promise.race([sim.next<SimHello>(), exited]);
    exited.catch(() => undefined);
    return { sim, hello };
  }

  private next<T>(): Promise<T> {
    return new Promise((resolve) => this.pending.push((line) => resolve(JSON.parse(line) as T)));
  }

  ask<T>(command: string): Promise<T> {
    const answer = this.next<T>();
    this.child.stdin?.write(`${command}\n`);
    return answer;
  }

  async quit(): Promise<void> {
    const done = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin?.write('quit\n');
    await Promise.race([done, sleep(5000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------
// Database

// ---------------------------------------------------------------------------------------------
// Budget share

interface Share {
  used: number;
  limit: number;
  windows: number;
}

function budgetShare(
  windows: LimitWindow[],
  limits: Record<Platform, Record<string, LimitRule>>,
  collectStart: number,
): { byPlatform: Map<Platform, Share>; byBucket: Map<string, Share>; total: Share } {
  const byKey = new Map<string, LimitWindow[]>();
  for (const w of windows) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
  const byPlatform = new Map<Platform, Share>();
  const byBucket = new Map<string, Share>();
  const total: Share = { used: 0, limit: 0, windows: 0 };
  for (const [key, list] of byKey) {
    const [platform, bucket] = key.split('|') as [Platform, string];
    const rule = limits[platform][bucket];
    if (rule === undefined || (rule.align ?? 'epoch') !== 'epoch') continue;
    const size = rule.windowSeconds * 1000;
    const during = list.filter((w) => w.startMs + size > collectStart && w.used + w.refused > 0);
    const last = during.at(-1);
    if (last === undefined) continue;
    const byStart = new Map(during.map((w) => [w.startMs, w]));
    // Windows wholly after the start, before the key's final window; gaps (no request) count as 0.
    for (let start = Math.ceil(collectStart / size) * size; start < last.startMs; start += size) {
      const used = byStart.get(start)?.used ?? 0;
      for (const s of [total, get(byPlatform, platform), get(byBucket, `${platform} ${bucket}`)]) {
        s.used += used;
        s.limit += rule.limit;
        s.windows += 1;
      }
    }
  }
  return { byPlatform, byBucket, total };
}

function get<K>(map: Map<K, Share>, key: K): Share {
  let s = map.get(key);
  if (!s) map.set(key, (s = { used: 0, limit: 0, windows: 0 }));
  return s;
}

// ---------------------------------------------------------------------------------------------
// One scenario

interface Result {
  store: string;
  ok: boolean;
  lines: [string, string, string][];
}

async function scenario(storeName: 'memory' | 'redis'): Promise<Result> {
  const lines: [string, string, string][] = [];
  const line = (figure: string, value: string, target = ''): void => {
    lines.push([figure, value, target]);
  };
  let redis: Redis | null = null;
  let store: BudgetStore = new InMemoryBudgetStore();
  const prefix = `bench:collect:${randomBytes(4).toString('hex')}:`;
  if (storeName === 'redis') {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    store = new RedisBudgetStore(redis, { prefix });
  }

  const { sim, hello } = await SimProcess.start({
    seed: 2026,
    accounts: ACCOUNTS,
    postsPerAccount: POSTS_PER_ACCOUNT,
    limits: LIMITS,
    // Every post listable: Reddit's listing stops at 1,000 and X's timeline at 3,200 by default.
    reddit: { listingCap: POSTS_PER_ACCOUNT + 100 },
    x: { timelineCap: Math.max(3200, POSTS_PER_ACCOUNT + 100) },
  });
  const db = await createBenchDatabase({
    adminUrl: ADMIN_URL,
    name: `socialpulse_bench_collect_${randomBytes(4).toString('hex')}`,
    poolSize: 10,
    applicationName: 'bench-collect',
  });
  try {
    const registry = new Registry();
    const provider = createConnectorProvider({
      baseUrls: { ...hello.baseUrls, instagram: `${hello.baseUrls.instagram}/v21.0` },
      budgetStore: store,
      registry,
    });
    // The connector's local YouTube quota matches what the simulator enforces: YOUTUBE_UNITS per
    // YOUTUBE_WINDOW_S-second window instead of 10,000 per Pacific day.
    const youtubeProfile: PlatformProfile = {
      ...createYoutubeProfile(YOUTUBE_UNITS),
      quota: {
        limit: YOUTUBE_UNITS,
        cost: (endpoint) => youtubeQuotaCost[endpoint] ?? 1,
        resetAt: (nowMs) =>
          (Math.floor(nowMs / (YOUTUBE_WINDOW_S * 1000)) + 1) * YOUTUBE_WINDOW_S * 1000,
      },
    };
    const tiktokProfile = createTiktokProfile({
      limit: TIKTOK_LIMIT,
      windowMs: TIKTOK_WINDOW_S * 1000,
    });
    const connectors: ConnectorProvider = {
      ...provider,
      create: (platform, http, options): Connector => {
        if (platform === 'youtube')
          return new YoutubeConnector({
            http: http ?? provider.http,
            baseUrl: hello.baseUrls.youtube,
            profile: youtubeProfile,
          });
        if (platform === 'tiktok')
          return new TiktokConnector({
            http: http ?? provider.http,
            baseUrl: hello.baseUrls.tiktok,
            api: 'display',
            profile: tiktokProfile,
          });
        return provider.create(platform, http, options);
      },
    };
    const secretBox = createSecretBox(randomBytes(32).toString('base64'));
    const tenant = { workspaceId: db.workspaceId, userId: null };

    // Connect the 50 accounts the way POST …/connections does.
    const connections: { id: string; platform: Platform }[] = [];
    for (const platform of PLATFORMS) {
      for (const account of hello.accounts[platform]) {
        const ref =
          platform === 'instagram'
            ? account.id
            : account.handle.startsWith('@')
              ? account.handle
              : `@${account.handle}`;
        const input = connectionCreateSchema.parse({
          platform,
          account: ref,
          credentials: { access_token: account.accessToken },
        });
        const resolved = await resolveConnection(connectors, input);
        const { connection } = await withTenant(db.app, tenant, (c) =>
          storeConnection(c, secretBox, db.workspaceId, null, input, resolved),
        );
        connections.push({ id: connection.id, platform });
      }
    }

    await sim.ask('reset');
    const load0 = os.loadavg();
    const cpu0 = process.cpuUsage();
    let peakRss = process.memoryUsage().rss;
    const poller = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const collectStart = Date.now();
    let runs = 0;
    let partialRuns = 0;
    const failures: string[] = [];
    const doneAt = new Map<Platform, number>();
    const queue = [...connections];
    const workers = Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const { id, platform } = next;
        // What the scheduler does: run again when the connection is due (a page cap: now; a limit: after blocked_until).
        for (;;) {
          const run = await syncConnection(
            { pool: db.app, secretBox, connectors },
            { workspaceId: db.workspaceId, connectionId: id, kind: 'posts', trigger: 'schedule' },
          );
          runs += 1;
          if (run.status === 'failed') {
            failures.push(`${platform} ${id}: ${JSON.stringify(run.error)}`);
            break;
          }
          const connection = await withTenant(db.app, tenant, (c) =>
            findConnection(c, db.workspaceId, id),
          );
          const resume = (connection?.cursor as { resume?: unknown } | null)?.resume ?? null;
          if (run.status === 'completed' && resume === null) break;
          if (run.status === 'partial') partialRuns += 1;
          const blocked = connection?.blockedUntil?.getTime() ?? 0;
          await sleep(Math.max(0, blocked - Date.now()));
        }
        doneAt.set(platform, Math.max(doneAt.get(platform) ?? 0, Date.now()));
      }
    });
    await Promise.all(workers);
    const elapsedMs = Date.now() - collectStart;
    clearInterval(poller);
    const cpu = process.cpuUsage(cpu0);
    const load1 = os.loadavg();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    // Where the connections' time went: waiting for a budget or backing off (the HTTP layer's own counter).
    const waits = new Map<string, number>();
    for (const v of (
      await registry.getSingleMetric('socialpulse_connector_wait_seconds_total')?.get()
    )?.values ?? []) {
      const key = `${String(v.labels.platform)} ${String(v.labels.reason)}`;
      waits.set(key, (waits.get(key) ?? 0) + v.value);
    }
    const report = await sim.ask<SimReport>('stats');
    const truth = await sim.ask<Record<Platform, Record<string, string[]>>>('truth');

    // What the database holds, against the simulator's ground truth.
    const { rows } = await db.admin.query<{
      platform: Platform;
      external_id: string;
      n: number;
      with_metrics: boolean;
    }>(
      `SELECT platform, external_id, count(*) OVER (PARTITION BY platform, external_id)::int AS n,
              (likes IS NOT NULL OR comments IS NOT NULL OR shares IS NOT NULL OR views IS NOT NULL) AS with_metrics
         FROM posts WHERE workspace_id = $1`,
      [db.workspaceId],
    );
    const snapshots = await db.admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM post_metric_snapshots s JOIN posts p ON p.id = s.post_id WHERE p.workspace_id = $1',
      [db.workspaceId],
    );
    const stored = new Map<Platform, Set<string>>(PLATFORMS.map((p) => [p, new Set()]));
    let duplicates = 0;
    let withoutMetrics = 0;
    for (const r of rows) {
      stored.get(r.platform)?.add(r.external_id);
      if (r.n > 1) duplicates += 1;
      if (!r.with_metrics) withoutMetrics += 1;
    }
    let expectedTotal = 0;
    let missing = 0;
    let extra = 0;
    const perPlatform = new Map<
      Platform,
      { expected: number; stored: number; missing: number; extra: number }
    >();
    for (const platform of PLATFORMS) {
      const want = new Set(Object.values(truth[platform]).flat());
      const have = stored.get(platform) ?? new Set<string>();
      const m = [...want].filter((id) => !have.has(id)).length;
      const e = [...have].filter((id) => !want.has(id)).length;
      perPlatform.set(platform, { expected: want.size, stored: have.size, missing: m, extra: e });
      expectedTotal += want.size;
      missing += m;
      extra += e;
    }
    const distinctTruth = [...stored.values()].reduce((n, s) => n + s.size, 0) - extra;

    const share = budgetShare(report.windows, hello.limits, collectStart);
    const breaks = report.stats.overLimit;
    const requestsOf = (p: Platform): number =>
      Object.values(report.stats.requests[p] ?? {}).reduce((a, b) => a + b, 0);
    const refusedWindows = report.windows
      .filter((w) => w.endMs > collectStart)
      .reduce((n, w) => n + w.refused, 0);

    line(
      'posts collected (distinct, in the database, of the simulator ground truth)',
      `${fmt(distinctTruth)} of ${fmt(expectedTotal)}`,
      'all ✓'.replace('✓', missing === 0 && duplicates === 0 ? '✓' : '✗'),
    );
    line(
      '  lost / duplicated / extra (Instagram Stories, not in the ground truth)',
      `${fmt(missing)} / ${fmt(duplicates)} / ${fmt(extra)}`,
      '0 / 0 / – ' + (missing === 0 && duplicates === 0 ? '✓' : '✗'),
    );
    line(
      '  posts without any metric / metric snapshots',
      `${fmt(withoutMetrics)} / ${fmt(snapshots.rows[0]?.n ?? 0)}`,
      '',
    );
    line('requests to the simulator during the collection', fmt(report.stats.totalRequests), '');
    line(
      'sync runs (of which stopped by a limit: partial)',
      `${fmt(runs)} (${fmt(partialRuns)})`,
      '',
    );
    line('elapsed (collection, connections made before)', `${(elapsedMs / 1000).toFixed(1)} s`, '');
    line(
      'throughput (set by the limits of the run)',
      `${fmt(distinctTruth / (elapsedMs / 1000))} posts/s`,
      '',
    );
    line(
      '**budget share used**, all platforms',
      `${pct(share.total.used / share.total.limit)} (${fmt(share.total.used)} / ${fmt(share.total.limit)} in ${fmt(share.total.windows)} windows)`,
      `≥ 90% ${share.total.used / share.total.limit >= 0.9 ? '✓' : '✗'}`,
    );
    line(
      '**requests that broke a limit**',
      `${fmt(breaks.total)} (refused in windows: ${fmt(refusedWindows)})`,
      `0 ${breaks.total === 0 ? '✓' : '✗'}`,
    );
    for (const platform of PLATFORMS) {
      const s = share.byPlatform.get(platform);
      const p = perPlatform.get(platform);
      const broke = Object.values(breaks.byEndpoint[platform] ?? {}).reduce((a, b) => a + b, 0);
      const done = doneAt.get(platform);
      const waited = (reason: string): string =>
        `${fmt((waits.get(`${platform} ${reason}`) ?? 0) / ACCOUNTS[platform], 1)} s`;
      line(
        `  ${platform}: share / breaks / requests / posts / done after / per account: budget wait, back-off`,
        `${s ? pct(s.used / s.limit) : '–'} (${fmt(s?.used ?? 0)}/${fmt(s?.limit ?? 0)}, ${fmt(s?.windows ?? 0)} w) / ${fmt(broke)} / ${fmt(requestsOf(platform))} / ${fmt((p?.stored ?? 0) - (p?.extra ?? 0))} / ${done ? `${((done - collectStart) / 1000).toFixed(0)} s` : '–'} / ${waited('budget')}, ${waited('backoff')}`,
        '',
      );
    }
    line('peak RSS, collector (100 ms samples during the collection)', mb(peakRss), '');
    line(
      'peak RSS, collector process lifetime (maxRSS) / simulator process (maxRSS)',
      `${mb(process.resourceUsage().maxRSS * 1024)} / ${mb(report.maxRssBytes)}`,
      '',
    );
    line('collector CPU (user + system)', `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`, '');
    line(
      'load average (1 min) at start / end',
      `${load0[0]?.toFixed(2)} / ${load1[0]?.toFixed(2)}`,
      '',
    );
    for (const f of failures.slice(0, 5)) line('FAILED run', f.slice(0, 300), '');
    return {
      store: storeName,
      ok: missing === 0 && duplicates === 0 && failures.length === 0,
      lines,
    };
  } finally {
    await sim.quit();
    await db.drop();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  }
}

async function redisReachable(): Promise<boolean> {
  const r = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

function printLimits(): void {
  console.log('Limits of the run (simulator and connectors; all others real):');
  for (const [platform, buckets] of Object.entries(LIMITS)) {
    for (const [bucket, rule] of Object.entries(buckets))
      console.log(
        `  ${platform.padEnd(9)} ${bucket.padEnd(26)} ${rule.limit} per ${rule.windowSeconds} s`,
      );
  }
}

async function main(): Promise<void> {
  console.log(
    `bench:collect — ${Object.values(ACCOUNTS).reduce((a, b) => a + b, 0)} accounts × ${fmt(POSTS_PER_ACCOUNT)} posts, ${os.cpus().length} cores, Node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  printLimits();
  let ok = true;
  for (const name of STORES) {
    if (name !== 'memory' && name !== 'redis') throw new Error(`unknown store ${name}`);
    if (name === 'redis' && !(await redisReachable())) {
      console.log(`\nRedis at ${REDIS_URL} does not answer: the Redis scenario is skipped.`);
      continue;
    }
    console.log(`\n## budget store: ${name}\n`);
    const result = await scenario(name);
    ok &&= result.ok;
    const w0 = Math.max(...result.lines.map((l) => l[0].length));
    const w1 = Math.max(...result.lines.map((l) => l[1].length));
    console.log(`| ${'figure'.padEnd(w0)} | ${'value'.padStart(w1)} | target |`);
    console.log(`| ${'-'.repeat(w0)} | ${'-'.repeat(w1 - 1)}: | --- |`);
    for (const [a, b, c] of result.lines)
      console.log(`| ${a.padEnd(w0)} | ${b.padStart(w1)} | ${c} |`);
  }
  // A benchmark reports: a missed target is not an error; lost data or a failed run is.
  process.exitCode = ok ? 0 : 1;
}

await main();
