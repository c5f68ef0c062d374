import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { copyText } from '../copy-text.js';

/** One validated post as the import writes it (see domain/imports/record-validator.ts). */
export interface ImportPostRow {
  platform: string;
  externalId: string;
  accountHandle: string | null;
  accountExternalId: string | null;
  author: string | null;
  text: string | null;
  language: string | null;
  createdAt: string;
  url: string | null;
  mediaType: string | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  views: number | null;
  saves: number | null;
  impressions: number | null;
  metricsCapturedAt: string | null;
  rawJson: string;
}

export interface BatchOutcome {
  inserted: number;
  updated: number;
  unchanged: number;
}

const METRICS = ['likes', 'comments', 'shares', 'views', 'saves', 'impressions'] as const;
/** Descriptive fields: a later record fills them in but never erases them with "unknown". */
const DESCRIPTIVE = ['author', 'text', 'language', 'url', 'media_type'] as const;

const STAGING_COLUMNS = [
  'ord',
  'platform',
  'external_id',
  'account_handle',
  'account_external_id',
  'author',
  'text',
  'language',
  'created_at',
  'url',
  'media_type',
  ...METRICS,
  'metrics_captured_at',
  'raw',
];

/**
 * Per-session staging tables; rows vanish at commit, so each batch starts empty.
 * `import_written_posts` keeps the ids of the posts the batch's upsert inserted or updated.
 */
export async function createImportStaging(client: pg.ClientBase): Promise<void> {
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS import_staging (
    ord integer NOT NULL,
    platform text NOT NULL,
    external_id text NOT NULL,
    account_handle text,
    account_external_id text,
    author text,
    text text,
    language text,
    created_at timestamptz NOT NULL,
    url text,
    media_type text,
    likes bigint, comments bigint, shares bigint, views bigint, saves bigint, impressions bigint,
    metrics_captured_at timestamptz,
    raw jsonb
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS import_written_posts (
    platform text NOT NULL,
    external_id text NOT NULL,
    post_id bigint NOT NULL
  ) ON COMMIT DELETE ROWS`);
}

function encodeRow(ord: number, r: ImportPostRow): string {
  return (
    `${ord}\t${copyText(r.platform)}\t${copyText(r.externalId)}\t${copyText(r.accountHandle)}\t${copyText(r.accountExternalId)}\t` +
    `${copyText(r.author)}\t${copyText(r.text)}\t${copyText(r.language)}\t${copyText(r.createdAt)}\t${copyText(r.url)}\t` +
    `${copyText(r.mediaType)}\t${copyText(r.likes)}\t${copyText(r.comments)}\t${copyText(r.shares)}\t${copyText(r.views)}\t` +
    `${copyText(r.saves)}\t${copyText(r.impressions)}\t${copyText(r.metricsCapturedAt)}\t${copyText(r.rawJson)}\n`
  );
}

/** Some rows of a PostBatch, ready for COPY: `data` is a view of the batch's buffer. */
export interface EncodedRows {
  count: number;
  data: Buffer;
}

const INITIAL_BATCH_BYTES = 1 << 20;
/** A batch that grew past this (huge records) gives its buffer back when cleared. */
const MAX_KEPT_BATCH_BYTES = 64 << 20;

/**
 * A batch of posts encoded for COPY as they are added: UTF-8 bytes in one buffer reused from
 * batch to batch, plus each row's source line, instead of an array of row objects. An array of
 * objects lives through several young-generation collections while the next batch is parsed, so
 * V8 promotes it, and the old generation (and the RSS) grows to several times the live data
 * before it is collected; these bytes are allocated once.
 */
export class PostBatch {
  private bytes = Buffer.allocUnsafe(INITIAL_BATCH_BYTES);
  private used = 0;
  /** Byte offset where each row ends. */
  private readonly ends: number[] = [];
  /** Source line of each row, for rejects. */
  readonly lines: number[] = [];

  get length(): number {
    return this.lines.length;
  }

  add(row: ImportPostRow, line: number): void {
    // The row's position in the batch orders duplicates within it (see upsertPostsStatement).
    const text = encodeRow(this.lines.length, row);
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.bytes.length - this.used < text.length * 3) {
      const grown = Buffer.allocUnsafe(
        Math.max(this.bytes.length * 2, this.used + text.length * 3),
      );
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    this.used += this.bytes.write(text, this.used, 'utf8');
    this.ends.push(this.used);
    this.lines.push(line);
  }

  /** Rows `from` (inclusive) to `to` (exclusive); valid until the next `add` or `clear`. */
  rows(from = 0, to = this.length): EncodedRows {
    const start = from === 0 ? 0 : (this.ends[from - 1] ?? 0);
    const end = to === 0 ? 0 : (this.ends[to - 1] ?? start);
    return { count: to - from, data: this.bytes.subarray(start, end) };
  }

  clear(): void {
    this.used = 0;
    this.ends.length = 0;
    this.lines.length = 0;
    if (this.bytes.length > MAX_KEPT_BATCH_BYTES) {
      this.bytes = Buffer.allocUnsafe(INITIAL_BATCH_BYTES);
    }
  }
}

const newer = 'EXCLUDED.metrics_captured_at >= p.metrics_captured_at';

/**
 * Columns a source knows only roughly, which fill a post that lacks them and never replace a
 * stored value: YouTube Studio's export has a video's title without its description (the
 * common record keeps both in `text`), its publish day without the time, every upload as a
 * `video` (a synced post may be a `live` or a short), and a row of the export's table as its raw
 * record, poorer than the API's or Takeout's.
 */
export type ApproximateColumn = 'text' | 'created_at' | 'raw' | 'media_type';

function mergedValues(approximate: readonly ApproximateColumn[]): Record<string, string> {
  const values: Record<string, string> = {
    account_id: 'coalesce(EXCLUDED.account_id, p.account_id)',
    created_at: 'EXCLUDED.created_at',
    raw: `CASE WHEN ${newer} THEN EXCLUDED.raw ELSE p.raw END`,
    ...Object.fromEntries(DESCRIPTIVE.map((c) => [c, `coalesce(EXCLUDED.${c}, p.${c})`])),
    ...Object.fromEntries(
      METRICS.map((m) => [
        m,
        `CASE WHEN ${newer} THEN coalesce(EXCLUDED.${m}, p.${m}) ELSE p.${m} END`,
      ]),
    ),
  };
  for (const column of approximate) values[column] = `coalesce(p.${column}, EXCLUDED.${column})`;
  return values;
}

function upsertPostsStatement(approximate: readonly ApproximateColumn[]): string {
  const merged = mergedValues(approximate);
  const setList = Object.entries(merged)
    .map(([column, value]) => `${column} = ${value}`)
    .join(',\n      ');
  // The raw record alone does not make a change: a re-import of an export (same post, other
  // source columns) is "unchanged"; when anything else changes, the newest raw comes along.
  const changed = Object.entries(merged)
    .filter(([column]) => column !== 'raw')
    .map(([column, value]) => `(${value}) IS DISTINCT FROM p.${column}`)
    .join('\n      OR ');
  // One statement cannot update a post twice, so a post staged more than once is written in
  // passes, its rows in file order ($4: the pass), each merged like a record of a later import.
  // The last pass ($5) takes what is left of each post at once, its newest metrics' row: a post
  // repeated thousands of times in a batch costs a bounded number of statements.
  return `
  WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY platform, external_id ORDER BY ord) AS pass
    FROM import_staging
  ), src AS (
    SELECT DISTINCT ON (platform, external_id) * FROM ranked
    WHERE pass = $4 OR ($5::boolean AND pass > $4)
    ORDER BY platform, external_id, coalesce(metrics_captured_at, $3) DESC, ord DESC
  ), written AS (
    INSERT INTO posts AS p (workspace_id, platform, external_id, account_id, author, text, language, created_at, url,
      media_type, ${METRICS.join(', ')}, metrics_captured_at, raw, source, imported_at, updated_at)
    SELECT $1::uuid, s.platform, s.external_id, a.id, s.author, s.text, s.language, s.created_at, s.url, s.media_type,
      ${METRICS.map((m) => `s.${m}`).join(', ')}, coalesce(s.metrics_captured_at, $3), s.raw, $2, $3, $3
    FROM src s
    LEFT JOIN platform_accounts a
      ON a.workspace_id = $1::uuid AND a.platform = s.platform AND lower(a.handle) = lower(s.account_handle)
    ON CONFLICT (workspace_id, platform, external_id) DO UPDATE SET
      ${setList},
      metrics_captured_at = greatest(p.metrics_captured_at, EXCLUDED.metrics_captured_at),
      source = EXCLUDED.source,
      updated_at = EXCLUDED.updated_at
    WHERE ${changed}
    RETURNING p.id, p.platform, p.external_id, (xmax = 0) AS inserted
  ), remembered AS (
    INSERT INTO import_written_posts (platform, external_id, post_id)
    SELECT w.platform, w.external_id, w.id FROM written w
    WHERE NOT EXISTS (
      SELECT 1 FROM import_written_posts r WHERE r.platform = w.platform AND r.external_id = w.external_id
    )
  )
  SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
         count(*) FILTER (WHERE NOT inserted)::int AS updated,
         (SELECT count(*) FROM src)::int AS distinct_rows,
         (SELECT coalesce(max(pass), 0) FROM ranked)::int AS passes
  FROM written`;
}

const UPSERT_POSTS = upsertPostsStatement([]);
const UPSERT_POSTS_FILLING_GAPS = upsertPostsStatement(['text', 'created_at', 'raw', 'media_type']);

// $1 workspace, $2 source, $3 import time (default capture time of metrics).
const UPSERT_ACCOUNTS = `
  INSERT INTO platform_accounts (workspace_id, platform, handle, external_id)
  SELECT DISTINCT ON (platform, lower(account_handle)) $1::uuid, platform, account_handle, account_external_id
  FROM import_staging WHERE account_handle IS NOT NULL
  ORDER BY platform, lower(account_handle), account_external_id NULLS LAST
  ON CONFLICT (workspace_id, platform, lower(handle)) DO UPDATE SET external_id = EXCLUDED.external_id
  WHERE platform_accounts.external_id IS NULL AND EXCLUDED.external_id IS NOT NULL`;

// The post of each staged row: the id the upsert returned (every row of a first import), else
// one probe of the unique key (rows the upsert left unchanged). Not a plain join with posts:
// without statistics on the temp table and with stale ones on posts, the planner hashes every
// post of the workspace for each batch (quadratic over a large import), and on a table not yet
// analyzed it probes (workspace, platform, created_at) filtering on external_id. LIMIT 1 keeps
// the lateral probe from being flattened into a join; the unique key means it drops no match.
// Right after a large write (a first import) that plan depends on fresh statistics: see
// refreshPostStatisticsIfStale, which each import calls first.
const INSERT_SNAPSHOTS = `
  INSERT INTO post_metric_snapshots (workspace_id, post_id, captured_at, ${METRICS.join(', ')})
  SELECT $1::uuid, coalesce(w.post_id, e.id), coalesce(s.metrics_captured_at, $2), ${METRICS.map((m) => `s.${m}`).join(', ')}
  FROM import_staging s
  LEFT JOIN import_written_posts w ON w.platform = s.platform AND w.external_id = s.external_id
  LEFT JOIN LATERAL (
    SELECT id FROM posts
    WHERE w.post_id IS NULL AND workspace_id = $1::uuid AND platform = s.platform AND external_id = s.external_id
    LIMIT 1
  ) e ON true
  WHERE num_nonnulls(${METRICS.map((m) => `s.${m}`).join(', ')}) > 0 AND coalesce(w.post_id, e.id) IS NOT NULL
  ON CONFLICT (post_id, captured_at) DO NOTHING`;

/** Statements a batch spends on a post's repeats; the rest are merged in the last one. */
const MAX_DUPLICATE_PASSES = 16;

/**
 * Refreshes the statistics of posts when a fifth of it (at least 1,000 rows) changed since they
 * were taken (migration 0023), so that an import's probes of the unique key are planned as such;
 * whether it did.
 */
export async function refreshPostStatisticsIfStale(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ refreshed: boolean }>(
    'SELECT refresh_post_statistics() AS refreshed',
  );
  return rows[0]?.refreshed ?? false;
}

/**
 * Writes one batch in the caller's transaction: COPY into staging, upsert accounts, upsert
 * posts keeping the newest metrics (only rows that really change are rewritten), and append a
 * metric snapshot per record. Re-importing identical data writes nothing but snapshots.
 * `fillGapsOnly`: the source's text, publish time and raw record are approximate
 * ({@link ApproximateColumn}) and only fill a post that has none.
 */
export async function upsertPostBatch(
  client: pg.ClientBase,
  workspaceId: string,
  source: string,
  importedAt: string,
  rows: EncodedRows,
  options: { fillGapsOnly?: boolean } = {},
): Promise<BatchOutcome> {
  const copy = client.query(
    copyStreams.from(`COPY import_staging (${STAGING_COLUMNS.join(', ')}) FROM STDIN`),
  );
  await pipeline(Readable.from([rows.data]), copy);
  await client.query(UPSERT_ACCOUNTS, [workspaceId]);
  const upsert = options.fillGapsOnly ? UPSERT_POSTS_FILLING_GAPS : UPSERT_POSTS;
  const pass = async (n: number) =>
    (
      await client.query<{
        inserted: number;
        updated: number;
        distinct_rows: number;
        passes: number;
      }>(upsert, [workspaceId, source, importedAt, n, n === MAX_DUPLICATE_PASSES])
    ).rows[0];
  const first = await pass(1);
  // Later records of a post repeated in the batch fill in what earlier ones left unknown,
  // as the same records in separate files would (only the first pass is counted, below).
  const passes = Math.min(first?.passes ?? 0, MAX_DUPLICATE_PASSES);
  for (let n = 2; n <= passes; n++) await pass(n);
  await client.query(INSERT_SNAPSHOTS, [workspaceId, importedAt]);
  const c = first ?? { inserted: 0, updated: 0, distinct_rows: 0 };
  // Duplicates of one post within the batch count as updates of it.
  const duplicates = rows.count - c.distinct_rows;
  return {
    inserted: c.inserted,
    updated: c.updated + duplicates,
    unchanged: c.distinct_rows - c.inserted - c.updated,
  };
}

/**
 * Writes rows [0, count) through `write`, isolating the rows PostgreSQL refuses for their data:
 * a refused part is split in halves and tried again until each refused row stands alone, and
 * `refused` hears it; the rest is written. `write(from, to)` writes that part and, when it fails,
 * undoes it (its own transaction, or a savepoint) before it throws. Other errors end the write.
 */
export async function writeIsolatingRefusedRows(
  count: number,
  write: (from: number, to: number) => Promise<BatchOutcome>,
  refused: (index: number, error: Error) => void,
): Promise<BatchOutcome> {
  const total: BatchOutcome = { inserted: 0, updated: 0, unchanged: 0 };
  const attempt = async (from: number, to: number): Promise<void> => {
    try {
      const written = await write(from, to);
      total.inserted += written.inserted;
      total.updated += written.updated;
      total.unchanged += written.unchanged;
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (to - from === 1) {
        refused(from, error as Error);
        return;
      }
      const middle = from + Math.ceil((to - from) / 2);
      await attempt(from, middle);
      await attempt(middle, to);
    }
  };
  if (count > 0) await attempt(0, count);
  return total;
}

/** Whether a PostgreSQL error is about the data of a row (worth isolating) rather than the connection. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
