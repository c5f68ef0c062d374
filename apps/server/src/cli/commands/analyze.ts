/**
 * `socialpulse analyze FILE|- [--out FILE|-] [--engine vader|model|all] [--categories FILE]`:
 * runs the analysis engines over posts in JSON Lines (the import format's `external_id`/`text`,
 * or `id`/`text`) and writes one JSON line per post, in the categories of --categories' rules
 * (the analysis-settings API's shape) when it is given. No database. Streams in batches of 100 with back-pressure,
 * so memory stays flat on files of millions of lines; a malformed line becomes an error line
 * (with its id when one can be read, and its line number) and the run goes on.
 */
import { once } from 'node:events';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Option, type Command } from 'commander';
import type { Analyzer } from '../../analysis/analyzer.js';
import { isItemError, type PostInput, type SentimentEngineName } from '../../analysis/engine.js';
import { AppError, describeIoError, errnoCode } from '../../errors.js';
import { loadCategoryRules, openInput, openOutput } from '../files.js';
import { EXIT_DATA_ERRORS } from '../output.js';

export const ANALYZE_BATCH_SIZE = 100;
/** Lines longer than this (UTF-16 units) are rejected: a post is at most 100,000 characters. */
export const MAX_LINE_LENGTH = 1_000_000;
/**
 * How much of an over-long line is kept, to name it by its leading id: ids run to 256
 * characters in the import schema, some more written as \u escapes.
 */
const LONG_LINE_HEAD = 4096;

interface AnalyzeFlags {
  out: string;
  engine: SentimentEngineName | 'all';
  categories?: string;
  corpusKeywords?: string;
}

/** How many terms --corpus-keywords writes. */
export const CORPUS_KEYWORDS_TOP = 100;

export interface AnalyzeSummary {
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
      message: 'a line must be a JSON object with id (or external_id) and text',
    };
  }
  const record = value as Record<string, unknown>;
  // `external_id` is the import schema's name for the post's id and `id` this command's short
  // one: `id` wins when it holds a value, and a null `id` (an export that has both) defers.
  const idKey = Object.hasOwn(record, 'id') && record.id !== null ? 'id' : 'external_id';
  const rawId = Object.hasOwn(record, idKey) ? record[idKey] : undefined;
  let id: string | null = null;
  if (typeof rawId === 'string') {
    // Blank ids would all be the same post to whoever joins the results back.
    if (rawId.trim() === '')
      return { ok: false, id: null, message: `${idKey} is empty or only whitespace` };
    id = rawId;
  } else if (typeof rawId === 'number' && Number.isFinite(rawId)) {
    // JSON.parse rounds integers above 2^53 (X ids are that large): 1234567890123456789
    // would become "1234567890123456800", another post's id. Read the digits as written.
    id = Number.isSafeInteger(rawId) ? String(rawId) : exactNumberId(line, idKey, rawId);
    if (id === null) {
      return {
        ok: false,
        id: null,
        message: `${idKey} ${String(rawId)} is not a safe integer (above 2^53 or not whole): give it as a string`,
      };
    }
  }
  if (id === null)
    return { ok: false, id: null, message: 'missing id (or external_id): a string or number' };
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

/** A line longer than MAX_LINE_LENGTH, of which only the beginning was kept. */
interface LongLine {
  head: string;
}

/** The first LONG_LINE_HEAD characters of `pieces` joined. */
function headOf(pieces: readonly string[]): string {
  let head = '';
  for (const piece of pieces) {
    if (head.length >= LONG_LINE_HEAD) break;
    head += piece.slice(0, LONG_LINE_HEAD - head.length);
  }
  return head;
}

/**
 * The lines of `input`, in bounded memory: readline would hold a whole line, however long,
 * before the length check could refuse it (a line of gigabytes would not even fit in a string).
 * A line that grows past MAX_LINE_LENGTH is dropped as it streams by, all but its head.
 *
 * A line ends at "\n", "\r\n" or a lone "\r" (old Mac files, whose records would otherwise all
 * be one line). JSON allows no raw CR inside a string, so a CR never splits a valid record.
 */
async function* readLines(input: Readable): AsyncGenerator<string | LongLine> {
  // Decodes UTF-8 across chunk boundaries (a character's bytes may arrive in two chunks).
  const decoder = new StringDecoder('utf8');
  let parts: string[] = [];
  let length = 0;
  let head: string | null = null;
  // The previous chunk ended in "\r": a "\n" opening the next one is the same line break.
  let afterCr = false;
  function take(piece: string): void {
    if (head !== null || piece === '') return;
    length += piece.length;
    if (length > MAX_LINE_LENGTH) {
      head = headOf([...parts, piece]);
      parts = [];
    } else parts.push(piece);
  }
  function end(): string | LongLine {
    const line: string | LongLine =
      head !== null ? { head } : parts.length === 1 ? (parts[0] ?? '') : parts.join('');
    parts = [];
    length = 0;
    head = null;
    return line;
  }
  for await (const chunk of input as AsyncIterable<unknown>) {
    const text =
      typeof chunk === 'string'
        ? chunk
        : chunk instanceof Uint8Array
          ? decoder.write(chunk)
          : String(chunk);
    let start = 0;
    if (afterCr && text !== '') {
      afterCr = false;
      if (text.charCodeAt(0) === 0x0a) start = 1;
    }
    // Each kind of break is searched for once per chunk and again only once passed, so a file
    // without CRs costs one scan more per chunk, not one per line.
    let lf = text.indexOf('\n', start);
    let cr = text.indexOf('\r', start);
    while (lf !== -1 || cr !== -1) {
      const atCr = cr !== -1 && (lf === -1 || cr < lf);
      const stop = atCr ? cr : lf;
      take(text.slice(start, stop));
      yield end();
      start = stop + 1;
      if (atCr) {
        if (start === text.length) afterCr = true;
        else if (text.charCodeAt(start) === 0x0a) start++;
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    }
    take(start === 0 ? text : text.slice(start));
  }
  take(decoder.end());
  // Like readline: text after the last break is a line; nothing after it is none.
  if (length > 0 || head !== null) yield end();
}

/**
 * Streams `input` through the analyzer into `output`; resolves with counts when done.
 * `onAnalyzed` sees each post that was analysed (not error lines), in input order.
 */
export async function analyzeStream(
  input: Readable,
  output: Writable,
  analyzer: Analyzer,
  onAnalyzed?: (post: PostInput) => void,
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
  async function errorLine(line: number, id: string | null, message: string): Promise<void> {
    summary.errors++;
    await write(`${JSON.stringify({ id, line, error: { code: 'invalid_input', message } })}\n`);
  }
  async function flush(): Promise<void> {
    if (batch.length === 0) return;
    const results = analyzer.analyzeBatch(batch.map((p) => p.post));
    chunk = '';
    results.forEach((result, i) => {
      if (isItemError(result)) {
        summary.errors++;
        chunk += `${JSON.stringify({ ...result, line: batch[i]?.line ?? null })}\n`;
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
    for await (const raw of readLines(input)) {
      summary.lines++;
      const parsed = typeof raw === 'string' ? parsePostLine(raw) : lineTooLong(raw.head);
      if (parsed === null) continue;
      if (!parsed.ok) {
        await flush(); // keep output in input order
        await errorLine(summary.lines, parsed.id, parsed.message);
        continue;
      }
      batch.push({ line: summary.lines, post: parsed.post });
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
      unreadable input, an unusable --out or --corpus-keywords (or the input
      itself), a read or write error; existing --out and --corpus-keywords
      files are then left as they were (each is written to a temporary file
      beside it, renamed over it only when the run ends)
  ${EXIT_DATA_ERRORS}  the run finished, but some lines are error lines ({"id", "line",
      "error"} in the output, counted on stderr); the others were analysed
`;

export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description(
      'Analyse posts from JSON Lines (sentiment, language, entities, keywords, toxicity); no database needed',
    )
    .argument('<file>', 'JSON Lines with id (or external_id) and text per line, or - for stdin')
    .option('-o, --out <file>', 'output JSON Lines file, or - for stdout', '-')
    .addOption(
      new Option(
        '--engine <engine>',
        'sentiment engine: default (model + VADER), vader, model, or all (default plus each engine)',
      )
        .choices(['default', 'vader', 'model', 'all'])
        .default('default'),
    )
    .option(
      '--categories <file>',
      'category rules: a JSON array of {id, keywords?, hashtags?}, as the analysis-settings API takes them',
    )
    .option(
      '--corpus-keywords <file>',
      `after the run, write the corpus's top ${CORPUS_KEYWORDS_TOP} keywords and two-word phrases to this file (or -): a JSON array of {term, score}, score = the term's count in all posts times its IDF, terms in at least 2 posts`,
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
    summary = await analyzeStream(input.stream, output.stream, analyzer, onAnalyzed);
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
