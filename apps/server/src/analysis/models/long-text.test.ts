import { describe, expect, it } from 'vitest';
import { createAnalyzer, type PostAnalysis } from '../analyzer.js';
import { isItemError } from '../engine.js';
import { tokenize } from '../nlp/tokenize.js';
import { LONG_TEXT_TOKENS, segmentCuts } from './sentiment-model.js';

const analyzer = createAnalyzer({ engine: 'all' });

function analyze(text: string): PostAnalysis {
  const [result] = analyzer.analyzeBatch([{ id: 'p', text }]);
  if (!result || isItemError(result)) throw new Error('no analysis');
  return result;
}

const posts = {
  positive:
    'We are excited to announce version 2.0 with faster sync, a cleaner dashboard and better exports. Thanks to everyone who helped test it! ',
  negative:
    'This is the worst service I have ever had, nobody answers and the app keeps crashing. ',
  neutral: 'The store opens at nine on weekdays and at ten on Saturdays. ',
};

describe('long texts', () => {
  it('are scored in segments, and tweet-length texts whole', () => {
    const tweet = tokenize(posts.positive);
    expect(segmentCuts(tweet)).toBeNull();
    const long = tokenize(posts.positive.repeat(6));
    const cuts = segmentCuts(long) ?? [];
    expect(cuts[0]).toBe(0);
    expect(cuts.at(-1)).toBe(long.length);
    for (let i = 1; i < cuts.length; i++) {
      const segment = long.slice(cuts[i - 1], cuts[i]).filter((t) => t.kind !== 'punct');
      expect(segment.length).toBeGreaterThan(0);
      expect(segment.length).toBeLessThanOrEqual(LONG_TEXT_TOKENS);
    }
    // Segments end at sentence ends where they can.
    for (const cut of cuts.slice(1, -1)) expect(long[cut - 1]?.kind).toBe('punct');
  });

  it("do not change a post's label by repeating it: the model's scores no longer grow with length", () => {
    const top = (r: PostAnalysis): number =>
      Math.max(...Object.values(r.sentiments?.model.probabilities ?? {}));
    for (const [expected, text] of Object.entries(posts)) {
      const once = top(analyze(text));
      for (const times of [1, 3, 8, 20]) {
        const result = analyze(text.repeat(times));
        expect(result.sentiments?.model.label, `${expected} × ${times}: model`).toBe(expected);
        expect(result.sentiment.label, `${expected} × ${times}: default`).toBe(expected);
        // Read in segments, no more certain than the post read once: certainty does not come
        // from length. (Up to a long tweet's length a text is read whole, as in training.)
        if (segmentCuts(tokenize(text.repeat(times))) !== null)
          expect(top(result), `${expected} × ${times}`).toBeLessThanOrEqual(once + 0.05);
      }
    }
  });

  it('read a text that repeats one word as neutral, not as a sentiment', () => {
    expect(analyze('word '.repeat(500)).sentiment.label).toBe('neutral');
  });
});
