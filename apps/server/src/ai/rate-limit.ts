/**
 * Reading the provider's rate-limit signals: `Retry-After` / `retry-after-ms` and OpenAI's
 * `x-ratelimit-{remaining,reset}-{requests,tokens}` headers, and a gate that makes the next
 * request wait when the budget they announce is spent.
 */

const durationPart = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/**
 * OpenAI's reset durations ("6m0s", "1s", "20ms", "1h2m3.5s", "0.5s") in milliseconds; a bare
 * number is taken as seconds. null when unparseable.
 */
export function parseResetDuration(value: string | null | undefined): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  let total = 0;
  let consumed = '';
  for (const match of text.matchAll(durationPart)) {
    const [whole, amount, unit] = match;
    total += Number(amount) * (unitMs[unit ?? ''] ?? Number.NaN);
    consumed += whole;
  }
  if (consumed !== text || !Number.isFinite(total)) return null;
  return Math.ceil(total);
}

/** The part of a response's headers read here (a fetch `Headers` is one). */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * `retry-after-ms` (OpenAI extension) or `Retry-After` as delta-seconds or an HTTP date, in
 * milliseconds from `nowMs`; null when absent or unparseable, 0 when already past.
 */
export function parseRetryAfter(headers: HeaderReader, nowMs: number): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

export interface RateLimitSnapshot {
  remainingRequests: number | null;
  remainingTokens: number | null;
  resetRequestsMs: number | null;
  resetTokensMs: number | null;
}

function intHeader(headers: HeaderReader, name: string): number | null {
  const value = headers.get(name);
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}

export function readRateLimitHeaders(headers: HeaderReader): RateLimitSnapshot {
  return {
    remainingRequests: intHeader(headers, 'x-ratelimit-remaining-requests'),
    remainingTokens: intHeader(headers, 'x-ratelimit-remaining-tokens'),
    resetRequestsMs: parseResetDuration(headers.get('x-ratelimit-reset-requests')),
    resetTokensMs: parseResetDuration(headers.get('x-ratelimit-reset-tokens')),
  };
}

/**
 * How long to wait, from the headers alone, before the budget they describe allows another
 * request of `nextTokens` tokens: the request reset when no request is left, the token reset
 * when fewer tokens are left than the next request needs. 0 when nothing is exhausted.
 */
export function waitFromSnapshot(snapshot: RateLimitSnapshot, nextTokens = 1): number {
  let wait = 0;
  if (snapshot.remainingRequests === 0) wait = Math.max(wait, snapshot.resetRequestsMs ?? 0);
  if (snapshot.remainingTokens !== null && snapshot.remainingTokens < nextTokens) {
    wait = Math.max(wait, snapshot.resetTokensMs ?? 0);
  }
  return wait;
}

/**
 * Shared by every request of one client: remembers the latest budget the provider announced
 * and the earliest time the next request may start.
 */
export class RateLimitGate {
  private notBeforeMs = 0;
  private tokens: { remaining: number; resetAtMs: number } | null = null;

  constructor(private readonly now: () => number) {}

  /** After any response: remember the announced budget; block until reset when it is spent. */
  observe(snapshot: RateLimitSnapshot): void {
    const now = this.now();
    if (snapshot.remainingRequests === 0 && snapshot.resetRequestsMs !== null) {
      this.notBeforeMs = Math.max(this.notBeforeMs, now + snapshot.resetRequestsMs);
    }
    if (snapshot.remainingTokens !== null) {
      this.tokens = {
        remaining: snapshot.remainingTokens,
        resetAtMs: now + (snapshot.resetTokensMs ?? 0),
      };
    }
  }

  /** After a 429 or a Retry-After: nothing may start before `now + ms`. */
  blockFor(ms: number): void {
    this.notBeforeMs = Math.max(this.notBeforeMs, this.now() + ms);
  }

  /** Milliseconds a request of `estimatedTokens` should wait now (0 = go). */
  delayFor(estimatedTokens: number): number {
    const now = this.now();
    let until = this.notBeforeMs;
    if (this.tokens && this.tokens.remaining < estimatedTokens && this.tokens.resetAtMs > now) {
      until = Math.max(until, this.tokens.resetAtMs);
    }
    return Math.max(0, until - now);
  }

  /** Called once a waited-for reset has passed, so the stale token budget stops blocking. */
  clearTokensIfReset(): void {
    if (this.tokens && this.tokens.resetAtMs <= this.now()) this.tokens = null;
  }
}
