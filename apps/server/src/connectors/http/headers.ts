/**
 * Parsers for the platforms' rate-limit signals. Each returns what the platform announced, in
 * absolute epoch milliseconds, or null when a header is absent or unparseable (never NaN).
 */

export interface BudgetObservation {
  limit: number | null;
  remaining: number | null;
  /** When the window resets (epoch ms). */
  resetAt: number | null;
}

const INT = /^\s*\d+(\.\d+)?\s*$/;

function num(value: string | null): number | null {
  if (value === null || !INT.test(value)) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** `Retry-After` as delta-seconds or an HTTP date → milliseconds to wait from now (≥ 0). */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Math.ceil(Number(text) * 1000);
    return Number.isFinite(ms) ? ms : null;
  }
  if (!/[a-z]/i.test(text)) return null;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

/** Unix epoch seconds (X `x-rate-limit-reset`, Bluesky `RateLimit-Reset`). */
export function parseEpochSeconds(value: string | null): number | null {
  const n = num(value);
  if (n === null) return null;
  const ms = n * 1000;
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : null;
}

/** ISO 8601 instant (Mastodon `X-RateLimit-Reset`: `2026-08-01T13:55:00.212100Z`). */
export function parseIsoInstant(value: string | null): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text))
    return null;
  // Date.parse accepts at most millisecond precision in every engine only with 3 digits.
  const normalized = text.replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(normalized);
  return Number.isNaN(ms) ? null : ms;
}

/** X: `x-rate-limit-limit/remaining/reset` (reset in epoch seconds). */
export function readXRateLimit(headers: Headers): BudgetObservation | null {
  const limit = num(headers.get('x-rate-limit-limit'));
  const remaining = num(headers.get('x-rate-limit-remaining'));
  const resetAt = parseEpochSeconds(headers.get('x-rate-limit-reset'));
  if (limit === null && remaining === null && resetAt === null) return null;
  return { limit, remaining, resetAt };
}

/** Mastodon: `X-RateLimit-Limit/Remaining/Reset` (reset an ISO 8601 instant). */
export function readMastodonRateLimit(headers: Headers): BudgetObservation | null {
  const limit = num(headers.get('x-ratelimit-limit'));
  const remaining = num(headers.get('x-ratelimit-remaining'));
  const resetAt = parseIsoInstant(headers.get('x-ratelimit-reset'));
  if (limit === null && remaining === null && resetAt === null) return null;
  return { limit, remaining, resetAt };
}

/** Reddit: `x-ratelimit-used/remaining/reset` (remaining may be "997.0"; reset = seconds to the window end). */
export function readRedditRateLimit(headers: Headers, nowMs: number): BudgetObservation | null {
  const used = num(headers.get('x-ratelimit-used'));
  const remainingRaw = num(headers.get('x-ratelimit-remaining'));
  const resetSeconds = num(headers.get('x-ratelimit-reset'));
  if (used === null && remainingRaw === null && resetSeconds === null) return null;
  const remaining = remainingRaw === null ? null : Math.floor(remainingRaw);
  const limit = used !== null && remaining !== null ? Math.round(used + remaining) : null;
  return {
    limit,
    remaining,
    resetAt: resetSeconds === null ? null : nowMs + Math.ceil(resetSeconds * 1000),
  };
}

/**
 * Bluesky (and IETF draft) `RateLimit-Limit/Remaining/Reset`; the reference server sends the
 * reset as epoch seconds, the draft as delta-seconds: a value below 10^9 is taken as a delta.
 */
export function readBlueskyRateLimit(headers: Headers, nowMs: number): BudgetObservation | null {
  const limit = num(headers.get('ratelimit-limit'));
  const remaining = num(headers.get('ratelimit-remaining'));
  const reset = num(headers.get('ratelimit-reset'));
  if (limit === null && remaining === null && reset === null) return null;
  let resetAt: number | null = null;
  if (reset !== null)
    resetAt = reset < 1e9 ? nowMs + Math.ceil(reset * 1000) : Math.round(reset * 1000);
  return { limit, remaining, resetAt };
}

export interface MetaUsage {
  /** The highest percentage of any counter (call count, CPU time, total time) over every object. */
  maxPercent: number;
  /** Minutes until access is regained, when throttled (BUC header only). */
  regainAccessMinutes: number | null;
}

function percent(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string' && INT.test(value)) return Number(value);
  return null;
}

const usageCounters = [
  'call_count',
  'total_cputime',
  'total_time',
  'call_volume',
  'cpu_time',
  'acc_id_util_pct',
];

function usageOfObject(object: unknown, into: { max: number | null; regain: number | null }): void {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return;
  const record = object as Record<string, unknown>;
  for (const counter of usageCounters) {
    const p = percent(record[counter]);
    if (p !== null) into.max = Math.max(into.max ?? 0, p);
  }
  const regain = percent(record.estimated_time_to_regain_access);
  if (regain !== null) into.regain = Math.max(into.regain ?? 0, regain);
}

/**
 * Meta's `X-App-Usage` (`{"call_count":28,"total_time":25,"total_cputime":25}`) and
 * `X-Business-Use-Case-Usage` (`{"<id>":[{"type":"instagram","call_count":…,"estimated_time_to_regain_access":0}]}`):
 * JSON percentages of the limit. null when neither header is present or valid JSON.
 */
export function parseMetaUsage(
  appUsage: string | null,
  businessUsage: string | null,
): MetaUsage | null {
  const acc = { max: null as number | null, regain: null as number | null };
  for (const raw of [appUsage, businessUsage]) {
    if (raw === null) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) continue;
    if (raw === businessUsage) {
      for (const entries of Object.values(parsed as Record<string, unknown>)) {
        for (const entry of Array.isArray(entries) ? entries : [entries]) usageOfObject(entry, acc);
      }
    } else {
      usageOfObject(parsed, acc);
    }
  }
  if (acc.max === null && acc.regain === null) return null;
  return { maxPercent: acc.max ?? 0, regainAccessMinutes: acc.regain };
}

/** Meta usage as a budget: 100 units, remaining = 100 − the highest percentage. */
export function readMetaUsage(headers: Headers, nowMs: number): BudgetObservation | null {
  const usage = parseMetaUsage(
    headers.get('x-app-usage'),
    headers.get('x-business-use-case-usage'),
  );
  if (usage === null) return null;
  const remaining = Math.max(0, Math.floor(100 - usage.maxPercent));
  // Meta counts over a rolling hour; when throttled it may say how long, else assume the window.
  let resetAt: number | null = null;
  if (usage.regainAccessMinutes !== null && usage.regainAccessMinutes > 0)
    resetAt = nowMs + usage.regainAccessMinutes * 60_000;
  else if (remaining === 0) resetAt = nowMs + 60 * 60_000;
  return { limit: 100, remaining, resetAt };
}

const pacific = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function pacificParts(ms: number): { y: number; m: number; d: number; h: number; min: number } {
  const parts = Object.fromEntries(
    pacific.formatToParts(new Date(ms)).map((p) => [p.type, p.value]),
  );
  return {
    y: Number(parts.year),
    m: Number(parts.month),
    d: Number(parts.day),
    h: Number(parts.hour),
    min: Number(parts.minute),
  };
}

/** The next midnight in America/Los_Angeles after `nowMs` (YouTube's quota day), DST-aware. */
export function nextPacificMidnight(nowMs: number): number {
  const { y, m, d } = pacificParts(nowMs);
  // Midnight Pacific is 07:00 or 08:00 UTC depending on daylight saving time.
  for (const utcHour of [7, 8]) {
    const candidate = Date.UTC(y, m - 1, d + 1, utcHour);
    const p = pacificParts(candidate);
    if (p.h === 0 && p.min === 0) return candidate;
  }
  return Date.UTC(y, m - 1, d + 1, 8);
}
