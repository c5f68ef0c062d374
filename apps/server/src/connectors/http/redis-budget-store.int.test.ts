import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { redisUnavailable } from '../../../test/support/redis.js';
import { InMemoryBudgetStore, type BudgetStore } from './budget-store.js';
import { RedisBudgetStore } from './redis-budget-store.js';

// In CI a missing Redis throws here (a failure, not a skip); locally the reason is printed.
const reason = await redisUnavailable(inject('redisUrl'));
const NOW = 1_780_000_000_000;

describe.skipIf(reason !== '')('RedisBudgetStore against a real Redis', () => {
  let redis: Redis;
  let prefix: string;
  /** Two stores on two connections: two processes sharing the budgets. */
  let a: RedisBudgetStore;
  let b: RedisBudgetStore;
  let second: Redis;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    second = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    prefix = `sp:test:${randomUUID()}:`;
    a = new RedisBudgetStore(redis, { prefix, now: () => NOW });
    b = new RedisBudgetStore(second, { prefix, now: () => NOW });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    second.disconnect();
  });

  it('lets a request through when nothing is known', async () => {
    expect(await a.take('x|GET /2/tweets|c1', NOW)).toBe(0);
    expect(await a.peek('x|GET /2/tweets|c1')).toBeNull();
  });

  it('shares the announced budget between processes and waits for the reset when it is spent', async () => {
    const key = 'x|GET /2/users/:id/tweets|c1';
    await a.observe(key, { limit: 900, remaining: 2, resetAt: NOW + 60_000 }, NOW);
    expect(await a.take(key, NOW)).toBe(0);
    expect(await b.take(key, NOW)).toBe(0);
    expect(await a.take(key, NOW + 1_000)).toBe(59_000);
    expect(await b.take(key, NOW + 1_000)).toBe(59_000);
    // A late response of the same window cannot give back requests already started.
    await b.observe(key, { limit: 900, remaining: 1, resetAt: NOW + 60_500 }, NOW);
    expect((await a.peek(key))?.remaining).toBe(0);
    // The later of the two announced resets is kept; after it the old count no longer applies.
    expect(await a.take(key, NOW + 60_001)).toBe(499);
    expect(await a.take(key, NOW + 60_501)).toBe(0);
    // A new window replaces the old one.
    await a.observe(key, { limit: 900, remaining: 899, resetAt: NOW + 960_000 }, NOW + 61_000);
    expect(await a.peek(key)).toMatchObject({ limit: 900, remaining: 899, resetAt: NOW + 960_000 });
  });

  it('never lets more requests through than remain, under concurrency', async () => {
    const key = 'reddit|*|c-concurrent';
    await a.observe(key, { limit: 1000, remaining: 20, resetAt: NOW + 600_000 }, NOW);
    const waits = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).take(key, NOW)),
    );
    expect(waits.filter((w) => w === 0)).toHaveLength(20);
    expect(waits.filter((w) => w === 600_000)).toHaveLength(40);
  });

  it('blocks a budget after a 429 for every process', async () => {
    const key = 'mastodon|*|c2';
    await a.blockUntil(key, NOW + 7_000);
    await b.blockUntil(key, NOW + 3_000);
    expect(await b.take(key, NOW)).toBe(7_000);
    expect(await a.take(key, NOW + 7_000)).toBe(0);
    expect(await redis.pttl(`${prefix}${key}`)).toBeGreaterThan(0);
  });

  it('counts a daily quota across processes and starts again in the next window', async () => {
    const key = 'youtube|quota|c3';
    const reset = NOW + 3_600_000;
    expect(await a.consumeQuota(key, 100, 150, reset, NOW)).toEqual({ allowed: true, used: 100 });
    expect(await b.consumeQuota(key, 50, 150, reset, NOW)).toEqual({ allowed: true, used: 150 });
    expect(await a.consumeQuota(key, 1, 150, reset, NOW)).toEqual({ allowed: false, used: 150 });
    expect(await b.consumeQuota(key, 1, 150, reset + 86_400_000, reset + 1)).toEqual({
      allowed: true,
      used: 1,
    });
  });

  it('follows the same rules as the in-process store', async () => {
    const memory: BudgetStore = new InMemoryBudgetStore();
    const steps: [string, number, number | null, number | null][] = [
      ['observe', NOW, 3, NOW + 10_000],
      ['take', NOW, null, null],
      ['observe', NOW + 100, 5, NOW + 10_500],
      ['take', NOW + 200, null, null],
      ['take', NOW + 300, null, null],
      ['take', NOW + 400, null, null],
      ['observe', NOW + 11_000, 10, NOW + 20_000],
      ['take', NOW + 11_000, null, null],
    ];
    const key = 'bluesky|*|c4';
    for (const [op, now, remaining, resetAt] of steps) {
      if (op === 'observe') {
        await memory.observe(key, { limit: 10, remaining, resetAt }, now);
        await a.observe(key, { limit: 10, remaining, resetAt }, now);
      } else {
        expect(await a.take(key, now)).toBe(await memory.take(key, now));
      }
    }
    expect(await a.peek(key)).toEqual(await memory.peek(key));
  });
});
