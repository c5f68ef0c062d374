import type { DeadLetterView, ConnectionView, SyncRunView } from '@socialpulse/contracts';
import type { Connection } from '../../../db/repos/connections.repo.js';
import type { DeadLetter } from '../../../db/repos/dead-letters.repo.js';
import type { SyncRun } from '../../../db/repos/sync-runs.repo.js';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** A connection as the API shows it: status and schedule, never the credentials. */
export function presentConnection(c: Connection): ConnectionView {
  return {
    id: c.id,
    workspace_id: c.workspaceId,
    platform: c.platform,
    account: { external_id: c.externalAccountId, handle: c.handle },
    api: c.api,
    status: c.status,
    poll_minutes: c.pollMinutes,
    last_sync_at: iso(c.lastSyncAt),
    next_sync_at: iso(c.nextSyncAt),
    blocked_until: iso(c.blockedUntil),
    last_error: c.lastError,
    token_expires_at: iso(c.tokenExpiresAt),
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export function presentSyncRun(r: SyncRun): SyncRunView {
  return {
    id: r.id,
    workspace_id: r.workspaceId,
    connection_id: r.connectionId,
    kind: r.kind,
    trigger: r.trigger,
    status: r.status,
    requests: r.requests,
    posts_collected: r.postsCollected,
    snapshots: r.snapshots,
    skipped: r.skipped,
    gaps: r.gaps.map((g) => ({
      what: g.what,
      reason: g.reason,
      detail: g.detail,
      count: g.count,
      ...(g.resourceIds ? { resource_ids: g.resourceIds } : {}),
      ...(g.resetAt !== undefined ? { reset_at: g.resetAt } : {}),
    })),
    error: r.error,
    queued_at: r.queuedAt.toISOString(),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
  };
}

export function presentDeadLetter(d: DeadLetter): DeadLetterView {
  return {
    id: d.id,
    workspace_id: d.workspaceId,
    connection_id: d.connectionId,
    operation: d.operation,
    request: d.request,
    error: d.error,
    attempts: d.attempts,
    status: d.status,
    first_failed_at: d.firstFailedAt.toISOString(),
    last_failed_at: d.lastFailedAt.toISOString(),
    replayed_at: iso(d.replayedAt),
  };
}
