import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  isExportImportFormat,
  type genericImportFormats,
  type ImportFormat,
} from '@socialpulse/contracts';
import { AppError } from '../../errors.js';
import { importBatchDuration, importRecords, importRuns } from '../../observability/metrics.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import { setTenantScope, tenantRunner, type TenantScope } from '../../db/tenant.js';
import {
  insertImportRun,
  insertRejects,
  unlockImportRun,
  updateImportRun,
  type ImportCounts,
  type ImportRunRecord,
  type RejectRecord,
} from '../../db/repos/imports.repo.js';
import {
  createImportStaging,
  PostBatch,
  refreshPostStatisticsIfStale,
  upsertPostBatch,
  writeIsolatingRefusedRows,
  type BatchOutcome,
} from '../../db/repos/posts-import.repo.js';
import { parseCsv } from './csv-parser.js';
import { parseJsonArray } from './json-array-parser.js';
import { parseJsonl } from './jsonl-parser.js';
import type { ParsedItem, ParserOptions, ProblemItem } from './parsed-item.js';
export { formatFromFileName } from './import-source.js';
import { coerceCsvValues, validateRecord } from './record-validator.js';

/**
 * What to import: a generic format's bytes (`stream`), or the records an export reader maps
 * from a platform's export (`items`; see import-source.ts).
 */
export type ImportSource = { fileName: string | null; format: ImportFormat } & (
  | { stream: AsyncIterable<Buffer | string>; items?: undefined }
  | { items: (options: ParserOptions) => AsyncGenerator<ParsedItem>; stream?: undefined }
);

export interface ImportOptions {
  workspaceId: string;
  /** The user importing (null for the operator's CLI and the demo seed). */
  userId?: string | null;
  /** Where the data came from: `cli`, `api`, `demo`, … (stored on each post). */
  source: string;
  batchSize: number;
  maxRecordBytes: number;
  onProgress?: (counts: Readonly<ImportCounts>) => void;
  onReject?: (reject: Readonly<RejectRecord>) => void;
}

type GenericImportFormat = (typeof genericImportFormats)[number];
const parsers: Record<
  GenericImportFormat,
  (s: AsyncIterable<Buffer | string>, o: ParserOptions) => AsyncGenerator<ParsedItem>
> = {
  jsonl: parseJsonl,
  csv: parseCsv,
  json: parseJsonArray,
};

export function formatFromContentType(contentType: string | undefined): ImportFormat | null {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'text/csv') return 'csv';
  if (
    type === 'application/x-ndjson' ||
    type === 'application/jsonl' ||
    type === 'application/x-jsonlines'
  )
    return 'jsonl';
  if (type === 'application/json') return 'json';
  return null;
}

const REJECT_FLUSH = 1000;
/** Records parsed between two turns of the event loop (a few hundred microseconds of work). */
const YIELD_EVERY = 32;

/**
 * Streams one source into the workspace: parse → validate → batches written while the next
 * batch is parsed. A batch PostgreSQL refuses is bisected so that only the offending records
 * are rejected. Every reject is stored with its line and reported through `onReject`.
 *
 * A run takes one connection and does all its writes on it: with a pool of one connection,
 * asking for a second while holding the first would wait for ever. The session also holds the
 * run's advisory lock (insertImportRun) until the run is settled, which is how readers tell a run
 * whose importer died from a live one.
 */
export async function importPosts(
  pool: Pool,
  input: ImportSource,
  options: ImportOptions,
): Promise<ImportRunRecord> {
  // Every statement runs scoped to the workspace: row-level security checks each write.
  const scope: TenantScope = { workspaceId: options.workspaceId, userId: options.userId ?? null };
  const client = await pool.connect();
  let run: ImportRunRecord;
  try {
    run = await inTransaction(client, scope, (c) =>
      insertImportRun(c, {
        workspaceId: options.workspaceId,
        source: options.source,
        fileName: input.fileName,
        format: input.format,
      }),
    );
  } catch (error) {
    // The lock may have been taken in a transaction that then failed (a session lock outlives
    // it): the session is ended rather than pooled with it.
    client.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }

  // Batches, rejects and counts take turns on the run's client, one transaction at a time.
  let turns: Promise<unknown> = Promise.resolve();
  const onClient = <T>(work: (c: PoolClient) => Promise<T>): Promise<T> => {
    const turn = turns.then(() => inTransaction(client, scope, work));
    turns = turn.catch(() => undefined);
    return turn;
  };

  let outcome: { run: ImportRunRecord } | { failure: AppError; recorded: boolean };
  const counts: ImportCounts = { read: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
  try {
    outcome = { run: await importOnClient(client, onClient, run, counts, input, options) };
  } catch (error) {
    const failure =
      error instanceof AppError
        ? error
        : new AppError('internal_error', `import failed: ${(error as Error).message}`, {
            cause: error,
          });
    const recorded = await onClient((c) =>
      updateImportRun(c, run.id, counts, { status: 'failed', error: failure.message }),
    ).then(
      () => true,
      () => false,
    );
    outcome = { failure, recorded };
  }
  // Released only once the run is settled: until then a reader must see it as live.
  let broken: Error | undefined;
  await unlockImportRun(client, run.id).catch((error: unknown) => {
    broken = error instanceof Error ? error : new Error(String(error));
  });
  client.release(broken);

  if ('run' in outcome) {
    countOutcome(options.source, counts, 'completed');
    return outcome.run;
  }
  // The run's connection failed (it was lost, say): another one records why, which the next
  // reader would otherwise only report as an interruption.
  if (!outcome.recorded)
    await tenantRunner(
      pool,
      scope,
    )((c) =>
      updateImportRun(c, run.id, counts, { status: 'failed', error: outcome.failure.message }),
    ).catch(() => undefined);
  countOutcome(options.source, counts, 'failed');
  throw withImportRun(outcome.failure, run.id, counts);
}

/** The run itself, every statement on `onClient`; `counts` holds what it did if it throws. */
async function importOnClient(
  client: PoolClient,
  onClient: <T>(work: (c: PoolClient) => Promise<T>) => Promise<T>,
  run: ImportRunRecord,
  counts: ImportCounts,
  input: ImportSource,
  options: ImportOptions,
): Promise<ImportRunRecord> {
  const importedAt = new Date().toISOString();
  let pendingRejects: RejectRecord[] = [];
  let rejectWrite: Promise<void> = Promise.resolve();

  // A platform export's posts name the export they came from; rejects name the archive entry.
  const postSource = isExportImportFormat(input.format) ? input.format : options.source;
  const reject = (
    r: Omit<RejectRecord, 'seq' | 'file'> & { file?: string | null | undefined },
  ): void => {
    counts.rejected += 1;
    const full: RejectRecord = { seq: counts.rejected, ...r, file: r.file ?? input.fileName };
    pendingRejects.push(full);
    options.onReject?.(full);
    if (pendingRejects.length >= REJECT_FLUSH) flushRejects();
  };
  const flushRejects = (): void => {
    const batch = pendingRejects;
    pendingRejects = [];
    rejectWrite = rejectWrite.then(() =>
      onClient((c) => insertRejects(c, run.id, options.workspaceId, batch)),
    );
    // Handled later by `await rejectWrite`; mark it now so a failure is not reported as unhandled.
    rejectWrite.catch(() => undefined);
  };
  const record = (outcome: BatchOutcome): void => {
    Object.assign(counts, withWritten(counts, outcome));
    options.onProgress?.(counts);
  };

  try {
    await createImportStaging(client);
    // Before the first batch: an import right after a large one (a re-import of a first
    // import's file) must find the posts it probes by their key, not scan for them.
    await onClient((c) => refreshPostStatisticsIfStale(c));
    const writeBatch = async (rows: PostBatch): Promise<void> => {
      const stop = importBatchDuration.startTimer();
      await writeIsolatingRefusedRows(
        rows.length,
        async (from, to) => {
          const part = await onClient(async (c) => {
            const written = await upsertPostBatch(
              c,
              options.workspaceId,
              postSource,
              importedAt,
              rows.rows(from, to),
              { fillGapsOnly: input.format === 'youtube-studio' },
            );
            // The run's counts commit with the posts they count: a run cut off later (a crash,
            // a second Ctrl+C) still says what it wrote.
            await updateImportRun(c, run.id, withWritten(counts, written));
            return written;
          });
          record(part);
          return part;
        },
        (index, error) =>
          reject({
            line: rows.lines[index] ?? 0,
            field: null,
            reason: `rejected by the database: ${error.message}`,
            value: null,
          }),
      );
      stop();
      await onClient((c) => updateImportRun(c, run.id, counts));
    };

    // Two batches in turn: one is written while the next is parsed into the other.
    let batch = new PostBatch();
    let spare = new PostBatch();
    let writing: Promise<void> | null = null;
    const parserOptions = { maxRecordBytes: options.maxRecordBytes };
    let parser: AsyncGenerator<ParsedItem>;
    if (input.items) parser = input.items(parserOptions);
    else {
      const parse = isExportImportFormat(input.format) ? null : parsers[input.format];
      if (!parse)
        throw new AppError(
          'validation_failed',
          `the ${input.format} format is read from an export, not a plain stream`,
        );
      parser = parse(input.stream, parserOptions);
    }
    try {
      for await (const item of parser) {
        // A header or shape the format cannot read is no record: the run fails, naming why.
        if (item.kind === 'problem' && item.refusesFile) throw fileRefusal(item, input.fileName);
        counts.read += 1;
        // Parsing a buffered chunk holds the event loop for many milliseconds; meanwhile the
        // database's replies to the batch being written wait, and so does the database.
        if (counts.read % YIELD_EVERY === 0) await yieldToEventLoop();
        if (item.kind === 'problem') {
          reject({
            file: item.file,
            line: item.line,
            field: item.field,
            reason: item.reason,
            value: item.value,
          });
          continue;
        }
        const value = input.format === 'csv' ? coerceCsvValues(item.value) : item.value;
        const checked = validateRecord(value, item.line, item.rawJson);
        if (!checked.ok) {
          // Name the field as the platform's export does (`tweet.created_at`), not as it was mapped.
          const field = checked.reject.field;
          const sourceField =
            field === null ? undefined : item.fieldSources?.[field.split('.')[0] ?? field];
          reject({ ...checked.reject, file: item.file, field: sourceField ?? field });
          continue;
        }
        batch.add(checked.row, checked.row.line);
        if (batch.length >= options.batchSize) {
          // Overlap: PostgreSQL writes this batch while we parse the next one.
          if (writing) await writing;
          writing = writeBatch(batch);
          writing.catch(() => undefined); // Awaited before the next batch or at the end.
          [batch, spare] = [spare, batch];
          batch.clear(); // Its write, awaited above, is over.
        }
      }
    } catch (error) {
      // The source failed (e.g. payload_too_large): let the batch in flight finish first, so
      // that the stored counts match what was written.
      if (writing) await writing.catch(() => undefined);
      throw error;
    }
    if (writing) await writing;
    if (batch.length > 0) await writeBatch(batch);
    flushRejects();
    await rejectWrite;
    return await onClient((c) =>
      updateImportRun(c, run.id, counts, { status: 'completed', error: null }),
    );
  } catch (error) {
    flushRejects();
    await rejectWrite.catch(() => undefined);
    throw error;
  }
}

/**
 * A file refused as a whole is the caller's to fix, as an invalid request is: validation_failed,
 * with where and why in `details` beside the failed run.
 */
function fileRefusal(problem: ProblemItem, fileName: string | null): AppError {
  const file = problem.file ?? fileName;
  return new AppError(
    'validation_failed',
    `the file was refused: ${file === null ? '' : `${file} `}line ${problem.line}: ${problem.reason}`,
    {
      details: {
        file,
        line: problem.line,
        field: problem.field,
        reason: problem.reason,
        value: problem.value,
      },
    },
  );
}

/** What a failed import's error says of the run, in `details.import` (see withImportRun). */
export interface FailedImportDetails {
  id: string;
  status: 'failed';
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

/**
 * The failure, naming the import run that holds what was written before it (batches already
 * committed stay) and the rejects stored so far, so that the caller can find them.
 */
function withImportRun(failure: AppError, id: string, counts: ImportCounts): AppError {
  const own =
    failure.details !== null &&
    typeof failure.details === 'object' &&
    !Array.isArray(failure.details)
      ? (failure.details as Record<string, unknown>)
      : failure.details === undefined || failure.details === null
        ? {}
        : { value: failure.details };
  const run: FailedImportDetails = { id, status: 'failed', ...counts };
  return new AppError(failure.code, failure.message, {
    details: { ...own, import: run },
    cause: failure.cause ?? failure,
  });
}

/** The import run a failed import's error names, if any. */
export function failedImportOf(error: unknown): FailedImportDetails | null {
  if (!(error instanceof AppError)) return null;
  const details = error.details as { import?: FailedImportDetails } | null | undefined;
  return details?.import ?? null;
}

function countOutcome(source: string, counts: ImportCounts, status: 'completed' | 'failed'): void {
  importRuns.inc({ status, source });
  importRecords.inc({ outcome: 'inserted', source }, counts.inserted);
  importRecords.inc({ outcome: 'updated', source }, counts.updated);
  importRecords.inc({ outcome: 'unchanged', source }, counts.unchanged);
  importRecords.inc({ outcome: 'rejected', source }, counts.rejected);
}

/**
 * Runs `work` in a transaction of its own on the run's client, scoped to the workspace (rolled
 * back if it fails: a refused batch leaves nothing behind).
 */
async function inTransaction<T>(
  client: PoolClient,
  scope: TenantScope,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  try {
    await client.query('BEGIN');
    await setTenantScope(client, scope);
    const result = await work(client);
    // COMMIT of a transaction an error aborted answers ROLLBACK, not an error.
    const committed = await client.query('COMMIT');
    if (committed.command === 'ROLLBACK')
      throw new Error('the transaction was rolled back: a statement in it failed');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The counts once `written` is added to them. */
function withWritten(counts: ImportCounts, written: BatchOutcome): ImportCounts {
  return {
    ...counts,
    inserted: counts.inserted + written.inserted,
    updated: counts.updated + written.updated,
    unchanged: counts.unchanged + written.unchanged,
  };
}
