import type { Archive, ArchiveEntry } from './zip-archive.js';
import { formatPath, type JsonPath, type ScanEvent } from './json-scanner.js';
import type { ByteSource, ParsedItem, ParserOptions, ProblemItem } from './parsed-item.js';

/** A platform export: a zip archive on disk, or one of its files on its own (a stream). */
export type ExportInput =
  | { kind: 'archive'; archive: Archive; label: string }
  | { kind: 'bytes'; source: ByteSource; label: string | null };

export type ExportOptions = ParserOptions;

/** `export.zip:data/tweets.js`, the name rejects carry for an entry of an archive. */
export const entryLabel = (archiveLabel: string, entry: ArchiveEntry): string =>
  `${archiveLabel}:${entry.name}`;

export const problemAt = (
  line: number,
  reason: string,
  file: string | undefined,
  field: string | null = null,
  value: string | null = null,
): ProblemItem => ({
  kind: 'problem',
  line,
  field,
  reason,
  value,
  ...(file === undefined ? {} : { file }),
});

/**
 * Streams an entry through `parse`. A read error (a truncated or damaged entry, a bad CRC)
 * ends the entry like an end of file, after the records before it, and is reported.
 */
export async function* readEntry(
  entry: ArchiveEntry,
  file: string,
  parse: (bytes: AsyncIterable<Buffer>) => AsyncGenerator<ParsedItem>,
): AsyncGenerator<ParsedItem> {
  let failure: Error | null = null;
  let lastLine = 0;
  async function* bytes(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of await entry.open()) yield chunk;
    } catch (error) {
      failure = error as Error;
    }
  }
  for await (const item of parse(bytes())) {
    lastLine = item.line;
    yield { ...item, file: item.file ?? file };
  }
  if (failure !== null) {
    yield problemAt(
      lastLine,
      `could not be read to its end: ${(failure as Error).message}; the records after this point are missing`,
      file,
    );
  }
}

/** Reads a small entry (an account or profile file) whole, up to `limit` bytes. */
export async function readSmallEntry(entry: ArchiveEntry, limit: number): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of await entry.open()) {
      size += chunk.length;
      if (size > limit) return null;
      parts.push(chunk);
    }
  } catch {
    return null;
  }
  return Buffer.concat(parts);
}

/** Turns a structural problem of the scanner into a reject carrying the file. */
export const scanProblem = (
  event: Extract<ScanEvent, { kind: 'problem' }>,
  file: string | undefined,
): ProblemItem => ({
  ...event.item,
  ...(file === undefined ? {} : { file }),
});

/** A problem found in one array element, named by its JSON path when the reader gave none. */
export const elementProblem = (
  item: ProblemItem,
  path: JsonPath,
  file: string | undefined,
): ProblemItem => ({
  ...item,
  field: item.field === null ? formatPath(path) : `${formatPath(path)}.${item.field}`,
  ...(file === undefined ? {} : { file }),
});

/** Entries whose names match, in natural order (`tweets.js`, `tweets-part1.js`, … `tweets-part10.js`). */
export function entriesMatching(archive: Archive, pattern: RegExp): ArchiveEntry[] {
  return archive.entries
    .filter((e) => pattern.test(e.name))
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}
