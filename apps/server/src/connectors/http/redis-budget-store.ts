import type { Redis } from 'ioredis';
import {
  SAME_WINDOW_MS,
  type BudgetState,
  type BudgetStore,
  type QuotaResult,
} from './budget-store.js';
import type { BudgetObservation } from './headers.js';

// The same rules as takeFrom/mergeObservation in budget-store.ts, atomically in Redis.
const TAKE = `
local s = redis.call('HMGET', KEYS[1], 'remaining', 'resetAt', 'notBefore')
local now = tonumber(ARGV[1])
local notBefore = tonumber(s[3] or '') or 0
if notBefore > now then return notBefore - now end
local remaining = tonumber(s[1] or '')
local resetAt = tonumber(s[2] or '')
if resetAt and resetAt <= now then
  redis.call('HDEL', KEYS[1], 'remaining', 'resetAt')
  return 0
end
if not remaining then return 0 end
if remaining <= 0 then
  if resetAt then return resetAt - now end
  return 0
end
redis.call('HSET', KEYS[1], 'remaining', remaining - 1)
return 0`;

const OBSERVE = `
local s = redis.call('HMGET', KEYS[1], 'remaining', 'resetAt')
local oldRemaining = tonumber(s[1] or '')
local oldReset = tonumber(s[2] or '')
local remaining = tonumber(ARGV[2])
local resetAt = tonumber(ARGV[3])
local same = oldReset ~= nil and resetAt ~= nil and math.abs(oldReset - resetAt) <= tonumber(ARGV[4])
if same and oldRemaining and remaining then remaining = math.min(oldRemaining, remaining) end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'limit', ARGV[1]) end
if remaining then redis.call('HSET', KEYS[1], 'remaining', remaining) elseif not same then redis.call('HDEL', KEYS[1], 'remaining') end
if resetAt then redis.call('HSET', KEYS[1], 'resetAt', resetAt) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1`;

const BLOCK = `
local old = tonumber(redis.call('HGET', KEYS[1], 'notBefore') or '') or 0
local untilMs = tonumber(ARGV[1])
if untilMs > old then redis.call('HSET', KEYS[1], 'notBefore', untilMs) end
local ttl = redis.call('PTTL', KEYS[1])
local wanted = untilMs - tonumber(ARGV[3]) + tonumber(ARGV[2])
if ttl < wanted then redis.call('PEXPIRE', KEYS[1], wanted) end
return 1`;

const QUOTA = `
local units = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local resetAt = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '') or 0
local storedReset = tonumber(redis.call('HGET', KEYS[1], 'resetAt') or '') or 0
if storedReset ~= resetAt or storedReset <= now then used = 0 end
redis.call('HSET', KEYS[1], 'used', used, 'resetAt', resetAt)
redis.call('PEXPIRE', KEYS[1], math.max(resetAt - now, 0) + 60000)
if used + units > limit then return {0, used} end
used = used + units
redis.call('HSET', KEYS[1], 'used', used)
return {1, used}`;

/** How long a budget key outlives the reset it describes. */
const KEY_GRACE_MS = 60 * 60_000;

export interface RedisBudgetStoreOptions {
  /** Key prefix; default `sp:budget:`. */
  prefix?: string;
  /** Epoch ms (the HTTP client's clock), for the expiry of blocks; default Date.now. */
  now?: () => number;
}

/**
 * Budgets shared by every process through Redis: each rule runs as one Lua script, so two
 * workers can never both take the last request of a window.
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    options: RedisBudgetStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'sp:budget:';
    this.now = options.now ?? Date.now;
  }

  private key(key: string): string {
    return `${this.prefix}${key}`;
  }

  async take(key: string, nowMs: number): Promise<number> {
    return Number(await this.redis.eval(TAKE, 1, this.key(key), nowMs));
  }

  async observe(key: string, observation: BudgetObservation, nowMs: number): Promise<void> {
    // Expiry is relative: the callers' clock (injected in tests) need not be Redis's.
    const ttl = Math.max((observation.resetAt ?? nowMs) - nowMs, 0) + KEY_GRACE_MS;
    await this.redis.eval(
      OBSERVE,
      1,
      this.key(key),
      observation.limit ?? '',
      observation.remaining ?? '',
      observation.resetAt ?? '',
      SAME_WINDOW_MS,
      ttl,
    );
  }

  async blockUntil(key: string, untilMs: number): Promise<void> {
    await this.redis.eval(BLOCK, 1, this.key(key), untilMs, KEY_GRACE_MS, this.now());
  }

  async consumeQuota(
    key: string,
    units: number,
    limit: number,
    resetAt: number,
    nowMs: number,
  ): Promise<QuotaResult> {
    const [allowed, used] = (await this.redis.eval(
      QUOTA,
      1,
      this.key(`quota:${key}`),
      units,
      limit,
      resetAt,
      nowMs,
    )) as [number, number];
    return { allowed: allowed === 1, used: Number(used) };
  }

  async peek(key: string): Promise<BudgetState | null> {
    const [limit, remaining, resetAt, notBefore] = await this.redis.hmget(
      this.key(key),
      'limit',
      'remaining',
      'resetAt',
      'notBefore',
    );
    if (limit === null && remaining === null && resetAt === null && notBefore === null) return null;
    const n = (v: string | null | undefined): number | null =>
      v === null || v === undefined || v === '' ? null : Number(v);
    return {
      limit: n(limit),
      remaining: n(remaining),
      resetAt: n(resetAt),
      notBefore: n(notBefore) ?? 0,
    };
  }

  /** The Redis connection belongs to the caller. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
