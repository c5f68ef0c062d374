import type { Workspace } from '@socialpulse/contracts';
import type { WorkspaceRecord } from '../../../db/repos/workspaces.repo.js';

export const presentWorkspace = (w: WorkspaceRecord): Workspace => ({
  id: w.id,
  name: w.name,
  created_at: w.createdAt.toISOString(),
  post_count: w.postCount,
});
