import { describe, expect, it } from 'vitest';
import { ageOfStage, nextRefresh } from './refresh-plan.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const created = new Date(Date.UTC(2026, 0, 1, 12));
const at = (ms: number): Date => new Date(created.getTime() + ms);

describe('metric refresh plan', () => {
  it('plans the fixed ages 1 h, 6 h, 24 h, 7 d, then daily', () => {
    expect([0, 1, 2, 3, 4, 5].map(ageOfStage)).toEqual([
      HOUR,
      6 * HOUR,
      DAY,
      7 * DAY,
      8 * DAY,
      9 * DAY,
    ]);
  });

  it('a new post starts at the first age still ahead', () => {
    expect(nextRefresh(created, at(10 * 60_000))).toEqual({ stage: 0, dueAt: at(HOUR) });
    expect(nextRefresh(created, at(2 * HOUR))).toEqual({ stage: 1, dueAt: at(6 * HOUR) });
    expect(nextRefresh(created, at(3 * DAY))).toEqual({ stage: 3, dueAt: at(7 * DAY) });
  });

  it('an old post joins the daily stages at its next whole day of age', () => {
    expect(nextRefresh(created, at(10.5 * DAY))).toEqual({ stage: 7, dueAt: at(11 * DAY) });
  });

  it('after a refresh the next stage follows, skipping ages already passed', () => {
    expect(nextRefresh(created, at(HOUR + 1), 0)).toEqual({ stage: 1, dueAt: at(6 * HOUR) });
    expect(nextRefresh(created, at(7 * HOUR), 0)).toEqual({ stage: 2, dueAt: at(DAY) });
    expect(nextRefresh(created, at(7 * DAY + 5), 3)).toEqual({ stage: 4, dueAt: at(8 * DAY) });
    expect(nextRefresh(created, at(8 * DAY + 5), 4)).toEqual({ stage: 5, dueAt: at(9 * DAY) });
  });
});
