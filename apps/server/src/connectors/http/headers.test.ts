import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  nextPacificMidnight,
  parseIsoInstant,
  parseMetaUsage,
  parseRetryAfter,
  readBlueskyRateLimit,
  readMastodonRateLimit,
  readMetaUsage,
  readRedditRateLimit,
  readXRateLimit,
} from './headers.js';
import { parseJsonKeepingBigInts } from './safe-json.js';

const NOW = Date.parse('2026-08-01T13:50:00Z');
const finiteOrNull = (v: number | null) => v === null || Number.isFinite(v);

describe('rate-limit header parsers', () => {
  it("read each platform's recorded headers", () => {
    expect(
      readXRateLimit(
        new Headers({
          'x-rate-limit-limit': '1500',
          'x-rate-limit-remaining': '1489',
          'x-rate-limit-reset': '1624368874',
        }),
      ),
    ).toEqual({ limit: 1500, remaining: 1489, resetAt: 1624368874000 });
    expect(
      readMastodonRateLimit(
        new Headers({
          'x-ratelimit-limit': '300',
          'x-ratelimit-remaining': '299',
          'x-ratelimit-reset': '2026-08-01T13:55:00.212100Z',
        }),
      ),
    ).toEqual({ limit: 300, remaining: 299, resetAt: Date.parse('2026-08-01T13:55:00.212Z') });
    expect(
      readRedditRateLimit(
        new Headers({
          'x-ratelimit-used': '3',
          'x-ratelimit-remaining': '997.0',
          'x-ratelimit-reset': '247',
        }),
        NOW,
      ),
    ).toEqual({ limit: 1000, remaining: 997, resetAt: NOW + 247_000 });
    expect(
      readBlueskyRateLimit(
        new Headers({
          'RateLimit-Limit': '3000',
          'RateLimit-Remaining': '2999',
          'RateLimit-Reset': '1785592500',
        }),
        NOW,
      ),
    ).toEqual({ limit: 3000, remaining: 2999, resetAt: 1785592500000 });
    expect(
      readBlueskyRateLimit(
        new Headers({ 'ratelimit-remaining': '5', 'ratelimit-reset': '30' }),
        NOW,
      ),
    ).toMatchObject({ remaining: 5, resetAt: NOW + 30_000 });
    expect(readXRateLimit(new Headers())).toBeNull();
  });

  it('parse Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW + 5_000).toUTCString(), NOW)).toBe(5_000);
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter(null, NOW)).toBeNull();
  });

  it('read Meta usage JSON from both headers', () => {
    expect(parseMetaUsage('{"call_count":28,"total_time":25,"total_cputime":25}', null)).toEqual({
      maxPercent: 28,
      regainAccessMinutes: null,
    });
    const buc = JSON.stringify({
      '17841400000': [
        {
          type: 'instagram',
          call_count: 100,
          total_cputime: 12,
          total_time: 9,
          estimated_time_to_regain_access: 14,
        },
      ],
    });
    expect(readMetaUsage(new Headers({ 'x-business-use-case-usage': buc }), NOW)).toEqual({
      limit: 100,
      remaining: 0,
      resetAt: NOW + 14 * 60_000,
    });
    expect(parseMetaUsage('{"call_volume":0,"cpu_time":0}', null)).toEqual({
      maxPercent: 0,
      regainAccessMinutes: null,
    });
    expect(parseMetaUsage('not json', '[]')).toBeNull();
  });

  it('find the next midnight in Los Angeles across daylight saving time', () => {
    expect(nextPacificMidnight(Date.parse('2024-11-26T14:13:28Z'))).toBe(
      Date.parse('2024-11-27T08:00:00Z'),
    );
    expect(nextPacificMidnight(Date.parse('2026-07-01T06:59:00Z'))).toBe(
      Date.parse('2026-07-01T07:00:00Z'),
    );
    // 2026-03-08 is the day clocks spring forward: midnight before it is PST, midnight after it PDT.
    expect(nextPacificMidnight(Date.parse('2026-03-08T07:30:00Z'))).toBe(
      Date.parse('2026-03-08T08:00:00Z'),
    );
    expect(nextPacificMidnight(Date.parse('2026-03-08T12:00:00Z'))).toBe(
      Date.parse('2026-03-09T07:00:00Z'),
    );
  });

  it('never return NaN or throw, whatever the header says (property)', () => {
    const anyHeader = fc.oneof(
      fc.string(),
      fc.integer().map(String),
      fc.double().map(String),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.json(),
    );
    fc.assert(
      fc.property(
        anyHeader,
        anyHeader,
        anyHeader,
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (a, b, c, now) => {
          const safe = (v: string) => v.replace(/[\r\n\0]/g, '');
          const h = new Headers();
          for (const name of ['x-rate-limit-limit', 'x-ratelimit-limit', 'ratelimit-limit'])
            h.set(name, safe(a));
          for (const name of [
            'x-rate-limit-remaining',
            'x-ratelimit-remaining',
            'ratelimit-remaining',
            'x-ratelimit-used',
          ])
            h.set(name, safe(b));
          for (const name of ['x-rate-limit-reset', 'x-ratelimit-reset', 'ratelimit-reset'])
            h.set(name, safe(c));
          h.set('x-app-usage', safe(a));
          h.set('x-business-use-case-usage', safe(b));
          for (const read of [
            readXRateLimit(h),
            readMastodonRateLimit(h),
            readRedditRateLimit(h, now),
            readBlueskyRateLimit(h, now),
            readMetaUsage(h, now),
          ]) {
            if (read === null) continue;
            expect(
              finiteOrNull(read.limit) &&
                finiteOrNull(read.remaining) &&
                finiteOrNull(read.resetAt),
            ).toBe(true);
          }
          const retry = parseRetryAfter(safe(c), now);
          expect(retry === null || (Number.isFinite(retry) && retry >= 0)).toBe(true);
          const iso = parseIsoInstant(safe(c));
          expect(iso === null || Number.isFinite(iso)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('read durations, dates and Meta percentages back exactly (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), NOW)).toBe(seconds * 1000);
        expect(
          readRedditRateLimit(new Headers({ 'x-ratelimit-reset': String(seconds) }), NOW)?.resetAt,
        ).toBe(NOW + seconds * 1000);
      }),
    );
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        (date) => {
          expect(parseIsoInstant(date.toISOString())).toBe(date.getTime());
          const midnight = nextPacificMidnight(date.getTime());
          expect(midnight).toBeGreaterThan(date.getTime());
          expect(midnight - date.getTime()).toBeLessThanOrEqual(25 * 3_600_000);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            call_count: fc.nat(150),
            total_time: fc.nat(150),
            total_cputime: fc.nat(150),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (entries) => {
          const buc = JSON.stringify({ '1': entries.map((e) => ({ type: 'instagram', ...e })) });
          const max = Math.max(
            ...entries.flatMap((e) => [e.call_count, e.total_time, e.total_cputime]),
          );
          expect(parseMetaUsage(null, buc)?.maxPercent).toBe(max);
        },
      ),
    );
  });

  it('keeps long integers exact when parsing JSON', () => {
    expect(
      parseJsonKeepingBigInts(
        '{"id":7320768196569599123,"n":1.5e3,"s":"12345678901234567890","a":[-12345678901234567]}',
      ),
    ).toEqual({
      id: '7320768196569599123',
      n: 1500,
      s: '12345678901234567890',
      a: ['-12345678901234567'],
    });
    // Without long integers it is JSON.parse.
    fc.assert(
      fc.property(fc.json(), (text) => {
        if (/\d{16}/.test(text)) return;
        expect(parseJsonKeepingBigInts(text)).toEqual(JSON.parse(text));
      }),
    );
  });
});
