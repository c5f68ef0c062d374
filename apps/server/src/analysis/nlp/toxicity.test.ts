import fc from 'fast-check';
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { describe, expect, it } from 'vitest';
import { createToxicityDetector } from './toxicity.js';

// The reference: obscenity's own matcher with its recommended English setup. Our detector
// uses the same word list and must give the same flag, except for the differences listed in
// `deliberate` below (documented in toxicity.ts).
const obscenity = new RegExpMatcher({
  ...englishDataset.build(),
  ...englishRecommendedTransformers,
});
const detector = createToxicityDetector();
const ours = (text: string): boolean => detector.detect(text).toxic;

describe('toxicity: same flag as obscenity', () => {
  const phrases = [
    // Insults and profanity, including the ones the whitelist used to hide.
    'ass',
    'asshole',
    'assholes',
    'what an ass',
    'kiss my ASS',
    'the assassin’s ass',
    'classic ass move',
    'fuck off',
    'fuuuuck this',
    'motherfucker',
    'bullshit',
    'piece of shit',
    'you bitch',
    'stupid cunt',
    'dickhead',
    'whore',
    'wanker',
    'cockpit',
    // Leet speak and obfuscation.
    'a$$hole',
    "you're an a55",
    'sh1t happens',
    'b!tch please',
    'f*ck you',
    'f**ck you',
    'p0rn',
    'ni66a',
    'sluuut',
    // Innocent words around the same letters (obscenity's whitelist and word boundaries).
    'assassin',
    'class',
    'bass guitar',
    'Scunthorpe United',
    'assessment',
    'passion',
    'embassy',
    'assume the assets',
    'Arsenal won',
    'the 45s',
    'Dickens',
    'cockney',
    'analysis of an analog synth',
    'Uranus and tetanus',
    'Sussex',
    'kung fu',
    'shitake mushrooms',
    'therapist',
    'grape',
    'cumulative',
    'cucumber',
    'snigger',
    'pen is mightier',
    'dumbass_ideas',
    'what a lovely day',
  ];

  it.each(phrases)('%s', (text) => {
    expect(ours(text)).toBe(obscenity.hasMatch(text));
  });

  it('flags what the reviewer found unflagged', () => {
    for (const text of ['ass', 'asshole', 'assholes', 'a$$hole', 'what an ass']) {
      expect(detector.detect(text), text).toEqual({ toxic: true, terms: ['ass'] });
    }
  });

  it('drops a match only where one whitelisted word covers all of it', () => {
    expect(detector.detect('assassin class bass')).toEqual({ toxic: false, terms: [] });
    // "assassin" (whitelisted "assa", "assi") covers its own letters, not the word after it.
    expect(detector.detect('the assassin’s ass')).toEqual({ toxic: true, terms: ['ass'] });
    // "45s" is whitelisted as written, so its leet-speak reading "ass" is protected only there.
    expect(ours('the 45s')).toBe(false);
    expect(ours('a55')).toBe(true);
  });

  it('agrees on texts built from terms, whitelisted words and leet speak (property)', () => {
    const parts = [
      'ass', 'a$$', '45s', 'assa', 'assi', 'class', 'hole', 'shit', 'sh1t', 's hit', 'an al',
      'anal', 'analy', 'cum', 'cumu', 'dick', 'dickens', 'fuck', 'f*ck', 'pen', 'is', 'nig',
      'ga', 'negro', 'montenegro', 'anus', 'uranus', ' ', '  ', '_', '\n', '.', ',', '!', '1',
      '0', '5', '6', 'x', 'e', 'n', 's', 'S', 'A', 'i', 't', 'k', 'c', 'o', 'u',
    ]; // prettier-ignore
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...parts), { maxLength: 8 }), (words) => {
        const text = words.join('');
        expect(ours(text), JSON.stringify(text)).toBe(obscenity.hasMatch(text));
      }),
      { numRuns: 5000, seed: 7 },
    );
  });

  // Where we differ from obscenity on purpose, and why (see toxicity.ts).
  it.each([
    ['a short link code', 'read https://t.co/aB1tCh', false],
    ['a user name', 'thanks @B1tchcraft_fan', false],
    ['a domain handle', 'cc @sh1t.bsky.social', false],
    ['"(" is a bracket, not a "c"', 'a slight (um maybe) problem', false],
    ['"/" is a separator, not an "l"', 'thigh/a$$ muscles', true],
  ])('differs deliberately on %s', (_why, text, expected) => {
    expect(ours(text)).toBe(expected);
    expect(obscenity.hasMatch(text)).toBe(!expected);
  });
});
