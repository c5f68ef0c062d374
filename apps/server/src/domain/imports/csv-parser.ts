import { importRecordSchema } from '@socialpulse/contracts';
import { readLines, type TextLine } from './jsonl-parser.js';
import {
  excerpt,
  findUnstorableString,
  type ParsedItem,
  type ParserOptions,
  type ProblemItem,
  type ByteSource,
} from './parsed-item.js';

type Line = TextLine | ProblemItem;

type FieldsResult =
  | { ok: true; fields: string[] }
  | { ok: false; open: true }
  | { ok: false; open: false; reason: string };

/**
 * Splits one CSV record (RFC 4180: comma, double quotes, "" as an escaped quote). A quote inside
 * an unquoted field is kept literally, as spreadsheet exports often contain them. Returns
 * `open` when a quoted field runs past the end of the text (the record continues on the next
 * line).
 */
export function splitCsvRecord(text: string): FieldsResult {
  if (!text.includes('"')) return { ok: true, fields: text.split(',') };
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return { ok: false, open: true };
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return { ok: true, fields };
      if (text[i] !== ',') {
        return {
          ok: false,
          open: false,
          reason: `malformed quoting in column ${fields.length}: a closing quote must be followed by a comma or the end of the line`,
        };
      }
      i += 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma === -1) {
        fields.push(text.slice(i));
        return { ok: true, fields };
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
    if (i === n) {
      fields.push('');
      return { ok: true, fields };
    }
  }
}

const REQUIRED_COLUMNS = ['platform', 'external_id', 'created_at'];
const RECORD_COLUMNS: readonly string[] = Object.keys(importRecordSchema.shape);

/**
 * Why a header cannot be read, or null. Column names are case-sensitive (as the JSON formats'
 * keys are); a name that differs from a field only in letter case would otherwise be kept as an
 * unknown column, its values silently left out of the post, so it is named with the fix.
 */
function headerProblem(
  header: readonly string[],
  required: readonly string[],
  known: readonly string[] | null,
): string | null {
  const fields = known ?? RECORD_COLUMNS;
  const missing = required.filter((c) => !header.includes(c));
  const miscased = header.flatMap((c) => {
    if (fields.includes(c)) return [];
    const meant = fields.find((f) => f.toLowerCase() === c.toLowerCase());
    return meant !== undefined && !header.includes(meant) ? [`"${c}" → "${meant}"`] : [];
  });
  const caseNote =
    miscased.length > 0 ? `column names are case-sensitive: rename ${miscased.join(', ')}` : null;
  if (missing.length > 0)
    return `the header lacks required column(s): ${missing.join(', ')}${caseNote ? `; ${caseNote}` : ''}`;
  if (caseNote !== null) return `the header has a column in the wrong letter case; ${caseNote}`;
  const duplicate = header.find((c, idx) => header.indexOf(c) !== idx);
  if (duplicate !== undefined) return `the header names column "${duplicate}" twice`;
  if (header.some((c) => c === '')) return 'the header has an empty column name';
  return null;
}

/**
 * CSV with a header row, streamed line by line. A record whose quoted field never closes (or
 * breaks quoting rules) is rejected by its first line and parsing resumes on the next line,
 * so one stray quote cannot swallow the rest of the file (csv-parse, by contrast, consumes to
 * the end of the input after an unclosed quote).
 */
export async function* parseCsv(
  source: ByteSource,
  options: ParserOptions & { requiredColumns?: readonly string[] },
): AsyncGenerator<ParsedItem> {
  const required = options.requiredColumns ?? REQUIRED_COLUMNS;
  const lines = readLines(source, options)[Symbol.asyncIterator]();
  const replay: Line[] = [];
  const next = async (): Promise<Line | null> => {
    const queued = replay.shift();
    if (queued) return queued;
    const r = await lines.next();
    return r.done ? null : r.value;
  };

  let header: string[] | null = null;
  for (;;) {
    const first = await next();
    if (!first) break;
    if ('kind' in first) {
      yield first;
      continue;
    }
    if (first.text.trim() === '') continue;

    // Assemble one record, following quoted fields across lines. A line break inside a quoted
    // field is content (RFC 4180): it is kept as it was, CRLF or LF.
    const consumed: Line[] = [];
    let text = first.text;
    let size = Buffer.byteLength(text);
    let lineBreak = first.crlf ? '\r\n' : '\n';
    let result = splitCsvRecord(text);
    let failure: string | null = null;
    while (!result.ok && result.open) {
      const more = await next();
      if (!more) {
        failure = 'a quoted field is never closed';
        break;
      }
      consumed.push(more);
      if ('kind' in more) {
        failure = `a quoted field runs into line ${more.line}, which ${more.reason}`;
        break;
      }
      size += lineBreak.length + Buffer.byteLength(more.text);
      if (size > options.maxRecordBytes) {
        failure = `record is longer than ${options.maxRecordBytes} bytes (is a quote unclosed?)`;
        break;
      }
      text += lineBreak + more.text;
      lineBreak = more.crlf ? '\r\n' : '\n';
      result = splitCsvRecord(text);
    }
    if (!result.ok && !result.open) failure = result.reason;
    if (failure !== null || !result.ok) {
      yield {
        kind: 'problem',
        line: first.line,
        field: null,
        reason:
          header === null
            ? `the header is malformed: ${failure ?? 'malformed CSV'}`
            : (failure ?? 'malformed CSV'),
        value: excerpt(first.text),
        ...(header === null ? { refusesFile: true as const } : {}),
      };
      if (header === null) return;
      // Resume right after the rejected line: the lines we looked ahead at may be good records.
      replay.unshift(...consumed);
      continue;
    }

    const fields = result.fields;
    if (header === null) {
      header = fields.map((f) => f.trim());
      const problem = headerProblem(header, required, options.requiredColumns ? required : null);
      if (problem !== null) {
        yield {
          kind: 'problem',
          line: first.line,
          field: null,
          reason: problem,
          value: excerpt(first.text),
          refusesFile: true,
        };
        return;
      }
      continue;
    }
    if (fields.length !== header.length) {
      yield {
        kind: 'problem',
        line: first.line,
        field: null,
        reason: `expected ${header.length} columns, found ${fields.length}`,
        value: excerpt(text),
      };
      continue;
    }
    // No prototype: a column named __proto__ or constructor is just a column.
    const value = Object.create(null) as Record<string, unknown>;
    for (let c = 0; c < header.length; c += 1) value[header[c] as string] = fields[c];
    const unstorable = findUnstorableString(value);
    if (unstorable) {
      yield {
        kind: 'problem',
        line: first.line,
        field: unstorable.path || null,
        reason: unstorable.reason,
        value: null,
      };
      continue;
    }
    yield { kind: 'record', line: first.line, value, rawJson: null };
  }
}
