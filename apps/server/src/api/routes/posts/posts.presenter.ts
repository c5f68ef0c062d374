import type { Post } from '@socialpulse/contracts';
import type { PostRecord, SnapshotRecord } from '../../../db/repos/posts.repo.js';

export function presentPost(p: PostRecord): Post {
  return {
    id: p.id,
    workspace_id: p.workspaceId,
    platform: p.platform as Post['platform'],
    external_id: p.externalId,
    account_id: p.accountId,
    account_handle: p.accountHandle,
    author: p.author,
    text: p.text,
    language: p.language,
    created_at: p.createdAt.toISOString(),
    url: p.url,
    media_type: p.mediaType as Post['media_type'],
    likes: p.likes,
    comments: p.comments,
    shares: p.shares,
    views: p.views,
    saves: p.saves,
    impressions: p.impressions,
    metrics_captured_at: p.metricsCapturedAt.toISOString(),
    source: p.source,
    imported_at: p.importedAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

/** Keeps only the requested fields (sparse fieldsets); null keeps all. */
export function pickFields(post: Post, fields: readonly (keyof Post)[] | null): Partial<Post> {
  if (!fields) return post;
  const out: Partial<Post> = {};
  for (const f of fields) (out as Record<string, unknown>)[f] = post[f];
  return out;
}

export const presentSnapshot = (s: SnapshotRecord) => ({
  captured_at: s.capturedAt.toISOString(),
  likes: s.likes,
  comments: s.comments,
  shares: s.shares,
  views: s.views,
  saves: s.saves,
  impressions: s.impressions,
});
