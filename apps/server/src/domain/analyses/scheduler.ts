import type { PoolClient } from '../../db/pool.js';
import type { PgBoss } from 'pg-boss';
import { CHUNK_QUEUE, CHUNK_READY_CHANNEL, queueDb, type ChunkJobData } from '../../db/job-queue.js';
import { lockTurn, nextBacklogEntry, removeFromBacklog, setTurn, takeNextChunk } from '../../db/repos/analyses.repo.js';
import { setTenantScope, type TenantScope } from '../../db/tenant.js';

/**
 * Fair scheduling between requesters, at chunk granularity.
 *
 * Each requester (a user, or an API key) has at most ONE chunk job in the queue at a time: its
 * "turn". When that chunk finishes, the same transaction queues the requester's next chunk as a
 * NEW job, created now, so it joins the back of the line behind everyone who has waited longer.
 * pg-boss fetches by (priority, created_on): requesters with work take turns round-robin, a new
 * requester's first chunk waits behind at most one chunk of each requester ahead of it, and a
 * 100,000-post job holds one slot for one chunk at a time. Within a requester, analyses run
 * faster lane first, then oldest first, and chunks in order.
 *
 * The turn row is locked (FOR UPDATE) by every party that may hand out the next turn (a
 * submission, a finishing chunk, a dead-lettered chunk, a cancel or retry), so a requester
 * never ends up with two turns, or with work and none.
 */
export async function advanceTurn(
  client: PoolClient,
  boss: PgBoss,
  fairnessKey: string,
  finishingJobId: string | null,
  restoreScope: TenantScope,
): Promise<{ jobId: string | null }> {
  const turn = await lockTurn(client, fairnessKey);
  // A submission while a turn is out: the finishing chunk will pick the new work up.
  if (finishingJobId === null && turn.jobId !== null) return { jobId: turn.jobId };
  // A stale finisher (its job was replaced, e.g. deleted after a dead letter): not its call.
  if (finishingJobId !== null && turn.jobId !== null && turn.jobId !== finishingJobId) return { jobId: turn.jobId };
  try {
    for (;;) {
      const next = await nextBacklogEntry(client, fairnessKey);
      if (!next) {
        await setTurn(client, fairnessKey, { jobId: null, analysisId: null, seq: null });
        return { jobId: null };
      }
      await setTenantScope(client, { workspaceId: next.workspaceId, userId: null });
      const seq = await takeNextChunk(client, next.analysisId);
      if (seq === null) {
        await removeFromBacklog(client, next.analysisId);
        continue;
      }
      const data: ChunkJobData = { analysisId: next.analysisId, workspaceId: next.workspaceId, seq, fairnessKey };
      const jobId = await boss.send(CHUNK_QUEUE, data, { singletonKey: fairnessKey, priority: next.priority, db: queueDb(client) });
      if (!jobId) throw new Error(`pg-boss refused chunk ${next.analysisId}/${seq} of ${fairnessKey}`);
      await setTurn(client, fairnessKey, { jobId, analysisId: next.analysisId, seq }, CHUNK_READY_CHANNEL);
      return { jobId };
    }
  } finally {
    await setTenantScope(client, restoreScope);
  }
}

/** The requester a job is queued for: a person, or an API key acting alone. */
export function fairnessKeyOf(principal: { userId: string | null; apiKeyId: string | null }): string {
  if (principal.userId) return `user:${principal.userId}`;
  if (principal.apiKeyId) return `key:${principal.apiKeyId}`;
  return 'system';
}
