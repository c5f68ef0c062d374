import { close as closeFd, createReadStream, fstat, open as openFd, read as readFd } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { AppError } from '../../errors.js';

/** One file inside a zip, read as a stream of bytes (never whole). */
export interface ArchiveEntry {
  name: string;
  open(): Promise<AsyncIterable<Buffer>>;
}

export interface Archive {
  entries: readonly ArchiveEntry[];
  /** Set when the central directory was unreadable and the entries come from a scan of local headers. */
  damage: string | null;
  /**
   * The limit the archive crossed (too many entries, an entry inflating past its budget or
   * ratio), once it did. Export readers swallow an entry's read error (they report it as a
   * reject and go on), so the importer looks here to fail the run instead.
   */
  limitExceeded?: () => AppError | null;
  close(): Promise<void>;
}

/**
 * What one import may take from a zip. A zip is the one input whose bytes multiply on the way
 * in (deflate reaches about 1000:1): without these, a 1 MB upload is a gigabyte of work.
 */
export interface ArchiveLimits {
  /** Inflated bytes read from the entries opened, in all and so also per entry (IMPORT_MAX_INFLATED_BYTES). */
  maxInflatedBytes: number;
  /** Entries listed from the central directory (IMPORT_MAX_ARCHIVE_ENTRIES). */
  maxArchiveEntries: number;
  /** Inflated bytes per compressed byte of an entry, past RATIO_GRACE_BYTES (IMPORT_MAX_COMPRESSION_RATIO). */
  maxCompressionRatio: number;
}

/** The defaults of config.ts, for callers that pass none (config.test.ts keeps them equal). */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = {
  maxInflatedBytes: 4 * 1024 * 1024 * 1024,
  maxArchiveEntries: 200_000,
  maxCompressionRatio: 100,
};

/**
 * Inflated bytes of an entry before its ratio is judged: a small file of blanks or repeated
 * keys (an empty account.js) may compress far better than a real export, and costs nothing.
 */
export const RATIO_GRACE_BYTES = 1024 * 1024;

export interface OpenArchiveOptions {
  /** How the archive is named in errors (the uploaded file's name, not the spool file's). */
  label?: string;
  limits?: Partial<ArchiveLimits> | undefined;
}

/**
 * Counts what the entries of one archive inflate to, and stops the first one that crosses a
 * limit. The first failure is kept: later reads fail with it too.
 */
class InflateBudget {
  readonly limits: ArchiveLimits;
  private used = 0;
  failure: AppError | null = null;

  constructor(
    readonly label: string,
    limits: Partial<ArchiveLimits> | undefined,
  ) {
    this.limits = { ...DEFAULT_ARCHIVE_LIMITS };
    for (const key of Object.keys(DEFAULT_ARCHIVE_LIMITS) as (keyof ArchiveLimits)[]) {
      const value = limits?.[key];
      if (value !== undefined) this.limits[key] = value;
    }
  }

  fail(error: AppError): AppError {
    this.failure ??= error;
    return this.failure;
  }

  tooManyEntries(count: number | null): AppError {
    const limit = this.limits.maxArchiveEntries;
    return this.fail(
      new AppError(
        'payload_too_large',
        `${this.label}: the zip holds ${count === null ? `more than ${limit}` : count} entries, more than the limit of ${limit} (IMPORT_MAX_ARCHIVE_ENTRIES)`,
        {
          details: {
            file: this.label,
            limit,
            setting: 'IMPORT_MAX_ARCHIVE_ENTRIES',
            ...(count === null ? {} : { value: count }),
          },
        },
      ),
    );
  }

  /** Before inflating: what the zip declares (yauzl holds an entry to its declared size). */
  checkDeclared(name: string, compressed: number, declared: number | null): void {
    if (this.failure !== null) throw this.failure;
    if (declared === null) return;
    const { maxInflatedBytes } = this.limits;
    if (declared > maxInflatedBytes - this.used) throw this.overBudget(name, declared, 'declared');
    if (this.absurdRatio(declared, compressed))
      throw this.overRatio(name, declared, compressed, 'declared');
  }

  /** Passes an entry's inflated bytes on, failing as soon as they cross a limit. */
  async *count(
    name: string,
    compressed: number,
    source: AsyncIterable<Buffer>,
  ): AsyncGenerator<Buffer> {
    if (this.failure !== null) throw this.failure;
    let inflated = 0;
    // Leaving the loop (a throw here, or the reader stopping) destroys the stream: inflation stops.
    for await (const chunk of source) {
      inflated += chunk.length;
      this.used += chunk.length;
      if (this.used > this.limits.maxInflatedBytes) throw this.overBudget(name, inflated, 'read');
      if (this.absurdRatio(inflated, compressed))
        throw this.overRatio(name, inflated, compressed, 'read');
      yield chunk;
    }
  }

  private absurdRatio(inflated: number, compressed: number): boolean {
    return (
      inflated > RATIO_GRACE_BYTES &&
      inflated > this.limits.maxCompressionRatio * Math.max(compressed, 1)
    );
  }

  private overBudget(name: string, bytes: number, how: 'declared' | 'read'): AppError {
    const limit = this.limits.maxInflatedBytes;
    const earlier = this.used - (how === 'read' ? bytes : 0);
    const size =
      how === 'declared' ? `declares ${bytes} bytes once inflated` : `inflated past ${bytes} bytes`;
    return this.fail(
      new AppError(
        'payload_too_large',
        `${this.label}:${name} ${size}, more than the limit of ${limit} inflated bytes per import (IMPORT_MAX_INFLATED_BYTES)` +
          (earlier > 0 ? ` with the ${earlier} bytes of the entries read before it` : ''),
        {
          details: {
            file: `${this.label}:${name}`,
            entry: name,
            limit,
            setting: 'IMPORT_MAX_INFLATED_BYTES',
          },
        },
      ),
    );
  }

  private overRatio(
    name: string,
    inflated: number,
    compressed: number,
    how: 'declared' | 'read',
  ): AppError {
    const limit = this.limits.maxCompressionRatio;
    const ratio = Math.floor(inflated / Math.max(compressed, 1));
    const size =
      how === 'declared'
        ? `declares ${inflated} bytes once inflated from ${compressed}`
        : `inflated past ${inflated} bytes from ${compressed}`;
    return this.fail(
      new AppError(
        'payload_too_large',
        `${this.label}:${name} ${size} (${ratio}:1), more than the limit of ${limit}:1 (IMPORT_MAX_COMPRESSION_RATIO): a decompression bomb, not a platform export`,
        {
          details: {
            file: `${this.label}:${name}`,
            entry: name,
            limit,
            setting: 'IMPORT_MAX_COMPRESSION_RATIO',
            value: ratio,
          },
        },
      ),
    );
  }
}

export const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
export const EMPTY_ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
export const isZip = (head: Buffer): boolean =>
  head.subarray(0, 4).equals(ZIP_MAGIC) || head.subarray(0, 4).equals(EMPTY_ZIP_MAGIC);

/**
 * Opens a zip for streaming reads. yauzl reads the central directory at the end of the file
 * (random access, so the file must be on disk) and inflates one entry at a time. A zip cut
 * short has no central directory: then the local headers are walked from the start, so the
 * entries that did arrive (and the first part of the one that was cut) can still be read.
 */
export async function openArchive(
  path: string,
  options: OpenArchiveOptions = {},
): Promise<Archive> {
  const budget = new InflateBudget(options.label ?? path, options.limits);
  let zip: yauzl.ZipFile;
  const fd = await promisify(openFd)(path, 'r');
  const reader = new WindowedReader(path, fd);
  try {
    const { size } = await promisify(fstat)(fd);
    zip = await yauzl.fromRandomAccessReaderPromise(reader, size, {
      lazyEntries: true,
      autoClose: false,
    });
  } catch (error) {
    // No ZipFile owns the reader yet: its descriptor is closed here.
    await promisify(closeFd)(fd).catch(() => undefined);
    return recoverArchive(path, (error as Error).message, budget);
  }
  const entries: ArchiveEntry[] = [];
  // Each entry listed costs a read and about a kilobyte kept: only so many are listed. Those
  // still tell the format, and the import then fails naming the limit.
  if (zip.entryCount > budget.limits.maxArchiveEntries) budget.tooManyEntries(zip.entryCount);
  let listed = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      listed += 1;
      if (listed > budget.limits.maxArchiveEntries) {
        budget.tooManyEntries(null);
        break;
      }
      if (entry.fileName.endsWith('/')) continue;
      entries.push({
        name: entry.fileName,
        open: async () => {
          if (entry.isEncrypted()) throw new Error('the entry is encrypted');
          // Deflate's sizes are checked before inflating; a stored entry is as long as it says.
          budget.checkDeclared(entry.fileName, entry.compressedSize, entry.uncompressedSize);
          const stream = (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>;
          return budget.count(entry.fileName, entry.compressedSize, stream);
        },
      });
    }
  } catch (error) {
    zip.close();
    return recoverArchive(path, (error as Error).message, budget);
  }
  return {
    entries,
    damage: null,
    limitExceeded: () => budget.failure,
    close: () => {
      zip.close();
      return Promise.resolve();
    },
  };
}

/** Bytes read at once for yauzl's small reads. */
const READ_WINDOW = 256 * 1024;

/**
 * The zip file for yauzl, its small reads served from a window read ahead. yauzl reads the
 * central directory a few dozen bytes at a time, two reads per entry: as system calls, listing
 * costs a third of a millisecond of CPU per entry (seconds for a zip of tens of thousands of
 * entries, which an upload of a few megabytes can hold); from a window, a tenth of that.
 */
class WindowedReader extends yauzl.RandomAccessReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // A descriptor of its own: destroying a stream (a limit crossed) closes its descriptor even
    // with autoClose off, and the reader's must outlive it.
    return createReadStream(this.path, { start, end: end - 1 });
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    this.readAt(buffer, offset, length, position).then(
      () => callback(null),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private async readAt(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
  ): Promise<void> {
    const copy = (window: Buffer, start: number): boolean => {
      if (position < start || position + length > start + window.length) return false;
      window.copy(buffer, offset, position - start, position - start + length);
      return true;
    };
    if (copy(this.window, this.windowStart)) return;
    const window = Buffer.allocUnsafe(Math.max(length, READ_WINDOW));
    const { bytesRead } = await promisify(readFd)(this.fd, window, 0, window.length, position);
    // Reads may overlap: each copies from the window it read itself.
    const read = window.subarray(0, bytesRead);
    this.window = read;
    this.windowStart = position;
    if (!copy(read, position)) throw new Error('unexpected EOF');
  }

  override close(callback: (err: Error | null) => void): void {
    closeFd(this.fd, callback);
  }
}

const LOCAL_HEADER = 0x04034b50;
const SCAN_CHUNK = 1 << 20;

/** Walks local file headers from the start of a zip whose central directory is missing. */
async function recoverArchive(
  path: string,
  reason: string,
  budget: InflateBudget,
): Promise<Archive> {
  const file = await openFile(path, 'r');
  const size = (await file.stat()).size;
  const entries: ArchiveEntry[] = [];
  try {
    let offset = 0;
    const header = Buffer.alloc(30);
    while (offset + 30 <= size) {
      await file.read(header, 0, 30, offset);
      if (header.readUInt32LE(0) !== LOCAL_HEADER) break;
      const flags = header.readUInt16LE(6);
      const method = header.readUInt16LE(8);
      const compressedSize = header.readUInt32LE(18);
      const uncompressedSize = header.readUInt32LE(22);
      const nameLength = header.readUInt16LE(26);
      const extraLength = header.readUInt16LE(28);
      const nameBytes = Buffer.alloc(nameLength);
      await file.read(nameBytes, 0, nameLength, offset + 30);
      const name = nameBytes.toString((flags & 0x800) !== 0 ? 'utf8' : 'latin1');
      const dataStart = offset + 30 + nameLength + extraLength;
      const sizeKnown = (flags & 0x08) === 0 || compressedSize !== 0;
      const next = sizeKnown ? null : await findNextHeader(file, dataStart, size);
      const dataEnd = next ? next.dataEnd : Math.min(dataStart + compressedSize, size);
      if (!name.endsWith('/') && (method === 0 || method === 8) && (flags & 0x01) === 0) {
        if (entries.length >= budget.limits.maxArchiveEntries) {
          budget.tooManyEntries(null);
          break;
        }
        entries.push({
          name,
          // The executor's throw (a declared size over a limit) rejects, as yauzl's open does.
          open: () =>
            new Promise((resolve) => {
              // Sizes written after the data (flag 8), or in a zip64 field, are not known here:
              // counting alone holds such an entry. The declared ratio is the header's own (of
              // an entry cut short, fewer compressed bytes arrived than it names).
              const declared =
                (flags & 0x08) === 0 && uncompressedSize !== 0xffffffff ? uncompressedSize : null;
              budget.checkDeclared(name, compressedSize, declared);
              const bytes = readRange(path, dataStart, dataEnd, method === 8);
              resolve(budget.count(name, dataEnd - dataStart, bytes));
            }),
        });
      }
      if (dataEnd >= size) break;
      offset = next
        ? next.header
        : dataEnd + ((flags & 0x08) !== 0 ? dataDescriptorLength(await peek(file, dataEnd, 4)) : 0);
    }
  } finally {
    await file.close();
  }
  return {
    entries,
    damage: `the zip's central directory is missing or unreadable (${reason}); was the download cut short? Entries were recovered from their local headers`,
    limitExceeded: () => budget.failure,
    close: () => Promise.resolve(),
  };
}

async function peek(file: FileHandle, at: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, at);
  return buffer.subarray(0, bytesRead);
}

/** A data descriptor is 12 bytes, or 16 with its optional signature. */
const dataDescriptorLength = (head: Buffer): number =>
  head.length === 4 && head.readUInt32LE(0) === 0x08074b50 ? 16 : 12;

/** The next local header signature at or after `from` (or the end of the file), and where the data before it ends. */
async function findNextHeader(
  file: FileHandle,
  from: number,
  size: number,
): Promise<{ dataEnd: number; header: number }> {
  const signature = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
  let at = from;
  while (at < size) {
    const chunk = await peek(file, at, SCAN_CHUNK + 3);
    const found = chunk.indexOf(signature);
    if (found !== -1) {
      // Step back over the data descriptor that precedes the next header.
      const end = at + found;
      const before = await peek(file, Math.max(from, end - 16), 4);
      const dataEnd =
        before.length === 4 && before.readUInt32LE(0) === 0x08074b50
          ? end - 16
          : Math.max(from, end - 12);
      return { dataEnd, header: end };
    }
    if (chunk.length <= 3) break;
    at += chunk.length - 3;
  }
  return { dataEnd: size, header: size };
}

async function* readRange(
  path: string,
  start: number,
  end: number,
  deflated: boolean,
): AsyncGenerator<Buffer> {
  if (end <= start) return;
  const raw = createReadStream(path, { start, end: end - 1 });
  if (!deflated) {
    yield* raw as AsyncIterable<Buffer>;
    return;
  }
  const inflate = createInflateRaw();
  raw.on('error', (error) => inflate.destroy(error));
  raw.pipe(inflate);
  yield* inflate as AsyncIterable<Buffer>;
}
