import { Option, type Command } from 'commander';
import { SENTIMENT_ENGINE_NAMES } from '../../analysis/engine.js';
import { Presets, SingleBar } from 'cli-progress';
import Big from 'big.js';
import {
  analysisCreateSchema,
  analysisResultQuerySchema,
  type AnalysisCost,
} from '@socialpulse/contracts';
import { isInteractiveTerminal } from '../../config.js';
import { AppError, notFound } from '../../errors.js';
import { jobQueueSettings, lazyJobQueue, type JobQueueHandle } from '../../db/job-queue.js';
import {
  analysisWorkspaceId,
  eventBeforeLatestRun,
  eventStreamOver,
  eventsAfter,
  findAnalysis,
  listAnalyses,
  setUserLane,
  setWorkspaceLane,
  type AnalysisRow,
} from '../../db/repos/analyses.repo.js';
import { findUserByEmail } from '../../db/repos/users.repo.js';
import type { Queryable } from '../../db/pool.js';
import { withTenant, type TenantRunner, type TenantScope } from '../../db/tenant.js';
import {
  analysisAudit,
  cancelAnalysis,
  changePriority,
  liveStateOf,
  retryAnalysis,
  submitAnalysis,
} from '../../domain/analyses/analyses.service.js';
import {
  AnalysisEventHub,
  SUMMARY_GRACE_SECONDS,
  TERMINAL_EVENTS,
} from '../../domain/analyses/event-hub.js';
import {
  exportResults,
  presentAnalysis,
  presentCost,
} from '../../api/routes/analyses/analyses.presenter.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import { getAnalysisSettings } from '../../db/repos/analysis-settings.repo.js';
import { monthToDateCost, traceTotals } from '../../db/repos/traces.repo.js';
import { withDatabase, type CommandContext, type DatabaseFlags } from '../context.js';
import { commandLinePath, openOutput, writeOutput } from '../files.js';
import { EXIT_DATA_ERRORS } from '../output.js';
import { resolveWorkspace } from '../workspaces.js';

interface StartFlags extends DatabaseFlags {
  workspace: string;
  engines: string;
  chunkSize?: string;
  limit: string;
  ids?: string;
  platform?: string;
  account?: string;
  since?: string;
  until?: string;
  q?: string;
  failurePolicy: string;
  sentimentEngine: string;
  priority?: string;
  wait: boolean;
  work?: boolean;
}

const dbOptions = (command: Command): Command =>
  command
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)');

/** `socialpulse analyses ...`: start, follow, show, list, cancel, retry, prioritise and export analyses. */
export function registerAnalysesCommand(program: Command): void {
  const analyses = program
    .command('analyses')
    .description('Run and manage analyses of stored posts (the same jobs as the API)');

  dbOptions(
    analyses
      .command('start')
      .description('Start an analysis and (by default) follow its progress until it ends')
      .requiredOption('-w, --workspace <name>', 'workspace (name or id)')
      .option('--engines <list>', 'local, llm or local,llm', 'local')
      .option(
        '--chunk-size <n>',
        'posts per chunk (default 100; with the LLM, at most what one answer of the model can label)',
      )
      .option('--limit <n>', 'at most this many posts (oldest first)', '100000')
      .option('--ids <list>', 'comma-separated post ids')
      .option('--platform <platform>', 'only this platform')
      .option('--account <handle>', 'only this account')
      .option('--since <iso>', 'posts created at or after this instant')
      .option('--until <iso>', 'posts created before this instant')
      .option('--q <text>', 'full-text search')
      .option('--failure-policy <policy>', 'continue or fail_fast', 'continue')
      .addOption(
        new Option(
          '--sentiment-engine <engine>',
          'sentiment of the local engines (default: model and VADER combined)',
        )
          .choices(SENTIMENT_ENGINE_NAMES)
          .default('default'),
      )
      .option(
        '--priority <n>',
        "0 (normal) to 10: the analysis's chunks run before those of lower priority (default: its workspace's lane)",
      )
      .option('--no-wait', 'return the analysis id at once')
      .option(
        '--work',
        'run a worker in this process while waiting (default when no SocialPulse server is running)',
      ),
  ).action(async (flags: StartFlags) => {
    // Numbers checked here, named as the options they are: Number('abc') would reach the schema
    // as NaN and be reported under the API's field name.
    const limit = positiveInteger('--limit', flags.limit);
    const chunkSize =
      flags.chunkSize === undefined ? undefined : positiveInteger('--chunk-size', flags.chunkSize);
    const priority = flags.priority === undefined ? undefined : laneValue(flags.priority);
    const parsed = analysisCreateSchema.safeParse({
      posts: {
        ...(flags.ids ? { ids: flags.ids.split(',').map((s) => s.trim()) } : {}),
        filter: Object.fromEntries(
          Object.entries({
            platform: flags.platform,
            account: flags.account,
            since: flags.since,
            until: flags.until,
            q: flags.q,
          }).filter(([, v]) => v !== undefined),
        ),
        limit,
      },
      engines: flags.engines.split(',').map((s) => s.trim()),
      options: {
        ...(chunkSize === undefined ? {} : { chunk_size: chunkSize }),
        failure_policy: flags.failurePolicy,
        sentiment_engine: flags.sentimentEngine,
      },
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const option = optionOfField(issue?.path ?? []);
      throw new AppError(
        'validation_failed',
        `${option}: ${issue?.message ?? 'invalid'} (got "${startFlagValue(flags, option)}")`,
      );
    }
    await withDatabase(flags, async (ctx) => {
      const workspaceId = await workspaceIdOf(ctx, flags.workspace);
      const scope: TenantScope = { workspaceId, userId: null };
      const jobs = lazyJobQueue(ctx.db.url, jobQueueSettings(ctx.config), { supervise: false });
      const worker = await workerIfAlone(ctx, flags.work);
      try {
        const queue = await jobs.get();
        const analysis = await withTenant(ctx.db.pool, scope, async (c) => {
          const submitted = await submitAnalysis(
            c,
            queue.boss,
            scope,
            workspaceId,
            { userId: null, apiKeyId: null },
            parsed.data,
            ctx.config.llm,
          );
          // The API's PATCH …/priority, in the submission's transaction: no worker can take the
          // first chunk at the lane's priority before it is changed. The CLI is the operator's.
          const started =
            priority === undefined
              ? submitted
              : {
                  ...submitted,
                  priority: (await changePriority(c, workspaceId, submitted.id, priority, true))
                    .priority,
                };
          await insertAuditEntry(c, {
            actor: 'cli',
            ...analysisAudit('analysis.started', started),
          });
          return started;
        });
        process.stdout.write(
          `analysis ${analysis.id}: ${analysis.total_posts} posts in ${analysis.chunk_count} chunk(s)\n`,
        );
        if (flags.wait) await follow(ctx, workspaceId, analysis.id, analysis.chunk_count);
      } finally {
        await worker?.stop();
        await jobs.close();
      }
    });
  });

  dbOptions(
    analyses
      .command('show <id>')
      .description(
        'Status, progress, aggregates, summary and cost of an analysis (`cost`: every model call made, as GET …/cost; `usage`: those of the stored results only)',
      ),
  ).action(async (id: string, flags: DatabaseFlags) =>
    withDatabase(flags, async (ctx) => {
      const workspaceId = await workspaceOfAnalysis(ctx, id);
      const view = await withTenant(ctx.db.pool, { workspaceId, userId: null }, async (c) => {
        const a = await findAnalysis(c, workspaceId, id);
        if (!a) throw notFound('analysis', id);
        // `usage` counts only the chunks stored; what was spent and counted against the budget
        // (a discarded or timed-out attempt, the job summary) is in the traces.
        // The local engines' calls are traced too (one per chunk), but they are no LLM's and
        // cost nothing: under a name of their own, so that `cost` is what the LLM cost.
        const { llm, local } = splitLocalCalls(presentCost(await traceTotals(c, id)));
        return {
          ...presentAnalysis(a, await liveStateOf(c, a, ctx.config.analysis.slots)),
          cost: llm,
          local_engines: local,
        };
      });
      process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    }),
  );

  dbOptions(
    analyses
      .command('follow <id>')
      .description('Follow a running analysis until it ends (a progress bar on a terminal)')
      .option(
        '--work',
        'run a worker in this process while following (default when no SocialPulse server is running)',
      ),
  ).action(async (id: string, flags: DatabaseFlags & { work?: boolean }) =>
    withDatabase(flags, async (ctx) => {
      const workspaceId = await workspaceOfAnalysis(ctx, id);
      const scope = { workspaceId, userId: null };
      // As an SSE client resuming with Last-Event-ID: the stream's position now, read before the
      // analysis (so that its state is at least that new), and only what comes after it shown.
      // Replaying a finished run's every chunk told nothing its final state does not.
      const { a, last, over } = await withTenant(ctx.db.pool, scope, async (c) => {
        const position = await latestEventId(c, id);
        const row = await findAnalysis(c, workspaceId, id);
        if (!row) throw notFound('analysis', id);
        return {
          a: row,
          last: position,
          over: await eventStreamOver(c, id, position, SUMMARY_GRACE_SECONDS),
        };
      });
      // Paused, it waits for someone (a raised budget, a retry), not for a worker: said as a
      // finished one is, with its exit code, rather than followed for days.
      if (over || a.status === 'paused_budget') {
        const cost = costText(
          presentCost(await withTenant(ctx.db.pool, scope, (c) => traceTotals(c, id))),
          a.engines.includes('llm'),
        );
        process.stdout.write(
          `analysis ${id}: ${a.status}, ${countsText(a)}${cost ? `; ${cost}` : ''} (details: socialpulse analyses show ${id})\n`,
        );
        const final = a.status === 'paused_budget' ? 'paused' : a.status;
        if (final === 'paused') pausedHint(id, errorMessageOf(a.error));
        process.exitCode = ANALYSIS_EXIT_CODES[final] ?? 1;
        return;
      }
      const live = await withTenant(ctx.db.pool, scope, (c) =>
        liveStateOf(c, a, ctx.config.analysis.slots),
      );
      const position = live.queuePosition === null ? '' : `, queue position ${live.queuePosition}`;
      process.stdout.write(
        `analysis ${id}: ${a.status}, ${countsText(a)}${position}, ETA ${etaText(live.estimatedSecondsLeft)}\n`,
      );
      const worker = await workerIfAlone(ctx, flags.work);
      try {
        await follow(ctx, workspaceId, id, a.chunk_count, { afterEventId: last, state: a });
      } finally {
        await worker?.stop();
      }
    }),
  );

  dbOptions(
    analyses
      .command('list')
      .description('Analyses of a workspace, newest first')
      .requiredOption('-w, --workspace <name>', 'workspace')
      .option('--limit <n>', 'how many', '20'),
  ).action(async (flags: DatabaseFlags & { workspace: string; limit: string }) =>
    withDatabase(flags, async (ctx) => {
      const workspaceId = await workspaceIdOf(ctx, flags.workspace);
      const rows = await withTenant(ctx.db.pool, { workspaceId, userId: null }, (c) =>
        listAnalyses(c, workspaceId, Number(flags.limit) || 20, null),
      );
      for (const a of rows) {
        process.stdout.write(
          `${a.id}  ${a.status.padEnd(21)} ${String(a.chunks_done + a.chunks_failed).padStart(5)}/${a.chunk_count} chunks  ${a.total_posts} posts  ${a.created_at.toISOString()}\n`,
        );
      }
    }),
  );

  const scopedAction =
    (
      verb: string,
      run: (
        ctx: CommandContext,
        jobs: JobQueueHandle,
        workspaceId: string,
        id: string,
        extra: string | undefined,
      ) => Promise<unknown>,
    ) =>
    async (id: string, extraOrFlags: string | DatabaseFlags, maybeFlags?: DatabaseFlags) => {
      const flags = (typeof extraOrFlags === 'string' ? maybeFlags : extraOrFlags) ?? {};
      const extra = typeof extraOrFlags === 'string' ? extraOrFlags : undefined;
      await withDatabase(flags, async (ctx) => {
        const workspaceId = await workspaceOfAnalysis(ctx, id);
        const jobs = lazyJobQueue(ctx.db.url, jobQueueSettings(ctx.config), { supervise: false });
        try {
          await run(ctx, jobs, workspaceId, id, extra);
          process.stdout.write(`analysis ${id}: ${verb}\n`);
        } finally {
          await jobs.close();
        }
      });
    };

  dbOptions(
    analyses
      .command('cancel <id>')
      .description('Cancel an analysis: no further chunk runs (a chunk in flight is discarded)'),
  ).action(
    scopedAction('cancelled', async (ctx, jobs, workspaceId, id) => {
      const queue = await jobs.get();
      return withTenant(ctx.db.pool, { workspaceId, userId: null }, async (c) => {
        const cancelled = await cancelAnalysis(c, queue.boss, workspaceId, id);
        await insertAuditEntry(c, {
          actor: 'cli',
          ...analysisAudit('analysis.cancelled', cancelled),
        });
        return cancelled;
      });
    }),
  );
  dbOptions(
    analyses
      .command('retry <id>')
      .description('Run dead-lettered chunks again; resume a paused or cancelled analysis'),
  ).action(async (id: string, flags: DatabaseFlags) =>
    withDatabase(flags, async (ctx) => {
      const workspaceId = await workspaceOfAnalysis(ctx, id);
      const scope = { workspaceId, userId: null };
      const jobs = lazyJobQueue(ctx.db.url, jobQueueSettings(ctx.config), { supervise: false });
      try {
        const queue = await jobs.get();
        const warning = await withTenant(ctx.db.pool, scope, async (c) => {
          const before = await findAnalysis(c, workspaceId, id);
          if (!before) throw notFound('analysis', id);
          const retried = await retryAnalysis(c, queue.boss, scope, workspaceId, id);
          await insertAuditEntry(c, {
            actor: 'cli',
            ...analysisAudit('analysis.retried', retried),
          });
          return before.status === 'paused_budget'
            ? budgetPauseWarning(
                before.error,
                (await getAnalysisSettings(c, workspaceId))?.llm_monthly_budget_usd ?? null,
                await monthToDateCost(c, workspaceId),
              )
            : null;
        });
        process.stdout.write(`analysis ${id}: queued again\n`);
        if (warning) process.stderr.write(`${warning}\n`);
      } finally {
        await jobs.close();
      }
    }),
  );
  dbOptions(
    analyses
      .command('priority <id> <priority>')
      .description('Set the priority (0-10) of an analysis’s remaining chunks'),
  ).action(
    scopedAction('priority changed', (ctx, _jobs, workspaceId, id, priority) =>
      withTenant(ctx.db.pool, { workspaceId, userId: null }, async (c) => {
        // The CLI is the instance operator's.
        const changed = await changePriority(c, workspaceId, id, laneValue(priority), true);
        await insertAuditEntry(c, {
          actor: 'cli',
          ...analysisAudit('analysis.priority_changed', changed),
        });
        return changed;
      }),
    ),
  );

  dbOptions(
    analyses
      .command('lane')
      .description(
        'Move a workspace or a user to a faster lane: their new analyses start at this priority (0-10)',
      )
      .option('-w, --workspace <name>', 'workspace')
      .option('--user <email>', 'user')
      .requiredOption('--priority <n>', '0 (normal) to 10'),
  ).action(
    async (flags: DatabaseFlags & { workspace?: string; user?: string; priority: string }) => {
      if (!flags.workspace === !flags.user)
        throw new AppError('validation_failed', 'name exactly one of --workspace or --user');
      const priority = laneValue(flags.priority);
      await withDatabase(flags, async (ctx) => {
        if (flags.workspace) {
          const workspaceId = await workspaceIdOf(ctx, flags.workspace);
          await withTenant(ctx.db.pool, { workspaceId, userId: null }, (c) =>
            setWorkspaceLane(c, workspaceId, priority),
          );
        } else {
          const user = await withTenant(ctx.db.pool, { workspaceId: null, userId: null }, (c) =>
            findUserByEmail(c, flags.user ?? ''),
          );
          if (!user) throw new AppError('not_found', `No user with e-mail ${flags.user ?? ''}`);
          await withTenant(ctx.db.pool, { workspaceId: null, userId: user.id }, (c) =>
            setUserLane(c, user.id, priority),
          );
        }
        process.stdout.write(`lane set to ${priority}\n`);
      });
    },
  );

  dbOptions(
    analyses
      .command('results <id>')
      .description('Export per-post results as JSON Lines or CSV (streamed)')
      .option(
        '-f, --format <format>',
        'jsonl or csv (list cells, categories and keywords, as JSON arrays)',
        'jsonl',
      )
      .option('-o, --out <file>', 'output file, or - for stdout', commandLinePath, '-')
      .option('--label <label>', 'only this sentiment label (negative, neutral, positive, or none)')
      .option('--topic <topic>', 'only this LLM topic')
      .option('--category <category>', 'only this category')
      .option('--llm-sentiment <label>', "only this sentiment label of the LLM's")
      .option('--llm-status <status>', 'labelled or unlabelled (by the LLM)'),
  ).action(
    async (
      id: string,
      flags: DatabaseFlags & {
        format: string;
        out: string;
        label?: string;
        topic?: string;
        category?: string;
        llmSentiment?: string;
        llmStatus?: string;
      },
    ) => {
      // Checked here, not by the API's query schema: that one also takes `json` (pages), which an
      // export has no use for, and would name it among the choices.
      const format = (['jsonl', 'csv'] as const).find((f) => f === flags.format);
      if (format === undefined)
        throw new AppError(
          'validation_failed',
          `--format: expected one of "jsonl"|"csv" (got "${flags.format}")`,
        );
      // The query as the API would receive it, keyed as its fields are.
      const given: Record<string, string | undefined> = {
        format,
        label: flags.label,
        topic: flags.topic,
        category: flags.category,
        llm_sentiment: flags.llmSentiment,
        llm_status: flags.llmStatus,
      };
      const parsed = analysisResultQuerySchema.safeParse(given);
      if (!parsed.success) {
        // The problem named as its flag, with the value given.
        const issue = parsed.error.issues[0];
        const field = String(issue?.path[0] ?? 'format');
        throw new AppError(
          'validation_failed',
          `--${field.replaceAll('_', '-')}: ${issue?.message ?? 'invalid'} (got "${given[field] ?? ''}")`,
        );
      }
      const q = { ...parsed.data, format };
      await withDatabase(flags, async (ctx) => {
        const workspaceId = await workspaceOfAnalysis(ctx, id);
        // Written whole or not at all: a failed or interrupted export leaves an existing file as
        // it was.
        const output = await openOutput(flags.out);
        const run: TenantRunner = (work) =>
          withTenant(ctx.db.pool, { workspaceId, userId: null }, work);
        try {
          await run((c) =>
            insertAuditEntry(c, {
              workspaceId,
              actor: 'cli',
              action: 'analysis.exported',
              target: id,
              details: { format: q.format, destination: flags.out === '-' ? 'stdout' : 'file' },
            }),
          );
        } catch (error) {
          await output.discard();
          throw error;
        }
        await writeOutput(
          exportResults(
            run,
            id,
            {
              label: q.label,
              topic: q.topic,
              category: q.category,
              llmSentiment: q.llm_sentiment,
              llmStatus: q.llm_status,
            },
            q.format,
          ),
          output,
        );
      });
    },
  );
}

/**
 * A worker in this process while the command waits, with --work, or by default on the embedded
 * database: without a running server nobody else would run the chunks.
 */
async function workerIfAlone(
  ctx: CommandContext,
  work: boolean | undefined,
): Promise<{ stop(): Promise<void> } | null> {
  if (!(work ?? ctx.db.mode === 'embedded')) return null;
  const { startWorker } = await import('../../services/worker.js');
  return startWorker(ctx.config, ctx.db, ctx.logger);
}

function laneValue(text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 10)
    throw new AppError(
      'validation_failed',
      `priority must be a whole number from 0 to 10 (got "${text ?? ''}")`,
    );
  return n;
}

/** A whole number of at least 1 given to `option`, or an error naming the option and value. */
function positiveInteger(option: string, text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new AppError('validation_failed', `${option}: must be a positive integer, got "${text}"`);
  return n;
}

/** The `start` option that fills a field of the API's body (the path of a schema issue). */
export function optionOfField(path: readonly PropertyKey[]): string {
  const [head, field, sub] = path.map(String);
  if (head === 'posts') {
    if (field === 'filter' && sub !== undefined) return `--${sub}`;
    return field === 'ids' ? '--ids' : '--limit';
  }
  if (head === 'options' && field !== undefined) return `--${field.replaceAll('_', '-')}`;
  return '--engines';
}

function startFlagValue(flags: StartFlags, option: string): string {
  const key = option
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof StartFlags;
  const value = flags[key];
  return typeof value === 'string' ? value : '';
}

/**
 * What a retry of an analysis paused on the budget should hear: why it paused and, when the
 * budget still leaves too little for its next LLM chunk, that it will pause again at once (the
 * API lets such a retry through; a raised budget or a new month only makes it pass).
 */
export function budgetPauseWarning(
  error: Record<string, unknown> | null,
  budgetUsd: string | null,
  spentUsd: string,
): string {
  const message = typeof error?.message === 'string' ? error.message : 'its LLM budget was reached';
  const lines = [`it was paused: ${message}`];
  // An unpriced model's calls cannot be counted against a budget: raising it changes nothing.
  if (error?.code === 'llm_budget_unpriced_model') {
    if (budgetUsd !== null)
      lines.push(
        `the workspace still has a monthly LLM budget ($${budgetUsd}): if its model still has no price, it will pause again unless the budget is removed (PATCH /v1/workspaces/{id}/analysis-settings with {"llm":{"monthly_budget_usd":null}}) or a model with a price is chosen`,
      );
    return lines.join('\n');
  }
  const needed = typeof error?.needed_usd === 'string' ? error.needed_usd : '0';
  if (budgetUsd !== null && /^\d+(\.\d+)?$/.test(needed)) {
    if (new Big(spentUsd).plus(needed).gt(budgetUsd))
      lines.push(
        `the monthly LLM budget is still $${budgetUsd}, with $${spentUsd} spent this month and up to $${needed} needed: it will pause again unless the budget is raised (PATCH /v1/workspaces/{id}/analysis-settings, or the dashboard's workspace settings)`,
      );
  }
  return lines.join('\n');
}

function workspaceIdOf(ctx: CommandContext, name: string): Promise<string> {
  return resolveWorkspace(ctx.db, name);
}

async function workspaceOfAnalysis(ctx: CommandContext, id: string): Promise<string> {
  if (!/^[0-9a-f-]{36}$/i.test(id))
    throw new AppError('validation_failed', `"${id}" is not an analysis id`);
  const workspaceId = await withTenant(ctx.db.pool, { workspaceId: null, userId: null }, (c) =>
    analysisWorkspaceId(c, id),
  );
  if (!workspaceId) throw notFound('analysis', id);
  return workspaceId;
}

/**
 * The chunks settled (done or dead-lettered) and posts processed that an analysis event reports;
 * null for the events that carry no counts (a failed attempt's, a summary), which must not move
 * a progress bar back to 0.
 */
export function chunkProgress(data: unknown): { done: number; posts: number } | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as { chunks_done?: unknown; chunks_failed?: unknown; posts_processed?: unknown };
  if (typeof d.chunks_done !== 'number') return null;
  const failed = typeof d.chunks_failed === 'number' ? d.chunks_failed : 0;
  const posts = typeof d.posts_processed === 'number' ? d.posts_processed : 0;
  return { done: d.chunks_done + failed, posts };
}

/**
 * The exit status of `analyses start` and `follow` by how the analysis ended (cli/README.md):
 * 0 completed; 65 (EXIT_DATA_ERRORS, as `import` with rejects) completed with dead-lettered
 * chunks, the other results kept; 1 failed, as any failed run; 3 cancelled; 75 (sysexits'
 * EX_TEMPFAIL) paused on the LLM budget, to be resumed with `analyses retry`.
 */
export const ANALYSIS_EXIT_CODES: Readonly<Record<string, number>> = {
  completed: 0,
  completed_with_errors: EXIT_DATA_ERRORS,
  failed: 1,
  cancelled: 3,
  paused: 75,
  interrupted: 1,
};

/** The server's estimate of the time left, as the progress bar shows it; "—" when it has none. */
export function etaText(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The provider of the local engines' traces (domain/analyses/chunk-processor.ts): one call per
 * chunk, traced like the LLM's so that every model call can be audited, but priced at nothing.
 */
const LOCAL_PROVIDER = 'local';

/** The local engines' calls, apart from the LLM's: they have no tokens and no cost. */
export interface LocalEngineCalls {
  calls: number;
  duration_ms: number;
}

/**
 * Splits GET …/cost's figures (which count every traced call) into the LLM's calls, in the same
 * shape, and the local engines'.
 */
export function splitLocalCalls(cost: AnalysisCost): {
  llm: AnalysisCost;
  local: LocalEngineCalls;
} {
  const local = cost.by_model.filter((m) => m.provider === LOCAL_PROVIDER);
  const localCalls = local.reduce((n, m) => n + m.calls, 0);
  const llmCalls = cost.calls - localCalls;
  return {
    // The local calls add no tokens, no cost and no unpriced call: only the counts change.
    llm: {
      ...cost,
      calls: llmCalls,
      // The traces' totals do not say whose the failures were; a local call fails only when
      // every post of its chunk did. Bounded so that a count never says more failed than ran.
      errors: Math.min(cost.errors, llmCalls),
      by_model: cost.by_model.filter((m) => m.provider !== LOCAL_PROVIDER),
    },
    local: {
      calls: localCalls,
      duration_ms: local.reduce((n, m) => n + m.duration_ms, 0),
    },
  };
}

/**
 * What an analysis's LLM calls cost, for a person: every traced LLM call (what was counted
 * against the budget), with the calls of a model without a price said to be of unknown cost,
 * never $0. The local engines' calls cost nothing and are not counted. Null when the analysis
 * did not ask the LLM and made no LLM call; "no LLM calls" when it asked and made none (as the
 * dashboard says it under "LLM cost").
 */
export function costText(cost: AnalysisCost, askedLlm: boolean): string | null {
  const { llm } = splitLocalCalls(cost);
  if (llm.calls === 0) return askedLlm ? 'LLM cost: no LLM calls' : null;
  const calls = `${llm.calls} LLM call${llm.calls === 1 ? '' : 's'}${llm.errors > 0 ? ` (${llm.errors} failed)` : ''}`;
  const tokens = `${llm.input_tokens} input and ${llm.output_tokens} output tokens`;
  if (llm.unpriced_calls === llm.calls)
    return `LLM cost: unknown: ${calls}, ${tokens}, all of a model without a price`;
  const unpriced =
    llm.unpriced_calls > 0
      ? `; plus ${llm.unpriced_calls} call(s) of a model without a price, of unknown cost`
      : '';
  return `LLM cost: $${llm.cost_usd} for ${calls}, ${tokens}${unpriced}`;
}

/** An analysis's settled chunks and processed posts, as its status lines say them. */
function countsText(a: AnalysisRow): string {
  const failed = a.chunks_failed > 0 ? ` (${a.chunks_failed} dead-lettered)` : '';
  return `${a.chunks_done + a.chunks_failed}/${a.chunk_count} chunks${failed}, ${a.posts_processed} posts`;
}

function errorMessageOf(error: Record<string, unknown> | null): string | undefined {
  return typeof error?.message === 'string' ? error.message : undefined;
}

/** A pause waits for someone (a budget raised, then a retry): said, and not a success. */
function pausedHint(id: string, reason: string | undefined): void {
  process.stderr.write(
    `${reason ? `${reason}\n` : ''}resume it with: socialpulse analyses retry ${id}\n`,
  );
}

/**
 * The id of the analysis's latest event: where a follower that wants only what happens from now
 * on resumes (Last-Event-ID). Read through the latest run's events, a page at a time: the
 * repository has no read of the last id alone, and a run has an event per chunk at most.
 */
async function latestEventId(c: Queryable, analysisId: string): Promise<number> {
  const PAGE = 1000;
  let last = await eventBeforeLatestRun(c, analysisId);
  for (;;) {
    const events = await eventsAfter(c, analysisId, last, PAGE);
    last = events.at(-1)?.id ?? last;
    if (events.length < PAGE) return last;
  }
}

/** The job summary's event: the text, or null with why there is none. */
interface SummaryOutcome {
  summary: string | null;
  reason?: string;
  error?: { message?: string; code?: string };
}

/** A summary event's data, read defensively (events are stored as JSON). */
function summaryOutcomeOf(data: unknown): SummaryOutcome {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const error = d.error as { message?: unknown; code?: unknown } | null | undefined;
  return {
    summary: typeof d.summary === 'string' ? d.summary : null,
    ...(typeof d.reason === 'string' ? { reason: d.reason } : {}),
    ...(typeof error?.message === 'string' ? { error: { message: error.message } } : {}),
  };
}

/** The line that says what became of an LLM analysis's job summary. */
export function summaryText(outcome: SummaryOutcome | null, graceSeconds: number): string {
  if (outcome === null)
    return `job summary: none arrived within ${graceSeconds}s of the end (the worker may have stopped; socialpulse analyses show has it if it comes later)`;
  if (outcome.summary !== null) return 'job summary: ready';
  const why = outcome.error?.message;
  return `job summary: skipped (${outcome.reason ?? 'no reason given'}${why ? `: ${why}` : ''})`;
}

/** Estimates read at most this often while following (each is the API's read of the analysis). */
const ESTIMATE_EVERY_MS = 1_000;

/**
 * Follows the analysis's events: a progress bar on a terminal, one line per event otherwise,
 * until the stream is over (after the final event and an LLM analysis's job summary, bounded by
 * the hub's grace) or the analysis pauses. Sets the exit code of ANALYSIS_EXIT_CODES.
 */
async function follow(
  ctx: CommandContext,
  workspaceId: string,
  id: string,
  chunks: number,
  /**
   * Where to start: events after `afterEventId` are shown (0: all of them); `state`, the
   * analysis as it was read at that event, when the follow starts mid-run (the bar starts at its
   * counts, and a run already over waits only for its job summary).
   */
  from: { afterEventId: number; state?: AnalysisRow } = { afterEventId: 0 },
): Promise<void> {
  const { afterEventId, state } = from;
  const hub = new AnalysisEventHub(ctx.db.pool, ctx.db.url);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  const scope = { workspaceId, userId: null };
  // The bar's ETA is the server's estimate (GET …/analyses/{id}'s), not cli-progress's own,
  // which extrapolates from this process's start and knows nothing of queues or retries.
  const bar = isInteractiveTerminal()
    ? new SingleBar(
        {
          format:
            'analysing [{bar}] {percentage}% | {value}/{total} chunks | {posts} posts | ETA {eta_server}',
        },
        Presets.shades_classic,
      )
    : null;
  bar?.start(chunks, state ? state.chunks_done + state.chunks_failed : 0, {
    posts: state?.posts_processed ?? 0,
    eta_server: etaText(null),
  });
  let estimate: { at: number; text: string } | null = null;
  const estimateNow = async (done: number): Promise<string> => {
    if (done >= chunks) return etaText(0);
    if (estimate && Date.now() - estimate.at < ESTIMATE_EVERY_MS) return estimate.text;
    const seconds = await withTenant(ctx.db.pool, scope, async (c) => {
      const a = await findAnalysis(c, workspaceId, id);
      return a ? (await liveStateOf(c, a, ctx.config.analysis.slots)).estimatedSecondsLeft : null;
    });
    estimate = { at: Date.now(), text: etaText(seconds) };
    return estimate.text;
  };
  // A run whose final event is already past waits only for its job summary's.
  const ended = state !== undefined && TERMINAL_EVENTS.has(state.status) ? state.status : undefined;
  let final = ended ?? 'interrupted';
  let reason: string | undefined;
  let summary: SummaryOutcome | null = null;
  let askedLlm =
    (ended === 'completed' || ended === 'completed_with_errors') &&
    state?.engines.includes('llm') === true;
  if (askedLlm) {
    bar?.stop();
    process.stderr.write('waiting for the job summary…\n');
  }
  try {
    for await (const event of hub.follow(workspaceId, id, afterEventId, abort.signal, {
      untilOver: true,
    })) {
      if (event.type === 'summary') {
        summary = summaryOutcomeOf(event.data);
        continue;
      }
      const progress = chunkProgress(event.data);
      const error = (event.data as { error?: { message?: string } } | null)?.error?.message;
      if (event.type === 'paused') reason = error;
      const eta =
        progress && !TERMINAL_EVENTS.has(event.type) ? await estimateNow(progress.done) : null;
      if (!bar)
        process.stdout.write(
          `${event.type}${progress ? ` ${progress.done}/${chunks} chunks, ${progress.posts} posts` : ''}${eta ? `, ETA ${eta}` : ''}${error ? `: ${error}` : ''}\n`,
        );
      // The bar stays where it was on events without counts.
      else if (progress)
        bar.update(progress.done, { posts: progress.posts, eta_server: eta ?? etaText(0) });
      if (event.type === 'paused') {
        final = 'paused';
        break;
      }
      if (TERMINAL_EVENTS.has(event.type)) {
        final = event.type;
        // A retry while following starts a new run: what ends the follow is the stream's end.
        askedLlm =
          (final === 'completed' || final === 'completed_with_errors') &&
          (
            await withTenant(ctx.db.pool, scope, (c) => findAnalysis(c, workspaceId, id))
          )?.engines.includes('llm') === true;
        if (askedLlm) {
          bar?.stop();
          process.stderr.write('waiting for the job summary…\n');
        }
      } else if (event.type === 'queued' && final !== 'interrupted') {
        final = 'interrupted';
        askedLlm = false;
        summary = null;
      }
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    await hub.close();
  }
  if (askedLlm && !abort.signal.aborted)
    process.stdout.write(`${summaryText(summary, SUMMARY_GRACE_SECONDS)}\n`);
  const { totals, engines } = await withTenant(ctx.db.pool, scope, async (c) => ({
    totals: await traceTotals(c, id),
    engines: (await findAnalysis(c, workspaceId, id))?.engines ?? [],
  }));
  const cost = costText(presentCost(totals), engines.includes('llm'));
  if (cost) process.stdout.write(`${cost}\n`);
  process.stdout.write(`analysis ${id}: ${final} (details: socialpulse analyses show ${id})\n`);
  if (final === 'paused') pausedHint(id, reason);
  process.exitCode = ANALYSIS_EXIT_CODES[final] ?? 1;
}
