import { describe, expect, it } from 'vitest';
import type { LabelledText } from './labelled-data.js';
import { readSemeval } from './labelled-data.js';
import {
  HELD_OUT_FILE,
  HELD_OUT_SHARE,
  fileFolds,
  heldOutPart,
  readSemevalHeldOut,
  semevalSplits,
  stratifiedSample,
} from './splits.js';
import { sharedDataOrSkip } from './test-support.js';

const shared = sharedDataOrSkip(process.env.SOCIALPULSE_SHARED_DATA, process.env.CI === 'true');

const rows = (labels: string): LabelledText[] =>
  [...labels].map((l, i) => ({
    id: String(1000 + i),
    text: `t${i}`,
    label: l === 'n' ? 'negative' : l === 'p' ? 'positive' : 'neutral',
    source: 'x',
  }));

describe('stratifiedSample', () => {
  it('takes the share of each class, whatever the order of the rows', () => {
    const data = rows('n'.repeat(40) + 'u'.repeat(100) + 'p'.repeat(60));
    const a = stratifiedSample(data, 0.25, 7);
    const b = stratifiedSample([...data].reverse(), 0.25, 7);
    expect([...a].sort()).toEqual([...b].sort());
    const count = (label: string): number =>
      data.filter((r) => r.label === label && a.has(r.id)).length;
    expect([count('negative'), count('neutral'), count('positive')]).toEqual([10, 25, 15]);
    expect(stratifiedSample(data, 0.25, 8)).not.toEqual(a);
  });
});

describe('fileFolds', () => {
  const fromFiles = (sizes: Record<string, number>): LabelledText[] =>
    Object.entries(sizes).flatMap(([source, n]) =>
      Array.from({ length: n }, (_, i) => ({
        id: `${source}-${i}`,
        text: 't',
        label: 'neutral' as const,
        source,
      })),
    );

  it('puts every file in one group, largest first into the lightest group', () => {
    const data = fromFiles({ a: 50, b: 40, c: 30, d: 20, e: 10, f: 5 });
    const folds = fileFolds(data, 3);
    expect(folds.map((g) => [...g])).toEqual([
      ['a', 'f'],
      ['b', 'e'],
      ['c', 'd'],
    ]);
    expect(fileFolds([...data].reverse(), 3)).toEqual(folds);
  });

  it('makes no more groups than there are files', () => {
    expect(fileFolds(fromFiles({ a: 3, b: 2 }), 5)).toHaveLength(2);
  });
});

describe('the SemEval splits', () => {
  it.skipIf(!shared.available)(
    'hold out a stratified quarter of twitter-2016test-A that neither training nor validation sees',
    () => {
      const file = readSemeval(shared.dir, HELD_OUT_FILE);
      const { train, validation, heldOut } = semevalSplits(shared.dir);
      // The benchmark reads the same tweets.
      expect(readSemevalHeldOut(shared.dir).map((r) => r.id)).toEqual(heldOut.map((r) => r.id));
      expect(heldOutPart(file)).toEqual(heldOut);
      expect(Math.abs(heldOut.length - HELD_OUT_SHARE * file.length)).toBeLessThanOrEqual(2);
      const norm = (t: string): string => t.toLowerCase().replace(/\s+/g, ' ').trim();
      const heldIds = new Set(heldOut.map((r) => r.id));
      const heldTexts = new Set(heldOut.map((r) => norm(r.text)));
      const validIds = new Set(validation.map((r) => r.id));
      for (const r of [...train, ...validation]) {
        expect(heldIds.has(r.id) || heldTexts.has(norm(r.text))).toBe(false);
      }
      for (const r of train) expect(validIds.has(r.id)).toBe(false);
      // The rest of twitter-2016test-A is in the pool now.
      expect(train.filter((r) => r.source === HELD_OUT_FILE).length).toBeGreaterThan(10_000);
    },
  );
});
