import { describe, expect, it } from 'vitest';
import { createAnalyzer, declaredLanguage, type PostAnalysis } from './analyzer.js';
import { isItemError } from './engine.js';

const analyzer = createAnalyzer({ engine: 'all' });

function analyze(text: string, language?: string): PostAnalysis {
  const [result] = analyzer.analyzeBatch([
    { id: 'p', text, ...(language === undefined ? {} : { language }) },
  ]);
  if (!result || isItemError(result)) throw new Error('no analysis');
  return result;
}

describe('declared languages', () => {
  it('reads tags and three-letter codes as the engines name languages', () => {
    expect(declaredLanguage('en')).toBe('en');
    expect(declaredLanguage('en-GB')).toBe('en');
    expect(declaredLanguage(' EN_us ')).toBe('en');
    expect(declaredLanguage('eng')).toBe('en');
    expect(declaredLanguage('deu')).toBe('de');
    expect(declaredLanguage('tl')).toBe('tl');
    expect(declaredLanguage('xyz')).toBe('xyz');
  });

  it("takes no declaration from codes that say a post has no language, or X's private ones", () => {
    for (const code of ['und', 'zxx', 'mul', 'mis', 'art', 'qme', 'qht', 'qam', 'QME', '', '1a'])
      expect(declaredLanguage(code), code).toBeUndefined();
    expect(declaredLanguage(undefined)).toBeUndefined();
  });

  it("lets an English post's words decide when its declared code says nothing", () => {
    const text = 'I absolutely love this new update, great job team!';
    for (const code of ['eng', 'qme', 'qht', 'zxx', 'art', 'und']) {
      const result = analyze(text, code);
      expect(result.language, code).toBe('en');
      expect(result.sentiment.label, code).toBe('positive');
    }
    // A real declaration of another language is still believed.
    expect(analyze(text, 'de').sentiment).toMatchObject({
      label: null,
      reason: 'unsupported_language',
    });
  });
});

describe('VADER as an engine', () => {
  it('reports no probabilities: its proportions are in `vader`, not class probabilities', () => {
    const result = analyze('The meeting is at noon. '.repeat(30));
    expect(result.sentiments?.vader.probabilities).toBeNull();
    expect(result.sentiments?.vader.score).toBe(result.vader?.compound);
    expect(result.sentiments?.model.probabilities).not.toBeNull();
  });
});
