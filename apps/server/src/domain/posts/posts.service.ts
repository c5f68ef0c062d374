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
    throw validationFailed(`fields: unknown field(s) ${unknown.map((u) => `"${u}"`).join(', ') || '(none given)'}`, {
      field: 'fields',
      value: fields,
      allowed: postFieldNames,
    });
  }
  return names as (keyof Post)[];
}

export interface PostPage {
  posts: PostRecord[];
  nextCursor: string | null;
}

export function toFilter(workspaceId: string, query: Pick<PostListQuery, 'platform' | 'account' | 'since' | 'until' | 'q'>): PostFilter {
  if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
    throw validationFailed('since must be before until', { field: 'since', value: query.since });
  }
  return { workspaceId, platform: query.platform, account: query.account, since: query.since, until: query.until, q: query.q };
}

/** One page of a workspace's posts, newest first, with an opaque cursor for the next. */
export async function listPostPage(db: Queryable, workspaceId: string, query: PostListQuery): Promise<PostPage> {
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
