import type { Vader } from '../nlp/vader/vader.js';
import type { LexiconLookup } from './sentiment-features.js';

/**
 * The model's view of VADER's lexicons: word valence as is; an emoji's valence is VADER's
 * compound score of its description (×4, VADER's scale), computed once per emoji and cached.
 */
export function createLexiconLookup(vader: Vader): LexiconLookup {
  const emojiCache = new Map<string, number>();
  return {
    valence: (word) => vader.valence(word),
    emojiValence(emoji) {
      const cached = emojiCache.get(emoji);
      if (cached !== undefined) return cached;
      let description = vader.emojiDescription(emoji);
      if (description === undefined) {
        const first = emoji.codePointAt(0);
        description =
          first === undefined ? undefined : vader.emojiDescription(String.fromCodePoint(first));
      }
      const value = description === undefined ? 0 : vader.polarityScores(description).compound * 4;
      if (emojiCache.size < 10_000) emojiCache.set(emoji, value);
      return value;
    },
  };
}
