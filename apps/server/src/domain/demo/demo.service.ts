import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Pool } from '../../db/pool.js';
import { countWorkspaces, insertWorkspace } from '../../db/repos/workspaces.repo.js';
import { importPosts } from '../imports/import.service.js';
import type { ImportRunRecord } from '../../db/repos/imports.repo.js';

export const demoPostsFile = fileURLToPath(new URL('../../../../../examples/demo-posts.jsonl', import.meta.url));

/**
 * Fills a "Demo" workspace from examples/ when the database has no workspace at all, so a
 * newcomer sees data at once. Returns null when there was something already.
 */
export async function seedDemoWorkspace(pool: Pool, options: { batchSize: number; maxRecordBytes: number }): Promise<ImportRunRecord | null> {
  if ((await countWorkspaces(pool)) > 0) return null;
  const workspace = await insertWorkspace(pool, 'Demo');
  return importPosts(
    pool,
    { fileName: 'examples/demo-posts.jsonl', format: 'jsonl', stream: createReadStream(demoPostsFile) },
    { workspaceId: workspace.id, source: 'demo', batchSize: options.batchSize, maxRecordBytes: options.maxRecordBytes },
  );
}
