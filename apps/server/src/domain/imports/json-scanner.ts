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
  state: 'between' | 'element';
  depth: number;
  inString: boolean;
  escaped: boolean;
  line: number;
  parts: Buffer[];
  size: number;
  oversized: boolean;
  index: number;
}

/**
 * Streams a JSON document (a file of one big object, as platform exports are) and yields the
 * elements of the arrays `isTarget` selects, one at a time, each parsed alone: memory stays at
 * one element, and a malformed element is rejected without losing its neighbours (the same
 * depth-tracking split as json-array-parser.ts, ADR 0002). Everything else is skipped byte by
 * byte, except the scalars `wantScalar` asks for.
 */
export async function* scanJson(
  source: ByteSource,
  options: ScanOptions,
): AsyncGenerator<ScanEvent> {
  // An object, not a variable: closeContainer() changes the mode, which flow narrowing cannot see.
  const doc: { mode: 'prefix' | 'start' | 'body' | 'done' | 'failed' } = {
    mode: options.jsAssignment ? 'prefix' : 'start',
  };
  let prefixBytes = 0;
  let line = 1;
  let offset = 0;
  const frames: Frame[] = [];
  let capture: Capture | null = null;

  // Strings and literals outside target arrays.
  let inString = false;
  let escaped = false;
  let token: Buffer[] | null = null;
  let tokenSize = 0;
  let tokenRole: 'key' | 'scalar' | null = null;
  let literal = false;

  const problem = (reason: string, value: string | null = null, at = line): ScanEvent => ({
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

  const emitElement = (c: Capture): ScanEvent => {
    const bytes = c.parts.length === 1 ? (c.parts[0] as Buffer) : Buffer.concat(c.parts);
    const path = [...c.path, c.index];
    c.parts = [];
    c.size = 0;
    const at = c.line;
    let item: ParsedItem;
    if (c.oversized) {
      c.oversized = false;
      item = {
        kind: 'problem',
        line: at,
        field: null,
        reason: `record is longer than ${options.maxRecordBytes} bytes`,
        value: null,
      };
    } else if (bytes.includes(0))
      item = { kind: 'problem', line: at, field: null, reason: 'contains a NUL byte', value: null };
    else if (!isUtf8(bytes))
      item = { kind: 'problem', line: at, field: null, reason: 'is not valid UTF-8', value: null };
    else item = parseJsonObject(bytes.toString('utf8').trim(), at);
    return { kind: 'element', path, item };
  };
  const keepElement = (c: Capture, chunk: Buffer, from: number, to: number): void => {
    if (c.oversized || to <= from) return;
    c.size += to - from;
    if (c.size > options.maxRecordBytes) {
      c.oversized = true;
      c.parts = [];
      return;
    }
    c.parts.push(Buffer.from(chunk.subarray(from, to)));
  };
  /** A container closed: the value it was in the parent is complete. */
  const closeContainer = (): void => {
    frames.pop();
    if (frames.length === 0) doc.mode = 'done';
  };

  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    const chunkOffset = offset;
    offset += chunk.length;
    let elementStart = capture?.state === 'element' ? 0 : -1;
    let tokenStart = token !== null ? 0 : -1;
    for (let i = 0; i < chunk.length; i += 1) {
      const b = chunk[i] as number;
      if (b === Ch.Newline && !(capture?.state === 'element')) line += 1;
      // A UTF-8 BOM may open the file, possibly split across chunks.
      if (
        chunkOffset + i < 3 &&
        b === BOM[chunkOffset + i] &&
        (doc.mode === 'start' || doc.mode === 'prefix')
      )
        continue;

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
        doc.mode = 'failed';
        yield problem(
          'unexpected content after the end of the JSON document',
          excerpt(chunk.subarray(i, i + 80).toString('utf8')),
        );
        break;
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
        if (c.state === 'element') {
          if (b === Ch.Newline) line += 1;
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
            yield emitElement(c);
            elementStart = -1;
            c.index += 1;
            if (b === Ch.Comma) c.state = 'between';
            else {
              // `]` ends the array; a stray `}` at element depth 0 means the array was cut short.
              capture = null;
              if (b === Ch.CloseBrace) yield problem('the array is not closed with "]" before "}"');
              closeContainer();
              if (b === Ch.CloseBrace && frames.length > 0) closeContainer();
            }
          }
          continue;
        }
        // Between elements.
        if (isSpace(b)) continue;
        if (b === Ch.CloseBracket) {
          capture = null;
          closeContainer();
          continue;
        }
        if (b === Ch.Comma) {
          yield {
            kind: 'element',
            path: [...c.path, c.index],
            item: {
              kind: 'problem',
              line,
              field: null,
              reason: 'empty array element (two commas in a row)',
              value: null,
            },
          };
          c.index += 1;
          continue;
        }
        c.state = 'element';
        c.line = line;
        c.depth = 0;
        c.inString = false;
        c.escaped = false;
        elementStart = i;
        i -= 1; // Re-read this byte as the element's first.
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
            line,
            parts: [],
            size: 0,
            oversized: false,
            index: 0,
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
    if (doc.mode === 'failed') break;
    if (capture?.state === 'element' && elementStart !== -1)
      keepElement(capture, chunk, elementStart, chunk.length);
    if (tokenStart !== -1 && token !== null) keepToken(chunk, tokenStart, chunk.length);
  }

  if (doc.mode === 'failed' || doc.mode === 'done') return;
  if (capture?.state === 'element') {
    yield emitElement(capture);
  }
  if (doc.mode === 'prefix')
    yield problem(
      'the file is empty or holds no "=" assignment: expected "window.YTD.<name>.part0 = [...]"',
    );
  else if (doc.mode === 'start') yield problem('the file is empty: expected JSON');
  else yield problem('unexpected end of file: the JSON is incomplete (was the file cut short?)');
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
