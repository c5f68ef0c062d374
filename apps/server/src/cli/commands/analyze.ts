/**
 * `socialpulse analyze FILE|- [--out FILE|-] [--engine vader|model|all]`: runs the analysis
 * engines over posts in JSON Lines (the import format's `external_id`/`text`, or `id`/`text`)
 * and writes one JSON line per post. No database. Streams in batches of 100 with back-pressure,
 * so memory stays flat on files of millions of lines; a malformed line becomes an error line
 * (with its id when one can be read, and its line number) and the run goes on.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
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

/** Reads one input line: `{"id"|"external_id", "text", "language"?}`. Blank lines are skipped (null). */
export function parsePostLine(raw: string): ParsedLine {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim() === '') return null;
  if (line.length > MAX_LINE_LENGTH)
    return { ok: false, id: null, message: `line longer than ${MAX_LINE_LENGTH} characters` };
  let value: unknown;
  try {
    value = JSON.parse(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line);
  } catch (error) {
    return {
      ok: false,
      id: null,
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
  const rawId = Object.hasOwn(record, 'id') ? record.id : record.external_id;
  const id =
    typeof rawId === 'string'
      ? rawId
      : typeof rawId === 'number' && Number.isFinite(rawId)
        ? String(rawId)
        : null;
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

  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const raw of lines) {
    summary.lines++;
    const parsed = parsePostLine(raw);
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
