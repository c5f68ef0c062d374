import { createReadStream } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';

/** One file inside a zip, read as a stream of bytes (never whole). */
export interface ArchiveEntry {
  name: string;
  open(): Promise<AsyncIterable<Buffer>>;
}

export interface Archive {
  entries: readonly ArchiveEntry[];
  /** Set when the central directory was unreadable and the entries come from a scan of local headers. */
  damage: string | null;
  close(): Promise<void>;
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
export async function openArchive(path: string): Promise<Archive> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
  } catch (error) {
    return recoverArchive(path, (error as Error).message);
  }
  const entries: ArchiveEntry[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      entries.push({
        name: entry.fileName,
        open: async () => {
          if (entry.isEncrypted()) throw new Error('the entry is encrypted');
          return (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>;
        },
      });
    }
  } catch (error) {
    zip.close();
    return recoverArchive(path, (error as Error).message);
  }
  return {
    entries,
    damage: null,
    close: () => {
      zip.close();
      return Promise.resolve();
    },
  };
}

const LOCAL_HEADER = 0x04034b50;
const SCAN_CHUNK = 1 << 20;

/** Walks local file headers from the start of a zip whose central directory is missing. */
async function recoverArchive(path: string, reason: string): Promise<Archive> {
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
        entries.push({
          name,
          open: () => Promise.resolve(readRange(path, dataStart, dataEnd, method === 8)),
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
