import {
  firstLineExcerpt,
  lastMarkOf,
  LineTracker,
  readElement,
  RereadableSource,
  resumeIndent,
  Resync,
} from './json-scanner.js';
import { excerpt, type ParsedItem, type ParserOptions, type ByteSource } from './parsed-item.js';

// Module-local rather than imported from json-scanner.ts: they are read for every byte, and an
// imported binding costs a property read per use under some module loaders (vitest's).
const Ch = {
  Newline: 0x0a,
  Quote: 0x22,
  Backslash: 0x5c,
  Comma: 0x2c,
  OpenBracket: 0x5b,
  CloseBracket: 0x5d,
  OpenBrace: 0x7b,
  CloseBrace: 0x7d,
} as const;

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

const BOM = [0xef, 0xbb, 0xbf];

type State = 'start' | 'between' | 'element' | 'resync' | 'end' | 'failed';

/**
 * A top-level JSON array of objects, streamed: the scanner finds element boundaries by depth
 * (outside strings) and hands each element's text to JSON.parse, so one malformed element
 * is rejected alone and memory stays at one element. Streaming JSON tokenizers stop at the
 * first syntax error, which would lose every valid record after it. A malformed element that
 * spans several lines may have run over its neighbours (a stray quote, a missing "}"): its
 * first line is rejected and reading resumes at the next line that opens an element (see
 * Resync in json-scanner.ts), naming every line skipped.
 */
export async function* parseJsonArray(
  source: ByteSource,
  options: ParserOptions,
): AsyncGenerator<ParsedItem> {
  const input = new RereadableSource(source, options.maxRecordBytes);
  const lines = new LineTracker();
  const resync = new Resync();
  let state: State = 'start';
  let elementLine = 1;
  let elementIndent = 0;
  let elementColumn = 0;
  /** The first element's indentation: the array's "]" is looked for there (see Resync). */
  let arrayIndent: number | null = null;
  let multiLine = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let size = 0;
  let oversized = false;
  let offset = 0;

  const keep = (chunk: Buffer, from: number, to: number): void => {
    if (oversized || to <= from) return;
    size += to - from;
    parts.push(Buffer.from(chunk.subarray(from, to)));
  };
  /**
   * Ends the element (its bytes are kept up to here; `rest` is what follows it, from its
   * terminator on). A broken element over several lines is not emitted: reading goes back to
   * its second line (`reread`: drop the rest of the chunk), or skips on from here (past the
   * re-reading budget, or after a one-line element that a "]" ended).
   */
  const closeElement = (
    rest: Buffer,
    terminator: number,
  ): { item: ParsedItem } | { skip: 'reread' | 'here' } => {
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const { item, broken } = readElement(bytes, elementLine, {
      maxRecordBytes: options.maxRecordBytes,
      oversized,
      multiLine,
    });
    parts = [];
    size = 0;
    oversized = false;
    if (broken) resync.sawBroken = true;
    // On one line, a broken element's end is suspect only when it is a "]": a bracket of its
    // text may have ended the array. At a "," the next element follows, as in compact arrays.
    if (item.kind !== 'problem' || !broken || !(multiLine || terminator === Ch.CloseBracket))
      return { item };
    resync.start(
      { ...item, value: firstLineExcerpt(bytes) },
      Math.max(arrayIndent ?? 0, resumeIndent(bytes, elementIndent, elementColumn)),
      arrayIndent ?? 0,
    );
    const newline = bytes.indexOf(Ch.Newline);
    if (multiLine && input.unread([bytes.subarray(newline + 1), rest])) {
      lines.restartAt(elementLine + 1, offset);
      return { skip: 'reread' };
    }
    resync.skipThrough(lines.line);
    resync.lastMark = terminator !== 0 ? terminator : lastMarkOf(bytes);
    return { skip: 'here' };
  };
  // The caller sets the bracket count (depth, inString, escaped): they are read for every byte,
  // and a variable that a closure captures is slower to reach.
  const beginElement = (column: number): void => {
    elementLine = lines.line;
    elementIndent = lines.indentOf(column);
    elementColumn = column;
    arrayIndent ??= elementIndent;
    multiLine = false;
  };
  const unclosed = (): ParsedItem => ({
    kind: 'problem',
    line: lines.line,
    field: null,
    reason: 'unexpected end of file: the array is not closed with "]"',
    value: null,
  });

  try {
    for (;;) {
      const chunk = await input.next();
      if (chunk === null) {
        if (state === 'element') {
          const closed = closeElement(Buffer.alloc(0), 0);
          if ('item' in closed) {
            yield closed.item;
            yield unclosed();
            return;
          }
          state = 'resync';
          if (closed.skip === 'reread') continue;
        }
        break;
      }
      const chunkOffset = offset;
      offset += chunk.length;
      let elementStart = state === 'element' ? 0 : -1;
      let reread = false;
      for (let i = 0; i < chunk.length; i += 1) {
        const b = chunk[i] as number;
        if (b === Ch.Newline) lines.newline(chunkOffset + i);
        if (state === 'element') {
          if (b === Ch.Newline) {
            multiLine = true;
            if (oversized) {
              // Its first line alone is longer than a record: no end of it will be found in
              // time, so the line is rejected and reading resumes on the next.
              oversized = false;
              state = 'resync';
              elementStart = -1;
              resync.start(
                {
                  kind: 'problem',
                  line: elementLine,
                  field: null,
                  reason: `record is longer than ${options.maxRecordBytes} bytes`,
                  value: null,
                },
                Math.max(arrayIndent ?? 0, elementIndent),
                arrayIndent ?? 0,
              );
              continue;
            }
          }
          if (inString) {
            if (escaped) escaped = false;
            else if (b === Ch.Backslash) escaped = true;
            else if (b === Ch.Quote) inString = false;
            continue;
          }
          if (b === Ch.Quote) inString = true;
          else if (b === Ch.OpenBrace || b === Ch.OpenBracket) depth += 1;
          else if ((b === Ch.CloseBrace || b === Ch.CloseBracket) && depth > 0) depth -= 1;
          else if (depth === 0 && (b === Ch.Comma || b === Ch.CloseBracket)) {
            keep(chunk, elementStart, i);
            elementStart = -1;
            const closed = closeElement(chunk.subarray(i), b);
            if ('item' in closed) {
              yield closed.item;
              state = b === Ch.Comma ? 'between' : 'end';
            } else {
              state = 'resync';
              if (closed.skip === 'reread') {
                reread = true;
                break;
              }
            }
          }
          continue;
        }
        if (isSpace(b)) continue;
        // A UTF-8 BOM (EF BB BF) may open the file, possibly split across chunks.
        if (state === 'start' && chunkOffset + i < 3 && b === BOM[chunkOffset + i]) continue;
        const column = lines.mark(b, chunkOffset + i);
        if (state === 'end' && resync.sawBroken && b !== Ch.Comma && b !== Ch.OpenBrace) {
          // After a broken element, that "]" may have been one of its own: skip on as for it.
          resync.restart(
            {
              kind: 'problem',
              line: lines.line,
              field: null,
              reason: 'unexpected content after the closing "]" of the array',
              value: excerpt(chunk.subarray(i, i + 80).toString('utf8')),
            },
            arrayIndent ?? 0,
          );
          state = 'resync';
        }
        if (state === 'resync') {
          const found = resync.feed(b, lines, column);
          if (found === null) continue;
          yield resync.finish(found === 'element' ? 'resumed' : 'closed', lines.line);
          if (found === 'close') {
            state = 'end';
            continue;
          }
          state = 'between'; // This "{" opens the next element, below.
        }
        if (state === 'start') {
          if (b !== Ch.OpenBracket) {
            state = 'failed';
            yield {
              kind: 'problem',
              line: lines.line,
              field: null,
              reason:
                b === Ch.OpenBrace
                  ? 'expected a JSON array: the file must start with "[" (for one JSON object per line, send JSON Lines: application/x-ndjson or ?format=jsonl)'
                  : 'expected a JSON array: the file must start with "["',
              value: excerpt(chunk.subarray(i, i + 80).toString('utf8')),
              refusesFile: true,
            };
            break;
          }
          state = 'between';
        } else if (state === 'between') {
          if (b === Ch.CloseBracket) {
            state = 'end';
            continue;
          }
          if (b === Ch.Comma) {
            yield {
              kind: 'problem',
              line: lines.line,
              field: null,
              reason: 'empty array element (two commas in a row)',
              value: null,
            };
            continue;
          }
          state = 'element';
          beginElement(column);
          elementStart = i;
          depth = b === Ch.OpenBrace || b === Ch.OpenBracket ? 1 : 0;
          inString = b === Ch.Quote;
          escaped = false;
        } else if (state === 'end') {
          if (b === Ch.Comma || b === Ch.OpenBrace) {
            // More elements follow: that "]" was a stray one, not the end of the array.
            yield {
              kind: 'problem',
              line: lines.line,
              field: null,
              reason:
                'the array was closed with "]" before its end (a stray "]"?); reading goes on after it',
              value: excerpt(chunk.subarray(i, i + 80).toString('utf8')),
            };
            state = 'between';
            if (b === Ch.Comma) continue;
            state = 'element';
            beginElement(column);
            elementStart = i;
            depth = 1;
            inString = false;
            escaped = false;
            continue;
          }
          state = 'failed';
          yield {
            kind: 'problem',
            line: lines.line,
            field: null,
            reason: 'unexpected content after the closing "]" of the array',
            value: excerpt(chunk.subarray(i, i + 80).toString('utf8')),
          };
          break;
        }
      }
      if (reread) continue;
      if (state === 'failed') break;
      if (state === 'element' && elementStart !== -1) {
        keep(chunk, elementStart, chunk.length);
        if (size > options.maxRecordBytes) {
          // Over several lines, a runaway element (a stray quote) may be holding its
          // neighbours: go back to its second line. On one line, drop it and find its end.
          if (multiLine) {
            closeElement(Buffer.alloc(0), 0);
            state = 'resync';
          } else {
            oversized = true;
            parts = [];
            size = 0;
          }
        }
      }
    }
    if (state === 'resync') {
      yield resync.finish('eof', lines.line);
      // The closing "]" may have been passed over on a line with other content.
      if (resync.lastMark !== Ch.CloseBracket) yield unclosed();
    } else if (state === 'between' || state === 'start') {
      yield {
        kind: 'problem',
        line: lines.line,
        field: null,
        reason:
          state === 'start'
            ? 'the file is empty: expected a JSON array'
            : 'unexpected end of file: the array is not closed with "]"',
        value: null,
        ...(state === 'start' ? { refusesFile: true as const } : {}),
      };
    }
  } finally {
    await input.close();
  }
}
