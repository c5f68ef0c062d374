/**
 * `socialpulse analyze FILE|- [--out FILE|-] [--format jsonl|csv|json] [--engine ...]
 * [--categories FILE]`: runs the analysis engines over posts (the import format's
 * `external_id`/`text`, or `id`/`text`) in JSON Lines, the import format's CSV or a JSON array,
 * and writes one JSON line per post, in the categories of --categories' rules (the
 * analysis-settings API's shape) when it is given. No database. Streams in batches of 100 with
 * back-pressure, so memory stays flat on files of millions of lines; a malformed line or record
 * becomes an error line (with its id when one can be read, its file and its line number) and
 * the run goes on.
 */
import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import { genericImportFormats } from '@socialpulse/contracts';
import type { Analyzer } from '../../analysis/analyzer.js';
import {
  isItemError,
  SENTIMENT_ENGINE_NAMES,
  type PostInput,
  type SentimentEngineName,
} from '../../analysis/engine.js';
import { parseCsv } from '../../domain/imports/csv-parser.js';
import {
  formatFromFileName,
  sniffGenericFormat,
  SNIFF_BYTES,
} from '../../domain/imports/import-source.js';
import { parseJsonArray } from '../../domain/imports/json-array-parser.js';
import type { ParsedItem, ProblemItem } from '../../domain/imports/parsed-item.js';
import { coerceCsvValues } from '../../domain/imports/record-validator.js';
import { AppError, describeIoError, errnoCode } from '../../errors.js';
import { commandLinePath, loadCategoryRules, openInput, openOutput } from '../files.js';
import { EXIT_DATA_ERRORS } from '../output.js';

export const ANALYZE_BATCH_SIZE = 100;
/** Lines longer than this (UTF-16 units) are rejected: a post is at most 100,000 characters. */
export const MAX_LINE_LENGTH = 1_000_000;
/**
 * The most bytes a line or record is read into: UTF-8 takes at most 3 bytes per UTF-16 unit,
 * so a line of MAX_LINE_LENGTH units fits, and a longer one is dropped as it streams by.
 */
export const MAX_RECORD_BYTES = 3 * MAX_LINE_LENGTH;
/**
 * How much of an over-long line is kept, to name it by its leading id: ids run to 256
 * characters in the import schema, some more written as \u escapes.
 */
const LONG_LINE_HEAD = 4096;

/** The input formats: the import's generic ones (docs/import-format.md). */
export type InputFormat = (typeof genericImportFormats)[number];

interface AnalyzeFlags {
  out: string;
  format?: InputFormat;
  engine: SentimentEngineName | 'all';
  categories?: string;
  corpusKeywords?: string;
}

/** How many terms --corpus-keywords writes. */
export const CORPUS_KEYWORDS_TOP = 100;

export interface AnalyzeSummary {
  /** Lines read (JSON Lines), or records and problems read (CSV, JSON array). */
  lines: number;
  analyzed: number;
  errors: number;
}

interface Pending {
  line: number;
  post: PostInput;
}

type ParsedLine =
  { ok: true; post: PostInput } | { ok: false; id: string | null; message: string } | null;

const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/** The error for a line longer than MAX_LINE_LENGTH, of which only `head` was kept. */
function lineTooLong(head: string): ParsedLine {
  return {
    ok: false,
    id: leadingId(withoutBom(head)),
    message: `line longer than ${MAX_LINE_LENGTH} characters`,
  };
}

/** Reads one input line: `{"id"|"external_id", "text", "language"?}`. Blank lines are skipped (null). */
export function parsePostLine(raw: string): ParsedLine {
  const withoutCr = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (withoutCr.trim() === '') return null;
  if (withoutCr.length > MAX_LINE_LENGTH) return lineTooLong(withoutCr.slice(0, LONG_LINE_HEAD));
  const line = withoutBom(withoutCr);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return {
      ok: false,
      id: leadingId(line),
      message: `invalid JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      id: null,
      message: `a line must be a JSON object with id (or external_id) and text${
        Array.isArray(value)
          ? ', not an array (for a file that is one JSON array, give --format json)'
          : ''
      }`,
    };
  }
  return postFromRecord(value as Record<string, unknown>, line);
}

/** What a value is, for messages: `boolean true`, `an object`, `an array`. */
function described(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  // A record read from JSON or CSV holds no undefined, function or symbol, which have no JSON.
  return `${typeof value} ${shortText(JSON.stringify(value) ?? '')}`;
}

const shortText = (text: string): string => (text.length > 40 ? `${text.slice(0, 37)}...` : text);

/**
 * The post of one record (a JSON object, or a CSV row's cells): `{"id"|"external_id", "text",
 * "language"?}`. `json` is the record's JSON text, to read a numeric id exactly; null for CSV,
 * whose cells are text.
 */
function postFromRecord(record: Record<string, unknown>, json: string | null): ParsedLine {
  // `external_id` is the import schema's name for the post's id and `id` this command's short
  // one: `id` wins when it holds a value, and a null `id` (an export that has both) defers.
  const idKey = Object.hasOwn(record, 'id') && record.id !== null ? 'id' : 'external_id';
  const rawId = Object.hasOwn(record, idKey) ? record[idKey] : undefined;
  let id: string | null = null;
  if (rawId === undefined || rawId === null) {
    return { ok: false, id: null, message: 'missing id (or external_id): a string or number' };
  } else if (typeof rawId === 'string') {
    // Blank ids would all be the same post to whoever joins the results back.
    if (rawId.trim() === '')
      return { ok: false, id: null, message: `${idKey} is empty or only whitespace` };
    id = rawId;
  } else if (typeof rawId === 'number' && Number.isFinite(rawId)) {
    // JSON.parse rounds integers above 2^53 (X ids are that large): 1234567890123456789
    // would become "1234567890123456800", another post's id. Read the digits as written.
    id =
      Number.isSafeInteger(rawId) || json === null
        ? String(rawId)
        : exactNumberId(json, idKey, rawId);
    if (id === null) {
      return {
        ok: false,
        id: null,
        message: `${idKey} ${String(rawId)} is not a safe integer (above 2^53 or not whole): give it as a string`,
      };
    }
  } else {
    return {
      ok: false,
      id: null,
      message: `${idKey} must be a string or a number; got ${described(rawId)}`,
    };
  }
  const text = record.text;
  if (text !== undefined && text !== null && typeof text !== 'string') {
    return { ok: false, id, message: 'text must be a string (or null)' };
  }
  const language =
    typeof record.language === 'string' && record.language !== '' ? record.language : undefined;
  return {
    ok: true,
    post: { id, text: text ?? '', ...(language === undefined ? {} : { language }) },
  };
}

/**
 * The id of a line that is not valid JSON (or too long to parse), when its first member is an
 * id (or external_id, perhaps after `"id": null`) whose value is complete: a string literal, or
 * an integer followed by "," or "}" (so that a line cut inside the number gives no id rather
 * than a shorter one).
 */
const LEADING_ID =
  /^\s*\{\s*(?:"id"\s*:\s*null\s*,\s*)?"(?:id|external_id)"\s*:\s*(?:("(?:[^"\\]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")|(-?(?:0|[1-9]\d*)))\s*[,}]/;

function leadingId(line: string): string | null {
  const m = LEADING_ID.exec(line);
  if (m === null) return null;
  let id = m[2] ?? '';
  if (m[1] !== undefined) {
    try {
      id = JSON.parse(m[1]) as string;
    } catch {
      return null; // a control character inside the quotes: not a string JSON would read
    }
  }
  return id.trim() === '' ? null : id;
}

const NUMBER_LITERAL = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * The number literal of the line's last top-level `key` member (the one JSON.parse kept), as
 * written, when it is an integer or is exactly `value` in JavaScript's spelling; otherwise null.
 * The line is valid JSON (JSON.parse read it), so a scan that skips strings and counts
 * nesting finds its members.
 */
function exactNumberId(line: string, key: string, value: number): string | null {
  let literal: string | null = null;
  let depth = 0;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '"') {
      const end = stringEnd(line, i);
      if (depth === 1) {
        let j = end;
        while (/\s/.test(line[j] ?? '')) j++;
        if (line[j] === ':' && (JSON.parse(line.slice(i, end)) as string) === key) {
          j++;
          while (/\s/.test(line[j] ?? '')) j++;
          NUMBER_LITERAL.lastIndex = j;
          literal = NUMBER_LITERAL.exec(line)?.[0] ?? null;
        }
      }
      i = end;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  if (literal === null) return null;
  if (/^-?\d+$/.test(literal)) return literal;
  return String(value) === literal ? literal : null;
}

/** The index just past the string literal starting at `start`. */
function stringEnd(line: string, start: number): number {
  let i = start + 1;
  while (i < line.length) {
    const c = line[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return i;
}

/** A line that is not read as text: too long (only its head kept), or not valid UTF-8. */
interface BadLine {
  head: string;
  problem: 'too_long' | 'invalid_utf8';
}

const LF = 0x0a;
const CR = 0x0d;

/** Bytes of a chunk: files and pipes give Buffers, tests and object streams may give strings. */
function bytesOf(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  return Buffer.from(String(chunk), 'utf8');
}

/**
 * The lines of `input`, in bounded memory: readline would hold a whole line, however long,
 * before the length check could refuse it (a line of gigabytes would not even fit in a string).
 * A line that grows past MAX_RECORD_BYTES is dropped as it streams by, all but its head.
 *
 * Lines are cut as bytes and each decoded whole, so that one with bytes that are not UTF-8 is
 * reported as such (as the import refuses it) instead of read with U+FFFD in their place. A
 * line ends at "\n", "\r\n" or a lone "\r" (old Mac files, whose records would otherwise all be
 * one line): neither byte occurs inside a UTF-8 character, and JSON allows no raw CR inside a
 * string, so a CR never splits a valid record.
 */
async function* readLines(input: AsyncIterable<unknown>): AsyncGenerator<string | BadLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let head: Buffer | null = null;
  // The previous chunk ended in "\r": a "\n" opening the next one is the same line break.
  let afterCr = false;
  function take(piece: Buffer, kept: boolean): void {
    if (head !== null || piece.length === 0) return;
    size += piece.length;
    if (size > MAX_RECORD_BYTES) {
      // Concatenated up to the head's length only.
      head = Buffer.concat([...parts, piece], Math.min(size, 4 * LONG_LINE_HEAD));
      parts = [];
    } else {
      // A piece kept past its chunk is copied: a source may reuse its chunk's memory.
      parts.push(kept ? Buffer.from(piece) : piece);
    }
  }
  function end(): string | BadLine {
    let line: string | BadLine;
    if (head !== null) {
      line = { head: head.toString('utf8').slice(0, LONG_LINE_HEAD), problem: 'too_long' };
    } else {
      const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
      if (!isUtf8(bytes)) {
        line = {
          head: bytes.subarray(0, 4 * LONG_LINE_HEAD).toString('utf8'),
          problem: 'invalid_utf8',
        };
      } else {
        const text = bytes.toString('utf8');
        line =
          text.length > MAX_LINE_LENGTH
            ? { head: text.slice(0, LONG_LINE_HEAD), problem: 'too_long' }
            : text;
      }
    }
    parts = [];
    size = 0;
    head = null;
    return line;
  }
  for await (const chunk of input) {
    // The tail of a line being dropped is passed over without encoding it, when it comes as text
    // (an object stream's strings) and holds no break.
    if (head !== null && typeof chunk === 'string' && !/[\n\r]/.test(chunk)) continue;
    const bytes = bytesOf(chunk);
    let start = 0;
    if (afterCr && bytes.length > 0) {
      afterCr = false;
      if (bytes[0] === LF) start = 1;
    }
    // Each kind of break is searched for once per chunk and again only once passed, so a file
    // without CRs costs one scan more per chunk, not one per line.
    let lf = bytes.indexOf(LF, start);
    let cr = bytes.indexOf(CR, start);
    while (lf !== -1 || cr !== -1) {
      const atCr = cr !== -1 && (lf === -1 || cr < lf);
      const stop = atCr ? cr : lf;
      take(bytes.subarray(start, stop), false);
      yield end();
      start = stop + 1;
      if (atCr) {
        if (start === bytes.length) afterCr = true;
        else if (bytes[start] === LF) start++;
      }
      if (lf !== -1 && lf < start) lf = bytes.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = bytes.indexOf(CR, start);
    }
    take(start === 0 ? bytes : bytes.subarray(start), true);
  }
  // Like readline: text after the last break is a line; nothing after it is none.
  if (size > 0 || head !== null) yield end();
}

/** The error line of a line that could not be read as text. */
function badLine(line: BadLine): ParsedLine {
  if (line.problem === 'too_long') return lineTooLong(line.head);
  const id = leadingId(withoutBom(line.head));
  return {
    ok: false,
    // An id holding the undecodable bytes is not the one the file meant.
    id: id?.includes('\uFFFD') ? null : id,
    message: 'line is not valid UTF-8 (convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8)',
  };
}

/** One line or record of the input, read (null: a blank line, skipped). */
interface InputItem {
  line: number;
  parsed: ParsedLine;
}

async function* jsonLinesItems(source: AsyncIterable<unknown>): AsyncGenerator<InputItem> {
  let line = 0;
  for await (const raw of readLines(source)) {
    line++;
    yield { line, parsed: typeof raw === 'string' ? parsePostLine(raw) : badLine(raw) };
  }
}

/** The columns analyze reads from a CSV row; others (the import's platform, metrics…) are ignored. */
const CSV_COLUMNS: readonly string[] = ['external_id', 'id', 'text', 'language'];

/** Why a CSV header cannot give posts (no id column, a column in the wrong letter case), or null. */
function csvHeaderProblem(columns: readonly string[]): string | null {
  // Case-sensitive, as the import reads them: "Text" would otherwise leave every post empty.
  const miscased = columns.flatMap((c) => {
    const meant = CSV_COLUMNS.find((f) => f === c.toLowerCase());
    return meant !== undefined && meant !== c && !columns.includes(meant)
      ? [`"${c}" → "${meant}"`]
      : [];
  });
  if (miscased.length > 0) {
    return `the CSV header has a column in the wrong letter case; column names are case-sensitive: rename ${miscased.join(', ')}`;
  }
  if (!columns.includes('external_id') && !columns.includes('id'))
    return `the CSV header has no external_id (or id) column (it has ${shortText(columns.join(','))})`;
  return null;
}

/** A parser's problem in the words of an error line: its reasons read after "record". */
function problemMessage(problem: ProblemItem): string {
  const reason = /^(is|contains) /.test(problem.reason)
    ? `record ${problem.reason}`
    : problem.reason;
  return problem.field === null ? reason : `${problem.field}: ${reason}`;
}

/**
 * The records of a CSV file or JSON array, read by the import's own streaming parsers (one
 * record in memory at a time), as posts. A problem that leaves nothing readable (a CSV header
 * that cannot be read, JSON that is not an array) refuses the input as the import refuses it.
 */
async function* parsedItems(
  items: AsyncIterable<ParsedItem>,
  format: InputFormat,
  name: string,
): AsyncGenerator<InputItem> {
  let headerChecked = format !== 'csv';
  for await (const item of items) {
    if (item.kind === 'problem') {
      if (item.refusesFile === true) {
        throw new AppError('validation_failed', `${name}: line ${item.line}: ${item.reason}`);
      }
      yield {
        line: item.line,
        parsed: {
          ok: false,
          id: item.value === null ? null : leadingId(item.value),
          message: problemMessage(item),
        },
      };
      continue;
    }
    if (!headerChecked) {
      // Every row holds every column of the header: the first one shows it.
      const problem = csvHeaderProblem(Object.keys(item.value));
      if (problem !== null) throw new AppError('validation_failed', `${name}: ${problem}`);
      headerChecked = true;
    }
    yield {
      line: item.line,
      parsed:
        format === 'csv'
          ? postFromRecord(coerceCsvValues(item.value), null)
          : postFromRecord(item.value, item.rawJson),
    };
  }
}

/**
 * The first bytes of `input` (up to the end of its first non-blank line, or SNIFF_BYTES), and
 * the whole input again. Reads no more than that: standard input may be a person typing.
 */
async function peek(
  input: AsyncIterable<unknown>,
): Promise<{ head: Buffer; whole: AsyncIterable<Buffer> }> {
  const iterator = input[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let size = 0;
  let exhausted = false;
  while (size < SNIFF_BYTES && !startKnown(Buffer.concat(taken, size))) {
    const next = await iterator.next();
    if (next.done === true) {
      exhausted = true;
      break;
    }
    const chunk = Buffer.from(bytesOf(next.value));
    taken.push(chunk);
    size += chunk.length;
  }
  async function* whole(): AsyncGenerator<Buffer> {
    try {
      yield* taken;
      while (!exhausted) {
        const next = await iterator.next();
        if (next.done === true) exhausted = true;
        else yield bytesOf(next.value);
      }
    } finally {
      // A reader that stops early ends the input, as `for await` would have.
      if (!exhausted) await iterator.return?.();
    }
  }
  return { head: Buffer.concat(taken, size), whole: whole() };
}

/** The first byte that is not blank (nor a BOM), or -1. */
function firstSignificant(head: Buffer): number {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (
    i < head.length &&
    (head[i] === 0x20 || head[i] === 0x09 || head[i] === LF || head[i] === CR)
  )
    i++;
  return i < head.length ? i : -1;
}

/** Whether `head` tells the format: it opens with "[" or "{", or holds its first line whole. */
function startKnown(head: Buffer): boolean {
  const i = firstSignificant(head);
  if (i === -1) return false;
  return head[i] === 0x5b || head[i] === 0x7b || head.indexOf(LF, i) !== -1;
}

/**
 * The format of an input that --format does not name: a JSON array by its "[" (no JSON line
 * opens with one), JSON Lines by its "{", else the file's extension (.csv, .json, .jsonl), else
 * CSV when the first line is the import format's header (what `export --format csv` writes),
 * else JSON Lines.
 */
export function inputFormat(head: Buffer, file: string): InputFormat {
  const named = file === '-' ? null : formatFromFileName(file);
  const generic = (genericImportFormats as readonly string[]).includes(named ?? '')
    ? (named as InputFormat)
    : null;
  const i = firstSignificant(head);
  if (i !== -1 && head[i] === 0x5b && generic !== 'jsonl') return 'json';
  if (i !== -1 && head[i] === 0x7b) return 'jsonl';
  if (generic !== null) return generic;
  return sniffGenericFormat(head) === 'csv' ? 'csv' : 'jsonl';
}

export interface AnalyzeStreamOptions {
  /** The input as the command line names it ("-": standard input), for error lines and its extension. */
  file?: string;
  /** The input's format; by default told by `inputFormat`. */
  format?: InputFormat;
  /** Sees each post that was analysed (not error lines), in input order. */
  onAnalyzed?: (post: PostInput) => void;
}

/** Streams `input` through the analyzer into `output`; resolves with counts when done. */
export async function analyzeStream(
  input: Readable,
  output: Writable,
  analyzer: Analyzer,
  { file = '-', format, onAnalyzed }: AnalyzeStreamOptions = {},
): Promise<AnalyzeSummary> {
  const summary: AnalyzeSummary = { lines: 0, analyzed: 0, errors: 0 };
  let batch: Pending[] = [];
  let chunk = '';
  // Heard here, not only while waiting for 'drain': an error between two writes would
  // otherwise be unhandled, and the next write would wait for a 'drain' that never comes.
  let outputError: Error | undefined;
  const onOutputError = (error: Error): void => {
    outputError ??= error;
  };
  output.on('error', onOutputError);

  async function write(text: string): Promise<void> {
    if (outputError !== undefined) throw outputError;
    if (output.destroyed) throw new Error('the output was closed');
    // once() rejects when 'error' comes first.
    if (!output.write(text)) await once(output, 'drain');
  }
  // The import names a file as it was given; standard input is "-", as on the command line.
  const errorText = (line: number, id: string | null, error: unknown): string =>
    `${JSON.stringify({ id, file, line, error })}\n`;
  async function errorLine(line: number, id: string | null, message: string): Promise<void> {
    summary.errors++;
    await write(errorText(line, id, { code: 'invalid_input', message }));
  }
  async function flush(): Promise<void> {
    if (batch.length === 0) return;
    const results = analyzer.analyzeBatch(batch.map((p) => p.post));
    chunk = '';
    results.forEach((result, i) => {
      if (isItemError(result)) {
        summary.errors++;
        chunk += errorText(batch[i]?.line ?? 0, result.id, result.error);
      } else {
        summary.analyzed++;
        const post = batch[i]?.post;
        if (onAnalyzed !== undefined && post !== undefined) onAnalyzed(post);
        chunk += `${JSON.stringify(result)}\n`;
      }
    });
    batch = [];
    await write(chunk);
  }

  try {
    const { head, whole: source } = await peek(input);
    const chosen = format ?? inputFormat(head, file);
    const name = file === '-' ? 'standard input' : file;
    const first = firstSignificant(head);
    if (chosen === 'json' && first !== -1 && head[first] !== 0x5b) {
      // The import's own refusal speaks of its API's content types.
      throw new AppError(
        'validation_failed',
        `${name}: not a JSON array (it does not open with "[")${head[first] === 0x7b ? ': for JSON Lines (one object per line), give --format jsonl' : ''}`,
      );
    }
    const options = { maxRecordBytes: MAX_RECORD_BYTES };
    const items =
      chosen === 'jsonl'
        ? jsonLinesItems(source)
        : parsedItems(
            chosen === 'csv'
              ? // No column is required of every file: the id column's name varies (see csvHeaderProblem).
                parseCsv(source, { ...options, requiredColumns: [] })
              : parseJsonArray(source, options),
            chosen,
            name,
          );
    for await (const { line, parsed } of items) {
      summary.lines++;
      if (parsed === null) continue;
      if (!parsed.ok) {
        await flush(); // keep output in input order
        await errorLine(line, parsed.id, parsed.message);
        continue;
      }
      batch.push({ line, post: parsed.post });
      if (batch.length >= ANALYZE_BATCH_SIZE) await flush();
    }
    await flush();
  } finally {
    output.off('error', onOutputError);
  }
  return summary;
}

const EXIT_STATUS_HELP = `
Exit status:
  0   every line was analysed (also when the reader of the output stopped
      early, as head does)
  1   the run failed: a bad option or --categories file, a missing or
      unreadable input, an input its format cannot read at all (a CSV header
      without an external_id or id column, a --format json input that is not
      an array), an unusable --out or --corpus-keywords (or the input itself),
      a read or write error; existing --out and --corpus-keywords files are
      then left as they were (each is written to a temporary file beside it,
      renamed over it only when the run ends; a pipe or device is written to)
  ${EXIT_DATA_ERRORS}  the run finished, but some lines or records are error lines
      ({"id", "file", "line", "error"} in the output, counted on stderr): bad
      JSON or CSV, no id, not valid UTF-8...; the others were analysed
`;

/**
 * What each sentiment engine is, for --engine's help. Keyed by SentimentEngineName, so that an
 * engine added to analysis/engine.ts does not compile here until it is described.
 */
const ENGINE_HELP: Record<SentimentEngineName, string> = {
  default: 'model + VADER',
  model: 'the trained model alone',
  vader: 'VADER alone',
};

export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description(
      'Analyse posts from JSON Lines, CSV or a JSON array (sentiment, language, entities, keywords, toxicity, and categories from --categories rules); no database needed',
    )
    .argument(
      '<file>',
      'posts with id (or external_id) and text: JSON Lines, CSV with a header row (the import format, as export --format csv writes it) or a JSON array; or - for stdin',
      commandLinePath,
    )
    .option('-o, --out <file>', 'output JSON Lines file, or - for stdout', commandLinePath, '-')
    .addOption(
      new Option(
        '--format <format>',
        'input format; by default told from the input: a JSON array when it opens with "[", JSON Lines with "{", else by the extension (.csv, .json, .jsonl), else CSV when its first line is the import header (platform, external_id, created_at...), else JSON Lines',
      ).choices(genericImportFormats),
    )
    .addOption(
      new Option(
        '--engine <engine>',
        `sentiment engine: ${SENTIMENT_ENGINE_NAMES.map((e) => `${e} (${ENGINE_HELP[e]})`).join(', ')}, or all (default plus each engine)`,
      )
        .choices([...SENTIMENT_ENGINE_NAMES, 'all'])
        .default('default'),
    )
    .option(
      '--categories <file>',
      'category rules: a JSON array of {id, keywords?, hashtags?}, as the analysis-settings API takes them',
      commandLinePath,
    )
    .option(
      '--corpus-keywords <file>',
      `after the run, write the corpus's top ${CORPUS_KEYWORDS_TOP} keywords and two-word phrases to this file (or -): a JSON array of {term, score}, score = the term's count in all posts times its IDF, terms in at least 2 posts`,
      commandLinePath,
    )
    .addHelpText('after', EXIT_STATUS_HELP)
    .action(async (file: string, flags: AnalyzeFlags) => runAnalyze(file, flags));
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

async function runAnalyze(file: string, flags: AnalyzeFlags): Promise<void> {
  // The rules and the input first: a mistake in either must fail before --out is touched.
  const categories =
    flags.categories === undefined ? [] : await loadCategoryRules(flags.categories);
  const corpusFile = flags.corpusKeywords;
  if (corpusFile !== undefined) {
    if (corpusFile === '-' && flags.out === '-') {
      throw new AppError(
        'validation_failed',
        '--corpus-keywords - and the results would both go to standard output: give --out or a --corpus-keywords file',
      );
    }
    if (corpusFile !== '-' && path.resolve(corpusFile) === path.resolve(flags.out)) {
      throw new AppError(
        'validation_failed',
        `--corpus-keywords ${corpusFile} is the --out file: write them to another file`,
      );
    }
  }
  const input = await openInput(file);
  let output;
  let corpusOutput;
  try {
    output = await openOutput(flags.out, input);
    try {
      corpusOutput =
        corpusFile === undefined
          ? undefined
          : await openOutput(corpusFile, input, { flag: '--corpus-keywords' });
    } catch (error) {
      await output.discard();
      throw error;
    }
  } catch (error) {
    input.stream.destroy();
    throw error;
  }
  // Kept for the whole run (an error event without a listener would crash the process with a
  // stack trace), and to tell a read failure from a write failure.
  let readError: Error | undefined;
  let writeError: Error | undefined;
  input.stream.on('error', (error: Error) => (readError ??= error));
  output.stream.on('error', (error: Error) => (writeError ??= error));
  // Its failure surfaces when it is committed; heard here so that it cannot crash the process.
  corpusOutput?.stream.on('error', () => undefined);
  let summary: AnalyzeSummary;
  let seconds: number;
  try {
    // Loaded here, not when `socialpulse` starts: the language tables and model weigh ~150 MB,
    // which every other command (serve's API and LLM-only workers among them) does without.
    const { createAnalyzer } = await import('../../analysis/analyzer.js');
    const analyzer = createAnalyzer({ engine: flags.engine, categories });
    let onAnalyzed: ((post: PostInput) => void) | undefined;
    let topKeywords: (() => unknown) | undefined;
    if (corpusOutput !== undefined) {
      const [{ createCorpusKeywords }, { tokenize }] = await Promise.all([
        import('../../analysis/nlp/keywords.js'),
        import('../../analysis/nlp/tokenize.js'),
      ]);
      // Bounded: it keeps at most its maxTerms distinct terms, whatever the size of the input.
      const corpus = createCorpusKeywords();
      // Tokenized again here: the analyzer keeps its tokens to itself, and tokenizing is a
      // small part of a post's analysis.
      onAnalyzed = (post) => corpus.add(tokenize(post.text));
      topKeywords = () => corpus.top(CORPUS_KEYWORDS_TOP);
    }
    const started = performance.now();
    summary = await analyzeStream(input.stream, output.stream, analyzer, {
      file,
      ...(flags.format === undefined ? {} : { format: flags.format }),
      ...(onAnalyzed === undefined ? {} : { onAnalyzed }),
    });
    if (corpusOutput !== undefined && topKeywords !== undefined) {
      const text = `${JSON.stringify(topKeywords(), null, 2)}\n`;
      if (!corpusOutput.stream.write(text)) await once(corpusOutput.stream, 'drain');
    }
    // Both written out before either is put in place: a failure to write the keywords must not
    // leave a new --out beside the old keywords file.
    await output.finish();
    await corpusOutput?.finish();
    await output.commit();
    await corpusOutput?.commit();
    seconds = (performance.now() - started) / 1000;
  } catch (error) {
    await output.discard();
    await corpusOutput?.discard();
    input.stream.destroy();
    // The reader went away (`analyze big.jsonl | head`): it has all it asked for, so this is
    // not a failure, and exit 0 keeps such a pipeline passing under `set -o pipefail`
    // (dying of SIGPIPE would give 141). Nothing is printed, as other tools print nothing then.
    if (errnoCode(writeError) === 'EPIPE') return;
    if (writeError !== undefined) {
      throw new AppError(
        'internal_error',
        `cannot write ${output.name}: ${describeIoError(writeError)}`,
        { cause: writeError },
      );
    }
    if (readError !== undefined) {
      throw new AppError(
        'internal_error',
        `cannot read ${input.name}: ${describeIoError(readError)}`,
        {
          cause: readError,
        },
      );
    }
    throw error;
  }
  process.stderr.write(
    `analyzed ${plural(summary.analyzed, 'post', 'posts')}, ${plural(summary.errors, 'line', 'lines')} with errors, in ${seconds.toFixed(1)} s (${Math.round(summary.analyzed / Math.max(seconds, 1e-9))} posts/s)\n`,
  );
  if (summary.errors > 0) process.exitCode = EXIT_DATA_ERRORS;
}
