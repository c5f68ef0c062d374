import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open as openFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  isExportImportFormat,
  type ExportImportFormat,
  type ImportFormat,
} from '@socialpulse/contracts';
import { AppError, describeIoError } from '../../errors.js';
import type { ExportInput, ExportOptions } from './export-input.js';
import type { ImportSource } from './import.service.js';
import { INSTAGRAM_MARKERS, readInstagramExport } from './instagram-export.js';
import type { ParsedItem } from './parsed-item.js';
import { readTiktokExport, TIKTOK_ENTRY } from './tiktok-export.js';
import { readXArchive, X_ARCHIVE_MARKERS } from './x-archive.js';
import {
  readYoutubeStudio,
  readYoutubeTakeout,
  STUDIO_TABLE_ENTRY,
  TAKEOUT_VIDEOS_ENTRY,
} from './youtube-export.js';
import { isZip, openArchive, type Archive, type ArchiveLimits } from './zip-archive.js';

export const exportReaders: Record<
  ExportImportFormat,
  (input: ExportInput, options: ExportOptions) => AsyncGenerator<ParsedItem>
> = {
  'x-archive': readXArchive,
  'instagram-export': readInstagramExport,
  'tiktok-export': readTiktokExport,
  'youtube-takeout': readYoutubeTakeout,
  'youtube-studio': readYoutubeStudio,
};

/** Bytes looked at to recognise a format. */
export const SNIFF_BYTES = 64 * 1024;

/** The generic format a file name implies (or null when the extension says nothing). */
export function formatFromFileName(name: string): ImportFormat | null {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.json')) return 'json';
  return null;
}

/** An export named by its platform's own file name (`tweets.js`, `user_data.json`, `Table data.csv`). */
export function exportFormatFromFileName(name: string): ExportImportFormat | null {
  const base = path.basename(name.replace(/\\/g, '/'));
  if (/^tweets?(-part\d+)?\.js$/i.test(base)) return 'x-archive';
  if (/^user_data(_tiktok)?\.json$/i.test(base)) return 'tiktok-export';
  if (/^(posts_\d+|reels|stories)\.json$/i.test(base)) return 'instagram-export';
  if (/^videos\.csv$/i.test(base)) return 'youtube-takeout';
  if (/^table data\.csv$/i.test(base)) return 'youtube-studio';
  return null;
}

function headText(head: Buffer): string {
  return head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
}

function csvHeader(text: string): string[] {
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  return first.split(',').map((c) => c.trim().replace(/^"|"$/g, '').trim().toLowerCase());
}

const GENERIC_CSV_COLUMNS = ['platform', 'external_id', 'created_at'];

/**
 * Recognises the generic format by its first bytes: JSON records with `external_id` (an array,
 * or objects one per line), or a CSV header with the required columns. No platform export has
 * either, so such a file is never read as one, whatever its name.
 */
export function sniffGenericFormat(head: Buffer): 'json' | 'jsonl' | 'csv' | null {
  const text = headText(head);
  if (text.startsWith('[') || text.startsWith('{')) {
    if (!/"external_id"\s*:/.test(text)) return null;
    return text.startsWith('[') ? 'json' : 'jsonl';
  }
  const header = csvHeader(text);
  return GENERIC_CSV_COLUMNS.every((c) => header.includes(c)) ? 'csv' : null;
}

/** Recognises an export by its first bytes: the X prefix, Instagram or TikTok keys, YouTube CSV headers. */
export function sniffExportFormat(head: Buffer): ExportImportFormat | null {
  const text = headText(head);
  if (/^window\.YTD\.tweets?\.part\d+\s*=/.test(text)) return 'x-archive';
  if (text.startsWith('[') || text.startsWith('{')) {
    if (/"external_id"\s*:/.test(text)) return null; // The generic format.
    if (/^\{\s*"ig_(reels_media|stories)"\s*:/.test(text)) return 'instagram-export';
    if (
      /^\[\s*(\{\s*"media"\s*:|\{[^]*"creation_timestamp"\s*:[^]*"uri"\s*:|\{[^]*"uri"\s*:[^]*"creation_timestamp"\s*:)/.test(
        text,
      )
    )
      return 'instagram-export';
    if (
      /^\{\s*"(Activity|Your Activity|Ads and data|App Settings|Comment|Direct Messages?|Income\+ Wallet Activity|Post|Profile|Tiktok Live|TikTok Live|Tiktok Shopping|TikTok Shop|Video)"\s*:/.test(
        text,
      ) ||
      (text.startsWith('{') && /"(VideoList|ProfileMap)"\s*:/.test(text))
    ) {
      return 'tiktok-export';
    }
    return null;
  }
  const header = csvHeader(text);
  if (
    header.includes('video id') &&
    header.some((c) =>
      /^(video create timestamp|video publish timestamp|video title \(original\)|approx duration \(ms\)|channel id)$/.test(
        c,
      ),
    )
  ) {
    return 'youtube-takeout';
  }
  if (
    header.includes('content') &&
    header.some((c) =>
      /^(video publish time|video title|views|watch time \(hours\)|impressions)$/.test(c),
    )
  ) {
    return 'youtube-studio';
  }
  return null;
}

/** Which export a zip holds, from its entry names. */
export function exportFormatOfArchive(archive: Archive): ExportImportFormat | null {
  const names = archive.entries.map((e) => e.name);
  const any = (patterns: readonly RegExp[]): boolean =>
    names.some((n) => patterns.some((p) => p.test(n)));
  if (any(X_ARCHIVE_MARKERS)) return 'x-archive';
  if (any([TIKTOK_ENTRY])) return 'tiktok-export';
  if (any(INSTAGRAM_MARKERS)) return 'instagram-export';
  if (any([STUDIO_TABLE_ENTRY])) return 'youtube-studio';
  if (names.some((n) => TAKEOUT_VIDEOS_ENTRY.test(n) && /youtube|video metadata/i.test(n)))
    return 'youtube-takeout';
  return null;
}

/**
 * What the importer reads: the generic parser over a stream (`stream`), or an export reader's
 * records (`items`). `close()` closes the archive and removes any temporary file (idempotent).
 */
export type PreparedImport = ImportSource & { close(): Promise<void> };

export interface PrepareOptions {
  /** `--format` / `?format=`: overrides detection. */
  format?: ImportFormat | undefined;
  /** The format a Content-Type names, used when the bytes are not a recognised export. */
  hint?: ImportFormat | null | undefined;
  /** Where to spool a zip that arrives as a stream (default: the OS temporary directory). */
  tempDir?: string;
  /**
   * What a zip may inflate to (config.import: IMPORT_MAX_INFLATED_BYTES and its kin); unset
   * ones take DEFAULT_ARCHIVE_LIMITS.
   */
  limits?: Partial<ArchiveLimits> | undefined;
}

const noClose = (): Promise<void> => Promise.resolve();

const unknownFormat = (fileName: string | null): AppError =>
  new AppError(
    'unsupported_media_type',
    `${fileName ?? 'The upload'}: cannot tell the format. Send text/csv, application/x-ndjson or application/json (or a .csv, .jsonl, .json file), ` +
      'or a platform export (an X archive zip or tweets.js, Instagram/TikTok JSON, YouTube Takeout/Studio CSV), or name the format with ?format= / --format: ' +
      'csv, jsonl, json, x-archive, instagram-export, tiktok-export, youtube-takeout or youtube-studio',
    { details: { field: 'format', value: fileName } },
  );

function fromArchive(
  archive: Archive,
  fileName: string | null,
  explicit: ImportFormat | undefined,
  cleanup: () => Promise<void>,
): PreparedImport {
  const close = async (): Promise<void> => {
    await archive.close();
    await cleanup();
  };
  if (explicit !== undefined && !isExportImportFormat(explicit)) {
    throw new AppError(
      'validation_failed',
      `${fileName ?? 'The upload'} is a zip archive, which the ${explicit} format cannot read; name a platform export format instead`,
      {
        details: { field: 'format', value: explicit },
      },
    );
  }
  const format = explicit ?? exportFormatOfArchive(archive);
  if (format === null || format === undefined) {
    // Only the entries within IMPORT_MAX_ARCHIVE_ENTRIES were listed: that limit is the reason.
    const failure = archive.limitExceeded?.() ?? null;
    if (failure !== null) throw failure;
    throw new AppError(
      'unsupported_media_type',
      `${fileName ?? 'The zip'} holds none of the known exports (X data/tweets.js, Instagram content/posts_1.json, TikTok user_data.json, YouTube Takeout videos.csv or Studio "Table data.csv"); name the format if it is one of them`,
      { details: { field: 'format', value: fileName } },
    );
  }
  const label = fileName ?? 'upload.zip';
  return {
    format,
    fileName,
    items: (options) =>
      failOnArchiveLimit(
        archive,
        exportReaders[format]({ kind: 'archive', archive, label }, options),
      ),
    close,
  };
}

/**
 * An export reader's items, until the archive crosses a limit: then the import fails with it.
 * The readers report an entry's read error as a reject and read on (a damaged entry still gives
 * its records), which for a limit would end the run `completed`, the bomb a mere reject.
 */
async function* failOnArchiveLimit(
  archive: Archive,
  items: AsyncGenerator<ParsedItem>,
): AsyncGenerator<ParsedItem> {
  const check = (): void => {
    const failure = archive.limitExceeded?.() ?? null;
    if (failure !== null) throw failure;
  };
  check();
  for await (const item of items) {
    check();
    yield item;
  }
  check();
}

function fromBytes(
  format: ImportFormat,
  fileName: string | null,
  stream: AsyncIterable<Buffer | string>,
  close: () => Promise<void>,
): PreparedImport {
  if (!isExportImportFormat(format)) return { format, fileName, stream, close };
  return {
    format,
    fileName,
    items: (options) =>
      exportReaders[format]({ kind: 'bytes', source: stream, label: fileName }, options),
    close,
  };
}

function formatOfBytes(
  head: Buffer,
  fileName: string | null,
  options: PrepareOptions,
): ImportFormat {
  const generic = sniffGenericFormat(head);
  const named = fileName === null ? null : exportFormatFromFileName(fileName);
  // Generic content is never an export, whatever its name (a posts export saved as videos.csv
  // or tweets.js): the export checks apply only to other content, and where the name alone
  // would have made it an export, the content's own format stands in.
  const format =
    options.format ??
    (generic === null ? (sniffExportFormat(head) ?? named) : null) ??
    options.hint ??
    (fileName === null ? null : formatFromFileName(fileName)) ??
    (named === null ? null : generic);
  if (!format) throw unknownFormat(fileName);
  return format;
}

const unreadableFile = (file: string, reason: string, cause?: unknown): AppError =>
  new AppError('validation_failed', `${file}: ${reason}`, {
    details: { field: 'file', value: file, reason },
    cause,
  });

/** A file on disk (the CLI): a zip is opened in place, anything else streamed. */
export async function prepareFileImport(
  file: string,
  options: PrepareOptions = {},
): Promise<PreparedImport> {
  let handle: FileHandle;
  try {
    handle = await openFile(file, 'r');
  } catch (error) {
    throw unreadableFile(file, describeIoError(error), error);
  }
  const head = Buffer.alloc(SNIFF_BYTES);
  let read: number;
  try {
    // Opening a directory succeeds on Linux; reading it would fail with a bare EISDIR.
    if ((await handle.stat()).isDirectory())
      throw unreadableFile(file, 'is a directory, not a file');
    ({ bytesRead: read } = await handle.read(head, 0, SNIFF_BYTES, 0));
  } catch (error) {
    throw error instanceof AppError ? error : unreadableFile(file, describeIoError(error), error);
  } finally {
    await handle.close();
  }
  const first = head.subarray(0, read);
  if (isZip(first)) {
    const archive = await openArchive(file, { label: file, limits: options.limits });
    try {
      return fromArchive(archive, file, options.format, noClose);
    } catch (error) {
      await archive.close();
      throw error;
    }
  }
  return fromBytes(formatOfBytes(first, file, options), file, createReadStream(file), noClose);
}

/**
 * Reads the first bytes of a stream and gives back a stream that still starts with them. A
 * failure while peeking (the body is over IMPORT_MAX_BYTES) is raised by the returned stream
 * after the bytes before it, so the records that fit are still imported.
 */
export async function peekStream(
  stream: AsyncIterable<Buffer | string>,
  bytes: number,
): Promise<{ head: Buffer; stream: AsyncIterable<Buffer> }> {
  const iterator = stream[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let size = 0;
  let done = false;
  let failure: Error | null = null;
  while (size < bytes) {
    let next: IteratorResult<Buffer | string>;
    try {
      next = await iterator.next();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      done = true;
      break;
    }
    if (next.done) {
      done = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    taken.push(chunk);
    size += chunk.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* taken;
    if (failure !== null) throw failure;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  return { head: Buffer.concat(taken).subarray(0, bytes), stream: replay() };
}

/**
 * A request body (the API). A zip needs random access to its central directory, at its end:
 * it is written to a temporary file first (the stream is already bounded by IMPORT_MAX_BYTES),
 * and the file is removed by `close()`.
 */
export async function prepareStreamImport(
  source: AsyncIterable<Buffer | string>,
  fileName: string | null,
  options: PrepareOptions = {},
): Promise<PreparedImport> {
  const { head, stream } = await peekStream(source, SNIFF_BYTES);
  if (!isZip(head))
    return fromBytes(formatOfBytes(head, fileName, options), fileName, stream, noClose);
  const dir = await mkdtemp(path.join(options.tempDir ?? tmpdir(), 'socialpulse-import-'));
  let removed = false;
  const cleanup = async (): Promise<void> => {
    if (removed) return;
    removed = true;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const file = path.join(dir, 'upload.zip');
    await pipeline(Readable.from(stream), createWriteStream(file));
    const archive = await openArchive(file, {
      label: fileName ?? 'upload.zip',
      limits: options.limits,
    });
    try {
      return fromArchive(archive, fileName, options.format, cleanup);
    } catch (error) {
      await archive.close();
      throw error;
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
}
