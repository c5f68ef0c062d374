import type { BudgetObservation } from './headers.js';

/** What is known about one budget (a platform + endpoint or scope + credential). */
export interface BudgetState {
  limit: number | null;
  /** Requests left in the current window, counting the ones this system already started. */
  remaining: number | null;
  /** When the window resets (epoch ms). */
  resetAt: number | null;
  /** Nothing may start before this instant (after a 429 / Retry-After). */
  notBefore: number;
}

export interface QuotaResult {
  allowed: boolean;
  used: number;
}

/**
 * Where rate-limit budgets live: in the process (one worker) or in Redis (shared by every
 * process). Keys are opaque strings built by the HTTP client; they never contain secrets.
 */
export interface BudgetStore {
  /**
   * Takes one request from the budget: 0 when the request may start now (and it is counted), else
   * the milliseconds to wait before asking again (nothing counted).
   */
  take(key: string, nowMs: number): Promise<number>;
  /** Records what the platform announced in a response. */
  observe(key: string, observation: BudgetObservation, nowMs: number): Promise<void>;
  /** After a 429: nothing starts on this budget before `untilMs`. */
  blockUntil(key: string, untilMs: number): Promise<void>;
  /**
   * Counts `units` against a quota of `limit` per window ending at `resetAt` (YouTube: per day,
   * counted here because the platform sends no headers). Not allowed → nothing counted.
   */
  consumeQuota(
    key: string,
    units: number,
    limit: number,
    resetAt: number,
    nowMs: number,
  ): Promise<QuotaResult>;
  peek(key: string): Promise<BudgetState | null>;
  close(): Promise<void>;
}

/** Two resets within this distance belong to the same window (Reddit's reset is relative, so it drifts). */
export const SAME_WINDOW_MS = 2_000;

/** The merge rule shared by both stores (the Redis one runs the same logic in Lua). */
export function mergeObservation(
  state: BudgetState | null,
  observation: BudgetObservation,
): BudgetState {
  const base: BudgetState = state ?? { limit: null, remaining: null, resetAt: null, notBefore: 0 };
  const sameWindow =
    base.resetAt !== null &&
    observation.resetAt !== null &&
    Math.abs(base.resetAt - observation.resetAt) <= SAME_WINDOW_MS;
  let remaining = observation.remaining;
  // Responses to requests started earlier may report more headroom than we have already spent.
  if (sameWindow && base.remaining !== null && remaining !== null)
    remaining = Math.min(base.remaining, remaining);
  return {
    limit: observation.limit ?? base.limit,
    remaining: remaining ?? (sameWindow ? base.remaining : null),
    resetAt: observation.resetAt ?? base.resetAt,
    notBefore: base.notBefore,
  };
}

/** The take rule shared by both stores: returns [wait, new state]. */
export function takeFrom(state: BudgetState | null, nowMs: number): [number, BudgetState | null] {
  if (state === null) return [0, null];
  if (state.notBefore > nowMs) return [state.notBefore - nowMs, state];
  if (state.resetAt !== null && state.resetAt <= nowMs) {
    // The window announced has passed: its count no longer applies.
    return [0, { ...state, remaining: null, resetAt: null }];
  }
  if (state.remaining === null) return [0, state];
  if (state.remaining <= 0) return [state.resetAt === null ? 0 : state.resetAt - nowMs, state];
  return [0, { ...state, remaining: state.remaining - 1 }];
}

/** One process's budgets. */
export class InMemoryBudgetStore implements BudgetStore {
  private readonly states = new Map<string, BudgetState>();
  private readonly quotas = new Map<string, { used: number; resetAt: number }>();

  take(key: string, nowMs: number): Promise<number> {
    const [wait, next] = takeFrom(this.states.get(key) ?? null, nowMs);
    if (next !== null) this.states.set(key, next);
    return Promise.resolve(wait);
  }

  observe(key: string, observation: BudgetObservation): Promise<void> {
    this.states.set(key, mergeObservation(this.states.get(key) ?? null, observation));
    return Promise.resolve();
  }

  blockUntil(key: string, untilMs: number): Promise<void> {
    const state = this.states.get(key) ?? {
      limit: null,
      remaining: null,
      resetAt: null,
      notBefore: 0,
    };
    this.states.set(key, { ...state, notBefore: Math.max(state.notBefore, untilMs) });
    return Promise.resolve();
  }

  consumeQuota(
    key: string,
    units: number,
    limit: number,
    resetAt: number,
    nowMs: number,
  ): Promise<QuotaResult> {
    let quota = this.quotas.get(key);
    if (quota === undefined || quota.resetAt <= nowMs || quota.resetAt !== resetAt)
      quota = { used: 0, resetAt };
    if (quota.used + units > limit) {
      this.quotas.set(key, quota);
      return Promise.resolve({ allowed: false, used: quota.used });
    }
    quota = { used: quota.used + units, resetAt };
    this.quotas.set(key, quota);
    return Promise.resolve({ allowed: true, used: quota.used });
  }

  peek(key: string): Promise<BudgetState | null> {
    return Promise.resolve(this.states.get(key) ?? null);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
