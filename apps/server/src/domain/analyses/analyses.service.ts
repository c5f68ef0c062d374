import type { PoolClient } from '../../db/pool.js';
import type { PgBoss } from 'pg-boss';
import type { AnalysisCreate } from '@socialpulse/contracts';
import { AppError, notFound } from '../../errors.js';
import {
  appendEvent,
  cancelPendingChunks,
  computeAggregates,
  findAnalysis,
  insertAnalysis,
  laneOf,
  lockWaitingChunkJob,
  queuePosition,
  chunkPace,
  requeueChunks,
  setAnalysisStatus,
  setPriority,
  turnOf,
  waitingBehind,
  FINISHED_STATUSES,
  type AnalysisRow,
} from '../../db/repos/analyses.repo.js';
import { selectPostIds } from '../../db/repos/posts.repo.js';
import { getAnalysisSettings } from '../../db/repos/analysis-settings.repo.js';
import { toFilter } from '../posts/posts.service.js';
import type { TenantScope } from '../../db/tenant.js';
import { CHUNK_QUEUE, queueDb } from '../../db/job-queue.js';
import { advanceTurn, fairnessKeyOf } from './scheduler.js';
import { largestLlmChunkSize, llmEndpointOf, type LlmDefaults } from './llm-runtime.js';
import type { AuditEntry } from '../../db/repos/audit.repo.js';

export interface Requester {
  userId: string | null;
  apiKeyId: string | null;
}

/** Posts per chunk when the request does not say (the unit of fair, resumable work). */
export const DEFAULT_CHUNK_SIZE = 100;

/** Snapshots the selected posts, splits them into chunks and gives the requester a turn if idle. */
export async function submitAnalysis(
  client: PoolClient,
  boss: PgBoss,
  scope: TenantScope,
  workspaceId: string,
  requester: Requester,
  body: AnalysisCreate,
  llmDefaults: Pick<LlmDefaults, 'baseUrl' | 'model'>,
): Promise<AnalysisRow> {
  const settings = await getAnalysisSettings(client, workspaceId);
  let chunkSize = body.options.chunk_size ?? DEFAULT_CHUNK_SIZE;
  // Refused now, not found out by every chunk failing its retries minutes later.
  if (body.engines.includes('llm')) {
    const { baseUrl, model } = llmEndpointOf(settings, llmDefaults);
    if (!baseUrl || !model)
      throw new AppError(
        'llm_not_configured',
        `The analysis asks for the LLM engine, but this workspace has no LLM ${baseUrl ? 'model' : 'server'}: set its base URL and model (PATCH /v1/workspaces/${workspaceId}/analysis-settings, or the workspace's LLM settings in the dashboard), or ask the operator to set LLM_BASE_URL and LLM_MODEL for the instance; or analyse with the local engines only`,
        { details: { engines: body.engines, missing: baseUrl ? 'model' : 'base_url' } },
      );
    // A chunk's posts go to the model in one call: an answer longer than the model can write is
    // cut, re-asked once (billed twice), and leaves posts unlabelled. Refused now, naming the
    // size that fits, rather than split inside a chunk (one call per chunk keeps its budget
    // bound, its traces and its retry a single unit).
    const largest = await largestLlmChunkSize(model);
    if (largest === 0)
      throw new AppError(
        'validation_failed',
        `The LLM model ${model} cannot label even one post in one answer (its output token limit): choose another model in the workspace's LLM settings`,
        { details: { field: 'engines', model } },
      );
    // Not asked for: the largest that fits, up to the usual size.
    if (largest !== null && body.options.chunk_size === undefined)
      chunkSize = Math.min(chunkSize, largest);
    const size = chunkSize;
    if (largest !== null && size > largest)
      throw new AppError(
        'validation_failed',
        `options.chunk_size: the ${size} posts of a chunk go to the LLM in one call, and an answer of ${model} holds the labels of at most ${largest} posts (its output token limit); set chunk_size to ${largest} or less`,
        {
          details: {
            problems: [
              {
                in: 'body',
                field: 'options.chunk_size',
                message: `at most ${largest} with the LLM model ${model}`,
                value: size,
              },
            ],
            max_chunk_size: largest,
          },
        },
      );
  }
  // The posts list's own checks: zod lets through instants and text PostgreSQL refuses.
  const filter = toFilter(workspaceId, body.posts.filter ?? {});
  // "007" and "7" are one post.
  const ids = body.posts.ids
    ? [...new Set(body.posts.ids.map((id) => BigInt(id).toString()))]
    : null;
  if (ids && ids.length > body.posts.limit)
    throw new AppError(
      'validation_failed',
      `posts.limit: ${body.posts.limit} is fewer than the ${ids.length} posts.ids given; raise it to select them all`,
      {
        details: {
          problems: [
            {
              in: 'body',
              field: 'posts.limit',
              message: `fewer than the ${ids.length} ids given`,
              value: body.posts.limit,
            },
          ],
        },
      },
    );
  const postIds = await selectPostIds(client, filter, ids, body.posts.limit);
  if (ids && postIds.length < ids.length) {
    const found = new Set(postIds.map(String));
    const missing = ids.filter((id) => !found.has(id)).slice(0, 20);
    throw new AppError(
      'validation_failed',
      `posts.ids: ${missing.length} post(s) not found in this workspace (or outside the filter): ${missing.join(', ')}`,
      {
        details: {
          problems: [{ in: 'body', field: 'posts.ids', message: 'not found', value: missing }],
        },
      },
    );
  }
  const fairnessKey = fairnessKeyOf(requester, workspaceId);
  const analysis = await insertAnalysis(client, {
    workspaceId,
    requestedBy: requester.userId,
    apiKeyId: requester.apiKeyId,
    fairnessKey,
    engines: [...new Set(body.engines)],
    selection: {
      ...(ids ? { ids: ids.length } : {}),
      ...(body.posts.filter ? { filter: body.posts.filter } : {}),
      limit: body.posts.limit,
    },
    options: {
      failure_policy: body.options.failure_policy,
      sentiment_engine: body.options.sentiment_engine,
      // The rules it runs with, fixed now: changing them later changes later analyses only.
      categories: settings?.categories ?? [],
    },
    priority: await laneOf(client, workspaceId, requester.userId),
    chunkSize,
    postIds,
  });
  await appendEvent(
    client,
    analysis.id,
    workspaceId,
    analysis.status === 'completed' ? 'completed' : 'queued',
    progressOf(analysis),
  );
  if (analysis.chunk_count > 0) await advanceTurn(client, boss, fairnessKey, null);
  return analysis;
}

export async function cancelAnalysis(
  client: PoolClient,
  boss: PgBoss,
  workspaceId: string,
  id: string,
): Promise<AnalysisRow> {
  const analysis = await findAnalysis(client, workspaceId, id, true);
  if (!analysis) throw notFound('analysis', id);
  if (FINISHED_STATUSES.includes(analysis.status)) {
    throw new AppError('conflict', `analysis ${id} has already finished (${analysis.status})`, {
      details: { status: analysis.status },
    });
  }
  // A chunk in flight finds its chunk cancelled at commit: it stores nothing and hands the turn on.
  // A chunk job still waiting is withdrawn here and the turn handed on now: left in the queue, it
  // would hold the requester's turn until a worker took it only to skip it, which a job waiting
  // out a retry's back-off does for minutes.
  const waiting = await lockWaitingChunkJob(client, id);
  const cancelled = await cancelPendingChunks(client, id);
  if (waiting) {
    await boss.cancel(CHUNK_QUEUE, waiting, { db: queueDb(client) });
    await advanceTurn(client, boss, analysis.fairness_key, waiting);
  }
  // What ran before the cancel is kept, and summarised as a finished analysis's results are.
  const aggregates = analysis.chunks_done > 0 ? await computeAggregates(client, id) : undefined;
  const updated = await setAnalysisStatus(client, id, 'cancelled', { aggregates });
  await appendEvent(client, id, workspaceId, 'cancelled', {
    ...progressOf(updated),
    chunks_cancelled: cancelled,
  });
  return updated;
}

/** Runs dead-lettered chunks again (and resumes a paused or cancelled analysis). */
export async function retryAnalysis(
  client: PoolClient,
  boss: PgBoss,
  scope: TenantScope,
  workspaceId: string,
  id: string,
): Promise<AnalysisRow> {
  const analysis = await findAnalysis(client, workspaceId, id, true);
  if (!analysis) throw notFound('analysis', id);
  if (
    !['completed_with_errors', 'failed', 'paused_budget', 'cancelled'].includes(analysis.status)
  ) {
    throw new AppError(
      'conflict',
      `analysis ${id} is ${analysis.status}: only failed, partly failed, paused or cancelled analyses can be retried`,
      {
        details: { status: analysis.status },
      },
    );
  }
  const pending = await requeueChunks(client, analysis);
  if (pending === 0)
    throw new AppError('conflict', `analysis ${id} has no chunk left to run`, {
      details: { status: analysis.status },
    });
  const updated = await findAnalysis(client, workspaceId, id);
  if (!updated) throw notFound('analysis', id);
  await appendEvent(client, id, workspaceId, 'queued', {
    ...progressOf(updated),
    retried_chunks: pending,
  });
  await advanceTurn(client, boss, updated.fairness_key, null);
  return updated;
}

/**
 * Moves an unfinished analysis's next chunks to another priority. The chunk queue is shared by
 * every workspace of the instance, so a workspace may move its analyses between 0 and the lane an
 * instance operator gave it (or its requester); only an operator (`asOperator`) goes above it.
 */
export async function changePriority(
  client: PoolClient,
  workspaceId: string,
  id: string,
  priority: number,
  asOperator: boolean,
): Promise<AnalysisRow> {
  const analysis = await findAnalysis(client, workspaceId, id, true);
  if (!analysis) throw notFound('analysis', id);
  if (FINISHED_STATUSES.includes(analysis.status))
    throw new AppError(
      'conflict',
      `analysis ${id} is ${analysis.status}: a finished analysis has no chunks left to prioritise`,
      { details: { status: analysis.status } },
    );
  const lane = await laneOf(client, workspaceId, analysis.requested_by);
  if (priority > lane && !asOperator)
    throw new AppError(
      'forbidden',
      `priority ${priority} is above this analysis's lane (${lane}); faster lanes are granted by an instance operator`,
      {
        details: {
          reason: 'above_lane',
          lane,
          problems: [
            { in: 'body', field: 'priority', message: `at most ${lane}`, value: priority },
          ],
        },
      },
    );
  await setPriority(client, id, priority);
  const updated = await findAnalysis(client, workspaceId, id);
  if (!updated) throw notFound('analysis', id);
  return updated;
}

/** The progress figures every event carries. */
export function progressOf(a: AnalysisRow): Record<string, unknown> {
  return {
    status: a.status,
    chunk_count: a.chunk_count,
    chunks_done: a.chunks_done,
    chunks_failed: a.chunks_failed,
    posts_processed: a.posts_processed,
    posts_failed: a.posts_failed,
    total_posts: a.total_posts,
  };
}

export interface AnalysisLiveState {
  queuePosition: number | null;
  estimatedSecondsLeft: number | null;
}

/** Queue position of the requester's next chunk and an estimate of the time left. */
export async function liveStateOf(
  client: PoolClient,
  a: AnalysisRow,
  slots: number,
): Promise<AnalysisLiveState> {
  if (FINISHED_STATUSES.includes(a.status) || a.status === 'paused_budget')
    return { queuePosition: null, estimatedSecondsLeft: a.status === 'paused_budget' ? null : 0 };
  const turn = await turnOf(client, a.fairness_key);
  const position =
    turn?.jobId && turn.analysisId === a.id ? await queuePosition(client, turn.jobId) : null;
  const remaining = a.chunk_count - a.chunks_done - a.chunks_failed;
  const seconds = (ms: number): number => Math.round(ms / 100) / 10;
  const pace = await chunkPace(client, a.id);
  // Running: its own pace so far says best how the rest will go, whatever holds it up.
  if (pace.cadenceMs !== null)
    return { queuePosition: position, estimatedSecondsLeft: seconds(remaining * pace.cadenceMs) };
  const perChunk = pace.chunkMs;
  if (perChunk === null) return { queuePosition: position, estimatedSecondsLeft: null };
  const { requestersInLine, ownChunksAhead } = await waitingBehind(
    client,
    a.id,
    a.fairness_key,
    turn?.analysisId ?? null,
  );
  // Round-robin: each of the requester's chunks, this analysis's and those of its analyses that
  // run first, waits for about one chunk of every requester in line, spread over the slots. A
  // requester without a turn yet joins the line.
  const inLine = requestersInLine + (turn?.jobId ? 0 : 1);
  const competing = Math.max(1, inLine, (position ?? 0) + 1);
  const perTurnMs = perChunk * Math.max(1, competing / slots);
  return {
    queuePosition: position,
    estimatedSecondsLeft: seconds((ownChunksAhead + remaining) * perTurnMs),
  };
}

/** The changes to an analysis the audit log records: it may spend LLM money. */
export type AnalysisAuditAction =
  'analysis.started' | 'analysis.cancelled' | 'analysis.retried' | 'analysis.priority_changed';

/**
 * What the audit log records of a change to an analysis, whoever made it (the API adds the
 * request's user, key and address; the CLI says `cli`).
 */
export function analysisAudit(
  action: AnalysisAuditAction,
  a: AnalysisRow,
): Pick<AuditEntry, 'workspaceId' | 'action' | 'target' | 'details'> {
  const details =
    action === 'analysis.started'
      ? { engines: a.engines, posts: a.total_posts, chunk_size: a.chunk_size, priority: a.priority }
      : action === 'analysis.retried'
        ? { status: a.status }
        : action === 'analysis.priority_changed'
          ? { priority: a.priority }
          : {};
  return { workspaceId: a.workspace_id, action, target: a.id, details };
}
