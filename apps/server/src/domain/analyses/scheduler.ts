import type { PoolClient } from '../../db/pool.js';
import type { PgBoss } from 'pg-boss';
import { CHUNK_QUEUE, queueDb, type ChunkJobData, type QueueDb } from '../../db/job-queue.js';
import { advanceTurnRow, type TurnDecision } from '../../db/repos/analyses.repo.js';

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
): Promise<{ jobId: string | null }> {
  // The turn lock, the backlog walk and the chunk's claim happen in the database in one round
  // trip (analysis_turn_advance, 0007); only pg-boss's insert is left to do here.
  const turn = await advanceTurnRow(client, fairnessKey, finishingJobId);
  await sendTurn(queueDb(client), boss, fairnessKey, turn);
  return { jobId: turn.jobId };
}

/** The job a turn decision queues anew, if any. */
export function turnJobId(turn: TurnDecision): string | null {
  return turn.queued && turn.chunk && turn.jobId ? turn.jobId : null;
}

/**
 * Sends the job a turn decision named, through `db` (the caller's transaction); a no-op when
 * none is new.
 */
export async function sendTurn(
  db: QueueDb,
  boss: PgBoss,
  fairnessKey: string,
  turn: TurnDecision,
): Promise<void> {
  const jobId = turnJobId(turn);
  if (!jobId || !turn.chunk) return;
  const { analysisId, workspaceId, seq, priority } = turn.chunk;
  const data: ChunkJobData = { analysisId, workspaceId, seq, fairnessKey };
  // The id was chosen (and recorded on the turn row) by the database, so the turn and the job agree.
  const sent = await boss.send(CHUNK_QUEUE, data, {
    id: jobId,
    singletonKey: fairnessKey,
    priority,
    db,
  });
  if (sent !== jobId)
    throw new Error(`pg-boss refused chunk ${analysisId}/${seq} of ${fairnessKey}`);
}

/**
 * Whether a new turn job could be fetched before jobs already queued. Turns created now join
 * the back of their lane, so only a lane above the lowest (priorities are 0–10, 0 the normal
 * lane) can put one ahead of queued jobs.
 */
export function mayOutrankQueuedTurns(turn: TurnDecision): boolean {
  return turn.queued && (turn.chunk?.priority ?? 0) > 0;
}

/**
 * The requester a job is queued for: a person, an API key acting alone, or else the workspace
 * itself (an operator's `socialpulse analyses start`, which acts for a workspace as a key does).
 * One shared key for every such analysis would run them all in one requester's order: one
 * workspace's 100,000-post analysis would hold up every other workspace's.
 */
export function fairnessKeyOf(
  principal: { userId: string | null; apiKeyId: string | null },
  workspaceId: string,
): string {
  if (principal.userId) return `user:${principal.userId}`;
  if (principal.apiKeyId) return `key:${principal.apiKeyId}`;
  return `workspace:${workspaceId}`;
}
