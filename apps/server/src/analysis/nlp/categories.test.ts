import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCategoryMatcher, MAX_PHRASE, ruleProblems } from './categories.js';
import { tokenize } from './tokenize.js';

const matches = (keyword: string, text: string): boolean =>
  createCategoryMatcher([{ id: 'c', keywords: [keyword] }]).match(tokenize(text), text).length > 0;

describe('ruleProblems', () => {
  it('accepts rules that can match', () => {
    expect(
      ruleProblems([
        {
          id: 'ok',
          keywords: ['refund', 'customer service', 'U.S. army', 'c++', '@acme', '#launch', '咖啡'],
          hashtags: ['#WWDC', 'launch', '＃café', 'café_2024'],
        },
        { id: 'five', keywords: ['best pizza in new york'] },
        { id: 'trailing', keywords: ['refund!', 'Dr. Smith'] },
      ]),
    ).toEqual([]);
  });

  it.each([
    ['the best pizza in new york', 'has 6 words, and phrases match up to 5'],
    ['see https://example.com', 'contains a link'],
    ['great :)', 'contains the emoticon :)'],
    ['!!!', 'has no words once normalised'],
    ['   ', 'has no words once normalised'],
    ['the customer. Service', 'runs across a sentence end'],
    ['customer\nservice', 'runs across a sentence end'],
    ['@acme support', 'has an @mention among other words'],
    ['#launch day', 'has a #hashtag among other words'],
  ])('refuses keyword %j: %s', (keyword, reason) => {
    const problems = ruleProblems([{ id: 'r1', keywords: ['fine', keyword] }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      ruleIndex: 0,
      ruleId: 'r1',
      field: 'keywords',
      index: 1,
      term: keyword,
    });
    expect(problems[0]?.reason).toContain(reason);
    expect(problems[0]?.message).toContain(`category "r1": keyword ${JSON.stringify(keyword)}`);
  });

  it.each([
    [
      'customer service',
      'contains a space, and a hashtag ends at a space (write #customerservice)',
    ],
    ['#', 'is empty'],
    ['2024', 'is not a hashtag a post can contain'],
    ['c++', 'is not a hashtag a post can contain'],
  ])('refuses hashtag %j: %s', (hashtag, reason) => {
    const problems = ruleProblems([{ id: 'x' }, { id: 'r2', hashtags: [hashtag] }]);
    expect(problems).toEqual([
      expect.objectContaining({ ruleIndex: 1, ruleId: 'r2', field: 'hashtags', index: 0 }),
    ]);
    expect(problems[0]?.reason).toContain(reason);
  });

  it('agrees with the matcher: a keyword it accepts matches itself as a post (property)', () => {
    const word = fc.stringMatching(/^[a-zA-Zéß0-9]{1,8}$/);
    const sep = fc.constantFrom(' ', '  ', '. ', '! ', ', ', '\n', '-', ' :) ', ' https://x.co ');
    fc.assert(
      fc.property(fc.array(fc.tuple(word, sep), { minLength: 1, maxLength: 8 }), (parts) => {
        const keyword = parts.map(([w, s], i) => (i === parts.length - 1 ? w : w + s)).join('');
        const problems = ruleProblems([{ id: 'p', keywords: [keyword] }]);
        // An accepted keyword is found in a post made of it; a refused one in none.
        expect(matches(keyword, `so ${keyword} here`)).toBe(problems.length === 0);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

describe('matching', () => {
  it('never runs a phrase across a sentence end', () => {
    expect(matches('customer service', 'the customer. Service was slow')).toBe(false);
    expect(matches('customer service', 'the customer! Service was slow')).toBe(false);
    expect(matches('customer service', 'the customer?! Service was slow')).toBe(false);
    expect(matches('customer service', 'the customer...\nService was slow')).toBe(false);
    expect(matches('customer service', 'the customer\nservice was slow')).toBe(false);
    expect(matches('customer service', 'the customer\r\nservice')).toBe(false);
    expect(matches('customer service', 'the customer service. It was slow')).toBe(true);
    expect(matches('customer service', 'customer, service')).toBe(true);
    expect(matches('U.S. army', 'the U.S. army')).toBe(true);
    expect(matches('Dr. Smith', 'ask Dr. Smith')).toBe(true);
    expect(matches('node.js', 'I use Node.js daily')).toBe(true);
    expect(matches('咖啡 拿铁', '咖啡。拿铁')).toBe(false);
  });

  it('breaks phrases exactly where a sentence ends (property)', () => {
    const word = fc.stringMatching(/^[a-z]{3,8}$/);
    fc.assert(
      fc.property(
        word,
        word,
        fc.constantFrom('. ', '! ', '? ', '\n', '\r\n', '… '),
        (a, b, end) => {
          expect(matches(`${a} ${b}`, `${a}${end}${b}`)).toBe(false);
          expect(matches(`${a} ${b}`, `x ${a} ${b}${end}y`)).toBe(true);
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });

  it.each([
    ['咖啡', '我喜欢咖啡'],
    ['咖啡', '咖啡很好喝'],
    ['コーヒー', 'コーヒーが好き'],
    ['好き', 'コーヒーが好き'],
    ['กาแฟ', 'ฉันชอบกาแฟมาก'],
    ['咖啡', '#咖啡'],
    ['STRASSE', 'Die Straße ist lang'],
    ['straße', 'STRASSE'],
    ['Straße', 'strasse'],
    ['ΟΔΟΣ', 'η οδος'],
    ['οδοσ', 'η ΟΔΟΣ'],
  ])('keyword %s matches %s', (keyword, text) => {
    expect(matches(keyword, text)).toBe(true);
  });

  it.each([
    ['咖啡', '我喜欢茶'],
    ['コーヒー', 'コーラが好き'],
    ['strasse', 'strasser'],
  ])('keyword %s does not match %s', (keyword, text) => {
    expect(matches(keyword, text)).toBe(false);
  });

  it('finds an unspaced-script keyword wherever it sits in a run (property)', () => {
    const han = fc.stringMatching(/^[\u4e00-\u4e2f]{0,6}$/);
    fc.assert(
      fc.property(
        han,
        fc.stringMatching(/^[\u4e30-\u4e3f]{1,4}$/),
        han,
        (before, keyword, after) => {
          expect(matches(keyword, `${before}${keyword}${after}`)).toBe(true);
          expect(matches(keyword, `${before}${after}`)).toBe(false);
        },
      ),
      { numRuns: 1000, seed: 5 },
    );
  });

  it(`looks up phrases of up to ${MAX_PHRASE} tokens, also among many rules`, () => {
    const rules = Array.from({ length: 2000 }, (_, i) => ({
      id: `r${i}`,
      keywords: [`word${i} tail${i}`, `字${i}`],
    }));
    const m = createCategoryMatcher(rules);
    const text = 'say word1999 tail1999 now 我字1999好';
    expect(m.match(tokenize(text), text)).toEqual(['r1999']);
  });
});
