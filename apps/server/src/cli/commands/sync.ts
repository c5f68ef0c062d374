import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { AppError, notFound } from '../../errors.js';
import { jobQueueSettings, openJobQueue } from '../../db/job-queue.js';
import { findConnection, listConnections } from '../../db/repos/connections.repo.js';
import { findSyncRun, type SyncRun } from '../../db/repos/sync-runs.repo.js';
import { withTenant } from '../../db/tenant.js';
import { createSecretBox } from '../../domain/auth/secret-box.js';
import { triggerSync } from '../../domain/collection/connections.service.js';
import { connectorProviderFromConfig } from '../../domain/collection/connectors.js';
import { syncConnection } from '../../domain/collection/sync.service.js';
import { withDatabase, type DatabaseFlags } from '../context.js';
import { workspaceIdOf } from './dlq.js';

interface SyncFlags extends DatabaseFlags {
  workspace: string;
  connection?: string;
  kind: string;
  inline?: boolean;
  timeout: string;
}

const TERMINAL = new Set(['completed', 'partial', 'failed']);

const progressOf = (label: string, r: SyncRun): string =>
  `${label}: ${r.status} — ${r.postsCollected} posts, ${r.snapshots} snapshots, ${r.requests} requests, ${r.skipped} skipped${r.gaps.length > 0 ? `, ${r.gaps.length} gap${r.gaps.length === 1 ? '' : 's'}` : ''}`;

/** Seconds to wait for the runs: a number, 0 (report them as they are) or more. */
function timeoutOf(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0)
    throw new AppError(
      'validation_failed',
      `--timeout must be a number of seconds, 0 or more (got "${text}")`,
    );
  return seconds;
}

/** `socialpulse sync --workspace NAME [--connection ID]`: sync now, with a progress line per connection. */
export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description(
      "Sync connected accounts now: queued for the workers (default) or run in this process (--inline); shows each run's progress",
    )
    .requiredOption('-w, --workspace <name>', 'workspace (name or id)')
    .option('-c, --connection <id>', 'only this connection')
    .option('--kind <kind>', 'posts or metrics', 'posts')
    .option('--inline', 'run the sync in this process instead of a worker')
    .option('--timeout <seconds>', 'stop waiting after this long (the runs go on)', '600')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: SyncFlags) => {
      if (flags.kind !== 'posts' && flags.kind !== 'metrics')
        throw new AppError(
          'validation_failed',
          `--kind must be posts or metrics (got "${flags.kind}")`,
        );
      const kind = flags.kind;
      const timeoutSeconds = timeoutOf(flags.timeout);
      await withDatabase(flags, async (ctx) => {
        const workspaceId = await workspaceIdOf(ctx, flags.workspace);
        const scope = { workspaceId, userId: null };
        const targets = await withTenant(ctx.db.pool, scope, async (c) => {
          if (flags.connection) {
            const one = await findConnection(c, workspaceId, flags.connection);
            if (!one) throw notFound('connection', flags.connection);
            return [one];
          }
          return (await listConnections(c, workspaceId)).filter((x) => x.status === 'active');
        });
        if (targets.length === 0) {
          process.stderr.write('no active connection to sync\n');
          return;
        }
        const interactive = process.stderr.isTTY;
        const show = (text: string, final: boolean): void => {
          if (interactive) process.stderr.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
          else if (final) process.stderr.write(`${text}\n`);
        };
        const results: SyncRun[] = [];
        let missing = false;
        if (flags.inline) {
          // The configured platforms (base URLs, OAuth clients for token renewal) and, with Redis,
          // the rate-limit budgets the workers share: an inline sync spends the same budget.
          const redis = ctx.config.redisUrl
            ? new Redis(ctx.config.redisUrl, { maxRetriesPerRequest: 1 })
            : null;
          redis?.on('error', (error) => ctx.logger.warn({ err: error }, 'redis error (budgets)'));
          const deps = {
            pool: ctx.db.pool,
            secretBox: createSecretBox(
              ctx.db.secrets.encryptionKey,
              ctx.config.auth.previousEncryptionKeys,
            ),
            connectors: connectorProviderFromConfig(ctx.config, redis),
            logger: ctx.logger,
          };
          try {
            for (const t of targets) {
              show(`${t.platform} ${t.handle ?? t.id}: running…`, false);
              const run = await syncConnection(deps, {
                workspaceId,
                connectionId: t.id,
                kind,
                trigger: 'manual',
              });
              show(progressOf(`${t.platform} ${t.handle ?? t.id}`, run), true);
              results.push(run);
            }
          } finally {
            redis?.disconnect();
          }
        } else {
          const queue = await openJobQueue(ctx.db.url, jobQueueSettings(ctx.config), {
            supervise: false,
          });
          try {
            const runs: { label: string; id: string }[] = [];
            for (const t of targets) {
              const { run } = await withTenant(ctx.db.pool, scope, (c) =>
                triggerSync(c, queue.boss, workspaceId, t.id, kind),
              );
              runs.push({ label: `${t.platform} ${t.handle ?? t.id}`, id: run.id });
            }
            const deadline = Date.now() + timeoutSeconds * 1000;
            const read = (id: string): Promise<SyncRun | null> =>
              withTenant(ctx.db.pool, scope, (c) => findSyncRun(c, workspaceId, id));
            for (const r of runs) {
              // Read at least once, however late: the runs share one deadline, and one that the
              // wait for an earlier run used up still exists and has a status to report.
              let run = await read(r.id);
              while (run !== null && !TERMINAL.has(run.status) && Date.now() < deadline) {
                show(progressOf(r.label, run), false);
                await new Promise((resolve) =>
                  setTimeout(resolve, Math.min(250, Math.max(0, deadline - Date.now()))),
                );
                run = await read(r.id);
              }
              if (!run) {
                // Gone since it was queued (its connection removed meanwhile): the others are
                // still reported.
                show(`${r.label}: sync run ${r.id} was not found`, true);
                missing = true;
                continue;
              }
              show(progressOf(r.label, run), true);
              if (!TERMINAL.has(run.status))
                process.stderr.write(
                  `${r.label}: still ${run.status} (is a worker running? \`socialpulse serve --services worker\`, or use --inline)\n`,
                );
              results.push(run);
            }
          } finally {
            await queue.stop();
          }
        }
        for (const run of results) {
          process.stdout.write(
            `${JSON.stringify({ run_id: run.id, connection_id: run.connectionId, status: run.status, posts: run.postsCollected, snapshots: run.snapshots, requests: run.requests, gaps: run.gaps })}\n`,
          );
        }
        if (missing || results.some((r) => r.status === 'failed' || !TERMINAL.has(r.status)))
          process.exitCode = 1;
      });
    });
}
