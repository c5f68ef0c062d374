import { describe, expect, it } from 'vitest';
import {
  RateLimitGate,
  parseResetDuration,
  parseRetryAfter,
  readRateLimitHeaders,
  waitFromSnapshot,
} from './rate-limit.js';

describe('parseResetDuration', () => {
  it.each([
    ['6m0s', 360_000],
    ['1s', 1_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['0.5s', 500],
    ['2', 2_000],
    ['0s', 0],
  ])('%s → %i ms', (text, ms) => {
    expect(parseResetDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '5x', '1s garbage'])('rejects %j', (text) => {
    expect(parseResetDuration(text)).toBeNull();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  it('reads delta-seconds, HTTP dates and retry-after-ms', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }), now)).toBe(3_000);
    expect(
      parseRetryAfter(new Headers({ 'retry-after': new Date(now + 7_000).toUTCString() }), now),
    ).toBe(7_000);
    expect(
      parseRetryAfter(new Headers({ 'retry-after': new Date(now - 7_000).toUTCString() }), now),
    ).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '1' }), now)).toBe(
      250,
    );
    expect(parseRetryAfter(new Headers({ 'retry-after': 'later' }), now)).toBeNull();
    expect(parseRetryAfter(new Headers(), now)).toBeNull();
  });
});

describe('rate-limit headers', () => {
  it('waits for the request reset when no request is left, for the token reset when tokens run short', () => {
    const snapshot = readRateLimitHeaders(
      new Headers({
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-remaining-tokens': '100',
        'x-ratelimit-reset-tokens': '6m0s',
      }),
    );
    expect(waitFromSnapshot(snapshot, 50)).toBe(1_000);
    expect(waitFromSnapshot(snapshot, 500)).toBe(360_000);
    expect(waitFromSnapshot({ ...snapshot, remainingRequests: 5 }, 50)).toBe(0);
  });

  it('the gate blocks the next request until the announced reset', () => {
    let now = 1_000;
    const gate = new RateLimitGate(() => now);
    gate.observe({
      remainingRequests: 0,
      resetRequestsMs: 2_000,
      remainingTokens: 10,
      resetTokensMs: 5_000,
    });
    expect(gate.delayFor(5)).toBe(2_000);
    expect(gate.delayFor(50)).toBe(5_000);
    now += 5_000;
    gate.clearTokensIfReset();
    expect(gate.delayFor(50)).toBe(0);
  });
});
