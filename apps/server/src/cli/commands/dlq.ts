import type { Command } from 'commander';
import { AppError, notFound } from '../../errors.js';
import { jobQueueSettings, openJobQueue } from '../../db/job-queue.js';
import {
  findDeadLetterWorkspace,
  findDeadLetter,
  listDeadLetters,
  listOpenDeadLetterIds,
  type DeadLetter,
} from '../../db/repos/dead-letters.repo.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import { withTenant } from '../../db/tenant.js';
import {
  discardDeadLetter,
  replayDeadLetter,
} from '../../domain/collection/connections.service.js';
import { withDatabase, type CommandContext, type DatabaseFlags } from '../context.js';
import { resolveWorkspace } from '../workspaces.js';

interface ListFlags extends DatabaseFlags {
  workspace?: string;
  status: string;
  limit: string;
  json?: boolean;
}

const dbOptions = (command: Command): Command =>
  command
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function workspaceIdOf(ctx: CommandContext, nameOrId: string): Promise<string> {
  if (UUID.test(nameOrId)) return nameOrId;
  return resolveWorkspace(ctx.db, nameOrId);
}

function line(d: DeadLetter): string {
  const error = d.error as { kind?: unknown; message?: unknown };
  return [
    d.id,
    d.status,
    d.operation,
    `attempts=${d.attempts}`,
    `connection=${d.connectionId ?? '-'}`,
    `failed=${d.lastFailedAt.toISOString()}`,
    `${typeof error.kind === 'string' ? error.kind : 'error'}: ${typeof error.message === 'string' ? error.message : JSON.stringify(d.error)}`,
  ].join('\t');
}

/** `socialpulse dlq list|replay|discard`: platform operations that failed for good, their replay, giving up on them. */
export function registerDlqCommand(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('Dead letters: platform operations that failed for good (list, replay, discard)');

  dbOptions(
    dlq
      .command('list')
      .description('List dead letters (open ones of every workspace by default)')
      .option('-w, --workspace <name>', 'only this workspace (name or id)')
      .option('--status <status>', 'open, replayed, discarded or all', 'open')
      .option('--limit <n>', 'at most this many', '100')
      .option('--json', 'one JSON object per line'),
  ).action(async (flags: ListFlags) => {
    const limit = Math.max(1, Math.min(10_000, Number(flags.limit) || 100));
    const status = flags.status === 'all' ? undefined : (flags.status as DeadLetter['status']);
    if (status !== undefined && !['open', 'replayed', 'discarded'].includes(status))
      throw new AppError(
        'validation_failed',
        `--status must be open, replayed, discarded or all (got "${flags.status}")`,
      );
    await withDatabase(flags, async (ctx) => {
      let letters: DeadLetter[];
      if (flags.workspace) {
        const workspaceId = await workspaceIdOf(ctx, flags.workspace);
        letters = await withTenant(ctx.db.pool, { workspaceId, userId: null }, (c) =>
          listDeadLetters(c, workspaceId, { limit, ...(status ? { status } : {}) }),
        );
      } else {
        if (status !== 'open')
          throw new AppError(
            'validation_failed',
            'without --workspace only open dead letters are listed',
          );
        const ids = await listOpenDeadLetterIds(ctx.db.pool, limit);
        letters = [];
        for (const { id, workspaceId } of ids) {
          const d = await withTenant(ctx.db.pool, { workspaceId, userId: null }, (c) =>
            findDeadLetter(c, workspaceId, id),
          );
          if (d) letters.push(d);
        }
      }
      for (const d of letters)
        process.stdout.write(`${flags.json ? JSON.stringify(d) : line(d)}\n`);
      if (!flags.json)
        process.stderr.write(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}\n`);
    });
  });

  dbOptions(
    dlq
      .command('replay')
      .description(
        'Replay dead letters: each is queued as a sync run (trigger replay) for a worker',
      )
      .argument('<ids...>', 'dead letter ids'),
  ).action(async (ids: string[], flags: DatabaseFlags) => {
    await withDatabase(flags, async (ctx) => {
      const queue = await openJobQueue(ctx.db.url, jobQueueSettings(ctx.config), {
        supervise: false,
      });
      let failed = 0;
      try {
        for (const id of ids) {
          try {
            const workspaceId = await findDeadLetterWorkspace(ctx.db.pool, id);
            if (!workspaceId) throw notFound('dead letter', id);
            const { run } = await withTenant(ctx.db.pool, { workspaceId, userId: null }, (c) =>
              replayDeadLetter(c, queue.boss, workspaceId, id),
            );
            process.stdout.write(`${id}\tqueued\trun=${run.id}\n`);
          } catch (error) {
            failed += 1;
            process.stdout.write(
              `${id}\trefused\t${error instanceof Error ? error.message : String(error)}\n`,
            );
          }
        }
      } finally {
        await queue.stop();
      }
      if (failed > 0) process.exitCode = 1;
    });
  });

  dbOptions(
    dlq
      .command('discard')
      .description('Give up on dead letters: kept for the record, no longer open or replayable')
      .argument('<ids...>', 'dead letter ids'),
  ).action(async (ids: string[], flags: DatabaseFlags) => {
    await withDatabase(flags, async (ctx) => {
      let failed = 0;
      for (const id of ids) {
        try {
          const workspaceId = await findDeadLetterWorkspace(ctx.db.pool, id);
          if (!workspaceId) throw notFound('dead letter', id);
          await withTenant(ctx.db.pool, { workspaceId, userId: null }, async (c) => {
            await discardDeadLetter(c, workspaceId, id);
            await insertAuditEntry(c, {
              workspaceId,
              userId: null,
              actor: 'cli',
              action: 'dead_letter.discarded',
              target: id,
              ip: null,
              requestId: null,
              details: {},
            });
          });
          process.stdout.write(`${id}\tdiscarded\n`);
        } catch (error) {
          failed += 1;
          process.stdout.write(
            `${id}\trefused\t${error instanceof Error ? error.message : String(error)}\n`,
          );
        }
      }
      if (failed > 0) process.exitCode = 1;
    });
  });
}
