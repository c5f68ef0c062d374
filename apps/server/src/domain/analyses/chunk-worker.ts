import { randomUUID } from 'node:crypto';
import { CommitOutcomeUnknownError, type Pool, type PoolClient } from '../../db/pool.js';
import type { PgBoss } from 'pg-boss';
import Big from 'big.js';
import {
  ChunkSlots,
  CHUNK_DEAD_LETTER_QUEUE,
  CHUNK_QUEUE,
  CHUNK_READY_CHANNEL,
  listen,
  postponeChunkRetry,
  queueDb,
  setChunkAttemptLimit,
  tailQueueDb,
  type ChunkJob,
  type ChunkJobData,
  type JobQueue,
  type QueueDb,
} from '../../db/job-queue.js';
import {
  appendEvent,
  checkChunkSettled,
  chunkSummaries,
  commitChunk,
  computeAggregates,
  finalizeIfDone,
  findAnalysis,
  findChunk,
  finishChunk,
  lockAnalysis,
  recordChunkAttempt,
  removeFromBacklog,
  setAnalysisStatus,
  cancelPendingChunks,
  returnChunkToPending,
  setAnalysisSummary,
  startChunkRun,
  type AnalysisStatus,
  type ChunkAnalysis,
  type ChunkStart,
} from '../../db/repos/analyses.repo.js';
import {
  getAnalysisSettings,
  type AnalysisSettingsRow,
} from '../../db/repos/analysis-settings.repo.js';
import {
  ensureTracePartitions,
  holdBudget,
  monthToDateCost,
  releaseBudgetHold,
  renewBudgetHold,
  type BudgetHold,
} from '../../db/repos/traces.repo.js';
import { withTenant, withTenantTail, type TenantScope } from '../../db/tenant.js';
import type { Logger } from '../../observability/logger.js';
import { categoriesOf, processChunk, LLM_ENGINE, type ChunkWork } from './chunk-processor.js';
import { progressOf } from './analyses.service.js';
import { retryAdviceOf, takeTracesOfFailure, type LlmRuntime } from './llm-runtime.js';
import { advanceTurn, mayOutrankQueuedTurns, sendTurn, turnJobId } from './scheduler.js';
import { TraceWriter } from './trace-writer.js';

export interface ChunkWorkerOptions {
  /** Application-role pool (row-level security applies; every transaction is scoped). */
  pool: Pool;
  /** Owner URL for the slot locks and LISTEN connections (no table access). */
  ownerUrl: string;
  queue: JobQueue;
  /** Global cap on chunks in flight across all processes (= requesters in flight). */
  slots: number;
  /** Chunks this process runs at once (≤ slots). */
  concurrency: number;
  pollIntervalMs: number;
  logger: Logger;
  /** Builds the LLM runtime of a workspace (null: no LLM configured). */
  llmFor: (workspaceId: string, settings: AnalysisSettingsRow | null) => LlmRuntime | null;
  /** Called after each chunk outcome (tests and benchmarks observe the schedule). */
  onChunk?: (event: { type: 'start' | 'end'; data: ChunkJobData; at: number }) => void;
}

type SettledResponse = { affected?: number };

class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`the claim on chunk job ${jobId} lapsed before it committed; another worker runs it`);
  }
}

/** A chunk job a loop has claimed, and the read of its chunk (started with the claim). */
interface ClaimedChunk {
  job: ChunkJob;
  read: Promise<ChunkStart | null>;
  /** Claimed while the loop's previous chunk committed: it starts when that commit ends. */
  prefetched: boolean;
  /** performance.now() when the claim returned, to date the chunk's start by the job's clock. */
  claimedAt: number;
}

/** Why an LLM analysis pauses before a chunk: what its status and event say, and how to resume. */
interface BudgetPause {
  code: 'llm_budget_exceeded' | 'llm_budget_unpriced_model';
  message: string;
  /** What to change before `retry` can pass (nothing resumes a paused analysis by itself). */
  fix: string;
  figures: Record<string, string>;
}

const heldClause = (held: string): string =>
  new Big(held).gt(0) ? `, up to $${held} held by LLM calls running now` : '';

/** The chunk's bound plus this month's spend (and holds) exceeds the budget. */
function budgetExceeded(
  spent: string,
  budget: string,
  needed: string,
  held: string,
  settingsUrl: string,
  what: string,
): BudgetPause {
  return {
    code: 'llm_budget_exceeded',
    message: `the workspace's monthly LLM budget of $${budget} would be exceeded: $${spent} spent this month${heldClause(held)}, ${what} may cost up to $${needed}`,
    // A raised budget or a new month only lets a retry pass.
    fix: `raise the workspace's monthly LLM budget (PATCH ${settingsUrl}) or wait for next month`,
    figures: { spent_usd: spent, held_usd: held, budget_usd: budget, needed_usd: needed },
  };
}

/**
 * The model has no price, so no call can be counted against the budget: raising the budget or
 * waiting a month changes nothing. Only removing the budget or choosing a priced model does.
 */
function budgetUnpricedModel(
  model: string,
  spent: string,
  budget: string,
  settingsUrl: string,
  what: string,
): BudgetPause {
  return {
    code: 'llm_budget_unpriced_model',
    message: `the workspace has a monthly LLM budget ($${budget}), but its model ${model} has no price in SocialPulse's price table, so what ${what} would cost cannot be counted against the budget; nothing was sent ($${spent} spent this month)`,
    fix: `remove the workspace's monthly LLM budget (PATCH ${settingsUrl} with {"llm":{"monthly_budget_usd":null}}) or choose a model the price table lists`,
    figures: { spent_usd: spent, budget_usd: budget, model },
  };
}

const settingsUrlOf = (workspaceId: string): string =>
  `/v1/workspaces/${workspaceId}/analysis-settings`;

/**
 * How long a budget hold outlives a worker that died holding it: the chunk job's hard limit on
 * one attempt (job-queue.ts), after which the attempt cannot be running any more.
 */
const BUDGET_HOLD_SECONDS = 15 * 60;
/** How long a hold is kept once its calls are made but their traces not yet stored. */
const UNSTORED_TRACES_HOLD_SECONDS = 120;

/**
 * How many claims of one chunk the open circuit may refuse without counting them as attempts:
 * at about the circuit's half-open time each (30 s), a provider that stays down dead-letters the
 * chunk within minutes, not never.
 */
const MAX_UNCOUNTED_ATTEMPTS = 10;
/** A retry the error dated goes up to this fraction of its wait later (jitter). */
const RETRY_JITTER = 0.25;

/**
 * Errors of a dead chunk that every other chunk of its analysis would meet too: the provider
 * refused the key, the quota or the address, or stayed unavailable through all the chunk's
 * attempts (minutes, with the waits above). The analysis fails at once whatever its failure
 * policy, rather than sending every remaining chunk to fail the same way; `retry` resumes it.
 * Not a timeout (one chunk's long posts can cause it) nor a rate limit (the next chunk may
 * come after its reset): those follow the failure policy.
 */
const ANALYSIS_WIDE_ERRORS: ReadonlySet<string> = new Set([
  'llm_auth_failed',
  'llm_quota_exceeded',
  'llm_address_refused',
  'llm_unavailable',
  'llm_circuit_open',
]);

const summaryHolderOf = (analysisId: string, run: string): string => `summary:${analysisId}:${run}`;

/**
 * Runs analysis chunks: `concurrency` loops, each holding one of the global slots while it
 * runs one chunk job fetched from pg-boss, and one loop that settles dead-lettered chunks.
 */
export class ChunkWorker {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private readonly slotClients: ChunkSlots[] = [];
  private waiters: (() => void)[] = [];
  /** Slot-less loops: woken only to stop. */
  private stopWaiters: (() => void)[] = [];
  private listener: { close(): Promise<void> } | null = null;
  private readonly traces: TraceWriter;
  private readonly boss: PgBoss;
  private partitionTimer: NodeJS.Timeout | null = null;
  /** Job summaries being written: they run beside the chunk loops, and stop() waits for them. */
  private readonly summaries = new Set<Promise<void>>();
  /** The end of the line of slot-less loops (waitForSlot). */
  private slotLine: Promise<void> = Promise.resolve();

  constructor(private readonly options: ChunkWorkerOptions) {
    this.boss = options.queue.boss;
    this.traces = new TraceWriter(options.pool, {
      onError: (error, lost) =>
        options.logger.error({ err: error, lost }, 'could not store AI traces'),
      onDeferred: (error, pending) =>
        options.logger.warn(
          { err: error, pending },
          'AI traces not stored yet (the database failed the batch): kept and tried again every second',
        ),
      onCaughtUp: (stored) =>
        options.logger.info({ stored }, 'AI traces kept after a failure are now stored'),
    });
  }

  async start(): Promise<void> {
    this.running = true;
    await withTenant(this.options.pool, { workspaceId: null, userId: null }, (c) =>
      ensureTracePartitions(c),
    );
    this.partitionTimer = setInterval(() => {
      void withTenant(this.options.pool, { workspaceId: null, userId: null }, (c) =>
        ensureTracePartitions(c),
      ).catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'could not create trace partitions'),
      );
    }, 6 * 3600_000);
    this.partitionTimer.unref();
    // One pooled connection per loop, opened now rather than by the first chunks: a worker that
    // starts into a backlog (a deploy, a process added to scale out) would otherwise open them
    // all at once while every loop runs its first chunk.
    const warm = await Promise.all(
      Array.from({ length: this.options.concurrency }, () => this.options.pool.connect()),
    );
    for (const client of warm) client.release();
    // Chunks announced while the session was down were not heard: wake the loops to look.
    this.listener = await listen(this.options.ownerUrl, CHUNK_READY_CHANNEL, () => this.wakeAll(), {
      onReconnect: () => this.wakeAll(),
    });
    for (let i = 0; i < this.options.concurrency; i += 1) {
      const slots = new ChunkSlots(this.options.ownerUrl, this.options.slots);
      await slots.connect();
      this.slotClients.push(slots);
      this.loops.push(this.chunkLoop(slots, i));
    }
    this.loops.push(this.deadLetterLoop());
  }

  /**
   * Stops fetching; waits up to `timeoutMs` for running chunks to commit. A chunk still running
   * after that is left to its lease: another worker picks it up once the heartbeat lapses.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.running = false;
    this.wakeForStop();
    if (this.partitionTimer) clearInterval(this.partitionTimer);
    // A loop committing an analysis's last chunk starts its summary after this point: wait for
    // the loops first, then for every summary, including those.
    const drained = (async (): Promise<void> => {
      await Promise.all(this.loops);
      while (this.summaries.size > 0) await Promise.all(this.summaries);
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      drained,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    if (timer) clearTimeout(timer);
    await this.traces.close();
    await this.listener?.close();
    await Promise.all(this.slotClients.map((s) => s.close()));
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private wakeForStop(): void {
    this.wakeAll();
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of waiters) w();
  }

  /** Waits `ms`; a wakeable sleep also ends when a chunk is announced or the worker stops. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const list = wakeable ? this.waiters : this.stopWaiters;
        const at = list.indexOf(done);
        if (at >= 0) list.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, ms);
      (wakeable ? this.waiters : this.stopWaiters).push(done);
    });
  }

  /**
   * One loop runs one chunk at a time. It holds a global slot while it finds work (a slot is
   * capacity, not a turn: fairness between requesters is in the queue order), and gives it up
   * when the queue is empty. Without a slot it polls on a timer only: waking slot-less loops at
   * every new chunk would cost a query per loop per chunk.
   */
  private async chunkLoop(slots: ChunkSlots, index: number): Promise<void> {
    // The chunk claimed while the previous one committed (see runChunk), run next on this slot.
    // (A holder object: the claim is set from runChunk's callback.)
    const ahead: { claim: Promise<ClaimedChunk | null> | null } = { claim: null };
    while (this.running || ahead.claim) {
      try {
        let claimed: ClaimedChunk | null = null;
        if (ahead.claim) {
          const prefetch = ahead.claim;
          ahead.claim = null;
          claimed = await prefetch;
          // The slot's session was lost meanwhile (a database restart), and its lock with it:
          // take a slot again before running what was claimed for it.
          if (claimed && !slots.holds && this.running) await this.waitForSlot(slots, index);
        }
        if (!claimed) {
          // Nothing was claimed ahead (or the queue was empty then): claim now.
          if (!this.running) break;
          if (!(await this.waitForSlot(slots, index))) continue;
          claimed = await this.claim(false);
        }
        if (!claimed) {
          await slots.release();
          if (this.running) await this.sleep(this.options.pollIntervalMs, true);
          continue;
        }
        await this.runChunk(claimed, () => {
          if (!this.running) return;
          // Awaited at the top of the loop, after the rest of this chunk: handled until then.
          const next = this.claim(true);
          next.catch(() => undefined);
          ahead.claim = next;
        });
      } catch (error) {
        this.options.logger.error({ err: error }, 'chunk loop error');
        // A chunk claimed for this slot still runs on it: keep the slot for it.
        if (!ahead.claim) await slots.release().catch(() => undefined);
        await this.sleep(this.options.pollIntervalMs, false);
      }
    }
    await slots.release().catch(() => undefined);
  }

  /**
   * Claims the next chunk job, if any, and starts reading its chunk (the posts, the analysis,
   * the workspace's settings) in the same breath. A loop claims ahead (`prefetched`) only while
   * its current chunk commits, once the commit has decided the requester's next turn: the
   * claim and the read then overlap the rest of the commit instead of following it, and the
   * claimed chunk waits for no more than that before it runs on the same slot.
   */
  private async claim(prefetched: boolean): Promise<ClaimedChunk | null> {
    const [job] = await this.boss.fetch<ChunkJobData>(CHUNK_QUEUE, {
      batchSize: 1,
      includeMetadata: true,
    });
    if (!job) return null;
    const claimedAt = performance.now();
    const read = (async (): Promise<ChunkStart | null> => {
      // Traces buffered from an earlier chunk's failure count against the budget read next.
      await this.traces.flush();
      // One statement, no transaction of ours: read-only unless this is the analysis's first chunk.
      return startChunkRun(
        this.options.pool,
        job.data.workspaceId,
        job.data.analysisId,
        job.data.seq,
      );
    })();
    // Awaited by runChunk, which handles a failed read as a failed attempt; not an unhandled
    // rejection while the claim waits for the commit before it.
    read.catch(() => undefined);
    return { job, read, prefetched, claimedAt };
  }

  /**
   * Takes a global slot for this loop (true), or gives up when the worker stops (false). Loops
   * without a slot ask the database one at a time, in line: the first polls, the others wait
   * behind it and try the moment it has one. A loop that already holds a slot passes at once.
   * (Each loop polling on its own cost a round trip per loop per interval while every slot was
   * busy: most of the statements a busy worker sent besides its chunks' own.)
   */
  private async waitForSlot(slots: ChunkSlots, index: number): Promise<boolean> {
    if (await slots.tryAcquire(index)) return true;
    let leave!: () => void;
    const ahead = this.slotLine;
    this.slotLine = new Promise<void>((resolve) => (leave = resolve));
    try {
      await ahead;
      while (this.running) {
        if (await slots.tryAcquire(index)) return true;
        await this.sleep(this.options.pollIntervalMs, false);
      }
      return false;
    } finally {
      leave();
    }
  }

  /**
   * Runs a claimed chunk: its engines, then its commit. `claimNext` may be called during the
   * commit (see commit), so that the loop claims its next chunk meanwhile.
   */
  private async runChunk(claimed: ClaimedChunk, claimNext: () => void): Promise<void> {
    const { job } = claimed;
    const data = job.data;
    // A prefetched chunk starts now, not at its claim: dated by the job's (database) clock.
    const startedAt = claimed.prefetched
      ? new Date(job.startedOn.getTime() + (performance.now() - claimed.claimedAt))
      : job.startedOn;
    const attempt = { id: job.id, retryCount: job.retryCount };
    const scope: TenantScope = { workspaceId: data.workspaceId, userId: null };
    const { logger } = this.options;
    this.options.onChunk?.({ type: 'start', data, at: Date.now() });
    // The budget this attempt holds, given back once its calls' traces are stored.
    let budgetHolder: string | null = null;
    const heartbeat = setInterval(() => {
      void this.boss.touch(CHUNK_QUEUE, attempt).catch(() => undefined);
      // A long LLM call keeps its hold alive as the attempt keeps its lease.
      if (budgetHolder) this.renewBudget(scope, budgetHolder);
    }, this.heartbeatMs());
    try {
      const start = await claimed.read;
      if (!start) {
        await this.settleSkipped(job);
        return;
      }
      const { analysis, postIds, posts, settings } = start;
      const llm = analysis.engines.includes(LLM_ENGINE)
        ? this.options.llmFor(data.workspaceId, settings)
        : null;
      if (analysis.engines.includes(LLM_ENGINE) && !llm) {
        throw Object.assign(
          new Error(
            'the analysis asks for the LLM but no model is configured for this workspace or instance',
          ),
          { code: 'llm_not_configured' },
        );
      }
      const categories = categoriesOf(analysis.options, settings?.categories);
      const budget = settings?.llm_monthly_budget_usd ?? null;
      if (llm && budget !== null) {
        // Counted before sending, with the local tokenizer: the most this chunk can cost, held
        // against the budget until its traces are stored (other requesters' chunks of this
        // workspace run meanwhile, and check against the same month).
        const needed = await llm.maxCostUsd(
          posts.map((p) => ({ id: String(p.id), text: p.text ?? '' })),
          categories.map((c) => c.id),
        );
        // Per attempt: a lapsed attempt still calling the LLM keeps its own hold.
        const holder = `chunk:${job.id}:${job.retryCount}`;
        const hold =
          needed === null ? null : await this.holdBudget(data.workspaceId, holder, needed, budget);
        if (!hold?.held) {
          const settingsUrl = settingsUrlOf(data.workspaceId);
          await this.pause(
            job,
            analysis,
            hold
              ? budgetExceeded(
                  hold.spentUsd,
                  budget,
                  needed ?? '',
                  hold.heldUsd,
                  settingsUrl,
                  'this chunk',
                )
              : // An unpriced model tries no hold: the month's spend is read for the message only.
                budgetUnpricedModel(
                  llm.model,
                  await this.monthToDateSpend(data.workspaceId),
                  budget,
                  settingsUrl,
                  'its calls',
                ),
          );
          return;
        }
        budgetHolder = holder;
      }
      const work: ChunkWork = await processChunk({
        analysis,
        seq: data.seq,
        postIds,
        posts,
        categories,
        llm,
      });
      const finished = await this.commit(job, work, startedAt, claimNext);
      // Its calls are traced now: the hold goes before the job summary checks the budget.
      if (budgetHolder) {
        await this.releaseBudget(scope, budgetHolder);
        budgetHolder = null;
      }
      // A finished analysis's cost is read next: store any buffered traces now.
      if (finished) await this.traces.flush();
      // The job's summary is one more LLM call, made off the slot: holding the slot for it would
      // keep the next requester's chunk waiting for a call that is not chunk work. The analysis
      // is already complete; its summary follows (an event when it is stored). The provider's
      // concurrency limit in the LLM client still bounds how many run at once.
      if (finished) this.startSummary(analysis, finished, scope, llm);
    } catch (error) {
      // The calls of a failed attempt (its local engines' run, its LLM attempts) were made all
      // the same: their traces are kept, once (taken from the error).
      this.traces.add(takeTracesOfFailure(error));
      if (error instanceof LeaseLostError) {
        logger.warn({ job: job.id }, error.message);
        return;
      }
      await this.failAttempt(job, scope, error);
    } finally {
      clearInterval(heartbeat);
      if (budgetHolder) await this.releaseBudget(scope, budgetHolder);
      this.options.onChunk?.({ type: 'end', data, at: Date.now() });
    }
  }

  /** Holds the most an LLM call may cost against the workspace's budget, if it fits (see holdBudget). */
  private async holdBudget(
    workspaceId: string,
    holder: string,
    amountUsd: string,
    budgetUsd: string,
  ): Promise<BudgetHold> {
    // Traces buffered from failed attempts count against the month read next.
    await this.traces.flush();
    return withTenant(this.options.pool, { workspaceId, userId: null }, (c) =>
      holdBudget(c, workspaceId, holder, amountUsd, budgetUsd, BUDGET_HOLD_SECONDS),
    );
  }

  /** This month's traced LLM cost of the workspace (decimal string), buffered traces included. */
  private async monthToDateSpend(workspaceId: string): Promise<string> {
    await this.traces.flush();
    return withTenant(this.options.pool, { workspaceId, userId: null }, (c) =>
      monthToDateCost(c, workspaceId),
    );
  }

  /** How often a running chunk heartbeats its lease, and a running LLM call renews its hold. */
  private heartbeatMs(): number {
    return Math.max(1000, (this.options.queue.settings.leaseSeconds * 1000) / 3);
  }

  /** Pushes a hold's expiry back while what it covers still runs (best effort: it lapses if not). */
  private renewBudget(scope: TenantScope, holder: string): void {
    void withTenant(this.options.pool, scope, (c) =>
      renewBudgetHold(c, holder, BUDGET_HOLD_SECONDS),
    ).catch(() => undefined);
  }

  /**
   * Gives a hold back once what it covered is traced (a failed attempt's traces are buffered).
   * When the workspace's traces could not all be stored, the hold is kept: it lapses at its
   * expiry and counts until then, so that calls whose cost is not yet in the month still count.
   */
  private async releaseBudget(scope: TenantScope, holder: string): Promise<void> {
    try {
      const unstored = await this.traces.flush();
      if (scope.workspaceId !== null && unstored.has(scope.workspaceId)) {
        // Kept, but not for its whole lifetime: the writer tries again every second, and a
        // blip must not count this chunk's (committed) cost twice for 15 minutes. An outage
        // long enough to outlast it stops the budget's checks too.
        this.options.logger.warn(
          { holder, expiresInSeconds: UNSTORED_TRACES_HOLD_SECONDS },
          'AI traces not stored yet: the budget hold is kept until it lapses',
        );
        await withTenant(this.options.pool, scope, (c) =>
          renewBudgetHold(c, holder, UNSTORED_TRACES_HOLD_SECONDS),
        );
        return;
      }
      await withTenant(this.options.pool, scope, (c) => releaseBudgetHold(c, holder));
    } catch (error) {
      // It lapses at its expiry: until then it keeps counting, on the safe side.
      this.options.logger.warn({ err: error, holder }, 'could not release a budget hold');
    }
  }

  /**
   * One transaction, two round trips on the chunk loops' pipelined connection: BEGIN with the
   * scope, sent with the chunk's traces, results, counters, event, the analysis's end and the
   * next turn (one SQL function); then, in one write, the job's completion, fenced to this
   * attempt, the next turn's job, the database's check of both (a lapsed claim or a missing job
   * aborts the transaction) and COMMIT. If the chunk was cancelled or committed elsewhere
   * meanwhile, only its traces are written and the turn is handed on. Returns the analysis's
   * final status when this chunk was its last.
   */
  private async commit(
    job: ChunkJob,
    work: ChunkWork,
    startedAt: Date,
    claimNext: () => void,
  ): Promise<AnalysisStatus | null> {
    const data = job.data;
    try {
      return await withTenantTail(
        this.options.pool,
        { workspaceId: data.workspaceId, userId: null },
        async (c) => {
          const result = await commitChunk(c, {
            analysisId: data.analysisId,
            seq: data.seq,
            fairnessKey: data.fairnessKey,
            jobId: job.id,
            attempt: job.retryCount + 1,
            startedAt,
            processed: work.results.length,
            failed: work.missing,
            workMs: work.workMs,
            summary: work.summary,
            error:
              work.missing > 0
                ? {
                    code: 'posts_missing',
                    message: `${work.missing} post(s) were deleted after the analysis was submitted`,
                  }
                : null,
            usage: work.usage,
            results: work.results,
            aggregates: work.aggregates,
            traces: work.traces,
          });
          // The next claim may overlap the rest of this commit unless the requester's next turn,
          // invisible until COMMIT, could have been the one to claim.
          if (!mayOutrankQueuedTurns(result.turn)) claimNext();
          return () => {
            const completion = tailQueueDb(c, (db) =>
              this.complete(
                db,
                job,
                result.committed
                  ? { processed: work.results.length }
                  : { skipped: result.chunkStatus ?? 'missing' },
              ),
            );
            const next = tailQueueDb(c, (db) =>
              sendTurn(db, this.boss, data.fairnessKey, result.turn),
            );
            // The check goes after both statements, and nothing of pg-boss's after it.
            const checking = Promise.all([completion.issued, next.issued])
              .finally(() => {
                completion.close();
                next.close();
              })
              .then(() => {
                const check = checkChunkSettled(
                  c,
                  CHUNK_QUEUE,
                  job.id,
                  job.retryCount,
                  turnJobId(result.turn),
                );
                check.catch(() => undefined);
                return { check }; // wrapped: `issued` must not wait for the check's answer
              });
            const issued = checking.then(() => undefined);
            // The completion's own answer first: a lapsed claim fails both it (LeaseLostError)
            // and the check, and must be told as a lost lease whichever answer arrives first.
            const answered = checking.then(({ check }) =>
              completion.result
                .then(() => Promise.all([next.result, check]))
                .then(() => result.finishedStatus),
            );
            return { issued, answered };
          };
        },
      );
    } catch (error) {
      // The calls were made whether or not the chunk commits: their traces are kept either way.
      // Rolled back: they go through the batched writer. When COMMIT's outcome is unknown they
      // may be stored: said, not guessed, so that a cost is never counted twice.
      if (!(error instanceof CommitOutcomeUnknownError)) this.traces.add(work.traces);
      else
        this.options.logger.error(
          { err: error, analysis: data.analysisId, seq: data.seq, traces: work.traces.length },
          'chunk COMMIT failed; its traces may be lost',
        );
      throw error;
    }
  }

  private async complete(db: QueueDb, job: ChunkJob, output: object): Promise<void> {
    const response = (await this.boss.complete(
      CHUNK_QUEUE,
      { id: job.id, retryCount: job.retryCount },
      output,
      { db },
    )) as SettledResponse;
    if (response.affected === 0) throw new LeaseLostError(job.id);
  }

  private async settleSkipped(job: ChunkJob): Promise<void> {
    await withTenant(this.options.pool, { workspaceId: job.data.workspaceId, userId: null }, (c) =>
      this.skip(c, job),
    );
  }

  /** Completes a chunk job that has nothing left to run, and hands the requester's turn on. */
  private async skip(c: PoolClient, job: ChunkJob): Promise<void> {
    await this.complete(queueDb(c), job, { skipped: true });
    await advanceTurn(c, this.boss, job.data.fairnessKey, job.id);
  }

  /**
   * The budget cannot cover the chunk (exceeded, or the model is unpriced): the analysis pauses;
   * its chunk goes back to pending.
   */
  private async pause(job: ChunkJob, analysis: ChunkAnalysis, reason: BudgetPause): Promise<void> {
    const data = job.data;
    await withTenant(
      this.options.pool,
      { workspaceId: data.workspaceId, userId: null },
      async (c) => {
        await lockAnalysis(c, data.analysisId);
        // Cancelled while the budget was counted: a pause would bring the analysis back to life.
        const chunk = await findChunk(c, data.analysisId, data.seq, true);
        if (chunk?.status !== 'queued') return this.skip(c, job);
        await returnChunkToPending(c, data.analysisId, data.seq);
        await removeFromBacklog(c, data.analysisId);
        const error = {
          code: reason.code,
          message: reason.message,
          ...reason.figures,
          resume: `${reason.fix}, then retry the analysis (POST /v1/workspaces/${data.workspaceId}/analyses/${analysis.id}/retry, or socialpulse analyses retry ${analysis.id})`,
        };
        const updated = await setAnalysisStatus(c, analysis.id, 'paused_budget', { error });
        await appendEvent(c, analysis.id, data.workspaceId, 'paused', {
          ...progressOf(updated),
          error,
        });
        await this.complete(queueDb(c), job, { paused: reason.code });
        await advanceTurn(c, this.boss, data.fairnessKey, job.id);
      },
    );
  }

  private async failAttempt(job: ChunkJob, scope: TenantScope, error: unknown): Promise<void> {
    const data = job.data;
    const err = error as Error & { code?: string };
    const advice = retryAdviceOf(error);
    const detail = {
      code: err.code ?? 'chunk_failed',
      message: err.message,
      ...(advice.retryable ? {} : { retryable: false }),
    };
    // What this attempt does to the job's attempts, decided before pg-boss's `fail` reads them:
    // an error no retry can fix (401, a spent quota, a refused request) ends the chunk now; an
    // attempt whose every call the open circuit refused never reached the provider, and is not
    // counted (within a bound: a provider that stays down still dead-letters the chunk).
    const change = !advice.retryable ? 'last' : !advice.reachedProvider ? 'uncounted' : null;
    const { attempts } = this.options.queue.settings;
    try {
      const outcome = await withTenant(this.options.pool, scope, async (c) => {
        let retryLimit = job.retryLimit;
        if (change) {
          const limit = await setChunkAttemptLimit(
            c,
            job,
            change,
            Math.max(0, attempts - 1) + MAX_UNCOUNTED_ATTEMPTS,
          );
          // Not this attempt's job any more (its claim lapsed): `fail` below finds nothing either.
          if (limit !== null) retryLimit = limit;
        }
        const counted = change !== 'uncounted' || retryLimit === job.retryLimit;
        const failed = (await this.boss.fail(
          CHUNK_QUEUE,
          { id: job.id, retryCount: job.retryCount },
          detail,
          { db: queueDb(c) },
        )) as SettledResponse;
        // Not this attempt's to fail: it lapsed, or its COMMIT went through after all.
        if (failed.affected === 0) return null;
        const willRetry = job.retryCount < retryLimit;
        // Not before the error says a new attempt can succeed (Retry-After, a rate-limit reset,
        // the circuit's half-open), with jitter so that the chunks it held back do not all
        // come back at the same instant.
        const delayMs =
          willRetry && advice.retryAfterMs !== null
            ? Math.round(advice.retryAfterMs * (1 + RETRY_JITTER * Math.random()))
            : null;
        const retryAt =
          delayMs === null ? null : await postponeChunkRetry(c, job.id, delayMs, !counted);
        if (counted)
          await recordChunkAttempt(c, data.analysisId, data.seq, job.retryCount + 1, job.startedOn);
        await appendEvent(c, data.analysisId, data.workspaceId, 'chunk_failed', {
          seq: data.seq,
          attempt: job.retryCount + 1,
          will_retry: willRetry,
          // Refused by the open circuit, never sent: this claim does not use up an attempt.
          ...(counted ? {} : { counted: false }),
          ...(retryAt ? { retry_at: retryAt.toISOString() } : {}),
          error: detail,
        });
        return { willRetry, counted };
      });
      this.options.logger.warn(
        {
          analysis: data.analysisId,
          seq: data.seq,
          attempt: job.retryCount + 1,
          willRetry: outcome?.willRetry,
          counted: outcome?.counted,
          err: detail,
        },
        'chunk attempt failed',
      );
    } catch (failError) {
      this.options.logger.error(
        { err: failError, attemptError: detail, analysis: data.analysisId, seq: data.seq },
        'could not record a failed chunk attempt (its lease will expire and it will be retried)',
      );
    }
  }

  /**
   * Starts the job summary of an analysis that asked the LLM and has just completed (with or
   * without errors), off the caller's path. `llm` is the workspace's, when the caller has it.
   */
  private startSummary(
    analysis: ChunkAnalysis,
    finished: AnalysisStatus,
    scope: TenantScope,
    llm?: LlmRuntime | null,
  ): void {
    if (finished !== 'completed' && finished !== 'completed_with_errors') return;
    if (!analysis.engines.includes(LLM_ENGINE)) return;
    const summary = (async (): Promise<void> => {
      const runtime =
        llm ??
        this.options.llmFor(
          analysis.workspace_id,
          await withTenant(this.options.pool, scope, (c) =>
            getAnalysisSettings(c, analysis.workspace_id),
          ),
        );
      await this.summarize(analysis, runtime, scope);
    })()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, analysis: analysis.id }, 'job summary failed'),
      )
      .finally(() => this.summaries.delete(summary));
    this.summaries.add(summary);
  }

  /**
   * The job summary, made after the analysis completed. Its event always follows (the summary,
   * or why there is none), so that a follower of the progress stream knows when to stop.
   */
  private async summarize(
    a: ChunkAnalysis,
    llm: LlmRuntime | null,
    scope: TenantScope,
  ): Promise<void> {
    let outcome: { summary: string | null; reason?: string; error?: Record<string, string> };
    let summaryHolder: string | null = null;
    let renewal: NodeJS.Timeout | undefined;
    // One summary per run of the analysis; a retried analysis's next summary holds its own.
    const summaryRun = randomUUID();
    try {
      const { summaries, budget } = await withTenant(this.options.pool, scope, async (c) => ({
        summaries: await chunkSummaries(c, a.id),
        budget: (await getAnalysisSettings(c, a.workspace_id))?.llm_monthly_budget_usd ?? null,
      }));
      const overBudget =
        llm && summaries.length > 0 && budget !== null
          ? await this.summaryOverBudget(a, summaryRun, llm, summaries, budget)
          : null;
      if (llm && summaries.length > 0 && budget !== null && !overBudget) {
        const holder = summaryHolderOf(a.id, summaryRun);
        summaryHolder = holder;
        // The call (with its retries) may outlast the hold: renewed as a chunk's is, until it ends.
        renewal = setInterval(() => this.renewBudget(scope, holder), this.heartbeatMs());
      }
      if (!llm) outcome = { summary: null, reason: 'llm_not_configured' };
      else if (summaries.length === 0) outcome = { summary: null, reason: 'no_chunk_summaries' };
      else if (overBudget)
        outcome = {
          summary: null,
          reason: overBudget.code ?? 'llm_budget_exceeded',
          error: overBudget,
        };
      else {
        const result = await llm.summarize(summaries, {
          workspaceId: a.workspace_id,
          userId: a.requested_by,
          analysisId: a.id,
          chunkSeq: null,
        });
        this.traces.add(result.traces);
        await this.traces.flush();
        outcome =
          result.summary === null
            ? { summary: null, reason: 'not_summarized' }
            : { summary: result.summary };
      }
    } catch (error) {
      this.traces.add(takeTracesOfFailure(error));
      this.options.logger.warn({ err: error, analysis: a.id }, 'job summary failed');
      const err = error as Error & { code?: string };
      outcome = {
        summary: null,
        reason: 'llm_failed',
        error: { code: err.code ?? 'summary_failed', message: err.message },
      };
    } finally {
      clearInterval(renewal);
    }
    if (summaryHolder) await this.releaseBudget(scope, summaryHolder);
    try {
      await withTenant(this.options.pool, scope, async (c) => {
        await lockAnalysis(c, a.id);
        // Retried while this summary was made: it is the old run's, and the new run makes its own.
        const current = await findAnalysis(c, a.workspace_id, a.id);
        if (current?.status !== 'completed' && current?.status !== 'completed_with_errors') return;
        if (outcome.summary !== null) await setAnalysisSummary(c, a.id, outcome.summary);
        await appendEvent(c, a.id, a.workspace_id, 'summary', outcome);
      });
    } catch (error) {
      this.options.logger.warn({ err: error, analysis: a.id }, 'could not store the job summary');
    }
  }

  /**
   * Why the job summary must not be made (the error the summary event carries), or null: like a
   * chunk, it is refused before sending when this month's traced cost plus the most it may cost
   * exceeds the workspace's budget, or when the model is unpriced while a budget is set.
   */
  private async summaryOverBudget(
    a: ChunkAnalysis,
    run: string,
    llm: LlmRuntime,
    summaries: string[],
    budget: string,
  ): Promise<Record<string, string> | null> {
    const needed = await llm.maxSummaryCostUsd(summaries);
    const hold =
      needed === null
        ? null
        : await this.holdBudget(a.workspace_id, summaryHolderOf(a.id, run), needed, budget);
    if (hold?.held) return null;
    const settingsUrl = settingsUrlOf(a.workspace_id);
    const pause = hold
      ? budgetExceeded(
          hold.spentUsd,
          budget,
          needed ?? '',
          hold.heldUsd,
          settingsUrl,
          'the job summary',
        )
      : budgetUnpricedModel(
          llm.model,
          await this.monthToDateSpend(a.workspace_id),
          budget,
          settingsUrl,
          'the job summary',
        );
    return { code: pause.code, message: `${pause.message}; it was not made`, ...pause.figures };
  }

  /** Settles chunks that exhausted their attempts (thrown, or lost with a crashed worker). */
  private async deadLetterLoop(): Promise<void> {
    while (this.running) {
      try {
        const jobs = await this.boss.fetch<ChunkJobData>(CHUNK_DEAD_LETTER_QUEUE, {
          batchSize: 10,
          includeMetadata: true,
        });
        if (jobs.length === 0) {
          await this.sleep(Math.max(this.options.pollIntervalMs, 500), false);
          continue;
        }
        for (const job of jobs) await this.settleDeadLetter(job);
      } catch (error) {
        this.options.logger.error({ err: error }, 'dead-letter loop error');
        await this.sleep(1000, false);
      }
    }
  }

  private async settleDeadLetter(job: ChunkJob): Promise<void> {
    const data = job.data;
    const scope: TenantScope = { workspaceId: data.workspaceId, userId: null };
    const output = (job.sourceOutput ?? {}) as { code?: string; message?: string };
    const error = {
      code: output.code ?? 'chunk_dead',
      message:
        output.message ?? 'the chunk failed after every attempt (its worker may have stopped)',
      attempts: (job.sourceRetryCount ?? 0) + 1,
    };
    // An analysis that completes with this chunk dead still gets its summary, of the others.
    const finished = await withTenant(this.options.pool, scope, async (c) => {
      let ended: { analysis: ChunkAnalysis; status: AnalysisStatus } | null = null;
      await lockAnalysis(c, data.analysisId);
      const chunk = await findChunk(c, data.analysisId, data.seq, true);
      if (chunk && chunk.status === 'queued') {
        const updated = await finishChunk(c, {
          analysisId: data.analysisId,
          seq: data.seq,
          status: 'dead',
          processed: 0,
          failed: chunk.post_ids.length,
          workMs: 0,
          summary: null,
          error,
          usage: { inputTokens: 0, outputTokens: 0, costUsd: '0', unpricedCalls: 0 },
          attempts: error.attempts,
        });
        await appendEvent(c, data.analysisId, data.workspaceId, 'chunk_dead', {
          ...progressOf(updated),
          seq: data.seq,
          error,
        });
        const policy =
          (updated.options as { failure_policy?: string }).failure_policy ?? 'continue';
        const analysisWide = ANALYSIS_WIDE_ERRORS.has(error.code);
        if ((policy === 'fail_fast' || analysisWide) && updated.status !== 'cancelled') {
          await cancelPendingChunks(c, updated.id);
          const failed = await setAnalysisStatus(c, updated.id, 'failed', {
            error: {
              ...error,
              policy: policy === 'fail_fast' ? 'fail_fast' : 'provider_failure',
              ...(analysisWide
                ? {
                    resume: `every chunk would fail the same way: check the workspace's LLM settings (key, quota, base URL: PATCH /v1/workspaces/${data.workspaceId}/analysis-settings) or the provider's status, then retry the analysis (POST /v1/workspaces/${data.workspaceId}/analyses/${updated.id}/retry, or socialpulse analyses retry ${updated.id})`,
                  }
                : {}),
            },
            aggregates: await computeAggregates(c, updated.id),
          });
          await appendEvent(c, updated.id, data.workspaceId, 'failed', {
            ...progressOf(failed),
            error,
          });
        } else {
          const status = await finalizeIfDone(c, updated.id);
          if (status) ended = { analysis: updated, status };
        }
      }
      // The failed job would hold back the requester's next chunk under key_strict_fifo.
      if (job.sourceId) await this.boss.deleteJob(CHUNK_QUEUE, job.sourceId, { db: queueDb(c) });
      await this.boss.complete(
        CHUNK_DEAD_LETTER_QUEUE,
        job.id,
        { settled: true },
        { db: queueDb(c) },
      );
      await advanceTurn(c, this.boss, data.fairnessKey, job.sourceId ?? null);
      return ended;
    });
    if (finished) this.startSummary(finished.analysis, finished.status, scope);
  }
}
