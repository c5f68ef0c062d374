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
  'ord', 'platform', 'external_id', 'account_handle', 'account_external_id', 'author', 'text', 'language',
  'created_at', 'url', 'media_type', ...METRICS, 'metrics_captured_at', 'raw',
];

/** Per-session staging table; rows vanish at commit, so each batch starts empty. */
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
  ) ON COMMIT DELETE ROWS`);
}

function encodeRows(rows: readonly ImportPostRow[]): string {
  let out = '';
  for (let i = 0; i < rows.length; i += 1) {
    const r = rows[i] as ImportPostRow;
    out +=
      `${i}\t${copyText(r.platform)}\t${copyText(r.externalId)}\t${copyText(r.accountHandle)}\t${copyText(r.accountExternalId)}\t` +
      `${copyText(r.author)}\t${copyText(r.text)}\t${copyText(r.language)}\t${copyText(r.createdAt)}\t${copyText(r.url)}\t` +
      `${copyText(r.mediaType)}\t${copyText(r.likes)}\t${copyText(r.comments)}\t${copyText(r.shares)}\t${copyText(r.views)}\t` +
      `${copyText(r.saves)}\t${copyText(r.impressions)}\t${copyText(r.metricsCapturedAt)}\t${copyText(r.rawJson)}\n`;
  }
  return out;
}

const newer = 'EXCLUDED.metrics_captured_at >= p.metrics_captured_at';
const mergedValue: Record<string, string> = {
  account_id: 'coalesce(EXCLUDED.account_id, p.account_id)',
  created_at: 'EXCLUDED.created_at',
  raw: `CASE WHEN ${newer} THEN EXCLUDED.raw ELSE p.raw END`,
  ...Object.fromEntries(DESCRIPTIVE.map((c) => [c, `coalesce(EXCLUDED.${c}, p.${c})`])),
  ...Object.fromEntries(METRICS.map((m) => [m, `CASE WHEN ${newer} THEN coalesce(EXCLUDED.${m}, p.${m}) ELSE p.${m} END`])),
};
const setList = Object.entries(mergedValue)
  .map(([column, value]) => `${column} = ${value}`)
  .join(',\n      ');
// The raw record alone does not make a change: a re-import of an export (same post, other
// source columns) is "unchanged"; when anything else changes, the newest raw comes along.
const changed = Object.entries(mergedValue)
  .filter(([column]) => column !== 'raw')
  .map(([column, value]) => `(${value}) IS DISTINCT FROM p.${column}`)
  .join('\n      OR ');

// $1 workspace, $2 source, $3 import time (default capture time of metrics).
const UPSERT_ACCOUNTS = `
  INSERT INTO platform_accounts (workspace_id, platform, handle, external_id)
  SELECT DISTINCT ON (platform, lower(account_handle)) $1::uuid, platform, account_handle, account_external_id
  FROM import_staging WHERE account_handle IS NOT NULL
  ORDER BY platform, lower(account_handle), account_external_id NULLS LAST
  ON CONFLICT (workspace_id, platform, lower(handle)) DO UPDATE SET external_id = EXCLUDED.external_id
  WHERE platform_accounts.external_id IS NULL AND EXCLUDED.external_id IS NOT NULL`;

const UPSERT_POSTS = `
  WITH src AS (
    SELECT DISTINCT ON (platform, external_id) *
    FROM import_staging
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
    RETURNING (xmax = 0) AS inserted
  )
  SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
         count(*) FILTER (WHERE NOT inserted)::int AS updated,
         (SELECT count(*) FROM src)::int AS distinct_rows
  FROM written`;

const INSERT_SNAPSHOTS = `
  INSERT INTO post_metric_snapshots (workspace_id, post_id, captured_at, ${METRICS.join(', ')})
  SELECT $1::uuid, p.id, coalesce(s.metrics_captured_at, $2), ${METRICS.map((m) => `s.${m}`).join(', ')}
  FROM import_staging s
  JOIN posts p ON p.workspace_id = $1::uuid AND p.platform = s.platform AND p.external_id = s.external_id
  WHERE num_nonnulls(${METRICS.map((m) => `s.${m}`).join(', ')}) > 0
  ON CONFLICT (post_id, captured_at) DO NOTHING`;

/**
 * Writes one batch in the caller's transaction: COPY into staging, upsert accounts, upsert
 * posts keeping the newest metrics (only rows that really change are rewritten), and append a
 * metric snapshot per record. Re-importing identical data writes nothing but snapshots.
 */
export async function upsertPostBatch(
  client: pg.ClientBase,
  workspaceId: string,
  source: string,
  importedAt: string,
  rows: readonly ImportPostRow[],
): Promise<BatchOutcome> {
  const copy = client.query(copyStreams.from(`COPY import_staging (${STAGING_COLUMNS.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from([encodeRows(rows)]), copy);
  await client.query(UPSERT_ACCOUNTS, [workspaceId]);
  const { rows: counts } = await client.query<{ inserted: number; updated: number; distinct_rows: number }>(UPSERT_POSTS, [
    workspaceId,
    source,
    importedAt,
  ]);
  await client.query(INSERT_SNAPSHOTS, [workspaceId, importedAt]);
  const c = counts[0] ?? { inserted: 0, updated: 0, distinct_rows: 0 };
  // Duplicates of one post within the batch count as updates of it.
  const duplicates = rows.length - c.distinct_rows;
  return { inserted: c.inserted, updated: c.updated + duplicates, unchanged: c.distinct_rows - c.inserted - c.updated };
}

/** Whether a PostgreSQL error is about the data of a row (worth isolating) rather than the connection. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
