import { isUtf8 } from 'node:buffer';
import {
  excerpt,
  parseJsonObject,
  type ByteSource,
  type ParsedItem,
  type ParserOptions,
  type ProblemItem,
} from './parsed-item.js';

export type JsonPath = readonly (string | number)[];

export type ScanEvent =
  /** One element of a target array: parsed (a record) or rejected (a problem), with its path. */
  | { kind: 'element'; path: JsonPath; item: ParsedItem }
  /** A scalar whose path `wantScalar` asked for (a user name, a generation date). */
  | { kind: 'scalar'; path: JsonPath; value: unknown }
  /** The document itself is broken (truncated, not JSON): reading stops here or at the end. */
  | { kind: 'problem'; item: ProblemItem };

export interface ScanOptions extends ParserOptions {
  /** Arrays whose elements are the records (the path of the array itself; `[]` is the top level). */
  isTarget: (path: JsonPath) => boolean;
  wantScalar?: (path: JsonPath) => boolean;
  /** The JSON follows a JavaScript assignment (`window.YTD.tweets.part0 = [...]`, as in X archives). */
  jsAssignment?: boolean;
}

/** `Video.Videos.VideoList[3]` */
export function formatPath(path: JsonPath): string {
  let out = '';
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}

const Ch = {
  Newline: 0x0a,
  Quote: 0x22,
  Backslash: 0x5c,
  Comma: 0x2c,
  Colon: 0x3a,
  Semicolon: 0x3b,
  Equals: 0x3d,
  OpenBracket: 0x5b,
  CloseBracket: 0x5d,
  OpenBrace: 0x7b,
  CloseBrace: 0x7d,
} as const;
const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const BOM = [0xef, 0xbb, 0xbf];

/*
 * Recovery after a malformed element, shared with json-array-parser.ts.
 *
 * An element's end is found by counting brackets outside strings, so one stray quote or a
 * missing "}" throws the count off and the element runs on over its neighbours (to the end of
 * the file, or of IMPORT_MAX_RECORD_BYTES). When an element that spans several lines fails,
 * its first line is rejected and the bytes after that line are read again (held in memory:
 * at most one record's worth), looking for the next line that opens an element at the same
 * indentation or less, as the CSV parser resumes after a quote that never closes. Nested
 * objects of a pretty-printed record are indented deeper, so they are not taken for records.
 * Every line passed over is named in the rejected element's reason.
 */

/**
 * Bytes read again may reach this multiple of the bytes read from the source (plus one
 * record's worth): far more than real damage needs, while a file made of lines that each open
 * a runaway element cannot make reading quadratic. Past it, reading resumes after the point
 * the failed element reached instead (its lines are reported skipped).
 */
const REREAD_FACTOR = 4;

/** A byte source whose bytes can be put back to be read again (see REREAD_FACTOR). */
export class RereadableSource {
  private readonly iterator: AsyncGenerator<Buffer>;
  private readonly queue: Buffer[] = [];
  private fresh = 0;
  private reread = 0;

  constructor(
    source: ByteSource,
    /** Bytes that may be read again before any budget is earned: one record. */
    private readonly slack: number,
  ) {
    this.iterator = (async function* (): AsyncGenerator<Buffer> {
      for await (const piece of source)
        yield typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    })();
  }

  async next(): Promise<Buffer | null> {
    const queued = this.queue.shift();
    if (queued !== undefined) return queued;
    const result = await this.iterator.next();
    if (result.done) return null;
    this.fresh += result.value.length;
    return result.value;
  }

  /** Puts bytes back in front of the rest; false (nothing put back) past the budget. */
  unread(parts: readonly Buffer[]): boolean {
    const size = parts.reduce((n, part) => n + part.length, 0);
    if (this.reread + size > this.slack + REREAD_FACTOR * this.fresh) return false;
    this.reread += size;
    this.queue.unshift(...parts.filter((part) => part.length > 0));
    return true;
  }

  /** Ends the source early (the reader stopped): closes a file or request stream. */
  async close(): Promise<void> {
    await this.iterator.return(undefined);
  }
}

/**
 * Lines, and where a line's content starts. Positions (`at`) count the bytes handed to the
 * parser, read again or not. Every newline is counted; the other bytes only where a line's head
 * matters (between elements, while skipping), so that the bytes inside an element cost nothing.
 */
export class LineTracker {
  line = 1;
  private lineStart = 0;
  /** Bytes other than blanks marked on this line so far. */
  private marks = 0;
  private headColumn = 0;
  private headIsComma = false;

  newline(at: number): void {
    this.line += 1;
    this.restartAt(this.line, at + 1);
  }

  /** A byte other than a blank at `at`, between elements or while skipping; returns its column. */
  mark(b: number, at: number): number {
    const column = at - this.lineStart;
    if (this.marks === 0) {
      this.headColumn = column;
      this.headIsComma = b === Ch.Comma;
    }
    this.marks += 1;
    return column;
  }

  /** Whether the byte just marked opens its line's content (possibly after a leading comma). */
  get atHead(): boolean {
    return this.marks === 1 || (this.marks === 2 && this.headIsComma);
  }

  /** How far in an item whose first byte was just marked at `column` is indented. */
  indentOf(column: number): number {
    return this.atHead ? this.headColumn : column;
  }

  /** Reading starts again at the beginning of `line`, at position `at` (bytes put back). */
  restartAt(line: number, at: number): void {
    this.line = line;
    this.lineStart = at;
    this.marks = 0;
    this.headIsComma = false;
  }
}

/** Skips lines after a rejected element until one opens the next element or closes the array. */
export class Resync {
  private pending: ProblemItem | null = null;
  private openIndent = 0;
  private closeIndent = 0;
  private lastSkipped = 0;
  /** The last byte passed over other than blanks: a "]" means the array was closed. */
  lastMark = 0;
  /** Whether an element was broken: a "]" after it may not be the array's end. */
  sawBroken = false;

  /**
   * The rejected element waits here until reading resumes, so that its reason can say where.
   * An element is looked for at `openIndent` or less, the array's "]" at `closeIndent` or less
   * (the indentation of its first element: a nested array of a pretty-printed record closes
   * further in).
   */
  start(problem: ProblemItem, openIndent: number, closeIndent: number): void {
    this.pending = problem;
    this.sawBroken = true;
    this.openIndent = openIndent;
    this.closeIndent = closeIndent;
    this.lastSkipped = problem.line;
    this.lastMark = 0;
  }

  /** Content after a "]" that followed a broken element: skip on, as for that element. */
  restart(problem: ProblemItem, arrayIndent: number): void {
    this.start(problem, Math.max(this.openIndent, arrayIndent), arrayIndent);
  }

  /** Lines the element ran over that will not be read again. */
  skipThrough(line: number): void {
    this.lastSkipped = Math.max(this.lastSkipped, line);
  }

  /** One byte other than a blank while skipping, marked by `lines` already at `column`. */
  feed(b: number, lines: LineTracker, column: number): 'element' | 'close' | null {
    if (isSpace(b)) return null;
    // The rest of the rejected element's first line, when not read again: as in resumeIndent.
    if (b === Ch.OpenBrace && lines.line === this.pending?.line)
      this.openIndent = Math.max(this.openIndent, column);
    if (lines.atHead) {
      const indent = lines.indentOf(column);
      if (b === Ch.OpenBrace && indent <= this.openIndent) return 'element';
      if (b === Ch.CloseBracket && indent <= this.closeIndent) return 'close';
      if (b === Ch.Comma && indent <= this.openIndent) return null; // The element may follow it.
    }
    this.lastMark = b;
    this.lastSkipped = Math.max(this.lastSkipped, lines.line);
    return null;
  }

  /** The rejected element's problem, saying which lines were skipped and where reading went on. */
  finish(end: 'resumed' | 'closed' | 'eof', line: number): ProblemItem {
    const problem = this.pending as ProblemItem;
    this.pending = null;
    const skipped =
      this.lastSkipped > problem.line
        ? `lines ${problem.line}–${this.lastSkipped}`
        : `line ${problem.line}`;
    const how =
      end === 'resumed'
        ? `${skipped} skipped, reading resumed at line ${line}`
        : end === 'closed'
          ? `${skipped} skipped, up to the array's closing "]" on line ${line}`
          : `${skipped} skipped to the end of the file`;
    return { ...problem, reason: `${problem.reason}; ${how}` };
  }
}

/**
 * One element's bytes, parsed alone. `broken` when its end may not be where the bracket count
 * put it: its JSON is malformed, it is too long, or it spans lines and is not an object (a
 * stray "[" wrapped its neighbours). A content problem (NUL byte, invalid UTF-8, no object on
 * its one line) in well-formed JSON is not.
 */
export function readElement(
  bytes: Buffer,
  line: number,
  options: ParserOptions & { oversized: boolean; multiLine: boolean },
): { item: ParsedItem; broken: boolean } {
  if (options.oversized || bytes.length > options.maxRecordBytes)
    return {
      item: {
        kind: 'problem',
        line,
        field: null,
        reason: `record is longer than ${options.maxRecordBytes} bytes`,
        value: null,
      },
      broken: true,
    };
  const nul = bytes.includes(0);
  if (nul || !isUtf8(bytes)) {
    const reason = nul ? 'contains a NUL byte' : 'is not valid UTF-8';
    // Raw NUL is not JSON: a blank stands in for it to see whether the JSON itself holds.
    const shape = options.multiLine
      ? shapeOf(bytes.toString('utf8').replace(/\0/g, ' '))
      : 'object';
    if (shape === 'malformed')
      return { item: parseJsonObject(bytes.toString('utf8').trim(), line), broken: true };
    return {
      item: { kind: 'problem', line, field: null, reason, value: null },
      broken: shape === 'other',
    };
  }
  const text = bytes.toString('utf8').trim();
  const item = parseJsonObject(text, line);
  if (item.kind === 'record') return { item, broken: false };
  const shape = shapeOf(text);
  return { item, broken: shape === 'malformed' || (options.multiLine && shape === 'other') };
}

function shapeOf(text: string): 'object' | 'other' | 'malformed' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'malformed';
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? 'object' : 'other';
}

/**
 * The indentation at which the element after a broken one is looked for: the broken one's, or
 * further in, up to the last "{" of its first line, when junk before its own "{" (a stray
 * quote or brace) starts it left of its neighbours.
 */
export function resumeIndent(bytes: Buffer, indent: number, column: number): number {
  const newline = bytes.indexOf(Ch.Newline);
  const brace = bytes
    .subarray(0, newline === -1 ? bytes.length : newline)
    .lastIndexOf(Ch.OpenBrace);
  return brace === -1 ? indent : Math.max(indent, column + brace);
}

/** The last byte of `bytes` other than a blank (0 if none): was a "]" passed over at the end? */
export function lastMarkOf(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= 0; i -= 1) {
    const b = bytes[i] as number;
    if (!isSpace(b)) return b;
  }
  return 0;
}

/** The first line of a failed element, shown as its value (the rest may be other records). */
export function firstLineExcerpt(bytes: Buffer): string {
  const end = bytes.indexOf(Ch.Newline);
  const first = bytes
    .subarray(0, end === -1 ? bytes.length : end)
    .toString('utf8')
    .trim();
  return excerpt(first.length > 1 ? first : bytes.toString('utf8').trim());
}
/** Longest JavaScript prefix before the `=`, and longest key or wanted scalar kept. */
const MAX_PREFIX = 4096;
const MAX_TOKEN = 65_536;

interface Frame {
  type: 'object' | 'array';
  /** How the parent reaches this container (null for the top level). */
  part: string | number | null;
  /** Object: the key whose value comes next. Array: the index of the current element. */
  key: string | null;
  index: number;
  expectingKey: boolean;
}

interface Capture {
  path: JsonPath;
  /** `resync`: skipping lines after a broken element until the next one (see Resync). */
  state: 'between' | 'element' | 'resync';
  depth: number;
  inString: boolean;
  escaped: boolean;
  line: number;
  /** How far in the element's line it starts, and its column; the array's first element's. */
  indent: number;
  column: number;
  arrayIndent: number;
  multiLine: boolean;
  parts: Buffer[];
  size: number;
  oversized: boolean;
  index: number;
  /** The path of the broken element whose problem waits in Resync (null: not an element's). */
  pendingPath: JsonPath | null;
}

/**
 * Streams a JSON document (a file of one big object, as platform exports are) and yields the
 * elements of the arrays `isTarget` selects, one at a time, each parsed alone: memory stays at
 * one element, and a malformed element is rejected without losing its neighbours (the same
 * depth-tracking split as json-array-parser.ts, ADR 0002; a broken element that runs over its
 * neighbours is recovered from as described above RereadableSource). Everything else is
 * skipped byte by byte, except the scalars `wantScalar` asks for.
 */
export async function* scanJson(
  source: ByteSource,
  options: ScanOptions,
): AsyncGenerator<ScanEvent> {
  // An object, not a variable: closeContainer() changes the mode, which flow narrowing cannot see.
  const doc: { mode: 'prefix' | 'start' | 'body' | 'done' | 'failed' } = {
    mode: options.jsAssignment ? 'prefix' : 'start',
  };
  const input = new RereadableSource(source, options.maxRecordBytes);
  const lines = new LineTracker();
  const resync = new Resync();
  let prefixBytes = 0;
  let offset = 0;
  const frames: Frame[] = [];
  let capture: Capture | null = null;
  // The top-level target array, once closed: content after it may resume it (see below). An
  // object, as `doc`: closeCapture() sets it.
  const finished: { top: Capture | null } = { top: null };

  // Strings and literals outside target arrays.
  let inString = false;
  let escaped = false;
  let token: Buffer[] | null = null;
  let tokenSize = 0;
  let tokenRole: 'key' | 'scalar' | null = null;
  let literal = false;
  // Blanks (and, after the document, semicolons) in a row outside strings, and where they began.
  let blanks = 0;
  let blanksFrom = 1;

  const problem = (reason: string, value: string | null = null, at = lines.line): ScanEvent => ({
    kind: 'problem',
    item: { kind: 'problem', line: at, field: null, reason, value },
  });
  const valuePath = (): (string | number)[] => {
    const path: (string | number)[] = [];
    for (let f = 1; f < frames.length; f += 1)
      path.push((frames[f] as Frame).part as string | number);
    const top = frames[frames.length - 1];
    if (top) path.push(top.type === 'array' ? top.index : (top.key ?? ''));
    return path;
  };
  const containerPath = (): (string | number)[] => valuePath();
  const startToken = (role: 'key' | 'scalar' | null): void => {
    tokenRole = role;
    token = role === null ? null : [];
    tokenSize = 0;
  };
  const keepToken = (chunk: Buffer, from: number, to: number): void => {
    if (token === null || to <= from) return;
    tokenSize += to - from;
    if (tokenSize > MAX_TOKEN) {
      token = null;
      return;
    }
    token.push(Buffer.from(chunk.subarray(from, to)));
  };
  /** Ends a key or wanted scalar; returns a scalar event to yield, if any. */
  const finishToken = (isString: boolean): ScanEvent | null => {
    const role = tokenRole;
    const bytes = token === null ? null : Buffer.concat(token);
    tokenRole = null;
    token = null;
    const top = frames[frames.length - 1];
    if (role === 'key') {
      if (top) {
        top.key = bytes === null ? '' : decodeString(bytes);
        top.expectingKey = false;
      }
      return null;
    }
    if (role === 'scalar' && bytes !== null) {
      let value: unknown;
      if (isString) value = decodeString(bytes);
      else {
        try {
          value = JSON.parse(bytes.toString('utf8'));
        } catch {
          value = bytes.toString('utf8');
        }
      }
      return { kind: 'scalar', path: valuePath(), value };
    }
    return null;
  };

  const keepElement = (c: Capture, chunk: Buffer, from: number, to: number): void => {
    if (c.oversized || to <= from) return;
    c.size += to - from;
    c.parts.push(Buffer.from(chunk.subarray(from, to)));
  };
  /**
   * Ends the captured element (its bytes are kept up to here; `rest` is what follows it, from
   * its terminator on). A broken element over several lines is not emitted: reading goes back
   * to its second line (`reread`: drop the rest of the chunk), or skips on from here (past the
   * re-reading budget, or after a one-line element that a "]" or "}" ended).
   */
  const closeElement = (
    c: Capture,
    rest: Buffer,
    terminator: number,
  ): { event: ScanEvent } | { skip: 'reread' | 'here' } => {
    const bytes = c.parts.length === 1 ? (c.parts[0] as Buffer) : Buffer.concat(c.parts);
    const { item, broken } = readElement(bytes, c.line, {
      maxRecordBytes: options.maxRecordBytes,
      oversized: c.oversized,
      multiLine: c.multiLine,
    });
    const path = [...c.path, c.index];
    c.parts = [];
    c.size = 0;
    c.oversized = false;
    c.index += 1;
    if (broken) resync.sawBroken = true;
    // On one line, a broken element's end is suspect only when it closes a container: a
    // bracket of its text may have done so. At a "," the next element follows.
    if (
      item.kind !== 'problem' ||
      !broken ||
      !(c.multiLine || (terminator !== 0 && terminator !== Ch.Comma))
    )
      return { event: { kind: 'element', path, item } };
    c.state = 'resync';
    c.pendingPath = path;
    resync.start(
      { ...item, value: firstLineExcerpt(bytes) },
      Math.max(c.arrayIndent, resumeIndent(bytes, c.indent, c.column)),
      c.arrayIndent,
    );
    const newline = bytes.indexOf(Ch.Newline);
    if (c.multiLine && input.unread([bytes.subarray(newline + 1), rest])) {
      lines.restartAt(c.line + 1, offset);
      return { skip: 'reread' };
    }
    resync.skipThrough(lines.line);
    resync.lastMark = terminator !== 0 ? terminator : lastMarkOf(bytes);
    return { skip: 'here' };
  };
  /** A container closed: the value it was in the parent is complete. */
  const closeContainer = (): void => {
    frames.pop();
    if (frames.length === 0) doc.mode = 'done';
  };
  /** The target array `c` ends here. */
  const closeCapture = (c: Capture): void => {
    capture = null;
    closeContainer();
    finished.top = frames.length === 0 ? c : null;
  };
  const resyncEvent = (c: Capture, item: ProblemItem): ScanEvent =>
    c.pendingPath === null
      ? { kind: 'problem', item }
      : { kind: 'element', path: c.pendingPath, item };

  try {
    for (;;) {
      const chunk = await input.next();
      if (chunk === null) {
        if (capture?.state === 'element') {
          const closed = closeElement(capture, Buffer.alloc(0), 0);
          if ('event' in closed) yield closed.event;
          else if (closed.skip === 'reread') continue;
        }
        break;
      }
      const chunkOffset = offset;
      offset += chunk.length;
      let elementStart = capture?.state === 'element' ? 0 : -1;
      let tokenStart = token !== null ? 0 : -1;
      let reread = false;
      for (let i = 0; i < chunk.length; i += 1) {
        const b = chunk[i] as number;
        if (b === Ch.Newline) lines.newline(chunkOffset + i);
        // A UTF-8 BOM may open the file, possibly split across chunks.
        if (
          chunkOffset + i < 3 &&
          b === BOM[chunkOffset + i] &&
          (doc.mode === 'start' || doc.mode === 'prefix')
        )
          continue;

        // Blanks between values cost a turn of this loop each and make nothing: a run longer
        // than any record is no export's (a zip of spaces inflates a thousandfold), and the
        // file is refused rather than spun through.
        if (isSpace(b) || (b === Ch.Semicolon && doc.mode === 'done')) {
          const quoted =
            capture === null ? inString : capture.state === 'element' && capture.inString;
          if (!quoted) {
            if (blanks === 0) blanksFrom = b === Ch.Newline ? lines.line - 1 : lines.line;
            blanks += 1;
            if (blanks > options.maxRecordBytes) {
              doc.mode = 'failed';
              yield {
                kind: 'problem',
                item: {
                  kind: 'problem',
                  line: blanksFrom,
                  field: null,
                  reason: `more than ${options.maxRecordBytes} bytes of whitespace in a row between values (lines ${blanksFrom}–${lines.line}), past the record limit (IMPORT_MAX_RECORD_BYTES): not a platform export`,
                  value: null,
                  refusesFile: true,
                },
              };
              break;
            }
          }
        } else blanks = 0;

        if (doc.mode === 'prefix') {
          prefixBytes += 1;
          if (b === Ch.Equals) doc.mode = 'start';
          else if (prefixBytes > MAX_PREFIX || b === Ch.OpenBracket || b === Ch.OpenBrace) {
            doc.mode = 'failed';
            yield problem(
              'expected a JavaScript assignment such as "window.YTD.tweets.part0 = [" before the JSON',
              excerpt(chunk.subarray(Math.max(0, i - 80), i + 1).toString('utf8')),
            );
            break;
          }
          continue;
        }
        if (doc.mode === 'done') {
          if (isSpace(b) || b === Ch.Semicolon) continue;
          const top = finished.top;
          const more = b === Ch.Comma || b === Ch.OpenBrace;
          if (top !== null && (more || resync.sawBroken)) {
            // The top-level array goes on: more elements follow a stray "]" (or "}"), or, after a
            // broken element, that "]" may have been one of its own (skip on as for it).
            capture = top;
            finished.top = null;
            frames.push({ type: 'array', part: null, key: null, index: 0, expectingKey: false });
            doc.mode = 'body';
            const value = excerpt(chunk.subarray(i, i + 80).toString('utf8'));
            if (more) {
              yield problem(
                'the array was closed before its end (a stray "]" or "}"?); reading goes on after it',
                value,
              );
              top.state = 'between';
              if (b === Ch.Comma) continue;
            } else {
              top.state = 'resync';
              top.pendingPath = null;
              resync.restart(
                {
                  kind: 'problem',
                  line: lines.line,
                  field: null,
                  reason: 'unexpected content after the closing "]" of the array',
                  value,
                },
                top.arrayIndent,
              );
            }
          } else {
            doc.mode = 'failed';
            yield problem(
              'unexpected content after the end of the JSON document',
              excerpt(chunk.subarray(i, i + 80).toString('utf8')),
            );
            break;
          }
        }
        if (doc.mode === 'start') {
          if (isSpace(b)) continue;
          if (b !== Ch.OpenBrace && b !== Ch.OpenBracket) {
            doc.mode = 'failed';
            yield problem(
              'expected a JSON object or array',
              excerpt(chunk.subarray(i, i + 80).toString('utf8')),
            );
            break;
          }
          doc.mode = 'body';
          // Fall through: the body handles the opening bracket.
        }

        if (capture !== null) {
          const c: Capture = capture;
          // Where a line's content starts matters between elements and while skipping.
          const column = c.state === 'element' || isSpace(b) ? 0 : lines.mark(b, chunkOffset + i);
          if (c.state === 'resync') {
            const found = resync.feed(b, lines, column);
            if (found === null) continue;
            yield resyncEvent(
              c,
              resync.finish(found === 'element' ? 'resumed' : 'closed', lines.line),
            );
            if (found === 'close') {
              closeCapture(c);
              continue;
            }
            c.state = 'between'; // This "{" opens the next element, below.
          }
          if (c.state === 'between') {
            if (isSpace(b)) continue;
            if (b === Ch.CloseBracket) {
              closeCapture(c);
              continue;
            }
            if (b === Ch.Comma) {
              yield {
                kind: 'element',
                path: [...c.path, c.index],
                item: {
                  kind: 'problem',
                  line: lines.line,
                  field: null,
                  reason: 'empty array element (two commas in a row)',
                  value: null,
                },
              };
              c.index += 1;
              continue;
            }
            c.state = 'element';
            c.line = lines.line;
            c.indent = lines.indentOf(column);
            c.column = column;
            if (c.index === 0) c.arrayIndent = c.indent;
            c.multiLine = false;
            c.depth = 0;
            c.inString = false;
            c.escaped = false;
            elementStart = i;
            // This byte is the element's first, read below.
          }
          if (b === Ch.Newline) {
            c.multiLine = true;
            if (c.oversized) {
              // Its first line alone is longer than a record: no end of it will be found in
              // time, so the line is rejected and reading resumes on the next.
              c.oversized = false;
              c.state = 'resync';
              c.pendingPath = [...c.path, c.index];
              c.index += 1;
              elementStart = -1;
              resync.start(
                {
                  kind: 'problem',
                  line: c.line,
                  field: null,
                  reason: `record is longer than ${options.maxRecordBytes} bytes`,
                  value: null,
                },
                Math.max(c.arrayIndent, c.indent),
                c.arrayIndent,
              );
              continue;
            }
          }
          if (c.inString) {
            if (c.escaped) c.escaped = false;
            else if (b === Ch.Backslash) c.escaped = true;
            else if (b === Ch.Quote) c.inString = false;
            continue;
          }
          if (b === Ch.Quote) c.inString = true;
          else if (b === Ch.OpenBrace || b === Ch.OpenBracket) c.depth += 1;
          else if ((b === Ch.CloseBrace || b === Ch.CloseBracket) && c.depth > 0) c.depth -= 1;
          else if (
            c.depth === 0 &&
            (b === Ch.Comma || b === Ch.CloseBracket || b === Ch.CloseBrace)
          ) {
            keepElement(c, chunk, elementStart, i);
            elementStart = -1;
            const closed = closeElement(c, chunk.subarray(i), b);
            if ('event' in closed) {
              yield closed.event;
              if (b === Ch.Comma) c.state = 'between';
              else {
                // `]` ends the array; a stray `}` at element depth 0 means the array was cut short.
                if (b === Ch.CloseBrace)
                  yield problem('the array is not closed with "]" before "}"');
                closeCapture(c);
                if (b === Ch.CloseBrace && frames.length > 0) closeContainer();
              }
            } else if (closed.skip === 'reread') {
              reread = true;
              break;
            }
          }
          continue;
        }

        if (inString) {
          if (escaped) escaped = false;
          else if (b === Ch.Backslash) escaped = true;
          else if (b === Ch.Quote) {
            inString = false;
            if (tokenStart !== -1) keepToken(chunk, tokenStart, i);
            tokenStart = -1;
            const event = finishToken(true);
            if (event) yield event;
          }
          continue;
        }
        if (
          literal &&
          (isSpace(b) || b === Ch.Comma || b === Ch.CloseBrace || b === Ch.CloseBracket)
        ) {
          literal = false;
          if (tokenStart !== -1) keepToken(chunk, tokenStart, i);
          tokenStart = -1;
          const event = finishToken(false);
          if (event) yield event;
        }
        if (isSpace(b)) continue;
        const top = frames[frames.length - 1];
        if (b === Ch.Quote) {
          inString = true;
          escaped = false;
          const role =
            top?.type === 'object' && top.expectingKey
              ? 'key'
              : options.wantScalar?.(valuePath())
                ? 'scalar'
                : null;
          startToken(role);
          tokenStart = role === null ? -1 : i + 1;
        } else if (b === Ch.OpenBrace || b === Ch.OpenBracket) {
          const path = containerPath();
          const part = top ? (top.type === 'array' ? top.index : (top.key ?? '')) : null;
          frames.push({
            type: b === Ch.OpenBrace ? 'object' : 'array',
            part,
            key: null,
            index: 0,
            expectingKey: b === Ch.OpenBrace,
          });
          if (b === Ch.OpenBracket && options.isTarget(path)) {
            capture = {
              path,
              state: 'between',
              depth: 0,
              inString: false,
              escaped: false,
              line: lines.line,
              indent: 0,
              column: 0,
              arrayIndent: 0,
              multiLine: false,
              parts: [],
              size: 0,
              oversized: false,
              index: 0,
              pendingPath: path,
            };
          }
        } else if (b === Ch.CloseBrace || b === Ch.CloseBracket) {
          closeContainer();
        } else if (b === Ch.Colon) {
          if (top?.type === 'object') top.expectingKey = false;
        } else if (b === Ch.Comma) {
          if (top?.type === 'object') {
            top.expectingKey = true;
            top.key = null;
          } else if (top) top.index += 1;
        } else if (!literal) {
          // A number, true, false or null.
          literal = true;
          const role = options.wantScalar?.(valuePath()) ? 'scalar' : null;
          startToken(role);
          tokenStart = role === null ? -1 : i;
        }
      }
      if (reread) continue;
      if (doc.mode === 'failed') break;
      if (capture?.state === 'element' && elementStart !== -1) {
        const c: Capture = capture;
        keepElement(c, chunk, elementStart, chunk.length);
        if (c.size > options.maxRecordBytes) {
          // Over several lines, a runaway element (a stray quote) may be holding its
          // neighbours: go back to its second line. On one line, drop it and find its end.
          if (c.multiLine) closeElement(c, Buffer.alloc(0), 0);
          else {
            c.oversized = true;
            c.parts = [];
            c.size = 0;
          }
        }
      }
      if (tokenStart !== -1 && token !== null) keepToken(chunk, tokenStart, chunk.length);
    }

    if (doc.mode === 'failed' || doc.mode === 'done') return;
    if (capture?.state === 'resync') {
      yield resyncEvent(capture, resync.finish('eof', lines.line));
      // The closing "]" of a top-level array was passed over on a line with other content.
      if (resync.lastMark === Ch.CloseBracket && frames.length === 1) return;
    }
    if (doc.mode === 'prefix')
      yield problem(
        'the file is empty or holds no "=" assignment: expected "window.YTD.<name>.part0 = [...]"',
      );
    else if (doc.mode === 'start') yield problem('the file is empty: expected JSON');
    else yield problem('unexpected end of file: the JSON is incomplete (was the file cut short?)');
  } finally {
    await input.close();
  }
}

function decodeString(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (!text.includes('\\')) return text;
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    return text;
  }
}
