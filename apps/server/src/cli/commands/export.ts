import type { Command } from 'commander';
import { postExportFilterSchema } from '@socialpulse/contracts';
import { AppError } from '../../errors.js';
import { tenantRunner } from '../../db/tenant.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import {
  appliedExportFilters,
  exportPosts,
  type ExportFormat,
} from '../../domain/posts/export.service.js';
import { toFilter } from '../../domain/posts/posts.service.js';
import { withDatabase, type DatabaseFlags } from '../context.js';
import { commandLinePath, openOutput, writeOutput } from '../files.js';
import { resolveWorkspace } from '../workspaces.js';

interface ExportFlags extends DatabaseFlags {
  workspace: string;
  format: string;
  out: string;
  platform?: string;
  account?: string;
  since?: string;
  until?: string;
  q?: string;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('Export posts as CSV or JSON Lines in the import format (streamed)')
    .requiredOption('-w, --workspace <name>', 'workspace to export')
    .option('-f, --format <format>', 'csv or jsonl', 'jsonl')
    .option('-o, --out <file>', 'output file, or - for stdout', commandLinePath, '-')
    .option('--platform <platform>', 'only this platform')
    .option('--account <handle>', 'only this account')
    .option('--since <iso>', 'posts created at or after this instant')
    .option('--until <iso>', 'posts created before this instant')
    .option('--q <text>', 'full-text search')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: ExportFlags) => {
      if (flags.format !== 'csv' && flags.format !== 'jsonl')
        throw new AppError(
          'validation_failed',
          `--format must be csv or jsonl (got "${flags.format}")`,
        );
      // The same validation as the API's query string, so that both accept the same filters.
      const parsed = postExportFilterSchema.safeParse({
        platform: flags.platform,
        account: flags.account,
        since: flags.since,
        until: flags.until,
        q: flags.q,
      });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new AppError(
          'validation_failed',
          `--${String(issue?.path[0] ?? 'filter')}: ${issue?.message ?? 'invalid'}`,
        );
      }
      await withDatabase(flags, async ({ db }) => {
        const workspaceId = await resolveWorkspace(db, flags.workspace);
        // Written whole or not at all: a failed export leaves an existing file as it was.
        const output = await openOutput(flags.out);
        const scoped = tenantRunner(db.pool, { workspaceId, userId: null });
        try {
          // Recorded before the data leaves: an export that fails halfway was still an export.
          await scoped((c) =>
            insertAuditEntry(c, {
              workspaceId,
              actor: 'cli',
              action: 'posts.exported',
              target: workspaceId,
              details: {
                format: flags.format,
                filters: appliedExportFilters(parsed.data),
                destination: flags.out === '-' ? 'stdout' : 'file',
              },
            }),
          );
        } catch (error) {
          await output.discard();
          throw error;
        }
        await writeOutput(
          exportPosts(scoped, toFilter(workspaceId, parsed.data), flags.format as ExportFormat),
          output,
        );
      });
    });
}
