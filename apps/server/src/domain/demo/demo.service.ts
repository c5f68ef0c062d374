import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Pool } from '../../db/pool.js';
import { countAllWorkspaces } from '../../db/repos/workspaces.repo.js';
import { findFirstInstanceAdmin } from '../../db/repos/users.repo.js';
import { createWorkspace } from '../workspaces/workspaces.service.js';
import { importPosts } from '../imports/import.service.js';
import type { ImportRunRecord } from '../../db/repos/imports.repo.js';

export const demoPostsFile = fileURLToPath(
  new URL('../../../../../examples/demo-posts.jsonl', import.meta.url),
);

/**
 * Fills a "Demo" workspace from examples/ when the database has no workspace at all, so a
 * newcomer sees data at once; the instance's first admin becomes its owner. Returns null
 * when there was something already.
 */
export async function seedDemoWorkspace(
  pool: Pool,
  options: { batchSize: number; maxRecordBytes: number },
): Promise<ImportRunRecord | null> {
  if ((await countAllWorkspaces(pool)) > 0) return null;
  // The instance's first admin owns it; with no account yet, the first one adopts it at sign-up.
  const admin = await findFirstInstanceAdmin(pool);
  const workspace = await createWorkspace(pool, 'Demo', admin?.id ?? null, {
    userId: null,
    label: 'system',
  });
  return importPosts(
    pool,
    {
      fileName: 'examples/demo-posts.jsonl',
      format: 'jsonl',
      stream: createReadStream(demoPostsFile),
    },
    {
      workspaceId: workspace.id,
      source: 'demo',
      batchSize: options.batchSize,
      maxRecordBytes: options.maxRecordBytes,
    },
  );
}
