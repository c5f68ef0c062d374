/**
 * Shared machinery of the platform simulator: platforms, clock, seeded randomness, the request
 * and response model every platform module speaks, fixed-window limits and JSON with raw int64.
 */
import { createHash } from 'node:crypto';

export const PLATFORMS = [
  'x',
  'youtube',
  'instagram',
  'tiktok',
  'bluesky',
  'mastodon',
  'reddit',
] as const;
export type Platform = (typeof PLATFORMS)[number];

export function isPlatform(value: string): value is Platform {
  return (PLATFORMS as readonly string[]).includes(value);
}

/** A clock the tests can move: `startSimulator({ clock: clock.now })`. */
export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
  set(ms: number | Date): void;
}

export function createManualClock(
  start: number | Date = Date.UTC(2026, 5, 1, 12, 0, 0),
): ManualClock {
  let current = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
    set(ms) {
      current = typeof ms === 'number' ? ms : ms.getTime();
    },
  };
}

/** mulberry32: small and seeded. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A 32-bit hash of any parts: seeds per account and post derive from it. */
export function hash32(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('\u0001')).digest().readUInt32BE(0);
}

export function hexOf(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0001')).digest('hex');
}

export function base64url(buffer: Buffer | string): string {
  return Buffer.from(buffer).toString('base64url');
}

export function pick<T>(rnd: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rnd() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** A JSON number with more digits than a double holds (TikTok Research ids). */
export class RawInt {
  constructor(readonly digits: string) {}
  toJSON(): string {
    return `@@rawint:${this.digits}@@`;
  }
}

export function toJson(body: unknown): string {
  return JSON.stringify(body).replace(/"@@rawint:(-?\d+)@@"/g, '$1');
}

export type Headers = Record<string, string>;

export interface SimRequest {
  platform: Platform;
  method: string;
  /** Path below the platform prefix, e.g. `/2/users/123/tweets`. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** Parsed JSON or form body (form → Record<string,string>), or null. */
  body: unknown;
  rawBody: string;
  /** Simulator clock at arrival, ms. */
  now: number;
  /** Base URL of this platform, e.g. `http://127.0.0.1:4010/x`. */
  base: string;
  remoteAddress: string;
  /** Endpoint id, e.g. `GET /2/users/:id/tweets`. */
  endpoint: string;
  /** An injected `partial_error` fault: the handler adds the platform's in-200 errors. */
  partialError?: boolean;
}

export interface SimResponse {
  status: number;
  headers?: Headers;
  /** Objects are sent as JSON; strings as they are (with the given content-type). */
  body?: unknown;
  /** Set by the limiter path: this answer refuses a request that went over a real limit. */
  overLimit?: 'rate' | 'quota' | 'usage_cap';
}

export function json(status: number, body: unknown, headers: Headers = {}): SimResponse {
  return {
    status,
    body,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  };
}

export function bearer(req: SimRequest): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const match = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

export function basicAuth(req: SimRequest): { user: string; password: string } | null {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Basic\s+(.+)$/i.exec(header.trim());
  if (match?.[1] === undefined) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return {
    user: decodeURIComponent(decoded.slice(0, colon)),
    password: decodeURIComponent(decoded.slice(colon + 1)),
  };
}

export function formBody(req: SimRequest): Record<string, string> {
  if (req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.body as Record<string, unknown>))
      if (typeof v === 'string') out[k] = v;
    return out;
  }
  return {};
}

export function intParam(value: string | null, fallback: number): number | null {
  if (value === null || value === '') return fallback;
  if (!/^-?\d+$/.test(value)) return null;
  return Number(value);
}

// ---------------------------------------------------------------------------------------------
// Limits

export interface LimitRule {
  limit: number;
  windowSeconds: number;
  /** `pacific-day`: windows are calendar days in America/Los_Angeles (YouTube quota). */
  align?: 'epoch' | 'pacific-day' | 'utc-month';
}

export interface LimitState {
  limit: number;
  /** Left after this request (never below 0). */
  remaining: number;
  used: number;
  windowStartMs: number;
  resetMs: number;
  allowed: boolean;
}

const pacificDate = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/Los_Angeles',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

function pacificOffsetMs(ms: number): number {
  const parts = Object.fromEntries(
    pacificDate.formatToParts(new Date(ms)).map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}

export function windowBounds(now: number, rule: LimitRule): { start: number; end: number } {
  if (rule.align === 'pacific-day') {
    const offset = pacificOffsetMs(now);
    const local = now + offset;
    const start = Math.floor(local / 86_400_000) * 86_400_000 - offset;
    return { start, end: start + 86_400_000 };
  }
  if (rule.align === 'utc-month') {
    const d = new Date(now);
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    return { start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
  }
  const size = rule.windowSeconds * 1000;
  const start = Math.floor(now / size) * size;
  return { start, end: start + size };
}

/** One window of one limit key: what was served (charged) and refused in it. */
export interface LimitWindow {
  /** `platform|bucket|principal`. */
  key: string;
  startMs: number;
  endMs: number;
  limit: number;
  /** Units charged (requests served; YouTube: quota units). */
  used: number;
  /** Requests refused because the window's limit was spent. */
  refused: number;
}

/** Fixed-window counters keyed by platform, bucket and principal (who is charged). */
export class Limiter {
  private readonly counters = new Map<string, LimitWindow>();
  private readonly closed: LimitWindow[] = [];

  /** Charge `cost` to the key; refused (not charged) when it would exceed the rule. */
  take(key: string, rule: LimitRule, now: number, cost = 1): LimitState {
    const { start, end } = windowBounds(now, rule);
    let counter = this.counters.get(key);
    if (counter === undefined || counter.startMs !== start) {
      // The previous window of this key is over: keep it in the history.
      if (counter !== undefined) this.closed.push(counter);
      counter = { key, startMs: start, endMs: end, limit: rule.limit, used: 0, refused: 0 };
      this.counters.set(key, counter);
    }
    const allowed = counter.used + cost <= rule.limit;
    if (allowed) counter.used += cost;
    else counter.refused += 1;
    return {
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - counter.used),
      used: counter.used,
      windowStartMs: start,
      resetMs: end,
      allowed,
    };
  }

  /** The state without charging anything. */
  peek(key: string, rule: LimitRule, now: number): LimitState {
    const { start, end } = windowBounds(now, rule);
    const counter = this.counters.get(key);
    const used = counter !== undefined && counter.startMs === start ? counter.used : 0;
    return {
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - used),
      used,
      windowStartMs: start,
      resetMs: end,
      allowed: used < rule.limit,
    };
  }

  /**
   * Every window any key was charged or refused in, oldest first per key: the closed ones and
   * each key's current one (which may still be open at `endMs`). Windows without any request are
   * not listed. Copies.
   */
  windowHistory(): LimitWindow[] {
    return [...this.closed, ...this.counters.values()]
      .map((w) => ({ ...w }))
      .sort((a, b) => (a.key === b.key ? a.startMs - b.startMs : a.key < b.key ? -1 : 1));
  }
}
