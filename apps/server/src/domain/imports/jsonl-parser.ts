import { isUtf8 } from 'node:buffer';
import {
  parseJsonObject,
  type ParsedItem,
  type ParserOptions,
  type ProblemItem,
  type ByteSource,
} from './parsed-item.js';

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function decodeLine(bytes: Buffer, line: number): ProblemItem | string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === CR) end -= 1;
  const body = bytes.subarray(0, end);
  if (body.includes(0)) {
    return { kind: 'problem', line, field: null, reason: 'contains a NUL byte', value: null };
  }
  if (!isUtf8(body)) {
    return { kind: 'problem', line, field: null, reason: 'is not valid UTF-8', value: null };
  }
  return body.toString('utf8');
}

/**
 * One line of text without its terminator; `crlf` says whether the terminator was CRLF (so a
 * CSV field quoted across lines can keep it as it was).
 */
export interface TextLine {
  line: number;
  text: string;
  crlf: boolean;
}

/**
 * Splits a byte stream into lines without holding more than one line (bounded by
 * `maxRecordBytes`) plus one chunk in memory. Handles a BOM, CRLF, a last line without a
 * newline, and over-long lines (skipped to the next newline and reported).
 */
export async function* readLines(
  source: ByteSource,
  options: ParserOptions,
): AsyncGenerator<TextLine | ProblemItem> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 1;
  let skipping = false;

  const finish = (bytes: Buffer): TextLine | ProblemItem => {
    // The BOM is checked per line, not per chunk: a source may split it across chunks.
    const decoded = decodeLine(
      line === 1 && bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes,
      line,
    );
    return typeof decoded === 'string'
      ? { line, text: decoded, crlf: bytes.length > 0 && bytes[bytes.length - 1] === CR }
      : decoded;
  };

  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!skipping) {
        const size = pendingBytes + (end - start);
        if (size > options.maxRecordBytes) {
          skipping = true;
          pending = [];
          pendingBytes = 0;
        } else if (nl !== -1) {
          const bytes =
            pending.length === 0
              ? chunk.subarray(start, end)
              : Buffer.concat([...pending, chunk.subarray(start, end)]);
          pending = [];
          pendingBytes = 0;
          yield finish(bytes);
        } else {
          // Copy: the source may reuse its chunk buffer.
          pending.push(Buffer.from(chunk.subarray(start, end)));
          pendingBytes = size;
        }
      }
      if (nl === -1) break;
      if (skipping) {
        skipping = false;
        yield {
          kind: 'problem',
          line,
          field: null,
          reason: `record is longer than ${options.maxRecordBytes} bytes`,
          value: null,
        };
      }
      line += 1;
      start = nl + 1;
    }
  }
  if (skipping) {
    yield {
      kind: 'problem',
      line,
      field: null,
      reason: `record is longer than ${options.maxRecordBytes} bytes`,
      value: null,
    };
  } else if (pendingBytes > 0) {
    yield finish(Buffer.concat(pending));
  }
}

/** JSON Lines: one object per line; blank lines are ignored. */
export async function* parseJsonl(
  source: ByteSource,
  options: ParserOptions,
): AsyncGenerator<ParsedItem> {
  for await (const item of readLines(source, options)) {
    if ('kind' in item) {
      yield item;
      continue;
    }
    if (item.text.trim() === '') continue;
    yield parseJsonObject(item.text, item.line);
  }
}
