import type { Queryable } from '../pool.js';
import { notFound } from '../../errors.js';

export interface PostRecord {
  id: string;
  workspaceId: string;
  platform: string;
  externalId: string;
  accountId: string | null;
  accountHandle: string | null;
  author: string | null;
  text: string | null;
  language: string | null;
  createdAt: Date;
  url: string | null;
  mediaType: string | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  views: number | null;
  saves: number | null;
  impressions: number | null;
  metricsCapturedAt: Date;
  source: string;
  importedAt: Date;
  updatedAt: Date;
}

/** Position in the (created_at DESC, id DESC) order; createdAtMicros keeps full precision. */
export interface PostKey {
  createdAtMicros: string;
  id: string;
}

export interface PostFilter {
  workspaceId: string;
  platform?: string | undefined;
  account?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  q?: string | undefined;
}

interface PostRow {
  id: number;
  workspace_id: string;
  platform: string;
  external_id: string;
  account_id: number | null;
  account_handle: string | null;
  author: string | null;
  text: string | null;
  language: string | null;
  created_at: Date;
  created_at_us: string;
  url: string | null;
  media_type: string | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  views: number | null;
  saves: number | null;
  impressions: number | null;
  metrics_captured_at: Date;
  source: string;
  imported_at: Date;
  updated_at: Date;
}

const toPost = (r: PostRow): PostRecord => ({
  id: String(r.id),
  workspaceId: r.workspace_id,
  platform: r.platform,
  externalId: r.external_id,
  accountId: r.account_id === null ? null : String(r.account_id),
  accountHandle: r.account_handle,
  author: r.author,
  text: r.text,
  language: r.language,
  createdAt: r.created_at,
  url: r.url,
  mediaType: r.media_type,
  likes: r.likes,
  comments: r.comments,
  shares: r.shares,
  views: r.views,
  saves: r.saves,
  impressions: r.impressions,
  metricsCapturedAt: r.metrics_captured_at,
  source: r.source,
  importedAt: r.imported_at,
  updatedAt: r.updated_at,
});

const SELECT = `SELECT p.id, p.workspace_id, p.platform, p.external_id, p.account_id, a.handle AS account_handle, p.author,
  p.text, p.language, p.created_at, (extract(epoch FROM p.created_at) * 1000000)::bigint::text AS created_at_us, p.url,
  p.media_type, p.likes, p.comments, p.shares, p.views, p.saves, p.impressions, p.metrics_captured_at, p.source,
  p.imported_at, p.updated_at
  FROM posts p LEFT JOIN platform_accounts a ON a.id = p.account_id`;

function buildWhere(filter: PostFilter, after: PostKey | null): { sql: string; params: unknown[] } {
  const params: unknown[] = [filter.workspaceId];
  const clauses = ['p.workspace_id = $1'];
  const add = (sql: (n: string) => string, value: unknown): void => {
    params.push(value);
    clauses.push(sql(`$${params.length}`));
  };
  if (filter.platform) add((n) => `p.platform = ${n}`, filter.platform);
  if (filter.account) {
    if (/^\d{1,18}$/.test(filter.account))
      add(
        (n) => `(p.account_id = ${n}::bigint OR lower(a.handle) = lower(${n}::text))`,
        filter.account,
      );
    else add((n) => `lower(a.handle) = lower(${n})`, filter.account.replace(/^@/, ''));
  }
  if (filter.since) add((n) => `p.created_at >= ${n}::timestamptz`, filter.since);
  if (filter.until) add((n) => `p.created_at < ${n}::timestamptz`, filter.until);
  if (filter.q) add((n) => `p.search @@ websearch_to_tsquery('simple', ${n})`, filter.q);
  if (after) {
    params.push(after.createdAtMicros, after.id);
    const us = `$${params.length - 1}`;
    const id = `$${params.length}`;
    clauses.push(
      `(p.created_at, p.id) < (timestamptz 'epoch' + ${us}::bigint * interval '1 microsecond', ${id}::bigint)`,
    );
  }
  return { sql: clauses.join(' AND '), params };
}

/** One page in (created_at DESC, id DESC) order, plus the key to continue after it. */
export async function listPosts(
  db: Queryable,
  filter: PostFilter,
  after: PostKey | null,
  limit: number,
): Promise<{ posts: PostRecord[]; last: PostKey | null; hasMore: boolean }> {
  const { sql, params } = buildWhere(filter, after);
  params.push(limit + 1);
  const { rows } = await db.query<PostRow>(
    `${SELECT} WHERE ${sql} ORDER BY p.created_at DESC, p.id DESC LIMIT $${params.length}`,
    params,
  );
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const lastRow = page[page.length - 1];
  return {
    posts: page.map(toPost),
    last: lastRow ? { createdAtMicros: lastRow.created_at_us, id: String(lastRow.id) } : null,
    hasMore,
  };
}

/**
 * The ids of the posts a filter (and optionally an explicit id list) selects, oldest first,
 * at most `limit`; for analyses, which snapshot their selection when submitted.
 */
export async function selectPostIds(
  db: Queryable,
  filter: PostFilter,
  ids: readonly string[] | null,
  limit: number,
): Promise<number[]> {
  const { sql, params } = buildWhere(filter, null);
  let where = sql;
  if (ids) {
    params.push(ids);
    where += ` AND p.id = ANY($${params.length}::bigint[])`;
  }
  params.push(limit);
  const { rows } = await db.query<{ id: number }>(
    `SELECT p.id FROM posts p LEFT JOIN platform_accounts a ON a.id = p.account_id WHERE ${where} ORDER BY p.created_at, p.id LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => r.id);
}

/** Text and declared language of posts by id, for the analysers. */
export async function getPostTexts(
  db: Queryable,
  workspaceId: string,
  ids: readonly number[],
): Promise<{ id: number; text: string | null; language: string | null }[]> {
  const { rows } = await db.query<{ id: number; text: string | null; language: string | null }>(
    'SELECT id, text, language FROM posts WHERE workspace_id = $1 AND id = ANY($2::bigint[])',
    [workspaceId, ids],
  );
  return rows;
}

export async function getPost(db: Queryable, workspaceId: string, id: string): Promise<PostRecord> {
  const { rows } = await db.query<PostRow>(
    `${SELECT} WHERE p.workspace_id = $1 AND p.id = $2::bigint`,
    [workspaceId, id],
  );
  if (!rows[0]) throw notFound('post', id);
  return toPost(rows[0]);
}

export interface SnapshotRecord {
  capturedAt: Date;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  views: number | null;
  saves: number | null;
  impressions: number | null;
}

export async function listSnapshots(
  db: Queryable,
  workspaceId: string,
  postId: string,
): Promise<SnapshotRecord[]> {
  const { rows } = await db.query<{
    captured_at: Date;
    likes: number | null;
    comments: number | null;
    shares: number | null;
    views: number | null;
    saves: number | null;
    impressions: number | null;
  }>(
    `SELECT captured_at, likes, comments, shares, views, saves, impressions FROM post_metric_snapshots
     WHERE workspace_id = $1 AND post_id = $2::bigint ORDER BY captured_at`,
    [workspaceId, postId],
  );
  return rows.map((r) => ({
    capturedAt: r.captured_at,
    likes: r.likes,
    comments: r.comments,
    shares: r.shares,
    views: r.views,
    saves: r.saves,
    impressions: r.impressions,
  }));
}

/** The platform's ids of these accounts (those that have one), by account id. */
export async function accountExternalIdsOf(
  db: Queryable,
  workspaceId: string,
  accountIds: readonly string[],
): Promise<Map<string, string>> {
  const ids = [...new Set(accountIds)];
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; external_id: string }>(
    `SELECT id::text AS id, external_id FROM platform_accounts
     WHERE workspace_id = $1 AND id = ANY($2::bigint[]) AND external_id IS NOT NULL`,
    [workspaceId, ids],
  );
  return new Map(rows.map((r) => [r.id, r.external_id]));
}
