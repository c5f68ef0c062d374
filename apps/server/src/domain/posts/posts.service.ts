import { postFieldNames, type Post, type PostListQuery } from '@socialpulse/contracts';
import { validationFailed } from '../../errors.js';
import type { Queryable } from '../../db/pool.js';
import { listPosts, type PostFilter, type PostRecord } from '../../db/repos/posts.repo.js';
import { getWorkspace } from '../../db/repos/workspaces.repo.js';
import { decodeCursor, encodeCursor, filterFingerprint } from './cursor.js';

/** Parses `fields=a,b` into a validated list (null means every field). */
export function parseFields(fields: string | undefined): (keyof Post)[] | null {
  if (fields === undefined) return null;
  const names = fields
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(postFieldNames as string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw validationFailed(
      `fields: unknown field(s) ${unknown.map((u) => `"${u}"`).join(', ') || '(none given)'}`,
      {
        field: 'fields',
        value: fields,
        allowed: postFieldNames,
      },
    );
  }
  return names as (keyof Post)[];
}

export interface PostPage {
  posts: PostRecord[];
  nextCursor: string | null;
}

/**
 * zod's ISO check lets through instants PostgreSQL refuses to parse (year 0000, offsets past
 * ±15:59) and text with NUL characters, which PostgreSQL text cannot hold: each would fail in
 * the query as a 500, so it is a 400 here.
 */
function checkStorable(query: Pick<PostListQuery, 'account' | 'since' | 'until' | 'q'>): void {
  for (const field of ['since', 'until'] as const) {
    const value = query[field];
    if (value === undefined) continue;
    const offset = /([+-])(\d{2}):?\d{2}$/.exec(value);
    if (value.startsWith('0000') || (offset && Number(offset[2]) > 15)) {
      throw validationFailed(
        `${field} must be in year 0001 or later with a UTC offset within ±15:59`,
        { field, value },
      );
    }
  }
  for (const field of ['account', 'q'] as const) {
    if (query[field]?.includes('\u0000'))
      throw validationFailed(`${field} must not contain a NUL character`, { field });
  }
}

export function toFilter(
  workspaceId: string,
  query: Pick<PostListQuery, 'platform' | 'account' | 'since' | 'until' | 'q'>,
): PostFilter {
  checkStorable(query);
  if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
    throw validationFailed('since must be before until', { field: 'since', value: query.since });
  }
  return {
    workspaceId,
    platform: query.platform,
    account: query.account,
    since: query.since,
    until: query.until,
    q: query.q,
  };
}

/** One page of a workspace's posts, newest first, with an opaque cursor for the next. */
export async function listPostPage(
  db: Queryable,
  workspaceId: string,
  query: PostListQuery,
): Promise<PostPage> {
  await getWorkspace(db, workspaceId);
  const filter = toFilter(workspaceId, query);
  const fingerprint = filterFingerprint({ ...filter });
  const after = query.cursor ? decodeCursor(query.cursor, fingerprint) : null;
  const page = await listPosts(db, filter, after, query.limit);
  return {
    posts: page.posts,
    nextCursor: page.hasMore && page.last ? encodeCursor(page.last, fingerprint) : null,
  };
}
