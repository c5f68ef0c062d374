import { CHUNK_QUEUE, JOB_SCHEMA } from '../job-queue.js';
import type { Queryable } from '../pool.js';
import type { PostKey } from './posts.repo.js';
import type { AnalysisSettingsRow } from './analysis-settings.repo.js';
import type { TraceRecord } from './traces.repo.js';

export type AnalysisStatus =
  | 'queued'
  | 'running'
  | 'paused_budget'
  | 'completed'
  | 'completed_with_errors'
  | 'failed'
  | 'cancelled';
export const FINISHED_STATUSES: readonly AnalysisStatus[] = [
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
];

export interface AnalysisRow {
  id: string;
  workspace_id: string;
  requested_by: string | null;
  api_key_id: string | null;
  fairness_key: string;
  status: AnalysisStatus;
  engines: string[];
  selection: Record<string, unknown>;
  options: Record<string, unknown>;
  priority: number;
  chunk_size: number;
  total_posts: number;
  chunk_count: number;
  chunks_done: number;
  chunks_failed: number;
  posts_processed: number;
  posts_failed: number;
  work_ms: number;
  aggregates: Record<string, unknown> | null;
  summary: string | null;
  error: Record<string, unknown> | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  unpriced_calls: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

export interface NewAnalysis {
  workspaceId: string;
  requestedBy: string | null;
  apiKeyId: string | null;
  fairnessKey: string;
  engines: string[];
  selection: Record<string, unknown>;
  options: Record<string, unknown>;
  priority: number;
  chunkSize: number;
  postIds: number[];
}

/** Inserts the analysis and its chunks (ids split in order). */
export async function insertAnalysis(db: Queryable, a: NewAnalysis): Promise<AnalysisRow> {
  const chunks: number[][] = [];
  for (let i = 0; i < a.postIds.length; i += a.chunkSize)
    chunks.push(a.postIds.slice(i, i + a.chunkSize));
  const { rows } = await db.query<AnalysisRow>(
    `INSERT INTO analyses (workspace_id, requested_by, api_key_id, fairness_key, status, engines, selection, options, priority, chunk_size, total_posts, chunk_count,
        finished_at)
     VALUES ($1, $2, $3, $4, CASE WHEN $11::int = 0 THEN 'completed' ELSE 'queued' END, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $11::int = 0 THEN now() END)
     RETURNING *`,
    [
      a.workspaceId,
      a.requestedBy,
      a.apiKeyId,
      a.fairnessKey,
      a.engines,
      a.selection,
      a.options,
      a.priority,
      a.chunkSize,
      a.postIds.length,
      chunks.length,
    ],
  );
  const analysis = rows[0];
  if (!analysis) throw new Error('insert into analyses returned no row');
  if (chunks.length > 0) {
    await db.query(
      `INSERT INTO analysis_chunks (analysis_id, workspace_id, seq, post_ids)
       SELECT $1, $2, (e.ord - 1)::int, ARRAY(SELECT jsonb_array_elements_text(e.value)::bigint)
         FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(value, ord)`,
      [analysis.id, a.workspaceId, JSON.stringify(chunks)],
    );
    await db.query(
      'INSERT INTO analysis_backlog (analysis_id, workspace_id, fairness_key, priority, created_at) VALUES ($1, $2, $3, $4, $5)',
      [analysis.id, a.workspaceId, a.fairnessKey, a.priority, analysis.created_at],
    );
  }
  return analysis;
}

export async function findAnalysis(
  db: Queryable,
  workspaceId: string,
  id: string,
  forUpdate = false,
): Promise<AnalysisRow | null> {
  const { rows } = await db.query<AnalysisRow>(
    `SELECT * FROM analyses WHERE workspace_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

/** Row-locks an analysis for the rest of the transaction (the first lock every writer takes). */
export async function lockAnalysis(db: Queryable, id: string): Promise<void> {
  await db.query('SELECT 1 FROM analyses WHERE id = $1 FOR UPDATE', [id]);
}

/**
 * Newest first, after the position `before` (keyset). Positions carry created_at in microseconds
 * since the epoch, as stored: a millisecond Date would skip analyses created in the same
 * millisecond as a page's last row.
 */
export async function listAnalyses(
  db: Queryable,
  workspaceId: string,
  limit: number,
  before: PostKey | null,
  status?: string,
): Promise<(AnalysisRow & { created_at_us: string })[]> {
  const params: unknown[] = [workspaceId];
  let where = 'workspace_id = $1';
  if (status) {
    params.push(status);
    where += ` AND status = $${params.length}`;
  }
  if (before) {
    params.push(before.createdAtMicros, before.id);
    where += ` AND (created_at, id) < (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length}::uuid)`;
  }
  params.push(limit);
  const { rows } = await db.query<AnalysisRow & { created_at_us: string }>(
    `SELECT *, (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_at_us
       FROM analyses WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows;
}

/** The workspace an analysis belongs to, across tenants (for routes addressed by analysis id). */
export async function analysisWorkspaceId(db: Queryable, id: string): Promise<string | null> {
  const { rows } = await db.query<{ ws: string | null }>('SELECT analysis_workspace_id($1) AS ws', [
    id,
  ]);
  return rows[0]?.ws ?? null;
}

export async function laneOf(
  db: Queryable,
  workspaceId: string,
  userId: string | null,
): Promise<number> {
  const { rows } = await db.query<{ lane: number }>('SELECT analysis_lane($1, $2) AS lane', [
    workspaceId,
    userId,
  ]);
  return rows[0]?.lane ?? 0;
}

export interface ChunkRow {
  analysis_id: string;
  workspace_id: string;
  seq: number;
  post_ids: number[];
  status: 'pending' | 'queued' | 'done' | 'dead' | 'cancelled';
  attempts: number;
  summary: string | null;
}

export async function findChunk(
  db: Queryable,
  analysisId: string,
  seq: number,
  forUpdate = false,
): Promise<ChunkRow | null> {
  const { rows } = await db.query<ChunkRow>(
    `SELECT analysis_id, workspace_id, seq, post_ids, status, attempts, summary FROM analysis_chunks WHERE analysis_id = $1 AND seq = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [analysisId, seq],
  );
  return rows[0] ?? null;
}

/** What a chunk run needs of its analysis. */
export type ChunkAnalysis = Pick<
  AnalysisRow,
  'id' | 'workspace_id' | 'requested_by' | 'status' | 'engines' | 'options'
>;

export interface ChunkStart {
  analysis: ChunkAnalysis;
  postIds: number[];
  posts: { id: number; text: string | null; language: string | null }[];
  settings: AnalysisSettingsRow | null;
}

/**
 * Everything a claimed chunk needs, in ONE round trip and no transaction of its own (see
 * `analysis_chunk_start`, 0007, 0016): the analysis, the post texts and the workspace's settings.
 * Null when the chunk is no longer queued or its analysis no longer runs. Marks the analysis
 * running (with its 'started' event) on its first chunk. `db` may be the pool: the statement
 * scopes itself to `workspaceId`.
 */
export async function startChunkRun(
  db: Queryable,
  workspaceId: string,
  analysisId: string,
  seq: number,
): Promise<ChunkStart | null> {
  const { rows } = await db.query<{ start: RawChunkStart | null }>(
    'SELECT analysis_chunk_start($1, $2, $3) AS start',
    [workspaceId, analysisId, seq],
  );
  const start = rows[0]?.start;
  if (!start) return null;
  return {
    analysis: start.analysis,
    postIds: start.post_ids,
    posts: start.posts,
    settings: start.settings
      ? { ...start.settings, updated_at: new Date(start.settings.updated_at) }
      : null,
  };
}

/** The JSON `analysis_chunk_start` returns (timestamps as strings). */
interface RawChunkStart {
  analysis: ChunkAnalysis;
  post_ids: number[];
  posts: ChunkStart['posts'];
  settings: (Omit<AnalysisSettingsRow, 'updated_at'> & { updated_at: string }) | null;
}

/** What a chunk's model calls used and cost (exact decimal USD; unpriced calls counted, never $0). */
export interface ChunkUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: string;
  unpricedCalls: number;
}

export interface ResultRow {
  postId: number;
  language: string | null;
  sentimentLabel: string | null;
  sentimentScore: number | null;
  sentiment: unknown;
  local: unknown;
  llmStatus: 'labelled' | 'unlabelled' | null;
  topic: string | null;
  category: string | null;
  llmSentiment: string | null;
  rationale: string | null;
  error: string | null;
}

/** A requester's next turn as decided in the database (`analysis_turn_advance`, 0007). */
export interface TurnDecision {
  /** The job holding the requester's turn (null: the requester has no work left). */
  jobId: string | null;
  /** True when `jobId` is a NEW job the caller must send to pg-boss in the same transaction. */
  queued: boolean;
  chunk: { analysisId: string; workspaceId: string; seq: number; priority: number } | null;
}

interface RawTurn {
  job_id: string | null;
  queued: boolean;
  analysis_id?: string;
  workspace_id?: string;
  seq?: number;
  priority?: number;
}

function toTurn(t: RawTurn): TurnDecision {
  const chunk =
    t.queued && t.analysis_id && t.workspace_id && t.seq !== undefined
      ? {
          analysisId: t.analysis_id,
          workspaceId: t.workspace_id,
          seq: t.seq,
          priority: t.priority ?? 0,
        }
      : null;
  return { jobId: t.job_id, queued: chunk !== null, chunk };
}

/**
 * Locks the requester's turn row and, unless another job holds the turn, queues their next
 * chunk (one round trip). `finishingJobId`: the job handing the turn on; null for a submission,
 * retry or cancel, which hand out a turn only when the requester has none.
 */
export async function advanceTurnRow(
  db: Queryable,
  fairnessKey: string,
  finishingJobId: string | null,
): Promise<TurnDecision> {
  const { rows } = await db.query<{ turn: RawTurn }>(
    'SELECT analysis_turn_advance($1, $2) AS turn',
    [fairnessKey, finishingJobId],
  );
  const turn = rows[0]?.turn;
  if (!turn) throw new Error('analysis_turn_advance returned no row');
  return toTurn(turn);
}

/**
 * What one chunk's results add to its analysis's aggregates, stored with the chunk when it
 * commits. The analysis's aggregates are these partials merged (`analysis_aggregates`, 0011):
 * finishing an analysis reads one small object per chunk instead of every result it stored.
 * Counts are keyed as the aggregates are: a missing label counts as "none", topics stay as the
 * model wrote them (the merge lower-cases them, as the aggregates always did).
 */
export interface ChunkAggregates {
  sentiment: Record<string, number>;
  llm_sentiment: Record<string, number>;
  /** Sum and number of the sentiment scores, as stored (single precision). */
  score_sum: number;
  score_n: number;
  topics: Record<string, number>;
  /** A post counts once per category, whether the LLM or a workspace rule gave it. */
  categories: Record<string, number>;
  keywords: Record<string, number>;
  toxic: number;
  unlabelled: number;
}

export interface ChunkCommit {
  analysisId: string;
  seq: number;
  fairnessKey: string;
  /** The pg-boss job whose attempt commits (it hands the requester's turn on). */
  jobId: string;
  /** This attempt's number, the first being 1. */
  attempt: number;
  /** When the chunk started (by pg-boss's clock, the database's). */
  startedAt: Date | null;
  processed: number;
  failed: number;
  workMs: number;
  summary: string | null;
  error: Record<string, unknown> | null;
  usage: ChunkUsage;
  results: readonly ResultRow[];
  /** What `results` add to the analysis's aggregates (stored with the chunk). */
  aggregates: ChunkAggregates;
  traces: readonly TraceRecord[];
}

export interface ChunkCommitResult {
  /** False: the chunk was no longer queued (cancelled, or committed elsewhere); nothing but traces was written. */
  committed: boolean;
  chunkStatus: string | null;
  /** The analysis's final status when this chunk was its last. */
  finishedStatus: AnalysisStatus | null;
  turn: TurnDecision;
}

/**
 * Fails, aborting the transaction, unless the chunk job was completed by this attempt and the next
 * turn's job (if any) is stored (migration 0013): the check a commit sent with its COMMIT relies on.
 */
export async function checkChunkSettled(
  db: Queryable,
  queue: string,
  jobId: string,
  retryCount: number,
  nextJobId: string | null,
): Promise<void> {
  await db.query('SELECT analysis_chunk_settled($1, $2, $3, $4)', [
    queue,
    jobId,
    retryCount,
    nextJobId,
  ]);
}

/**
 * Writes a chunk's outcome in ONE round trip, inside the caller's transaction (scoped to the
 * chunk's workspace): traces, results (once per post), chunk end, counters, progress event,
 * the analysis's end, the requester's next turn (`analysis_chunk_commit`, 0007). The caller
 * then completes the job and sends `turn`'s job in the same transaction.
 */
export async function commitChunk(db: Queryable, c: ChunkCommit): Promise<ChunkCommitResult> {
  const outcome = {
    processed: c.processed,
    failed: c.failed,
    work_ms: Math.round(c.workMs),
    summary: c.summary,
    error: c.error,
    input_tokens: c.usage.inputTokens,
    output_tokens: c.usage.outputTokens,
    cost_usd: c.usage.costUsd,
    unpriced_calls: c.usage.unpricedCalls,
    aggregates: c.aggregates,
  };
  const { rows } = await db.query<{
    r: {
      committed: boolean;
      chunk_status?: string;
      finished_status?: AnalysisStatus | null;
      turn: RawTurn;
    };
  }>('SELECT analysis_chunk_commit($1, $2, $3, $4, $5, $6, $7, $8, $9) AS r', [
    c.analysisId,
    c.seq,
    c.fairnessKey,
    c.jobId,
    c.attempt,
    c.startedAt,
    JSON.stringify(outcome),
    JSON.stringify(c.results),
    JSON.stringify(c.traces),
  ]);
  const r = rows[0]?.r;
  if (!r) throw new Error('analysis_chunk_commit returned no row');
  return {
    committed: r.committed,
    chunkStatus: r.chunk_status ?? null,
    finishedStatus: r.finished_status ?? null,
    turn: toTurn(r.turn),
  };
}

/** Records a failed attempt on its chunk (pg-boss counts attempts; this mirrors it for operators). */
export async function recordChunkAttempt(
  db: Queryable,
  analysisId: string,
  seq: number,
  attempt: number,
  startedAt: Date | null,
): Promise<void> {
  await db.query(
    'UPDATE analysis_chunks SET attempts = greatest(attempts, $3), started_at = coalesce(started_at, $4) WHERE analysis_id = $1 AND seq = $2',
    [analysisId, seq, attempt, startedAt],
  );
}

/** Marks the analysis finished if every chunk is done or dead (see `analysis_finalize_if_done`); returns its final status. */
export async function finalizeIfDone(
  db: Queryable,
  analysisId: string,
): Promise<AnalysisStatus | null> {
  const { rows } = await db.query<{ status: AnalysisStatus | null }>(
    'SELECT analysis_finalize_if_done($1) AS status',
    [analysisId],
  );
  return rows[0]?.status ?? null;
}

export interface ChunkOutcome {
  analysisId: string;
  seq: number;
  status: 'done' | 'dead';
  processed: number;
  failed: number;
  workMs: number;
  summary: string | null;
  error: Record<string, unknown> | null;
  usage: ChunkUsage;
  /** The attempts the chunk took, as pg-boss counted them. */
  attempts: number;
}

/** Records a chunk's end and adds it to the analysis's counters; returns the updated analysis. */
export async function finishChunk(db: Queryable, o: ChunkOutcome): Promise<AnalysisRow> {
  await db.query(
    `UPDATE analysis_chunks SET status = $3, finished_at = now(), work_ms = $4, summary = $5, error = $6, attempts = greatest(attempts, $7) WHERE analysis_id = $1 AND seq = $2`,
    [o.analysisId, o.seq, o.status, Math.round(o.workMs), o.summary, o.error, o.attempts],
  );
  const { rows } = await db.query<AnalysisRow>(
    `UPDATE analyses SET
        chunks_done = chunks_done + CASE WHEN $2 = 'done' THEN 1 ELSE 0 END,
        chunks_failed = chunks_failed + CASE WHEN $2 = 'dead' THEN 1 ELSE 0 END,
        posts_processed = posts_processed + $3, posts_failed = posts_failed + $4, work_ms = work_ms + $5,
        input_tokens = input_tokens + $6, output_tokens = output_tokens + $7, cost_usd = cost_usd + $8::numeric, unpriced_calls = unpriced_calls + $9,
        started_at = coalesce(started_at, now()), updated_at = now()
      WHERE id = $1 RETURNING *`,
    [
      o.analysisId,
      o.status,
      o.processed,
      o.failed,
      Math.round(o.workMs),
      o.usage.inputTokens,
      o.usage.outputTokens,
      o.usage.costUsd,
      o.usage.unpricedCalls,
    ],
  );
  const analysis = rows[0];
  if (!analysis) throw new Error(`analysis ${o.analysisId} vanished`);
  return analysis;
}

export async function setAnalysisStatus(
  db: Queryable,
  id: string,
  status: AnalysisStatus,
  extra: {
    aggregates?: Record<string, unknown>;
    summary?: string | null;
    error?: Record<string, unknown> | null;
  } = {},
): Promise<AnalysisRow> {
  const finished = FINISHED_STATUSES.includes(status);
  const { rows } = await db.query<AnalysisRow>(
    `UPDATE analyses SET status = $2, updated_at = now(),
        finished_at = CASE WHEN $3 THEN now() ELSE NULL END,
        aggregates = coalesce($4, aggregates), summary = coalesce($5, summary), error = $6
      WHERE id = $1 RETURNING *`,
    [id, status, finished, extra.aggregates ?? null, extra.summary ?? null, extra.error ?? null],
  );
  const analysis = rows[0];
  if (!analysis) throw new Error(`analysis ${id} vanished`);
  return analysis;
}

/** Cancels the chunks not yet run; returns how many. */
export async function cancelPendingChunks(db: Queryable, analysisId: string): Promise<number> {
  const { rowCount } = await db.query(
    "UPDATE analysis_chunks SET status = 'cancelled' WHERE analysis_id = $1 AND status IN ('pending', 'queued')",
    [analysisId],
  );
  await db.query('DELETE FROM analysis_backlog WHERE analysis_id = $1', [analysisId]);
  return rowCount ?? 0;
}

/** Puts dead (and, after a pause, pending) chunks back in line; returns how many chunks will run. */
export async function requeueChunks(db: Queryable, analysis: AnalysisRow): Promise<number> {
  const dead = await db.query<{ n: number }>(
    "WITH r AS (UPDATE analysis_chunks SET status = 'pending', error = NULL WHERE analysis_id = $1 AND status = 'dead' RETURNING cardinality(post_ids) AS n) SELECT count(*)::int AS chunks, coalesce(sum(n), 0)::int AS n FROM r",
    [analysis.id],
  );
  const revived = dead.rows[0]?.n ?? 0;
  await db.query(
    "UPDATE analysis_chunks SET status = 'pending' WHERE analysis_id = $1 AND status = 'cancelled'",
    [analysis.id],
  );
  await db.query(
    `UPDATE analyses SET chunks_failed = (SELECT count(*) FROM analysis_chunks WHERE analysis_id = $1 AND status = 'dead'),
        posts_failed = greatest(posts_failed - $2, 0), status = 'queued', finished_at = NULL, error = NULL,
        aggregates = NULL, summary = NULL, updated_at = now() WHERE id = $1`,
    [analysis.id, revived],
  );
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM analysis_chunks WHERE analysis_id = $1 AND status = 'pending'",
    [analysis.id],
  );
  const pending = rows[0]?.n ?? 0;
  if (pending > 0) {
    await db.query(
      'INSERT INTO analysis_backlog (analysis_id, workspace_id, fairness_key, priority, created_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (analysis_id) DO NOTHING',
      [analysis.id, analysis.workspace_id, analysis.fairness_key, analysis.priority],
    );
  }
  return pending;
}

/** A chunk that could not start (paused analysis) goes back in line. */
export async function returnChunkToPending(
  db: Queryable,
  analysisId: string,
  seq: number,
): Promise<void> {
  await db.query(
    "UPDATE analysis_chunks SET status = 'pending' WHERE analysis_id = $1 AND seq = $2 AND status = 'queued'",
    [analysisId, seq],
  );
}

export async function setAnalysisSummary(
  db: Queryable,
  id: string,
  summary: string,
): Promise<void> {
  await db.query('UPDATE analyses SET summary = $2, updated_at = now() WHERE id = $1', [
    id,
    summary,
  ]);
}

/**
 * Moves an analysis's remaining chunks to another priority: the analysis, its place in the
 * backlog, and the chunk job already queued for it, if one waits (an active job keeps running;
 * the chunks after it follow the backlog's priority).
 */
export async function setPriority(db: Queryable, id: string, priority: number): Promise<void> {
  await db.query('UPDATE analyses SET priority = $2, updated_at = now() WHERE id = $1', [
    id,
    priority,
  ]);
  await db.query('UPDATE analysis_backlog SET priority = $2 WHERE analysis_id = $1', [
    id,
    priority,
  ]);
  await db.query(
    `UPDATE ${JOB_SCHEMA}.job j SET priority = $2 FROM analysis_turns t
      WHERE t.analysis_id = $1 AND j.name = $3 AND j.id = t.job_id AND j.state IN ('created', 'retry')`,
    [id, priority, CHUNK_QUEUE],
  );
}

/**
 * The chunk job queued for this analysis that no worker has taken yet (created, or waiting to be
 * retried), locked so that none can take it before the caller's transaction ends; null when the
 * requester's turn is elsewhere or its job already runs.
 */
export async function lockWaitingChunkJob(
  db: Queryable,
  analysisId: string,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT j.id FROM analysis_turns t JOIN ${JOB_SCHEMA}.job j ON j.name = $2 AND j.id = t.job_id
      WHERE t.analysis_id = $1 AND j.state IN ('created', 'retry') FOR UPDATE OF t, j`,
    [analysisId, CHUNK_QUEUE],
  );
  return rows[0]?.id ?? null;
}

export async function removeFromBacklog(db: Queryable, analysisId: string): Promise<void> {
  await db.query('DELETE FROM analysis_backlog WHERE analysis_id = $1', [analysisId]);
}

// --- turns: the scheduler's per-requester lock -------------------------------------------

export interface Turn {
  jobId: string | null;
  analysisId: string | null;
  seq: number | null;
}

// --- events --------------------------------------------------------------------------------

/** Also named in `analysis_event_append` (migration 0007). */
export const ANALYSIS_EVENTS_CHANNEL = 'socialpulse_analysis_events';

export interface AnalysisEvent {
  id: number;
  analysisId: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** Appends an event and announces it to every process (delivered at commit). */
export async function appendEvent(
  db: Queryable,
  analysisId: string,
  workspaceId: string,
  type: string,
  data: Record<string, unknown>,
): Promise<number> {
  // One round trip: the insert and the NOTIFY on ANALYSIS_EVENTS_CHANNEL (see 0007).
  const { rows } = await db.query<{ id: number }>(
    'SELECT analysis_event_append($1, $2, $3, $4) AS id',
    [analysisId, workspaceId, type, data],
  );
  return rows[0]?.id ?? 0;
}

/**
 * Whether an analysis's event stream is over for a follower that has seen the events up to
 * `afterId`: the analysis is finished (or gone), no event follows `afterId`, and, when it asked
 * the LLM and completed, the job summary's event (which follows the final event) is stored or
 * was given up on `summaryGraceSeconds` after the end (a worker lost while summarising).
 */
export async function eventStreamOver(
  db: Queryable,
  analysisId: string,
  afterId: number,
  summaryGraceSeconds: number,
): Promise<boolean> {
  const { rows } = await db.query<{ over: boolean }>(
    `SELECT a.status = ANY ($4::text[])
        AND NOT EXISTS (SELECT 1 FROM analysis_events e WHERE e.analysis_id = a.id AND e.id > $2)
        AND (NOT ('llm' = ANY (a.engines) AND a.status IN ('completed', 'completed_with_errors'))
             OR a.finished_at < now() - make_interval(secs => $3)
             OR EXISTS (SELECT 1 FROM analysis_events s WHERE s.analysis_id = a.id AND s.type = 'summary'
                          AND s.id > (SELECT max(t.id) FROM analysis_events t WHERE t.analysis_id = a.id
                                        AND t.type IN ('completed', 'completed_with_errors')))) AS over
       FROM analyses a WHERE a.id = $1`,
    [analysisId, afterId, summaryGraceSeconds, FINISHED_STATUSES],
  );
  return rows[0]?.over ?? true;
}

/**
 * The event before the analysis's latest run (its submission's or last retry's `queued` event):
 * following from here shows that run, not the ends of earlier ones.
 */
export async function eventBeforeLatestRun(db: Queryable, analysisId: string): Promise<number> {
  const { rows } = await db.query<{ id: string | null }>(
    "SELECT max(id) AS id FROM analysis_events WHERE analysis_id = $1 AND type = 'queued'",
    [analysisId],
  );
  const queued = rows[0]?.id;
  return queued ? Number(queued) - 1 : 0;
}

export async function eventsAfter(
  db: Queryable,
  analysisId: string,
  afterId: number,
  limit = 1000,
): Promise<AnalysisEvent[]> {
  const { rows } = await db.query<{
    id: number;
    analysis_id: string;
    type: string;
    data: Record<string, unknown>;
    created_at: Date;
  }>(
    'SELECT id, analysis_id, type, data, created_at FROM analysis_events WHERE analysis_id = $1 AND id > $2 ORDER BY id LIMIT $3',
    [analysisId, afterId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    analysisId: r.analysis_id,
    type: r.type,
    data: r.data,
    createdAt: r.created_at,
  }));
}

// --- results and aggregates -----------------------------------------------------------------

export interface ResultFilter {
  /** `none`: no sentiment label (what the aggregates count as `none`). */
  label?: string | undefined;
  topic?: string | undefined;
  category?: string | undefined;
  llmSentiment?: string | undefined;
  llmStatus?: string | undefined;
}

export interface StoredResult {
  post_id: number;
  chunk_seq: number;
  language: string | null;
  sentiment_label: string | null;
  sentiment_score: number | null;
  sentiment: Record<string, unknown> | null;
  local: Record<string, unknown> | null;
  llm_status: string | null;
  topic: string | null;
  category: string | null;
  llm_sentiment: string | null;
  rationale: string | null;
  error: string | null;
  platform: string;
  external_id: string;
  text: string | null;
  created_at: Date;
}

/**
 * The analysis's categories that equal `category` in any case (the filter is case-insensitive, as
 * the topic filter). `lower(category) = $n` cannot be an index condition under row-level security
 * (lower() is not leakproof, see 0014) and would read every category row of the analysis, for
 * every page: the distinct categories are instead listed by a loose scan of the side table's key
 * (one index probe per distinct category, with `>`, which is leakproof), and compared after.
 */
async function categoryKeys(
  db: Queryable,
  analysisId: string,
  category: string,
): Promise<string[]> {
  const { rows } = await db.query<{ category: string }>(
    `WITH RECURSIVE k(category) AS (
       (SELECT min(category) FROM analysis_result_categories WHERE analysis_id = $1)
       UNION ALL
       SELECT (SELECT min(n.category) FROM analysis_result_categories n
                WHERE n.analysis_id = $1 AND n.category > k.category)
         FROM k WHERE k.category IS NOT NULL)
     SELECT category FROM k WHERE lower(category) = lower($2)`,
    [analysisId, category],
  );
  return rows.map((r) => r.category);
}

export async function listResults(
  db: Queryable,
  analysisId: string,
  filter: ResultFilter,
  /** A post id, as a string: post ids are bigints and may pass 2^53. */
  afterPostId: string | null,
  limit: number,
): Promise<StoredResult[]> {
  const params: unknown[] = [analysisId];
  const clauses = ['r.analysis_id = $1'];
  const add = (column: string, value: string | undefined): void => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(`${column} = $${params.length}`);
  };
  let cursor: string | null = null;
  if (afterPostId !== null) {
    params.push(afterPostId);
    cursor = `$${params.length}::bigint`;
    clauses.push(`r.post_id > ${cursor}`);
  }
  if (filter.label === 'none') clauses.push('r.sentiment_label IS NULL');
  else add('r.sentiment_label', filter.label);
  // The stored lower-case copy (migration 0014), which its index serves under row-level security.
  add('r.topic_key', filter.topic?.toLowerCase());
  if (filter.category !== undefined) {
    // The model's category, or one of the workspace's rules that matched (as the aggregates count),
    // from their side table (migration 0016), read by its key in post_id order under row-level
    // security (`local -> 'categories' ? $n` cannot use an index there). The cursor is repeated
    // inside: the planner does not carry an inequality across the join.
    const keys = await categoryKeys(db, analysisId, filter.category);
    if (keys.length === 0) return [];
    // One spelling (nearly always): `=`, whose rows the key gives in post_id order; `= ANY` would
    // have every remaining row of the category read and sorted for each page.
    params.push(keys.length === 1 ? keys[0] : keys);
    const key = keys.length === 1 ? `$${params.length}` : `ANY ($${params.length}::text[])`;
    clauses.push(
      `r.post_id IN (SELECT c.post_id FROM analysis_result_categories c
                      WHERE c.analysis_id = $1 AND c.category = ${key}${cursor ? ` AND c.post_id > ${cursor}` : ''})`,
    );
  }
  add('r.llm_sentiment', filter.llmSentiment);
  add('r.llm_status', filter.llmStatus);
  params.push(limit);
  const { rows } = await db.query<StoredResult>(
    `SELECT r.post_id, r.chunk_seq, r.language, r.sentiment_label, r.sentiment_score, r.sentiment, r.local, r.llm_status, r.topic, r.category,
        r.llm_sentiment, r.rationale, r.error, p.platform, p.external_id, p.text, p.created_at
       FROM analysis_results r JOIN posts p ON p.id = r.post_id
      WHERE ${clauses.join(' AND ')} ORDER BY r.post_id LIMIT $${params.length}`,
    params,
  );
  return rows;
}

/** Distribution, top topics, categories, keywords and mean score of an analysis's results (`analysis_aggregates`, 0007). */
export async function computeAggregates(
  db: Queryable,
  analysisId: string,
): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ aggregates: Record<string, unknown> }>(
    'SELECT analysis_aggregates($1) AS aggregates',
    [analysisId],
  );
  return rows[0]?.aggregates ?? {};
}

export async function chunkSummaries(db: Queryable, analysisId: string): Promise<string[]> {
  const { rows } = await db.query<{ summary: string }>(
    'SELECT summary FROM analysis_chunks WHERE analysis_id = $1 AND summary IS NOT NULL ORDER BY seq',
    [analysisId],
  );
  return rows.map((r) => r.summary);
}

/** Chunk jobs queued ahead of a requester's own (for the queue position shown while waiting). */
export async function queuePosition(db: Queryable, jobId: string): Promise<number | null> {
  const { rows } = await db.query<{ ahead: number | null }>(
    `SELECT (SELECT count(*)::int FROM ${JOB_SCHEMA}.job o WHERE o.name = j.name AND o.state IN ('created', 'retry')
               AND (o.priority > j.priority OR (o.priority = j.priority AND o.created_on < j.created_on))) AS ahead
       FROM ${JOB_SCHEMA}.job j WHERE j.name = $2 AND j.id = $1 AND j.state IN ('created', 'retry')`,
    [jobId, CHUNK_QUEUE],
  );
  return rows[0]?.ahead ?? null;
}

export async function turnOf(db: Queryable, fairnessKey: string): Promise<Turn | null> {
  const { rows } = await db.query<{
    job_id: string | null;
    analysis_id: string | null;
    seq: number | null;
  }>('SELECT job_id, analysis_id, seq FROM analysis_turns WHERE fairness_key = $1', [fairnessKey]);
  const row = rows[0];
  return row ? { jobId: row.job_id, analysisId: row.analysis_id, seq: row.seq } : null;
}

/**
 * What an analysis's chunks wait behind: the requesters with a chunk queued or running (each
 * takes one turn per round), and the chunks left of its requester's analyses that run before it
 * (the one holding the requester's turn, and those ahead of it in the backlog; those of other
 * workspaces are not visible here, so the figure is a lower bound for a requester in several).
 */
export async function waitingBehind(
  db: Queryable,
  analysisId: string,
  fairnessKey: string,
  /** The analysis holding the requester's turn (the caller has read it), if any. */
  turnAnalysisId: string | null,
): Promise<{ requestersInLine: number; ownChunksAhead: number }> {
  const { rows } = await db.query<{ requesters: number; ahead: number }>(
    `WITH me AS (SELECT priority, created_at FROM analysis_backlog WHERE analysis_id = $1)
     SELECT (SELECT count(*)::int FROM analysis_turns WHERE job_id IS NOT NULL) AS requesters,
       (SELECT coalesce(sum(a.chunk_count - a.chunks_done - a.chunks_failed), 0)::int FROM analyses a
         WHERE a.fairness_key = $2 AND a.id <> $1 AND a.status IN ('queued', 'running')
           AND EXISTS (SELECT 1 FROM me)
           AND (a.id = $3::uuid
             OR EXISTS (SELECT 1 FROM analysis_backlog b, me WHERE b.analysis_id = a.id
                  AND (b.priority > me.priority OR (b.priority = me.priority
                    AND (b.created_at, b.analysis_id) < (me.created_at, $1::uuid))))))
       AS ahead`,
    [analysisId, fairnessKey, turnAnalysisId],
  );
  return { requestersInLine: rows[0]?.requesters ?? 0, ownChunksAhead: rows[0]?.ahead ?? 0 };
}

/** How fast an analysis's chunks go, from what its chunks (or earlier analyses' chunks) took. */
export interface ChunkPace {
  /**
   * The median time between the analysis's last completions (up to 20 intervals; null before
   * 3 completions): a chunk's whole share of the analysis's time as it runs, the claim, the
   * commit and the other requesters' turns between two of its chunks included. The median, so
   * that one pause (a budget, a retry's back-off) does not count for every chunk left.
   */
  cadenceMs: number | null;
  /**
   * The median claim-to-commit time of its last 20 chunks, or, before any of them ran (a queued
   * analysis), that time per post of the workspace's last 3 analyses with the same engines times
   * this analysis's chunk size. (Not the engines' work alone: storing a chunk's results and
   * handing the turn on are part of every chunk's time.)
   */
  chunkMs: number | null;
}

export async function chunkPace(db: Queryable, analysisId: string): Promise<ChunkPace> {
  const { rows } = await db.query<{ cadence_ms: number | null; chunk_ms: number | null }>(
    `WITH this AS (SELECT id, workspace_id, engines, chunk_size FROM analyses WHERE id = $1),
     own AS (SELECT started_at, finished_at FROM analysis_chunks
              WHERE analysis_id = $1 AND status = 'done' ORDER BY finished_at DESC LIMIT 21),
     gaps AS (SELECT extract(epoch FROM finished_at - lead(finished_at) OVER (ORDER BY finished_at DESC)) * 1000 AS ms
                FROM own)
     SELECT
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM gaps
         WHERE ms IS NOT NULL HAVING count(ms) >= 2)::float8 AS cadence_ms,
       coalesce(
         (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000)
            FROM own WHERE started_at IS NOT NULL),
         -- Earlier analyses may have had other chunk sizes: their time per post, at this one's size.
         (SELECT sum(extract(epoch FROM c.finished_at - c.started_at) * 1000)
                 / nullif(sum(cardinality(c.post_ids)), 0) * (SELECT chunk_size FROM this)
            FROM analysis_chunks c
           WHERE c.status = 'done' AND c.started_at IS NOT NULL AND c.analysis_id IN (
             SELECT a.id FROM analyses a, this
              WHERE a.workspace_id = this.workspace_id AND a.id <> this.id
                AND a.engines = this.engines AND a.chunks_done > 0
              ORDER BY a.created_at DESC LIMIT 3)))::float8 AS chunk_ms`,
    [analysisId],
  );
  return { cadenceMs: rows[0]?.cadence_ms ?? null, chunkMs: rows[0]?.chunk_ms ?? null };
}

/** Lanes: a workspace's or a user's analyses start at this priority (instance operators only). */
export async function setWorkspaceLane(
  db: Queryable,
  workspaceId: string,
  priority: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE workspaces SET analysis_priority = $2 WHERE id = $1',
    [workspaceId, priority],
  );
  return (rowCount ?? 0) > 0;
}

export async function setUserLane(
  db: Queryable,
  userId: string,
  priority: number,
): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE users SET analysis_priority = $2 WHERE id = $1', [
    userId,
    priority,
  ]);
  return (rowCount ?? 0) > 0;
}
