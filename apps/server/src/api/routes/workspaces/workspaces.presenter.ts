import type { Workspace } from '@socialpulse/contracts';
import type { WorkspaceRecord } from '../../../db/repos/workspaces.repo.js';
import type { Role } from '../../../domain/auth/permissions.js';

export const presentWorkspace = (w: WorkspaceRecord, role: Role | null): Workspace => ({
  id: w.id,
  name: w.name,
  created_at: w.createdAt.toISOString(),
  post_count: w.postCount,
  require_mfa: w.requireMfa,
  role,
});
