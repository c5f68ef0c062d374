import { metricNames, postExportFilterNames, type PostExportFilters } from '@socialpulse/contracts';
import type { TenantRunner } from '../../db/tenant.js';
import { guardFormula } from '../imports/csv-formula-guard.js';
import {
  accountExternalIdsOf,
  listPosts,
  type PostFilter,
  type PostKey,
  type PostRecord,
} from '../../db/repos/posts.repo.js';

export type ExportFormat = 'csv' | 'jsonl';

/** Exported columns are the import format's, so an export imports back unchanged. */
export const exportColumns = [
  'platform',
  'external_id',
  'created_at',
  'account_handle',
  'account_external_id',
  'author',
  'text',
  'language',
  'url',
  'media_type',
  ...metricNames,
  'metrics_captured_at',
] as const;

function toImportShape(
  p: PostRecord,
  accountExternalIds: ReadonlyMap<string, string>,
): Record<(typeof exportColumns)[number], string | number | null> {
  return {
    platform: p.platform,
    external_id: p.externalId,
    created_at: p.createdAt.toISOString(),
    account_handle: p.accountHandle,
    account_external_id:
      p.accountId === null ? null : (accountExternalIds.get(p.accountId) ?? null),
    author: p.author,
    text: p.text,
    language: p.language,
    url: p.url,
    media_type: p.mediaType,
    likes: p.likes,
    comments: p.comments,
    shares: p.shares,
    views: p.views,
    saves: p.saves,
    impressions: p.impressions,
    metrics_captured_at: p.metricsCapturedAt.toISOString(),
  };
}

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (posts, topics and rationales come
 * from the public and from the model) gets a leading apostrophe that a CSV import removes again
 * (`guardFormula`); numbers stay numbers.
 */
export const csvCell = (v: string | number | null): string => {
  if (v === null) return '';
  const s = typeof v === 'string' ? guardFormula(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/**
 * The filters an export applies, as its audit entry records them: those given, and nothing
 * the posts list would add (an export has no page size).
 */
export function appliedExportFilters(filters: PostExportFilters): Partial<PostExportFilters> {
  const applied: Partial<PostExportFilters> = {};
  for (const name of postExportFilterNames) {
    const value = filters[name];
    if (value !== undefined) Object.assign(applied, { [name]: value });
  }
  return applied;
}

/**
 * Streams a workspace's posts page by page (keyset pagination, constant memory) as CSV or
 * JSON Lines text chunks.
 */
export async function* exportPosts(
  run: TenantRunner,
  filter: PostFilter,
  format: ExportFormat,
  pageSize = 2000,
): AsyncGenerator<string> {
  if (format === 'csv') yield exportColumns.join(',') + '\n';
  let after: PostKey | null = null;
  for (;;) {
    const position: PostKey | null = after;
    const { page, accounts } = await run(async (c) => {
      const found = await listPosts(c, filter, position, pageSize);
      return {
        page: found,
        // The import keeps an account's platform id only the first time it is known: an export
        // without it would lose it for good in a workspace restored from the export.
        accounts: await accountExternalIdsOf(
          c,
          filter.workspaceId,
          found.posts.flatMap((p) => (p.accountId === null ? [] : [p.accountId])),
        ),
      };
    });
    let chunk = '';
    for (const post of page.posts) {
      const row = toImportShape(post, accounts);
      chunk +=
        format === 'csv'
          ? exportColumns.map((c) => csvCell(row[c])).join(',') + '\n'
          : JSON.stringify(row) + '\n';
    }
    if (chunk) yield chunk;
    if (!page.hasMore || !page.last) return;
    after = page.last;
  }
}
