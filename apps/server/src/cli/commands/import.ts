import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { importFormats, importFormatSchema, type ImportFormat } from '@socialpulse/contracts';
import { isInteractiveTerminal, loadConfig } from '../../config.js';
import { AppError, describeIoError } from '../../errors.js';
import type { RejectRecord } from '../../db/repos/imports.repo.js';
import { findFirstInstanceAdmin } from '../../db/repos/users.repo.js';
import { findWorkspaceIdByName } from '../../db/repos/workspaces.repo.js';
import { createWorkspace } from '../../domain/workspaces/workspaces.service.js';
import { importPosts, type ImportSource } from '../../domain/imports/import.service.js';
import { prepareFileImport, type PreparedImport } from '../../domain/imports/import-source.js';
import { overridesFrom, withDatabase, type DatabaseFlags } from '../context.js';
import { commandLinePath, commandLinePaths, openOutput, type AnalyzeOutput } from '../files.js';
import { EXIT_DATA_ERRORS, EXIT_USAGE } from '../output.js';
import { unknownWorkspace } from '../workspaces.js';

const DEFAULT_REJECTS = 'socialpulse-rejects.jsonl';

interface ImportFlags extends DatabaseFlags {
  workspace: string;
  format?: string;
  rejects?: string;
  createWorkspace?: boolean;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      "Import posts from CSV, JSON Lines or JSON array files, or from the platforms' own data exports " +
        '(X archive, Instagram, TikTok, YouTube Takeout / Studio; see docs/import-format.md)',
    )
    .argument('<files...>', 'files to import, in order', commandLinePaths)
    .requiredOption('-w, --workspace <name>', 'workspace to import into (name or id)')
    .option(
      '-f, --format <format>',
      `${importFormats.join(', ')} (default: detected from each file's content and name)`,
    )
    .option(
      '--rejects <file>',
      `where to write rejected records as JSON lines (default: ${DEFAULT_REJECTS} in the working directory, replaced by each run that rejects records, else in the system's temporary directory when the working directory cannot be written)`,
      commandLinePath,
    )
    .option(
      '--create-workspace',
      'create the --workspace when there is none of that name (without it, an unknown name is an error)',
    )
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .addHelpText(
      'after',
      `
Exit status:
  0   every record was imported (inserted, updated or unchanged)
  ${EXIT_USAGE}  no workspace of that name (the known ones are listed, closest
      first): nothing was imported; --create-workspace creates it
  1   the import failed: a bad option, a missing or unreadable file, a
      --rejects file that cannot be written, a file whose format cannot be
      read, the database (records rejected until then stay listed)
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
  const stats = files.map((file) => {
    try {
      return statSync(file);
    } catch (error) {
      throw new AppError('validation_failed', `${file}: ${describeIoError(error)}`, {
        cause: error,
      });
    }
  });
  if (flags.rejects === '-')
    throw new AppError(
      'validation_failed',
      '--rejects -: standard output carries the import summary; give a file',
    );
  // Opened before any archive or the database, so that a rejects file that cannot be written (a
  // missing directory) or that is an input fails the import before anything is imported, not at
  // its first reject with part of it done.
  const inputs = stats.map((stat, i) => ({
    file: stat.isFile() ? stat : null,
    name: files[i] ?? '',
  }));
  let rejectsPath = flags.rejects ?? commandLinePath(DEFAULT_REJECTS);
  let rejectsOutput;
  try {
    rejectsOutput = await openOutput(rejectsPath, inputs, { flag: '--rejects' });
  } catch (error) {
    if (flags.rejects !== undefined) throw error;
    // The default's working directory may be read-only (cron in /, a container) for an import
    // that may reject nothing: its rejects, if any, go to the temporary directory instead.
    rejectsPath = path.join(os.tmpdir(), `socialpulse-rejects-${process.pid}-${Date.now()}.jsonl`);
    rejectsOutput = await openOutput(rejectsPath, inputs, { flag: '--rejects' });
  }
  const rejects = createRejectsWriter(rejectsOutput);
  // Every file's format is settled (and every archive opened) before the database is.
  const plan: { file: string; size: number; prepared: PreparedImport }[] = [];
  try {
    // The zip limits (IMPORT_MAX_INFLATED_BYTES and its kin) bound the archives opened here.
    const limits = loadConfig(overridesFrom(flags)).import;
    for (const [i, file] of files.entries()) {
      plan.push({
        file,
        size: stats[i]?.size ?? 0,
        prepared: await prepareFileImport(file, { format, limits }),
      });
    }
    await importAll(plan, flags, rejects);
  } catch (error) {
    // The batches written before the failure stay imported: their rejects are kept with them.
    try {
      if (await rejects.settle())
        process.stderr.write(
          `Records rejected before the failure are listed in ${path.resolve(rejectsPath)}\n`,
        );
    } catch (settleError) {
      // Reported beside the failure, which stays the one that decides the exit.
      process.stderr.write(
        `socialpulse: ${settleError instanceof Error ? settleError.message : String(settleError)}\n`,
      );
    }
    throw error;
  } finally {
    for (const { prepared } of plan) await prepared.close();
  }
}

interface RejectsWriter {
  /** The file the rejects go to. */
  name: string;
  write(reject: Readonly<RejectRecord>): void;
  /**
   * Puts the file in place when it lists a reject, and returns whether it did; without one, an
   * existing file stays as it was. Once only: later calls return false.
   */
  settle(): Promise<boolean>;
}

function createRejectsWriter(output: AnalyzeOutput): RejectsWriter {
  let lines = 0;
  let settled = false;
  let failed = false;
  // A write error (a full disk) surfaces when the file is committed; until then it must not end
  // the process as an unhandled 'error' event.
  output.stream.on('error', () => (failed = true));
  return {
    name: output.name,
    write(r) {
      if (failed) return;
      lines += 1;
      // Not waited for (onReject is synchronous): rejects are few next to the records read.
      output.stream.write(
        JSON.stringify({
          file: r.file,
          line: r.line,
          field: r.field,
          reason: r.reason,
          value: r.value,
        }) + '\n',
      );
    },
    async settle() {
      if (settled) return false;
      settled = true;
      if (lines === 0) {
        await output.discard();
        return false;
      }
      await output.commit();
      return true;
    },
  };
}

async function importAll(
  plan: { file: string; size: number; prepared: PreparedImport }[],
  flags: ImportFlags,
  rejects: RejectsWriter,
): Promise<void> {
  await withDatabase(flags, async ({ db, config }) => {
    let workspaceId = await findWorkspaceIdByName(db.pool, flags.workspace);
    if (!workspaceId) {
      // A typo must not import into a new, empty workspace beside the one meant.
      if (!flags.createWorkspace)
        throw await unknownWorkspace(
          db,
          flags.workspace,
          `add --create-workspace to create "${flags.workspace}"`,
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
        onReject: (r) => rejects.write(r),
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
    if (await rejects.settle()) {
      // On stderr, with the summaries' count, wherever the file went: the default one is
      // replaced by each run that rejects records, or is in the temporary directory.
      const where = path.resolve(rejects.name);
      process.stderr.write(
        `${totals.rejected} rejected record${totals.rejected === 1 ? '' : 's'} (file, line, field, reason) written to ${where}${flags.rejects === undefined ? ' (the default --rejects file, replaced by each import that rejects records)' : ''}\n`,
      );
    }
    // Scripts must be able to tell: the valid records are imported, some were not.
    if (totals.rejected > 0) process.exitCode = EXIT_DATA_ERRORS;
  });
}
