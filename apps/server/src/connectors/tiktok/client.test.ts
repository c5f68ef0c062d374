import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { researchBatches, tiktokIdCreatedMs } from './client.js';

const DAY = 86_400_000;
const day = (ms: number): number => Math.floor(ms / DAY);

describe('TikTok Research metrics queries', () => {
  it('reads a video creation time from its id', () => {
    // From the recorded Research API page: id 7320768196569599275 has create_time 1704499196;
    // the id's time is when the upload began, 25 s earlier.
    expect(1704499196_000 - (tiktokIdCreatedMs('7320768196569599275') ?? 0)).toBe(25_000);
    expect(tiktokIdCreatedMs('12345')).toBeNull();
    expect(tiktokIdCreatedMs('not-an-id')).toBeNull();
  });

  it('puts every id in one query of at most 20 ids whose dates span at most 30 days', () => {
    const now = Date.UTC(2026, 10, 23);
    const idAt = (ms: number, low: number): string =>
      ((BigInt(Math.floor(ms / 1000)) << 32n) + BigInt(low)).toString();
    const ids = fc.uniqueArray(
      fc
        .tuple(fc.integer({ min: 0, max: 3 * 365 }), fc.integer({ min: 0, max: 2 ** 31 }))
        .map(([ageDays, low]) => idAt(now - ageDays * DAY - (low % DAY), low)),
      { maxLength: 120 },
    );
    fc.assert(
      fc.property(ids, (asked) => {
        const batches = researchBatches(asked, 30, now);
        expect(batches.flatMap((b) => b.ids).sort()).toEqual([...asked].sort());
        for (const b of batches) {
          expect(b.ids.length).toBeLessThanOrEqual(20);
          expect(day(b.endMs) - day(b.startMs)).toBeLessThanOrEqual(30);
          for (const id of b.ids) {
            // A day of margin either side (create_time is a little after the id's time).
            const at = tiktokIdCreatedMs(id) ?? now;
            expect(at - b.startMs >= DAY && (b.endMs - at >= DAY || b.endMs === now)).toBe(true);
          }
        }
      }),
    );
  });
});
