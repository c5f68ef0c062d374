/**
 * The one definition of the sentiment splits (ADR 0005), shared by the trainer
 * (`npm run train:sentiment`), the benchmark (`npm run bench:sentiment`) and tests, so that
 * they cannot disagree about which tweets the shipped model never saw.
 *
 * - Held out of all training and tuning ("SemEval held out"): a seeded, stratified 25% of
 *   `twitter-2016test-A` (per class, the ids with the smallest seeded FNV-1a hash).
 * - Validation (epoch, temperature, combiner): a seeded random 15% of the remaining pool
 *   (every other SemEval file plus the other 75% of `twitter-2016test-A`).
 * - Training: the rest, minus any tweet whose id or text also occurs in validation or held out.
 * - VADER's tweets: the even-id half is held out of everything; the odd half may be used.
 */
import {
  SEMEVAL_FILES,
  readSemeval,
  type LabelledText,
  type SemevalFile,
} from './labelled-data.js';
import { withoutOverlap } from './train-sentiment-model.js';
import type { SentimentClass } from '../models/sentiment-model.js';

/** The SemEval file a part of which is held out. */
export const HELD_OUT_FILE: SemevalFile = 'twitter-2016test-A';
export const HELD_OUT_SHARE = 0.25;
export const HELD_OUT_SEED = 20261124;
export const VALIDATION_SHARE = 0.15;
export const VALIDATION_SEED = 20261123;

/** A seeded hash of an id in [0, 1) (FNV-1a of seed and id: independent of row order). */
export function seededUnit(id: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** Ids of a seeded random `share` of `rows`. */
export function seededSample(
  rows: readonly LabelledText[],
  share: number,
  seed: number,
): Set<string> {
  const out = new Set<string>();
  for (const r of rows) if (seededUnit(r.id, seed) < share) out.add(r.id);
  return out;
}

/**
 * Ids of a seeded, stratified `share` of `rows`: per class, the round(share × n) rows with the
 * smallest seeded hash (ties broken by id), so the held-out part has the file's label mix.
 */
export function stratifiedSample(
  rows: readonly LabelledText[],
  share: number,
  seed: number,
): Set<string> {
  const byClass = new Map<SentimentClass, { id: string; u: number }[]>();
  for (const r of rows) {
    const list = byClass.get(r.label) ?? [];
    list.push({ id: r.id, u: seededUnit(r.id, seed) });
    byClass.set(r.label, list);
  }
  const out = new Set<string>();
  for (const list of byClass.values()) {
    list.sort((a, b) => a.u - b.u || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const { id } of list.slice(0, Math.round(share * list.length))) out.add(id);
  }
  return out;
}

/** The held-out SemEval tweets, given all rows of `HELD_OUT_FILE`. */
export function heldOutPart(heldOutFileRows: readonly LabelledText[]): LabelledText[] {
  const ids = stratifiedSample(heldOutFileRows, HELD_OUT_SHARE, HELD_OUT_SEED);
  return heldOutFileRows.filter((r) => ids.has(r.id));
}

/** What `npm run bench:sentiment` reports as "SemEval held out" (tweets the model never saw). */
export function readSemevalHeldOut(dataDir: string): LabelledText[] {
  return heldOutPart(readSemeval(dataDir, HELD_OUT_FILE));
}

export interface SemevalSplits {
  train: LabelledText[];
  validation: LabelledText[];
  heldOut: LabelledText[];
  /** Files left out of the pool by `drop` (experiments only), for extra held-out checks. */
  dropped: { name: SemevalFile; rows: LabelledText[] }[];
}

/**
 * The training, validation and held-out SemEval tweets (de-duplicated against each other).
 * `drop` (experiments only, never for the shipped model): SemEval files to leave out of the
 * pool entirely (for `HELD_OUT_FILE`: its non-held-out part), returned as `dropped`.
 */
export function semevalSplits(dataDir: string, drop: readonly SemevalFile[] = []): SemevalSplits {
  const heldOutFileRows = readSemeval(dataDir, HELD_OUT_FILE);
  const heldOut = heldOutPart(heldOutFileRows);
  const heldOutIds = new Set(heldOut.map((r) => r.id));
  const rowsOf = (f: SemevalFile): LabelledText[] =>
    f === HELD_OUT_FILE
      ? heldOutFileRows.filter((r) => !heldOutIds.has(r.id))
      : readSemeval(dataDir, f);
  const dropped = drop.map((name) => ({ name, rows: rowsOf(name) }));
  const excluded = [...heldOut, ...dropped.flatMap((d) => d.rows)];
  const pool = withoutOverlap(
    SEMEVAL_FILES.filter((f) => !drop.includes(f)).flatMap(rowsOf),
    excluded,
  );
  const validationIds = seededSample(pool, VALIDATION_SHARE, VALIDATION_SEED);
  const validation = pool.filter((r) => validationIds.has(r.id));
  const train = withoutOverlap(
    pool.filter((r) => !validationIds.has(r.id)),
    [...validation, ...excluded],
  );
  return { train, validation, heldOut, dropped };
}

/** VADER's tweets with an even id: held out of training, tuning and the combiner check. */
export function isVaderHeldOut(row: LabelledText): boolean {
  return Number(row.id) % 2 === 0;
}

/**
 * Groups of whole SemEval files for the combiner's out-of-file scores (ADR 0005 round 7):
 * the files of `rows`, largest first, each into the group with the fewest rows so far (ties:
 * the first), at most `k` groups. Deterministic for a given set of rows.
 */
export function fileFolds(rows: readonly LabelledText[], k: number): Set<string>[] {
  const sizes = new Map<string, number>();
  for (const r of rows) sizes.set(r.source, (sizes.get(r.source) ?? 0) + 1);
  const files = [...sizes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const groups = Array.from({ length: Math.min(k, files.length) }, () => ({
    files: new Set<string>(),
    rows: 0,
  }));
  for (const [file, size] of files) {
    const g = groups.reduce((a, b) => (b.rows < a.rows ? b : a));
    g.files.add(file);
    g.rows += size;
  }
  return groups.map((g) => g.files);
}
