import { isUtf8 } from 'node:buffer';
import {
  excerpt,
  parseJsonObject,
  type ParsedItem,
  type ParserOptions,
  type ByteSource,
} from './parsed-item.js';

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

type State = 'start' | 'between' | 'element' | 'end' | 'failed';

/**
 * A top-level JSON array of objects, streamed: the scanner finds element boundaries by depth
 * (outside strings) and hands each element's text to JSON.parse, so one malformed element
 * is rejected alone and memory stays at one element. Streaming JSON tokenizers stop at the
 * first syntax error, which would lose every valid record after it.
 */
export async function* parseJsonArray(
  source: ByteSource,
  options: ParserOptions,
): AsyncGenerator<ParsedItem> {
  let state: State = 'start';
  let line = 1;
  let elementLine = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let size = 0;
  let oversized = false;
  let offset = 0;

  const emit = (): ParsedItem => {
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    parts = [];
    size = 0;
    if (oversized) {
      oversized = false;
      return {
        kind: 'problem',
        line: elementLine,
        field: null,
        reason: `record is longer than ${options.maxRecordBytes} bytes`,
        value: null,
      };
    }
    if (bytes.includes(0))
      return {
        kind: 'problem',
        line: elementLine,
        field: null,
        reason: 'contains a NUL byte',
        value: null,
      };
    if (!isUtf8(bytes))
      return {
        kind: 'problem',
        line: elementLine,
        field: null,
        reason: 'is not valid UTF-8',
        value: null,
      };
    return parseJsonObject(bytes.toString('utf8').trim(), elementLine);
  };
  const keep = (chunk: Buffer, from: number, to: number): void => {
    if (oversized || to <= from) return;
    size += to - from;
    if (size > options.maxRecordBytes) {
      oversized = true;
      parts = [];
      return;
    }
    parts.push(Buffer.from(chunk.subarray(from, to)));
  };

  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    const chunkOffset = offset;
    offset += chunk.length;
    let elementStart = state === 'element' ? 0 : -1;
    for (let i = 0; i < chunk.length; i += 1) {
      const b = chunk[i] as number;
      if (state === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (b === Ch.Backslash) escaped = true;
          else if (b === Ch.Quote) inString = false;
          else if (b === Ch.Newline) {
            line += 1;
          }
          continue;
        }
        if (b === Ch.Quote) inString = true;
        else if (b === Ch.OpenBrace || b === Ch.OpenBracket) depth += 1;
        else if ((b === Ch.CloseBrace || b === Ch.CloseBracket) && depth > 0) depth -= 1;
        else if (b === Ch.Newline) line += 1;
        else if (depth === 0 && (b === Ch.Comma || b === Ch.CloseBracket)) {
          keep(chunk, elementStart, i);
          yield emit();
          elementStart = -1;
          state = b === Ch.Comma ? 'between' : 'end';
        }
        continue;
      }
      if (b === Ch.Newline) line += 1;
      if (isSpace(b)) continue;
      // A UTF-8 BOM (EF BB BF) may open the file, possibly split across chunks.
      if (state === 'start' && chunkOffset + i < 3 && b === BOM[chunkOffset + i]) continue;
      if (state === 'start') {
        if (b !== Ch.OpenBracket) {
          state = 'failed';
          yield {
            kind: 'problem',
            line,
            field: null,
            reason: 'expected a JSON array: the file must start with "["',
            value: excerpt(chunk.subarray(i, i + 80).toString('utf8')),
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
            line,
            field: null,
            reason: 'empty array element (two commas in a row)',
            value: null,
          };
          continue;
        }
        state = 'element';
        elementLine = line;
        elementStart = i;
        depth = 0;
        inString = false;
        escaped = false;
        i -= 1; // Re-read this byte as the element's first.
      } else if (state === 'end') {
        state = 'failed';
        yield {
          kind: 'problem',
          line,
          field: null,
          reason: 'unexpected content after the closing "]" of the array',
          value: excerpt(chunk.subarray(i, i + 80).toString('utf8')),
        };
        break;
      }
    }
    if (state === 'failed') break;
    if (state === 'element' && elementStart !== -1) keep(chunk, elementStart, chunk.length);
  }
  if (state === 'element') {
    yield { ...emit(), line: elementLine };
    yield {
      kind: 'problem',
      line,
      field: null,
      reason: 'unexpected end of file: the array is not closed with "]"',
      value: null,
    };
  } else if (state === 'between' || state === 'start') {
    yield {
      kind: 'problem',
      line,
      field: null,
      reason:
        state === 'start'
          ? 'the file is empty: expected a JSON array'
          : 'unexpected end of file: the array is not closed with "]"',
      value: null,
    };
  }
}
