import { createWriteStream, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { importFormats, importFormatSchema, type ImportFormat } from '@socialpulse/contracts';
import { isInteractiveTerminal } from '../../config.js';
import { AppError } from '../../errors.js';
import { findFirstInstanceAdmin } from '../../db/repos/users.repo.js';
import { findWorkspaceIdByName } from '../../db/repos/workspaces.repo.js';
import { createWorkspace } from '../../domain/workspaces/workspaces.service.js';
import { importPosts, type ImportSource } from '../../domain/imports/import.service.js';
import { prepareFileImport, type PreparedImport } from '../../domain/imports/import-source.js';
import { withDatabase, type DatabaseFlags } from '../context.js';
import { EXIT_DATA_ERRORS } from '../output.js';

interface ImportFlags extends DatabaseFlags {
  workspace: string;
  format?: string;
  rejects?: string;
  create: boolean;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      "Import posts from CSV, JSON Lines or JSON array files, or from the platforms' own data exports " +
        '(X archive, Instagram, TikTok, YouTube Takeout / Studio; see docs/import-format.md)',
    )
    .argument('<files...>', 'files to import, in order')
    .requiredOption('-w, --workspace <name>', 'workspace to import into')
    .option(
      '-f, --format <format>',
      `${importFormats.join(', ')} (default: detected from each file's content and name)`,
    )
    .option(
      '--rejects <file>',
      'where to write rejected records as JSON lines',
      'socialpulse-rejects.jsonl',
    )
    .option('--no-create', 'fail instead of creating a missing workspace')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .addHelpText(
      'after',
      `
Exit status:
  0   every record was imported (inserted, updated or unchanged)
  1   the import failed: a bad option, a missing or unreadable file, a
      file whose format cannot be read, the database
  ${EXIT_DATA_ERRORS}  the import finished, but some records were rejected (listed with
      their file, line, field and reason in the --rejects file); the valid
      records around them were imported
`,
    )
    .action(async (files: string[], flags: ImportFlags) => runImport(files, flags));
}

function parseFormatFlag(flag: string | undefined): ImportFormat | undefined {
  if (flag === undefined) return undefined;
  const parsed = importFormatSchema.safeParse(flag);
  if (!parsed.success)
    throw new AppError(
      'validation_failed',
      `--format must be one of ${importFormats.join(', ')} (got "${flag}")`,
    );
  return parsed.data;
}

async function* countBytes(
  stream: AsyncIterable<Buffer | string>,
  onBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const piece of stream) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    onBytes(chunk.length);
    yield chunk;
  }
}

async function runImport(files: string[], flags: ImportFlags): Promise<void> {
  const format = parseFormatFlag(flags.format);
  const sizes = files.map((file) => {
    try {
      return statSync(file).size;
    } catch {
      throw new AppError('validation_failed', `${file}: no such file`);
    }
  });
  // Every file's format is settled (and every archive opened) before the database is.
  const plan: { file: string; size: number; prepared: PreparedImport }[] = [];
  try {
    for (const [i, file] of files.entries()) {
      plan.push({ file, size: sizes[i] ?? 0, prepared: await prepareFileImport(file, { format }) });
    }
    await importAll(plan, flags);
  } finally {
    for (const { prepared } of plan) await prepared.close();
  }
}

async function importAll(
  plan: { file: string; size: number; prepared: PreparedImport }[],
  flags: ImportFlags,
): Promise<void> {
  await withDatabase(flags, async ({ db, config }) => {
    let workspaceId = await findWorkspaceIdByName(db.pool, flags.workspace);
    if (!workspaceId) {
      if (!flags.create)
        throw new AppError(
          'not_found',
          `No workspace named "${flags.workspace}" (drop --no-create to create it)`,
        );
      // The operator's workspace belongs to the instance admin (or to the first one to sign up).
      const admin = await findFirstInstanceAdmin(db.pool);
      const created = await createWorkspace(db.pool, flags.workspace, admin?.id ?? null, {
        userId: null,
        label: 'cli',
      });
      workspaceId = created.id;
      process.stderr.write(
        `Created workspace "${created.name}" (${created.id})${admin ? `, owned by ${admin.email}` : ''}.\n`,
      );
    }
    const workspace = { id: workspaceId };
    let rejectsOut: WriteStream | null = null;
    const totals = { read: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
    const interactive = isInteractiveTerminal();
    for (const { file, size, prepared } of plan) {
      const bar = interactive
        ? new SingleBar(
            {
              format: `${path.basename(file)} [{bar}] {percentage}% | {records} records | {rejected} rejected | ETA {eta_formatted}`,
            },
            Presets.shades_classic,
          )
        : null;
      bar?.start(size, 0, { records: 0, rejected: 0 });
      let bytes = 0;
      // An archive is read entry by entry, not front to back: its bar counts records only.
      const source: ImportSource = prepared.items
        ? prepared
        : {
            fileName: file,
            format: prepared.format,
            stream: countBytes(prepared.stream, (n) => (bytes += n)),
          };
      const run = await importPosts(db.pool, source, {
        workspaceId: workspace.id,
        source: 'cli',
        batchSize: config.import.batchSize,
        maxRecordBytes: config.import.maxRecordBytes,
        onProgress: (c) => bar?.update(bytes, { records: c.read, rejected: c.rejected }),
        onReject: (r) => {
          rejectsOut ??= createWriteStream(flags.rejects ?? 'socialpulse-rejects.jsonl');
          rejectsOut.write(
            JSON.stringify({
              file: r.file,
              line: r.line,
              field: r.field,
              reason: r.reason,
              value: r.value,
            }) + '\n',
          );
        },
      });
      bar?.update(size, { records: run.read, rejected: run.rejected });
      bar?.stop();
      process.stdout.write(
        `${file}${prepared.format !== 'csv' && prepared.format !== 'jsonl' && prepared.format !== 'json' ? ` (${prepared.format})` : ''}: read ${run.read}, inserted ${run.inserted}, updated ${run.updated}, unchanged ${run.unchanged}, rejected ${run.rejected}\n`,
      );
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += run[key];
    }
    if (plan.length > 1) {
      process.stdout.write(
        `total: read ${totals.read}, inserted ${totals.inserted}, updated ${totals.updated}, unchanged ${totals.unchanged}, rejected ${totals.rejected}\n`,
      );
    }
    if (rejectsOut !== null) {
      const out: WriteStream = rejectsOut;
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      process.stdout.write(
        `Rejected records (file, line, field, reason) are listed in ${out.path.toString()}\n`,
      );
    }
    // Scripts must be able to tell: the valid records are imported, some were not.
    if (totals.rejected > 0) process.exitCode = EXIT_DATA_ERRORS;
  });
}
