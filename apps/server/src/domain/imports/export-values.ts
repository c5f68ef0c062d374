import { isUtf8 } from 'node:buffer';
import { excerpt, type ProblemItem, type RecordItem } from './parsed-item.js';

/** Strict readers for the values of platform exports, where numbers often arrive as strings. */

export type Json = Record<string, unknown>;

export const asRecord = (value: unknown): Json | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
export const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const asText = (value: unknown): string | null => {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
};

/** The first key of `record` present (not undefined or null), matched exactly, then ignoring case and spaces. */
export function pick(
  record: Json,
  keys: readonly string[],
): { key: string; value: unknown } | null {
  for (const key of keys) {
    const value = record[key];
    if (value !== undefined && value !== null) return { key, value };
  }
  const loose = (k: string): string => k.toLowerCase().replace(/[\s_-]+/g, '');
  const wanted = new Set(keys.map(loose));
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined && value !== null && wanted.has(loose(key))) return { key, value };
  }
  return null;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * A count: a whole number ≥ 0 given as a number or as a string of digits (`"12"`). Empty and
 * absent mean unknown (null, never 0). `"1,234"`, `"12k"`, `"-3"`, `1.5` are refused.
 */
export function readCount(
  value: unknown,
  options: { allowZeroFraction?: boolean } = {},
): Checked<number | null> {
  if (value === undefined || value === null) return { ok: true, value: null };
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value))
      return { ok: false, reason: 'must be a whole number' };
    if (value < 0) return { ok: false, reason: 'must not be negative' };
    if (!Number.isSafeInteger(value)) return { ok: false, reason: 'is too large' };
    return { ok: true, value };
  }
  if (typeof value !== 'string') return { ok: false, reason: 'must be a whole number' };
  const text = value.trim();
  if (text === '') return { ok: true, value: null };
  const digits = options.allowZeroFraction ? /^(\d+)(\.0+)?$/.exec(text) : /^(\d+)$/.exec(text);
  if (!digits)
    return {
      ok: false,
      reason: /^-\d/.test(text)
        ? 'must not be negative'
        : 'must be a whole number written with digits only',
    };
  const n = Number(digits[1]);
  if (!Number.isSafeInteger(n)) return { ok: false, reason: 'is too large' };
  return { ok: true, value: n };
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** An ISO 8601 timestamp from parts, or null when they name no real instant (Feb 30, 25:00). */
export function isoFromParts(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  offsetMinutes: number,
): string | null {
  const t = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(t);
  if (
    year < 1970 ||
    year > 2999 ||
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second ||
    Math.abs(offsetMinutes) > 14 * 60
  ) {
    return null;
  }
  return new Date(t - offsetMinutes * 60_000).toISOString().replace('.000Z', 'Z');
}

const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})$/i;

function offsetOf(zone: string): number {
  if (/^(Z|UTC|GMT)$/i.test(zone)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m) return NaN;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** ISO 8601 with a zone (`2023-01-15T10:20:30+00:00`, `2023-01-15 10:20:30 UTC`). */
export function readIsoTimestamp(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = ISO_WITH_ZONE.exec(value.trim());
  if (!m) return null;
  const offset = offsetOf(m[7] as string);
  if (Number.isNaN(offset)) return null;
  return isoFromParts(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
    offset,
  );
}

/** X's `created_at`: `Wed Oct 10 20:19:24 +0000 2018`. ISO 8601 with a zone is accepted too. */
export function readXDate(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m =
    /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Za-z]{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4}) (\d{4})$/.exec(
      value.trim(),
    );
  if (!m) return readIsoTimestamp(value);
  const month = MONTHS.indexOf((m[1] as string).toLowerCase()) + 1;
  if (month === 0) return null;
  return isoFromParts(
    Number(m[7]),
    month,
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    offsetOf(m[6] as string),
  );
}

/**
 * A local date and time without a zone (`2023-01-01 12:00:00`, TikTok's exports), read as UTC:
 * TikTok writes these in UTC. A value with a zone keeps its zone.
 */
export function readUtcDateTime(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return readIsoTimestamp(value);
  return isoFromParts(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
    0,
  );
}

/** Unix seconds (a number or a string of digits), as Instagram exports write `creation_timestamp`. */
export function readUnixSeconds(value: unknown): string | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value.trim())
        ? Number(value)
        : NaN;
  if (!Number.isInteger(n) || n <= 0 || n > 32_503_680_000) return null;
  return new Date(n * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * A calendar date without a time (YouTube Studio's `Video publish time`: `Jan 5, 2023`,
 * `5 Jan 2023` or `2023-01-05`), as midnight UTC: the day is all the export knows.
 */
export function readDay(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  const withTime = readIsoTimestamp(text);
  if (withTime) return withTime;
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m) return isoFromParts(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0, 0);
  m = /^([A-Za-z]{3})[a-z]*\.? (\d{1,2}),? (\d{4})$/.exec(text);
  if (m) {
    const month = MONTHS.indexOf((m[1] as string).toLowerCase()) + 1;
    return month === 0 ? null : isoFromParts(Number(m[3]), month, Number(m[2]), 0, 0, 0, 0);
  }
  m = /^(\d{1,2}) ([A-Za-z]{3})[a-z]*\.?,? (\d{4})$/.exec(text);
  if (m) {
    const month = MONTHS.indexOf((m[2] as string).toLowerCase()) + 1;
    return month === 0 ? null : isoFromParts(Number(m[3]), month, Number(m[1]), 0, 0, 0, 0);
  }
  return null;
}

/**
 * Meta's exports write UTF-8 bytes as `\u00XX` escapes (`"caf\u00c3\u00a9"` for "café"). A
 * string made only of such code points that forms valid UTF-8 as bytes is decoded; real
 * Latin-1 text ("café" as U+00E9) is not valid UTF-8 as bytes and stays as it is.
 */
export function fixMetaMojibake(text: string): string {
  if (!/[\u0080-\u00ff]/.test(text) || /[\u0100-\uffff]/.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : text;
}

/** BCP 47-looking language codes; X's `und` and private codes (`qme`, `qht`) mean "unknown". */
export function readLanguage(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!/^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{1,8})*$/.test(text)) return null;
  if (/^(und|zxx|q[a-t][a-z])$/i.test(text)) return null;
  return text;
}

/** Builds a mapped record, or the first problem found, with the platform path of each field. */
export class RecordBuilder {
  readonly value: Json = Object.create(null) as Json;
  readonly sources: Record<string, string> = {};
  problem: { field: string; reason: string; value: string | null } | null = null;

  constructor(private readonly prefix: string) {}

  /** The platform path of a source key, for rejects: `tweet.favorite_count`. */
  path(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  set(field: string, value: unknown, sourceKey?: string): void {
    if (value === null || value === undefined) return;
    this.value[field] = value;
    if (sourceKey !== undefined) this.sources[field] = this.path(sourceKey);
  }

  fail(sourceKey: string, reason: string, value: unknown): void {
    if (this.problem) return;
    this.problem = {
      field: this.path(sourceKey),
      reason,
      value:
        value === undefined
          ? null
          : excerpt(typeof value === 'string' ? value : (JSON.stringify(value) ?? typeof value)),
    };
  }

  /** Reads a count from the first present key into `field`; a bad one fails the record. */
  count(
    field: string,
    record: Json,
    keys: readonly string[],
    options?: { allowZeroFraction?: boolean },
  ): void {
    const found = pick(record, keys);
    if (!found) return;
    const checked = readCount(found.value, options);
    if (!checked.ok) this.fail(found.key, `${field} (${found.key}) ${checked.reason}`, found.value);
    else this.set(field, checked.value, found.key);
  }

  toItem(line: number, rawJson: string | null, file: string | undefined): RecordItem | ProblemItem {
    if (this.problem)
      return { kind: 'problem', line, ...this.problem, ...(file === undefined ? {} : { file }) };
    return {
      kind: 'record',
      line,
      value: this.value,
      rawJson,
      fieldSources: this.sources,
      ...(file === undefined ? {} : { file }),
    };
  }
}
