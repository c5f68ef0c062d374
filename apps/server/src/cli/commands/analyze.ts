/**
 * `socialpulse analyze FILE|- [--out FILE|-] [--engine vader|model|all]`: runs the analysis
 * engines over posts in JSON Lines (the import format's `external_id`/`text`, or `id`/`text`)
 * and writes one JSON line per post. No database. Streams in batches of 100 with back-pressure,
 * so memory stays flat on files of millions of lines; a malformed line becomes an error line
 * (with its id when one can be read, and its line number) and the run goes on.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Option, type Command } from 'commander';
import type { Analyzer } from '../../analysis/analyzer.js';
import { isItemError, type PostInput, type SentimentEngineName } from '../../analysis/engine.js';

export const ANALYZE_BATCH_SIZE = 100;
/** Lines longer than this (UTF-16 units) are rejected: a post is at most 100,000 characters. */
export const MAX_LINE_LENGTH = 1_000_000;

interface AnalyzeFlags {
  out: string;
  engine: SentimentEngineName | 'all';
}

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

const LINE_TOO_LONG: ParsedLine = {
  ok: false,
  id: null,
  message: `line longer than ${MAX_LINE_LENGTH} characters`,
};

/** Reads one input line: `{"id"|"external_id", "text", "language"?}`. Blank lines are skipped (null). */
export function parsePostLine(raw: string): ParsedLine {
  const withoutCr = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (withoutCr.trim() === '') return null;
  if (withoutCr.length > MAX_LINE_LENGTH) return LINE_TOO_LONG;
  const line = withoutCr.charCodeAt(0) === 0xfeff ? withoutCr.slice(1) : withoutCr;
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
  const idKey = Object.hasOwn(record, 'id') ? 'id' : 'external_id';
  const rawId = record[idKey];
  let id: string | null = null;
  if (typeof rawId === 'string') id = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) {
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
  if (id === null || id === '')
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
 * The id of a line that is not valid JSON, when its first member is an id (or external_id)
 * whose value is complete: a string literal, or an integer followed by "," or "}" (so that a
 * line cut inside the number gives no id rather than a shorter one).
 */
const LEADING_ID =
  /^\s*\{\s*"(?:id|external_id)"\s*:\s*(?:("(?:[^"\\]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")|(-?(?:0|[1-9]\d*)))\s*[,}]/;

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
  return id === '' ? null : id;
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

/** Stands for a line longer than MAX_LINE_LENGTH, whose text was not kept. */
const TOO_LONG = Symbol('line too long');

/**
 * The lines of `input` (split at "\n"; a "\r" before it stays for parsePostLine to drop), in
 * bounded memory: readline would hold a whole line, however long, before the length check
 * could refuse it (a line of gigabytes would not even fit in a string). A line that grows
 * past MAX_LINE_LENGTH is dropped as it streams by and given as TOO_LONG.
 */
async function* readLines(input: Readable): AsyncGenerator<string | typeof TOO_LONG> {
  // Decodes UTF-8 across chunk boundaries (a character's bytes may arrive in two chunks).
  const decoder = new StringDecoder('utf8');
  let parts: string[] = [];
  let length = 0;
  let tooLong = false;
  // One more than the limit: the line may still end in "\r", which does not count.
  const keep = MAX_LINE_LENGTH + 1;
  function take(piece: string): void {
    if (tooLong || piece === '') return;
    length += piece.length;
    if (length > keep) {
      tooLong = true;
      parts = [];
    } else parts.push(piece);
  }
  function end(): string | typeof TOO_LONG {
    const line = tooLong ? TOO_LONG : parts.length === 1 ? (parts[0] ?? '') : parts.join('');
    parts = [];
    length = 0;
    tooLong = false;
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
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      take(text.slice(start, nl));
      yield end();
      start = nl + 1;
    }
    take(start === 0 ? text : text.slice(start));
  }
  take(decoder.end());
  // Like readline: text after the last "\n" is a line; nothing after it is none.
  if (length > 0 || tooLong) yield end();
}

/** Streams `input` through the analyzer into `output`; resolves with counts when done. */
export async function analyzeStream(
  input: Readable,
  output: Writable,
  analyzer: Analyzer,
): Promise<AnalyzeSummary> {
  const summary: AnalyzeSummary = { lines: 0, analyzed: 0, errors: 0 };
  let batch: Pending[] = [];
  let chunk = '';

  async function write(text: string): Promise<void> {
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
        chunk += `${JSON.stringify(result)}\n`;
      }
    });
    batch = [];
    await write(chunk);
  }

  for await (const raw of readLines(input)) {
    summary.lines++;
    const parsed = raw === TOO_LONG ? LINE_TOO_LONG : parsePostLine(raw);
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
  return summary;
}

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
    .action(async (file: string, flags: AnalyzeFlags) => {
      const input: Readable = file === '-' ? process.stdin : createReadStream(file);
      const output: Writable = flags.out === '-' ? process.stdout : createWriteStream(flags.out);
      const inputError = new Promise<never>((_resolve, reject) => input.once('error', reject));
      // Loaded here, not when `socialpulse` starts: the language tables and model weigh ~150 MB,
      // which every other command (serve's API and LLM-only workers among them) does without.
      const { createAnalyzer } = await import('../../analysis/analyzer.js');
      const analyzer = createAnalyzer({ engine: flags.engine });
      const started = performance.now();
      const summary = await Promise.race([analyzeStream(input, output, analyzer), inputError]);
      if (output !== process.stdout) {
        output.end();
        await once(output, 'finish');
      }
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write(
        `analyzed ${summary.analyzed} posts, ${summary.errors} error lines, in ${seconds.toFixed(1)} s (${Math.round(summary.analyzed / Math.max(seconds, 1e-9))} posts/s)\n`,
      );
    });
}
