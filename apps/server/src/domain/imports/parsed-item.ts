/** What a format parser yields: a record to validate, or a problem found while reading. */
/**
 * `file` names the part of an archive the item comes from (`export.zip:data/tweets.js`) when it
 * is not the imported file itself.
 */
export type ProblemItem = {
  kind: 'problem';
  line: number;
  field: string | null;
  reason: string;
  value: string | null;
  file?: string;
  /**
   * Nothing in the file can be read (a CSV header without the required columns, JSON that is
   * not an array): the import is refused as a whole rather than reported as a rejected record.
   */
  refusesFile?: true;
};
export type RecordItem = {
  kind: 'record';
  line: number;
  value: Record<string, unknown>;
  rawJson: string | null;
  file?: string;
  /** Where each field of `value` came from in the platform's record, to name it in a reject. */
  fieldSources?: Readonly<Record<string, string>>;
};
export type ParsedItem = RecordItem | ProblemItem;

export interface ParserOptions {
  /** A record (line, CSV row, array element) longer than this is rejected without buffering it. */
  maxRecordBytes: number;
}

/**
 * At most `max` characters of `value` for a message, always text PostgreSQL can store: the value
 * is often quoted because it holds what cannot be stored (a NUL, shown as ␀; an unpaired
 * surrogate, shown as U+FFFD), and a cut never splits a surrogate pair.
 */
export function excerpt(value: string, max = 200): string {
  const shown = (text: string): string => text.toWellFormed().replaceAll('\u0000', '\u2400');
  if (value.length <= max) return shown(value);
  const end = /[\uD800-\uDBFF]/.test(value.charAt(max - 1)) ? max - 1 : max;
  return `${shown(value.slice(0, end))}… (${value.length} chars)`;
}

const NUL_ESCAPE = /\\u0000/;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Whether JSON text may hold a string PostgreSQL cannot store (JSON.stringify and platforms write
 * a NUL and an unpaired surrogate as escapes): only such text needs findUnstorableString's walk.
 * A match may still be an escaped backslash followed by `u0000`; the walk decides.
 */
export const mayHoldUnstorable = (jsonText: string): boolean =>
  NUL_ESCAPE.test(jsonText) || SURROGATE_ESCAPE.test(jsonText);

/** Finds the first string (key or value) that PostgreSQL text or jsonb cannot hold. */
export function findUnstorableString(
  value: unknown,
  path = '',
): { path: string; reason: string } | null {
  if (typeof value === 'string') {
    if (value.includes('\u0000'))
      return { path, reason: 'contains a NUL character (U+0000), which cannot be stored' };
    if (!value.isWellFormed())
      return { path, reason: 'contains invalid Unicode (an unpaired surrogate)' };
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = findUnstorableString(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const keyProblem = findUnstorableString(key, path);
      if (keyProblem) return keyProblem;
      const found = findUnstorableString(inner, path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Parses one JSON object's text. Cheap textual checks route the rare records with NUL or
 * surrogate escapes through a full walk, so the common path costs one JSON.parse.
 */
export function parseJsonObject(text: string, line: number): ParsedItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      kind: 'problem',
      line,
      field: null,
      reason: `malformed JSON: ${(error as Error).message}`,
      value: excerpt(text),
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      kind: 'problem',
      line,
      field: null,
      reason: 'expected a JSON object',
      value: excerpt(text),
    };
  }
  if (mayHoldUnstorable(text)) {
    const problem = findUnstorableString(value);
    if (problem)
      return {
        kind: 'problem',
        line,
        field: problem.path || null,
        reason: problem.reason,
        value: null,
      };
  }
  return { kind: 'record', line, value: value as Record<string, unknown>, rawJson: text };
}

/** Bytes to parse: a file or request stream, or (in tests) any iterable of chunks. */
export type ByteSource = AsyncIterable<Buffer | string> | Iterable<Buffer | string>;
