/**
 * When a collected post's metrics are refreshed: at ages 1 h, 6 h, 24 h and 7 d, then daily.
 * Stage n is the n-th planned refresh; stages past the fixed ages are one day apart. Pure.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const REFRESH_AGES_MS = [HOUR, 6 * HOUR, DAY, 7 * DAY] as const;

/** The post's age at which stage `stage` is due. */
export function ageOfStage(stage: number): number {
  const fixed = REFRESH_AGES_MS[stage];
  if (fixed !== undefined) return fixed;
  return REFRESH_AGES_MS[REFRESH_AGES_MS.length - 1]! + (stage - REFRESH_AGES_MS.length + 1) * DAY;
}

export interface PlannedRefresh {
  stage: number;
  dueAt: Date;
}

/** The first stage still ahead of a post created at `createdAt`, seen at `now`. */
export function nextRefresh(createdAt: Date, now: Date, afterStage = -1): PlannedRefresh {
  const age = now.getTime() - createdAt.getTime();
  let stage = afterStage + 1;
  if (stage < REFRESH_AGES_MS.length) {
    while (stage < REFRESH_AGES_MS.length && ageOfStage(stage) <= age) stage += 1;
  }
  if (stage >= REFRESH_AGES_MS.length && ageOfStage(stage) <= age) {
    // Daily stages: jump straight to the next day boundary of the post's age.
    const last = REFRESH_AGES_MS.length - 1;
    stage = Math.max(stage, last + 1 + Math.floor((age - ageOfStage(last)) / DAY));
  }
  return { stage, dueAt: new Date(createdAt.getTime() + ageOfStage(stage)) };
}
