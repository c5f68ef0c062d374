import { describe, expect, it } from 'vitest';
import { readVaderReference } from '../../training/labelled-data.js';
import { sharedDataOrSkip } from '../../training/test-support.js';
import { getVader } from './vader-lexicons.js';
import { isUpper, pyRound, vaderLabel } from './vader.js';

const vader = getVader();
const shared = sharedDataOrSkip(process.env.SOCIALPULSE_SHARED_DATA, process.env.CI === 'true');

describe('VADER faithfulness to the reference Python implementation', () => {
  for (const file of ['tweets_vader_reference.jsonl', 'tweeteval_val_vader_reference.jsonl']) {
    it.skipIf(!shared.available)(`agrees within 0.001 on ≥ 99.5% of ${file}`, () => {
      const rows = readVaderReference(shared.dir, file);
      expect(rows.length).toBeGreaterThan(1000);
      const disagreements = rows
        .map((r) => ({
          id: r.id,
          text: r.text,
          reference: r.compound,
          ours: vader.polarityScores(r.text).compound,
        }))
        .filter((d) => Math.abs(d.ours - d.reference) > 0.001);
      const agreement = 1 - disagreements.length / rows.length;
      if (disagreements.length > 0) {
        // The test lists what it disagrees on, so a regression is easy to read.
        process.stderr.write(
          `${file}: ${disagreements.length} disagreements\n${disagreements
            .slice(0, 20)
            .map((d) => JSON.stringify(d))
            .join('\n')}\n`,
        );
      }
      expect(agreement).toBeGreaterThanOrEqual(0.995);
    });
  }
});

describe('VADER rules', () => {
  // Reference outputs of vaderSentiment.py's own examples.
  it.each([
    ['VADER is smart, handsome, and funny.', 0.8316],
    ['VADER is smart, handsome, and funny!', 0.8439],
    ['VADER is very smart, handsome, and funny.', 0.8545],
    ['VADER is VERY SMART, handsome, and FUNNY.', 0.9227],
    ['VADER is VERY SMART, handsome, and FUNNY!!!', 0.9342],
    ['VADER is not smart, handsome, nor funny.', -0.7424],
    ['The book was good.', 0.4404],
    ["At least it isn't a horrible book.", 0.431],
    ['The book was only kind of good.', 0.3832],
    [
      'The plot was good, but the characters are uncompelling and the dialog is not great.',
      -0.7042,
    ],
    ['Today SUX!', -0.5461],
    ["Today only kinda sux! But I'll get by, lol", 0.5249],
    ['Make sure you :) or :D today!', 0.8633],
    ['Not bad at all', 0.431],
  ])('%s → %d', (text, compound) => {
    expect(vader.polarityScores(text).compound).toBeCloseTo(compound, 4);
  });

  it('labels at ±0.05 and scores empty text as all zeros, as the reference does', () => {
    expect(vaderLabel(0.05)).toBe('positive');
    expect(vaderLabel(-0.05)).toBe('negative');
    expect(vaderLabel(0.0499)).toBe('neutral');
    expect(vader.polarityScores('')).toEqual({ neg: 0, neu: 0, pos: 0, compound: 0 });
  });

  it('reads emoji through the emoji lexicon', () => {
    expect(vader.polarityScores('😁').compound).toBeGreaterThan(0.3);
    expect(vader.polarityScores('😠').compound).toBeLessThan(-0.3);
  });

  it("treats words that are Object.prototype's keys as plain words", () => {
    for (const w of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(vader.polarityScores(`${w} is great`).compound).toBe(
        vader.polarityScores('x is great').compound,
      );
    }
  });

  it("follows Python's isupper() and round()", () => {
    expect(isUpper('GOOD!')).toBe(true);
    expect(isUpper('Good')).toBe(false);
    expect(isUpper('123')).toBe(false);
    expect(isUpper('ÉTÉ')).toBe(true);
    expect(pyRound(0.0625, 3)).toBe(0.062);
    expect(pyRound(0.0875, 3)).toBe(0.087);
    expect(pyRound(0.12345, 4)).toBe(0.1235);
  });
});
