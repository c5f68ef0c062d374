import { randomUUID } from 'node:crypto';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import { upsertMembership } from '../../db/repos/memberships.repo.js';
import {
  insertWorkspace,
  listUnownedWorkspaceIds,
  type WorkspaceRecord,
} from '../../db/repos/workspaces.repo.js';

export interface Actor {
  /** The user acting, or null for the operator (CLI) and the system (demo seed). */
  userId: string | null;
  /** Shown in the audit log: a user id, `api_key:<prefix>`, `cli` or `system`. */
  label: string;
  ip?: string | null;
  requestId?: string | null;
}

/** Creates a workspace; its creator (when a user) becomes its owner. */
export async function createWorkspace(
  pool: Pool,
  name: string,
  owner: string | null,
  actor: Actor,
): Promise<WorkspaceRecord> {
  const id = randomUUID();
  return withTenant(pool, { workspaceId: id, userId: actor.userId }, async (c) => {
    const workspace = await insertWorkspace(c, { id, name, createdBy: owner });
    if (owner) await upsertMembership(c, id, owner, 'owner');
    await insertAuditEntry(c, {
      workspaceId: id,
      userId: actor.userId,
      actor: actor.label,
      action: 'workspace.created',
      target: id,
      details: { name, owner },
      ip: actor.ip ?? null,
      requestId: actor.requestId ?? null,
    });
    return workspace;
  });
}

/** Gives the instance's first admin the workspaces nobody owns (the Demo, CLI imports). */
export async function adoptOrphanWorkspaces(pool: Pool, userId: string): Promise<number> {
  const ids = await listUnownedWorkspaceIds(pool);
  for (const id of ids) {
    await withTenant(pool, { workspaceId: id, userId }, async (c) => {
      await upsertMembership(c, id, userId, 'owner');
      await insertAuditEntry(c, {
        workspaceId: id,
        userId,
        actor: 'system',
        action: 'member.added',
        target: userId,
        details: { role: 'owner', reason: 'first_admin' },
      });
    });
  }
  return ids.length;
}
