import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { AppError } from '../../errors.js';

/**
 * Brute-force protection for sign-in, MFA and reset: consecutive failures per account lock it
 * with a growing back-off, and failures per IP are capped. Shared through Redis when
 * configured; if Redis fails, an in-process limiter takes over (requests are still served).
 */
export interface LoginThrottle {
  /** Throws rate_limited (with retryAfterSeconds) when this account or IP is locked. */
  check(account: string, ip: string): Promise<void>;
  fail(account: string, ip: string): Promise<void>;
  succeed(account: string): Promise<void>;
  /**
   * Presented credentials that are not credentials at all (a forged or unknown token or key):
   * counted per address, so probing keys is limited like guessing passwords is. `checkAddress`
   * throws rate_limited while the address is locked (by probes or by failed sign-ins).
   */
  checkAddress(ip: string): Promise<void>;
  failCredential(ip: string): Promise<void>;
  /**
   * Accounts looked up by email on someone else's behalf (adding a member): each email with no
   * account costs the asker (a user or an API key) a point, so that "no account with this
   * email" cannot be used to list who has one. `checkLookup` throws rate_limited while the
   * asker has used up LOOKUP_MISSES in the hour.
   */
  checkLookup(asker: string): Promise<void>;
  failLookup(asker: string): Promise<void>;
}

const ACCOUNT_FAILS = 5;
const ACCOUNT_WINDOW_S = 15 * 60;
const IP_FAILS = 50;
const IP_WINDOW_S = 60 * 60;
export const LOOKUP_MISSES = 20;
const LOOKUP_WINDOW_S = 60 * 60;

function limiter(
  redis: Redis | null,
  keyPrefix: string,
  points: number,
  duration: number,
): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration });
  return redis
    ? new RateLimiterRedis({
        storeClient: redis,
        keyPrefix,
        points,
        duration,
        insuranceLimiter: memory,
        rejectIfRedisNotReady: true,
      })
    : memory;
}

const lockedError = (seconds: number, what: string): AppError =>
  new AppError(
    'rate_limited',
    `Too many failed attempts for this ${what}; try again in ${seconds} s.`,
    { details: { retryAfterSeconds: seconds } },
  );

/** `probesPerMinute`: forged or unknown credentials an address may present per minute (RATE_LIMIT_AUTH_PER_MINUTE). */
export function createLoginThrottle(
  redis: Redis | null,
  options: { probesPerMinute: number } = { probesPerMinute: 20 },
): LoginThrottle {
  const byAccount = limiter(redis, 'sp:login:account', ACCOUNT_FAILS, ACCOUNT_WINDOW_S);
  const byIp = limiter(redis, 'sp:login:ip', IP_FAILS, IP_WINDOW_S);
  const probes = limiter(redis, 'sp:probe:ip', options.probesPerMinute, 60);
  // Back-off: each lockout of an account doubles the next one (1, 2, 4 … 60 minutes).
  const lockouts = limiter(redis, 'sp:login:lockouts', 1000, 24 * 60 * 60);
  const lookups = limiter(redis, 'sp:lookup:asker', LOOKUP_MISSES, LOOKUP_WINDOW_S);
  const accountKey = (account: string): string => account.trim().toLowerCase();

  const remainingBlock = async (
    l: RateLimiterAbstract,
    key: string,
    points: number,
  ): Promise<number> => {
    const res = await l.get(key);
    return res && res.consumedPoints >= points
      ? Math.max(1, Math.ceil(res.msBeforeNext / 1000))
      : 0;
  };

  return {
    async check(account, ip) {
      const ipWait = await remainingBlock(byIp, ip, IP_FAILS);
      if (ipWait > 0) throw lockedError(ipWait, 'address');
      const accountWait = await remainingBlock(byAccount, accountKey(account), ACCOUNT_FAILS);
      if (accountWait > 0) throw lockedError(accountWait, 'account');
    },
    async fail(account, ip) {
      const key = accountKey(account);
      await byIp.penalty(ip, 1);
      const res = await byAccount.penalty(key, 1);
      if (res.consumedPoints >= ACCOUNT_FAILS) {
        const lock = await lockouts.penalty(key, 1);
        const minutes = Math.min(60, 2 ** Math.max(0, lock.consumedPoints - 1));
        await byAccount.block(key, minutes * 60);
      }
    },
    async succeed(account) {
      await byAccount.delete(accountKey(account));
    },
    async checkAddress(ip) {
      // Every credentialed request pays this: both limiters are read at once.
      const waits = await Promise.all([
        remainingBlock(byIp, ip, IP_FAILS),
        remainingBlock(probes, ip, options.probesPerMinute),
      ]);
      const ipWait = Math.max(...waits);
      if (ipWait > 0) throw lockedError(ipWait, 'address');
    },
    async failCredential(ip) {
      await probes.penalty(ip, 1);
    },
    async checkLookup(asker) {
      const wait = await remainingBlock(lookups, asker, LOOKUP_MISSES);
      if (wait > 0)
        throw new AppError(
          'rate_limited',
          `Too many emails without an account looked up; try again in ${wait} s, or send an invitation.`,
          { details: { retryAfterSeconds: wait } },
        );
    },
    async failLookup(asker) {
      await lookups.penalty(asker, 1);
    },
  };
}
