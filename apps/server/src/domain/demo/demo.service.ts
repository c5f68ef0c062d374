import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Pool } from '../../db/pool.js';
import { countAllWorkspaces } from '../../db/repos/workspaces.repo.js';
import { createWorkspace } from '../workspaces/workspaces.service.js';
import { importPosts } from '../imports/import.service.js';
import type { ImportRunRecord } from '../../db/repos/imports.repo.js';

export const demoPostsFile = fileURLToPath(new URL('../../../../../examples/demo-posts.jsonl', import.meta.url));

/**
 * Fills a "Demo" workspace from examples/ when the database has no workspace at all, so a
 * newcomer sees data at once; the instance's first admin becomes its owner. Returns null
 * when there was something already.
 */
export async function seedDemoWorkspace(pool: Pool, options: { batchSize: number; maxRecordBytes: number }): Promise<ImportRunRecord | null> {
  if ((await countAllWorkspaces(pool)) > 0) return null;
  // Nobody owns it yet: the first account of the instance adopts it.
  const workspace = await createWorkspace(pool, 'Demo', null, { userId: null, label: 'system' });
  return importPosts(
    pool,
    { fileName: 'examples/demo-posts.jsonl', format: 'jsonl', stream: createReadStream(demoPostsFile) },
    { workspaceId: workspace.id, source: 'demo', batchSize: options.batchSize, maxRecordBytes: options.maxRecordBytes },
  );
}
