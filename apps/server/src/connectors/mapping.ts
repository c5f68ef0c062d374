/**
 * Defensive readers for platform JSON: every field may be missing, null, renamed or of another
 * type than documented. They return null rather than throw, and never NaN.
 */

export type Json = Record<string, unknown>;

export function asRecord(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return numberToPlainString(value);
  if (typeof value === 'bigint') return value.toString();
  return null;
}

/** A non-empty string, or null. */
export function asText(value: unknown): string | null {
  const s = asString(value);
  return s === null || s === '' ? null : s;
}

/** Integers print without exponent (TikTok ids are 19-20 digits). */
function numberToPlainString(value: number): string {
  if (Number.isInteger(value)) return BigInt(value).toString();
  return String(value);
}

/** Follows a path of keys through nested objects. */
export function dig(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const record = asRecord(current);
    if (record === null) return undefined;
    current = record[key];
  }
  return current;
}

/**
 * A metric count: an integer ≥ 0 from a number or a numeric string ("7920", "997.0"); null for
 * anything else (missing, null, "", negative, NaN, Infinity, beyond the safe range).
 */
export function toCount(value: unknown): number | null {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) n = Number(value);
  else if (typeof value === 'bigint') n = Number(value);
  else return null;
  if (!Number.isFinite(n) || n < 0) return null;
  const rounded = Math.round(n);
  return rounded <= Number.MAX_SAFE_INTEGER ? rounded : null;
}

/** The first of several (renamed) fields that holds a count. */
export function firstCount(record: Json | null, ...names: string[]): number | null {
  if (record === null) return null;
  for (const name of names) {
    const count = toCount(record[name]);
    if (count !== null) return count;
  }
  return null;
}

/** a + b where b may be unknown; null only when a is unknown. */
export function plus(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : a + b;
}

/**
 * An ISO 8601 UTC timestamp from an ISO string (with Z or an offset such as Meta's `+0000`) or
 * from epoch seconds (number or numeric string). null when not a real date.
 */
export function toIsoTimestamp(value: unknown): string | null {
  let ms: number;
  if (
    typeof value === 'number' ||
    (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()))
  ) {
    ms = Number(value) * 1000;
  } else if (typeof value === 'string') {
    const text = value.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(text))
      return null;
    ms = Date.parse(text);
  } else {
    return null;
  }
  if (!Number.isFinite(ms)) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Plain text from Mastodon's HTML content: paragraphs and breaks become newlines, tags go, entities decode. */
export function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p[^>]*>/gi, '\n\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .trim();
}

/** BCP 47-looking language tag, or null (`und`, `zxx`, `qme`, malformed). */
export function toLanguage(value: unknown): string | null {
  const s = asText(value);
  if (s === null || s === 'und' || s === 'zxx' || s.startsWith('q')) return null;
  return /^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{1,8})*$/.test(s) ? s : null;
}
