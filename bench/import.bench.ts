/**
 * Import benchmark (issue 3, item 9): `npm run bench:import`.
 *
 * Generates BENCH_POSTS (default 1,000,000) realistic posts as JSONL (and the same rows as CSV),
 * imports the JSONL with SocialPulse's real import path into a fresh database, times `psql \copy`
 * of the same rows into an identical table as the engine's own limit, re-imports the file
 * (idempotent: only snapshots are added) and verifies the database afterwards.
 *
 * Environment: BENCH_DATABASE_URL (an admin connection; default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_POSTS, BENCH_BATCH (import batch size, default 5000), BENCH_KEEP_FILES=1 keeps the temp dir.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../apps/server/src/db/migrate.js';
import { importPosts } from '../apps/server/src/domain/imports/import.service.js';
import type { ImportRunRecord } from '../apps/server/src/db/repos/imports.repo.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const POSTS = positiveInt('BENCH_POSTS', 1_000_000);
const BATCH = positiveInt('BENCH_BATCH', 5000);
const KEEP_FILES = process.env.BENCH_KEEP_FILES === '1';
/** Same default as IMPORT_MAX_RECORD_BYTES in config.ts. */
const MAX_RECORD_BYTES = 1024 * 1024;
const SEED = 0x50c1a1;
const RSS_SAMPLE_MS = 50;
const MB = 1024 * 1024;

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Data generation: seeded, streamed to disk.
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, good enough for test data, and reproducible from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Account {
  id: number;
  platform: string;
  handle: string;
  externalId: string | null;
  author: string;
  languages: readonly string[];
}

interface GeneratedPost {
  record: Record<string, unknown>;
  accountId: number;
  hasMetrics: boolean;
  hasCapturedAt: boolean;
}

/** Platforms weighted roughly by how often analytics users export them. */
const PLATFORM_WEIGHTS: readonly (readonly [string, number])[] = [
  ['x', 22],
  ['instagram', 20],
  ['tiktok', 14],
  ['youtube', 10],
  ['linkedin', 9],
  ['facebook', 8],
  ['bluesky', 6],
  ['threads', 5],
  ['reddit', 4],
  ['mastodon', 2],
];
const MEDIA_BY_PLATFORM: Record<string, readonly string[]> = {
  x: ['text', 'text', 'image', 'video', 'link'],
  instagram: ['image', 'carousel', 'reel', 'reel', 'story'],
  tiktok: ['video'],
  youtube: ['video', 'video', 'short', 'live'],
  linkedin: ['text', 'image', 'link', 'video'],
  facebook: ['text', 'image', 'video', 'link'],
  bluesky: ['text', 'text', 'image'],
  threads: ['text', 'image'],
  reddit: ['text', 'link', 'image'],
  mastodon: ['text', 'image'],
};
const URL_BASE: Record<string, string> = {
  x: 'https://x.com/',
  instagram: 'https://www.instagram.com/',
  tiktok: 'https://www.tiktok.com/@',
  youtube: 'https://www.youtube.com/watch?v=',
  linkedin: 'https://www.linkedin.com/feed/update/urn:li:activity:',
  facebook: 'https://www.facebook.com/',
  bluesky: 'https://bsky.app/profile/',
  threads: 'https://www.threads.net/@',
  reddit: 'https://www.reddit.com/r/',
  mastodon: 'https://mastodon.social/@',
};
const LANGUAGES = [
  'en',
  'en',
  'en',
  'en',
  'es',
  'pt-BR',
  'de',
  'fr',
  'ja',
  'it',
  'nl',
  'tr',
] as const;
const WORDS: Record<string, readonly string[]> = {
  latin: (
    'the launch new today our team product update thanks everyone big news live now join us weekend sale check out ' +
    'behind the scenes this week how we built it your feedback matters coming soon limited edition free shipping ' +
    'workshop tutorial thread highlights recap favourite moment vote comment share link in bio save for later'
  ).split(' '),
  es: 'hoy nuevo lanzamiento gracias equipo noticias en vivo oferta fin de semana año más información'.split(
    ' ',
  ),
  pt: 'hoje novidade lançamento obrigado equipe promoção ao vivo confira não perca você'.split(' '),
  de: 'heute neu Einführung danke Team Neuigkeiten live Angebot Wochenende für Größe schön'.split(
    ' ',
  ),
  fr: "aujourd'hui nouveau lancement merci équipe nouvelles en direct offre week-end très été".split(
    ' ',
  ),
  ja: '今日 新商品 ありがとう チーム ライブ 配信中 セール 週末 お知らせ 最新'.split(' '),
};
const EMOJI = ['🚀', '🔥', '✨', '🎉', '❤️', '👀', '😂', '🙌', '📈', '☕', '🌍', '👩🏽‍💻'];
const TAGS = [
  '#launch',
  '#analytics',
  '#socialmedia',
  '#marketing',
  '#news',
  '#tbt',
  '#ai',
  '#design',
  '#café',
  '#München',
];
const FIRST = [
  'Ana',
  'Ben',
  'Chloé',
  'Dario',
  'Eun-ji',
  'Farah',
  'Gustavo',
  'Hana',
  'Igor',
  'Jonas',
  'Kemi',
  'Lucía',
  'Mateo',
  'Noor',
  'Oskar',
  'Priya',
  'Quinn',
  'Rafael',
  'Sakura',
  'Tomás',
];
const BRANDS = [
  'Acme',
  'Northwind',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Stark',
  'Wayne',
  'Tyrell',
  'Soylent',
];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function weighted(rand: () => number, items: readonly (readonly [string, number])[]): string {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return (items[items.length - 1] as readonly [string, number])[0];
}

/** Heavy-tailed engagement: log-normal with a platform scale. */
function heavyTail(rand: () => number, median: number, sigma: number): number {
  const u1 = Math.max(rand(), 1e-12);
  const u2 = rand();
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.max(0, Math.round(median * Math.exp(sigma * normal)));
}

function makeAccounts(rand: () => number, count: number): Account[] {
  const accounts: Account[] = [];
  for (let i = 0; i < count; i += 1) {
    const platform = weighted(rand, PLATFORM_WEIGHTS);
    const brand = pick(rand, BRANDS);
    const person = pick(rand, FIRST);
    const isBrand = rand() < 0.5;
    const handle = `${isBrand ? brand : person}${isBrand ? '_' : '.'}${i.toString(36)}${rand() < 0.3 ? 'HQ' : ''}`;
    accounts.push({
      id: i + 1,
      platform,
      handle,
      externalId: rand() < 0.7 ? String(1_000_000 + Math.floor(rand() * 9_000_000_000)) : null,
      author: isBrand
        ? `${brand} ${pick(rand, ['Official', 'Team', 'Support', 'Studio'])}`
        : `${person} ${pick(rand, BRANDS)}`,
      languages: [pick(rand, LANGUAGES), pick(rand, LANGUAGES)],
    });
  }
  return accounts;
}

function makeText(rand: () => number, language: string): string {
  const target = 20 + Math.floor(Math.pow(rand(), 1.6) * 261); // 20..280, skewed towards short posts
  const vocab =
    language === 'ja'
      ? WORDS.ja
      : language === 'es'
        ? WORDS.es
        : language === 'pt-BR'
          ? WORDS.pt
          : language === 'de'
            ? WORDS.de
            : language === 'fr'
              ? WORDS.fr
              : WORDS.latin;
  const words = vocab ?? [];
  let text = '';
  // Whole tokens only: never cut a surrogate pair or a grapheme.
  while (text.length < target) {
    const r = rand();
    const token =
      r < 0.06
        ? pick(rand, EMOJI)
        : r < 0.1
          ? pick(rand, TAGS)
          : r < 0.11
            ? '\n'
            : pick(rand, words);
    const next =
      text === ''
        ? token
        : token === '\n' || text.endsWith('\n')
          ? text + token
          : `${text} ${token}`;
    if (next.length > 280) break;
    text = next;
  }
  while (text.length < 20) text += '!';
  if (rand() < 0.05 && text.length <= 268) text = `"${text}", she said`;
  return text;
}

const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2024, 0, 1);
const SPAN_MS = 730 * DAY_MS;

function* generatePosts(count: number): Generator<GeneratedPost> {
  const rand = prng(SEED);
  const accounts = makeAccounts(rand, 200);
  for (let i = 0; i < count; i += 1) {
    const account = pick(rand, accounts);
    const platform = account.platform;
    // Daily rhythm: more posts in the day than at night.
    const day = Math.floor(rand() * (SPAN_MS / DAY_MS));
    const hour = Math.min(23, Math.floor(Math.abs(13 + 4 * (rand() + rand() + rand() - 1.5))));
    const created = new Date(
      START_MS + day * DAY_MS + hour * 3_600_000 + Math.floor(rand() * 3_600_000),
    );
    const language = pick(rand, account.languages);
    const externalId =
      platform === 'x' || platform === 'linkedin'
        ? String(1_700_000_000_000_000_000n + BigInt(i) * 7919n)
        : `${platform.slice(0, 2)}_${i.toString(36).padStart(7, '0')}`;
    const views = heavyTail(
      rand,
      platform === 'youtube' || platform === 'tiktok' ? 5000 : 800,
      1.6,
    );
    const likes = Math.round(views * (0.01 + rand() * 0.08));
    const record: Record<string, unknown> = {
      platform,
      external_id: externalId,
      created_at: created.toISOString(),
      account_handle:
        rand() < 0.2
          ? `@${account.handle}`
          : rand() < 0.1
            ? account.handle.toLowerCase()
            : account.handle,
    };
    if (account.externalId !== null) record.account_external_id = account.externalId;
    if (rand() < 0.95) record.author = account.author;
    record.text = makeText(rand, language);
    if (rand() < 0.9) record.language = language;
    if (rand() < 0.85)
      record.url = `${URL_BASE[platform] ?? 'https://example.com/'}${encodeURIComponent(account.handle)}/${externalId}`;
    record.media_type = pick(rand, MEDIA_BY_PLATFORM[platform] ?? ['other']);
    record.likes = likes;
    record.comments = Math.round(likes * rand() * 0.2);
    record.shares =
      platform === 'mastodon' || rand() < 0.1 ? null : Math.round(likes * rand() * 0.15);
    record.views = platform === 'linkedin' || platform === 'reddit' ? null : views;
    if (platform === 'instagram' || platform === 'tiktok')
      record.saves = Math.round(likes * rand() * 0.1);
    if (rand() < 0.4) record.impressions = Math.round(views * (1 + rand()));
    const hasCapturedAt = rand() < 0.3;
    if (hasCapturedAt)
      record.metrics_captured_at = new Date(
        created.getTime() + Math.floor(rand() * 30) * DAY_MS + 3_600_000,
      ).toISOString();
    // Unknown fields are kept in the raw record.
    if (rand() < 0.25) record.hashtags = [pick(rand, TAGS), pick(rand, TAGS)];
    if (rand() < 0.1)
      record.location = {
        country: pick(rand, ['BR', 'DE', 'JP', 'US', 'FR', 'ES']),
        city: pick(rand, ['São Paulo', 'Köln', '東京', 'Austin', 'Lyon', 'Sevilla']),
      };
    yield { record, accountId: account.id, hasMetrics: true, hasCapturedAt };
  }
}

/** The columns psql copies into bench_posts (workspace, account and source filled in like ours). */
const CSV_COLUMNS = [
  'workspace_id',
  'platform',
  'external_id',
  'account_id',
  'author',
  'text',
  'language',
  'created_at',
  'url',
  'media_type',
  'likes',
  'comments',
  'shares',
  'views',
  'saves',
  'impressions',
  'metrics_captured_at',
  'raw',
  'source',
] as const;

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const s =
    typeof value === 'string'
      ? value
      : typeof value === 'number'
        ? String(value)
        : JSON.stringify(value);
  return /[",\r\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s;
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

async function close(out: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}

interface Dataset {
  jsonl: string;
  csv: string;
  jsonlBytes: number;
  csvBytes: number;
  posts: number;
  withCapturedAt: number;
  withMetrics: number;
  seconds: number;
}

async function generateFiles(
  dir: string,
  count: number,
  workspaceId: string,
  defaultCapturedAt: string,
): Promise<Dataset> {
  const started = performance.now();
  const jsonl = path.join(dir, 'posts.jsonl');
  const csv = path.join(dir, 'posts.csv');
  const j = createWriteStream(jsonl, { highWaterMark: 1 << 20 });
  const c = createWriteStream(csv, { highWaterMark: 1 << 20 });
  await write(c, `${CSV_COLUMNS.join(',')}\n`);
  let withCapturedAt = 0;
  let withMetrics = 0;
  let jBuf = '';
  let cBuf = '';
  for (const post of generatePosts(count)) {
    const r = post.record;
    const raw = JSON.stringify(r);
    jBuf += `${raw}\n`;
    const handle = typeof r.account_handle === 'string' ? r.account_handle.replace(/^@/, '') : null;
    const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      workspace_id: workspaceId,
      platform: r.platform,
      external_id: r.external_id,
      account_id: handle === null ? null : post.accountId,
      author: r.author,
      text: r.text,
      language: r.language,
      created_at: r.created_at,
      url: r.url,
      media_type: r.media_type,
      likes: r.likes,
      comments: r.comments,
      shares: r.shares,
      views: r.views,
      saves: r.saves,
      impressions: r.impressions,
      metrics_captured_at: r.metrics_captured_at ?? defaultCapturedAt,
      raw,
      source: 'bench',
    };
    cBuf += `${CSV_COLUMNS.map((col) => csvCell(values[col])).join(',')}\n`;
    if (post.hasCapturedAt) withCapturedAt += 1;
    if (post.hasMetrics) withMetrics += 1;
    if (jBuf.length > 256 * 1024) {
      await write(j, jBuf);
      await write(c, cBuf);
      jBuf = '';
      cBuf = '';
    }
  }
  await write(j, jBuf);
  await write(c, cBuf);
  await Promise.all([close(j), close(c)]);
  return {
    jsonl,
    csv,
    jsonlBytes: (await stat(jsonl)).size,
    csvBytes: (await stat(csv)).size,
    posts: count,
    withCapturedAt,
    withMetrics,
    seconds: (performance.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers.
// ---------------------------------------------------------------------------------------------

/** Samples the process RSS every 50 ms while `work` runs. */
interface Sampled<T> {
  result: T;
  seconds: number;
  /** CPU seconds of this Node process (user + system). */
  nodeCpu: number;
  /** CPU seconds of the PostgreSQL backends serving the bench database. */
  pgCpu: number;
  /** RSS when the phase started (after a full GC): the runtime, tsx and loaded modules. */
  baseRss: number;
  peakRss: number;
  /** process.memoryUsage() at the peak sample, to tell V8 heap from buffers. */
  atPeak: NodeJS.MemoryUsage;
}

/** user + system CPU seconds of a process, from /proc (Linux); 0 when unreadable. */
async function procCpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

async function backendCpu(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1',
    [database],
  );
  const out = new Map<number, number>();
  for (const { pid } of rows) out.set(pid, await procCpuSeconds(pid));
  return out;
}

async function withRssSampling<T>(
  admin: pg.Client,
  database: string,
  work: () => Promise<T>,
): Promise<Sampled<T>> {
  globalThis.gc?.();
  const pgBefore = await backendCpu(admin, database);
  const cpuBefore = process.cpuUsage();
  const base = process.memoryUsage();
  let atPeak = base;
  const sample = (): void => {
    const usage = process.memoryUsage();
    if (usage.rss > atPeak.rss) atPeak = usage;
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  const started = performance.now();
  try {
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    sample();
    const cpu = process.cpuUsage(cpuBefore);
    let pgCpu = 0;
    for (const [pid, after] of await backendCpu(admin, database))
      pgCpu += after - (pgBefore.get(pid) ?? 0);
    return {
      result,
      seconds,
      nodeCpu: (cpu.user + cpu.system) / 1e6,
      pgCpu,
      baseRss: base.rss,
      peakRss: atPeak.rss,
      atPeak,
    };
  } finally {
    clearInterval(timer);
  }
}

const memoryDetail = (s: Sampled<unknown>): string =>
  `${fmtMb(s.peakRss)} (at start ${fmtMb(s.baseRss)}; at peak V8 heap ${fmtMb(s.atPeak.heapUsed)} used / ${fmtMb(s.atPeak.heapTotal)} total, external ${fmtMb(s.atPeak.external)})`;

function run(
  command: string,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} exited with ${String(code)}: ${stderr.trim()}`));
    });
  });
}

function databaseUrl(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtS = (s: number): string => `${s.toFixed(1)} s`;
const fmtMb = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;

function printTable(title: string, rows: readonly (readonly [string, string])[]): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${title}\n${'-'.repeat(title.length)}\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

function check(failures: string[], what: string, actual: number, expected: number): void {
  if (actual !== expected) failures.push(`${what}: expected ${expected}, got ${actual}`);
}

// ---------------------------------------------------------------------------------------------
// The benchmark.
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dbName = `sp_bench_${process.pid}`;
  const dbUrl = databaseUrl(ADMIN_URL, dbName);
  const admin = new pg.Client({
    connectionString: ADMIN_URL,
    application_name: 'socialpulse-bench',
  });
  await admin.connect();
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'sp-bench-'));
  let pool: pg.Pool | null = null;
  let created = false;
  const cleanup = async (): Promise<void> => {
    await pool?.end().catch(() => undefined);
    pool = null;
    if (created)
      await admin
        .query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
        .catch((e: unknown) => process.stderr.write(`could not drop ${dbName}: ${String(e)}\n`));
    created = false;
    await admin.end().catch(() => undefined);
    if (!KEEP_FILES) await rm(tempDir, { recursive: true, force: true });
    else process.stderr.write(`kept ${tempDir}\n`);
  };
  const onSignal = (): void => {
    process.stderr.write('\ninterrupted: cleaning up\n');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const loadBefore = os.loadavg();
    const serverVersion =
      (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]
        ?.v ?? '?';
    await admin.query(`CREATE DATABASE ${dbName}`);
    created = true;
    const migrator = new pg.Client({ connectionString: dbUrl });
    await migrator.connect();
    try {
      await migrate(migrator);
    } finally {
      await migrator.end();
    }
    // The admin URL's role, as the CLI's operator tooling would; a superuser is not subject to
    // row-level security, so the bench does not depend on how a caller sets the tenant scope.
    const db = new pg.Pool({
      connectionString: dbUrl,
      max: 4,
      application_name: 'socialpulse-bench',
    });
    pool = db;
    db.on('error', () => undefined);
    const workspace = (
      await db.query<{ id: string }>("INSERT INTO workspaces (name) VALUES ('Bench') RETURNING id")
    ).rows[0];
    if (!workspace) throw new Error('could not create the bench workspace');
    await db.query('CREATE TABLE bench_posts (LIKE posts INCLUDING ALL)');

    process.stderr.write(`generating ${fmtInt(POSTS)} posts in ${tempDir} …\n`);
    // In a child process, so that the generator's heap does not count in the import's RSS.
    await run(process.execPath, [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      GENERATE_FLAG,
      tempDir,
      workspace.id,
      new Date().toISOString(),
    ]);
    const data = JSON.parse(await readFile(path.join(tempDir, DATASET_FILE), 'utf8')) as Dataset;
    process.stderr.write(
      `generated ${fmtMb(data.jsonlBytes)} JSONL, ${fmtMb(data.csvBytes)} CSV in ${fmtS(data.seconds)}\n`,
    );

    const importOnce = (label: string): Promise<Sampled<ImportRunRecord>> => {
      process.stderr.write(`${label} (batch ${BATCH}) …\n`);
      return withRssSampling(admin, dbName, () =>
        importPosts(
          db,
          // As the CLI opens it (default 64 KiB chunks).
          { fileName: data.jsonl, format: 'jsonl', stream: createReadStream(data.jsonl) },
          {
            workspaceId: workspace.id,
            source: 'bench',
            batchSize: BATCH,
            maxRecordBytes: MAX_RECORD_BYTES,
          },
        ),
      );
    };

    // Between timed phases (untimed): vacuum what the last phase wrote, so that autovacuum does
    // not run into the next phase, and checkpoint so that no phase pays for another's dirty pages.
    const settle = async (tables: readonly string[]): Promise<void> => {
      for (const table of tables) await db.query(`VACUUM (ANALYZE) ${table}`);
      await admin.query('CHECKPOINT');
    };
    await settle([]);
    const first = await importOnce('import');

    await settle(['posts', 'post_metric_snapshots', 'platform_accounts']);
    const copyStarted = performance.now();
    await run('psql', [
      dbUrl,
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy bench_posts (${CSV_COLUMNS.join(', ')}) FROM '${data.csv.replaceAll("'", "''")}' WITH (FORMAT csv, HEADER true)`,
    ]);
    const copySeconds = (performance.now() - copyStarted) / 1000;

    await settle(['bench_posts']);
    const second = await importOnce('re-import');

    // Verification: the bench must not measure an import that did nothing.
    process.stderr.write('verifying …\n');
    const counts = (
      await db.query<{
        posts: number;
        snapshots: number;
        rejects: number;
        bench: number;
        accounts: number;
        same: number;
      }>(
        `SELECT (SELECT count(*) FROM posts WHERE workspace_id = $1)::int AS posts,
                (SELECT count(*) FROM post_metric_snapshots WHERE workspace_id = $1)::int AS snapshots,
                (SELECT count(*) FROM import_rejects WHERE workspace_id = $1)::int AS rejects,
                (SELECT count(*) FROM bench_posts)::int AS bench,
                (SELECT count(*) FROM platform_accounts WHERE workspace_id = $1)::int AS accounts,
                (SELECT count(*) FROM posts p JOIN bench_posts b USING (workspace_id, platform, external_id)
                  WHERE p.raw = b.raw AND p.text IS NOT DISTINCT FROM b.text AND p.likes IS NOT DISTINCT FROM b.likes
                    AND p.created_at = b.created_at AND p.search = b.search)::int AS same`,
        [workspace.id],
      )
    ).rows[0];
    const sizes = (
      await db.query<{ posts: string; bench: string; snapshots: string }>(
        `SELECT pg_size_pretty(pg_total_relation_size('posts')) AS posts, pg_size_pretty(pg_total_relation_size('bench_posts')) AS bench,
                pg_size_pretty(pg_total_relation_size('post_metric_snapshots')) AS snapshots`,
      )
    ).rows[0];
    const failures: string[] = [];
    if (!counts) throw new Error('verification query returned nothing');
    check(failures, 'first import: read', first.result.read, POSTS);
    check(failures, 'first import: inserted', first.result.inserted, POSTS);
    check(failures, 'first import: rejected', first.result.rejected, 0);
    check(failures, 're-import: unchanged', second.result.unchanged, POSTS);
    check(
      failures,
      're-import: inserted + updated',
      second.result.inserted + second.result.updated,
      0,
    );
    check(failures, 're-import: rejected', second.result.rejected, 0);
    check(failures, 'rows in posts', counts.posts, POSTS);
    // One snapshot per record; a re-import adds one for each record observed "now" (no
    // metrics_captured_at) and none for those whose observation time is already stored.
    check(
      failures,
      'rows in post_metric_snapshots',
      counts.snapshots,
      data.withMetrics + (data.withMetrics - data.withCapturedAt),
    );
    check(failures, 'rows in import_rejects', counts.rejects, 0);
    check(failures, 'rows in bench_posts (psql)', counts.bench, POSTS);
    check(
      failures,
      'posts identical to the psql copy (raw, text, likes, created_at, search)',
      counts.same,
      POSTS,
    );

    const oursRate = POSTS / first.seconds;
    const copyRate = POSTS / copySeconds;
    const ratio = oursRate / copyRate;
    const loadAfter = os.loadavg();
    printTable('SocialPulse import benchmark', [
      ['date', new Date().toISOString()],
      [
        'machine',
        `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${fmtMb(os.totalmem())} RAM, Node ${process.version}, PostgreSQL ${serverVersion}`,
      ],
      [
        'load average (1 min) before / after',
        `${(loadBefore[0] ?? 0).toFixed(2)} / ${(loadAfter[0] ?? 0).toFixed(2)}`,
      ],
      [
        'dataset',
        `${fmtInt(POSTS)} posts, ${fmtMb(data.jsonlBytes)} JSONL / ${fmtMb(data.csvBytes)} CSV, ${fmtInt(counts.accounts)} accounts, ${fmtInt(data.withCapturedAt)} with metrics_captured_at`,
      ],
      ['batch size', fmtInt(BATCH)],
      ['import: wall time', fmtS(first.seconds)],
      ['import: throughput', `${fmtInt(oursRate)} posts/s`],
      ['import: CPU node / postgres', `${fmtS(first.nodeCpu)} / ${fmtS(first.pgCpu)}`],
      ['import: peak RSS (50 ms samples)', memoryDetail(first)],
      ['psql \\copy: wall time', fmtS(copySeconds)],
      ['psql \\copy: throughput', `${fmtInt(copyRate)} rows/s`],
      ['ratio ours / \\copy', `${(ratio * 100).toFixed(0)}% (target ≥ 50%)`],
      [
        're-import (all unchanged): wall time',
        `${fmtS(second.seconds)} (${fmtInt(POSTS / second.seconds)} posts/s)`,
      ],
      ['re-import: CPU node / postgres', `${fmtS(second.nodeCpu)} / ${fmtS(second.pgCpu)}`],
      ['re-import: peak RSS', memoryDetail(second)],
      ['process max RSS (whole run)', fmtMb(process.resourceUsage().maxRSS * 1024)],
      [
        'rows: posts / snapshots / rejects',
        `${fmtInt(counts.posts)} / ${fmtInt(counts.snapshots)} / ${fmtInt(counts.rejects)}`,
      ],
      [
        'size: posts / bench_posts / snapshots',
        `${sizes?.posts ?? '?'} / ${sizes?.bench ?? '?'} / ${sizes?.snapshots ?? '?'}`,
      ],
      [
        'targets',
        `throughput ${ratio >= 0.5 ? 'MET' : 'MISSED'}, RSS ${Math.max(first.peakRss, second.peakRss) < 200 * MB ? 'MET' : 'MISSED'}`,
      ],
    ]);
    if (failures.length > 0) {
      process.stderr.write(
        `\nVERIFICATION FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`,
      );
      process.exitCode = 1;
    } else {
      process.stdout.write('\nverification: OK\n');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

const GENERATE_FLAG = '--generate-into';
const DATASET_FILE = 'dataset.json';

if (process.argv[2] === GENERATE_FLAG) {
  const [dir, workspaceId, capturedAt] = process.argv.slice(3);
  if (!dir || !workspaceId || !capturedAt)
    throw new Error(`usage: ${GENERATE_FLAG} DIR WORKSPACE_ID CAPTURED_AT`);
  await writeFile(
    path.join(dir, DATASET_FILE),
    JSON.stringify(await generateFiles(dir, POSTS, workspaceId, capturedAt)),
  );
} else {
  await main();
}
