import { describe, expect, it } from 'vitest';
import { createCorpusKeywords, postKeywords, termCounts } from './keywords.js';
import { tokenize } from './tokenize.js';

const terms = (text: string): string[] => postKeywords(tokenize(text), 20).map((k) => k.term);
const counted = (text: string): string[] => [...termCounts(tokenize(text)).keys()].sort();

describe('postKeywords and termCounts', () => {
  it.each([
    ['Japanese', '今日はとても良い天気ですね、散歩に行きましょう'],
    ['Chinese', '我们今天去公园散步吧'],
    ['Korean', '오늘 날씨가 정말 좋네요'],
    ['Thai', 'วันนี้อากาศดีมากเลย'],
  ])('makes no keyword of %s, written without word breaks the tokenizer sees', (_name, text) => {
    expect(terms(text)).toEqual([]);
    expect(counted(text)).toEqual([]);
    expect(terms(`${text} camera review`)).toEqual(['camera review']);
  });

  it('drops terms longer than 30 characters', () => {
    const text = `${'abcdefghij'.repeat(10_000)} battery life`;
    expect(terms(text)).toEqual(['battery life']);
    expect(counted(text)).toEqual(['battery', 'battery life', 'life']);
    expect(terms('ab'.repeat(15))).toEqual(['ab'.repeat(15)]);
    expect(terms(`${'ab'.repeat(15)}c`)).toEqual([]);
  });

  it.each(['&quot;', '&amp;', '&lt;', '&gt;', '&nbsp;', '&#39;', '&apos;', '&hellip;'])(
    'makes no keyword of the HTML entity %s',
    (entity) => {
      const text = `${entity}great${entity} phone ${entity} camera${entity}`;
      // An entity is punctuation: it also breaks a phrase.
      expect(terms(text)).toEqual(['camera', 'great', 'phone']);
    },
  );

  it('never pairs a word with itself', () => {
    expect(terms('good good food')).toEqual(['good', 'good food']);
    expect(counted('good good good food')).toEqual(['food', 'good', 'good food']);
  });

  it('gives an elongated word its written form', () => {
    expect(terms('Sooooo good… yesss')).toEqual(['good', 'yes']);
    expect(terms('goooood morning, welllll pleeeease')).toEqual(['good morning', 'please']);
    expect(counted('Sooooo good… yesss')).toEqual(['good', 'yes']);
  });

  it('counts the same terms in the corpus keywords', () => {
    const corpus = createCorpusKeywords();
    for (let i = 0; i < 3; i++)
      corpus.add(tokenize('&quot;sooo good good&quot; 今日はとても良い天気'));
    expect(corpus.top(10).map((k) => k.term)).toEqual(['good']);
  });
});
