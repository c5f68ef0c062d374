import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { analysisCreateSchema } from '@socialpulse/contracts';
import { createAnalyzer, type PostAnalysis } from './analyzer.js';
import {
  isItemError,
  SENTIMENT_ENGINE_NAMES,
  type ItemError,
  type SentimentResult,
} from './engine.js';
import { getSentimentModel } from './models/sentiment-weights.js';

const analyzer = createAnalyzer({
  engine: 'all',
  categories: [
    { id: 'support', keywords: ['refund', 'customer service'], hashtags: ['#help'] },
    { id: 'launch', keywords: ['new phone'], hashtags: ['launch'] },
  ],
});

/**
 * Whether each engine (by name and version) gave class probabilities when it first answered:
 * an engine gives them for every post it reads or for none (engine.ts, SentimentResult).
 */
const hasProbabilities = new Map<string, boolean>();

/** The rules of engine.ts's SentimentResult, the same for every engine. */
function expectValidSentiment(s: SentimentResult): void {
  expect(s.engine.name.length).toBeGreaterThan(0);
  expect(s.engine.version.length).toBeGreaterThan(0);
  if (s.label === null) {
    expect(s.reason).toBeDefined();
    expect(s.score).toBeNull();
    expect(s.probabilities).toBeNull();
    return;
  }
  expect(['positive', 'neutral', 'negative']).toContain(s.label);
  expect(s.reason).toBeUndefined();
  expect(Number.isFinite(s.score)).toBe(true);
  expect(Math.abs(s.score ?? Number.NaN)).toBeLessThanOrEqual(1);
  const p = s.probabilities;
  const key = `${s.engine.name}@${s.engine.version}`;
  const had = hasProbabilities.get(key);
  if (had === undefined) hasProbabilities.set(key, p !== null);
  else expect(p !== null, `${key} gives probabilities for some posts only`).toBe(had);
  if (p !== null) {
    for (const v of [p.negative, p.neutral, p.positive]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(p.negative + p.neutral + p.positive).toBeCloseTo(1, 3);
  }
}

function expectValid(result: PostAnalysis | ItemError): void {
  if (isItemError(result)) {
    // A clear per-item error is allowed; it must say why.
    expect(result.error.message.length).toBeGreaterThan(0);
    return;
  }
  // VADER's scores come with the sentiment or not at all (the language gate refused the post).
  if (result.sentiment.label === null) expect(result.vader).toBeNull();
  else {
    const v = result.vader;
    expect(v).not.toBeNull();
    for (const n of [v?.neg, v?.neu, v?.pos, v?.compound]) expect(Number.isFinite(n)).toBe(true);
  }
  const sentiments = Object.values(result.sentiments ?? {});
  for (const s of [result.sentiment, ...sentiments]) expectValidSentiment(s);
  // The gate decides for every engine at once.
  for (const s of sentiments) expect(s.reason).toBe(result.sentiment.reason);
  expect(typeof result.language).toBe('string');
  expect(Array.isArray(result.keywords)).toBe(true);
  expect(typeof result.toxic).toBe('boolean');
  expect(() => JSON.stringify(result)).not.toThrow();
}

/** One post's analysis, twice: one result for one post, and every engine is deterministic. */
function analyzeTwice(text: string): PostAnalysis | ItemError | undefined {
  const results = analyzer.analyzeBatch([{ id: 'p', text }]);
  expect(results).toHaveLength(1);
  expect(JSON.stringify(analyzer.analyzeBatch([{ id: 'p', text }]))).toBe(JSON.stringify(results));
  return results[0];
}

describe('the sentiment engines', () => {
  it("are the names the jobs' contract accepts", () => {
    const engine = analysisCreateSchema.shape.options.unwrap().shape.sentiment_engine.unwrap();
    expect([...engine.options].sort()).toEqual([...SENTIMENT_ENGINE_NAMES].sort());
  });

  it('give no VADER scores for a language they do not read, and say why', () => {
    for (const [text, language, reason] of [
      ['Die Hölle, das Bad war kaputt, so ein Mist', 'de', 'unsupported_language'],
      ['Die Hölle, das Bad war kaputt, so ein Mist', undefined, 'unsupported_language'],
      ['Die Katze', undefined, 'undetermined_language'],
      ['', undefined, 'empty_text'],
    ] as const) {
      const [r] = analyzer.analyzeBatch([
        { id: 'x', text, ...(language === undefined ? {} : { language }) },
      ]);
      if (r === undefined || isItemError(r)) throw new Error('expected a result');
      expect(r.vader, text).toBeNull();
      expect(r.sentiment, text).toMatchObject({ label: null, reason });
      expect(r.sentiments?.vader, text).toMatchObject({ label: null, score: null, reason });
      expectValid(r);
    }
  });

  it('run only the engines an analyzer answers with', () => {
    const model = getSentimentModel();
    const logits = vi.spyOn(model, 'logits');
    try {
      const text = 'I love this, best day ever';
      const vaderOnly = createAnalyzer({ engine: 'vader' }).analyze({ id: 'v', text });
      expect(logits).not.toHaveBeenCalled();
      expect(vaderOnly.sentiment).toMatchObject({ label: 'positive', engine: { name: 'vader' } });
      expect(vaderOnly.sentiments).toBeUndefined();
      // The model runs once a post, even when two engines read its logits.
      const all = createAnalyzer({ engine: 'all' }).analyze({ id: 'a', text });
      expect(logits).toHaveBeenCalledTimes(1);
      expect(all.sentiments?.vader).toEqual(vaderOnly.sentiment);
      expect(createAnalyzer({ engine: 'model' }).analyze({ id: 'm', text }).sentiment).toEqual(
        all.sentiments?.model,
      );
      expect(createAnalyzer().analyze({ id: 'd', text }).sentiment).toEqual(all.sentiment);
    } finally {
      logits.mockRestore();
    }
  });
});

describe('createAnalyzer', () => {
  it('analyses a post end to end', () => {
    const [r] = analyzer.analyzeBatch([
      {
        id: '1',
        text: 'I LOVE the new phone!!! 😍 #Launch @Apple https://apple.com/iphone?utm_source=x&color=red $AAPL',
      },
    ]);
    if (r === undefined || isItemError(r)) throw new Error('expected a result');
    expect(r.language).toBe('en');
    expect(r.sentiment.label).toBe('positive');
    expect(r.sentiment.engine.name).toBe('socialpulse-sentiment');
    expect(r.sentiments?.vader.label).toBe('positive');
    expect(r.hashtags).toEqual(['launch']);
    expect(r.mentions).toEqual(['apple']);
    expect(r.cashtags).toEqual(['AAPL']);
    expect(r.urls).toEqual(['https://apple.com/iphone?color=red']);
    expect(r.emoji).toEqual(['😍']);
    expect(r.categories).toEqual(['launch']);
    expect(r.toxic).toBe(false);
  });

  it('gives 100 results for 100 posts, in order, deterministically', () => {
    const posts = Array.from({ length: 100 }, (_, i) => ({
      id: `p${i}`,
      text: i % 2 ? 'great day' : 'awful service, I want a refund',
    }));
    const a = analyzer.analyzeBatch(posts);
    const b = analyzer.analyzeBatch(posts);
    expect(a).toHaveLength(100);
    expect(a.map((r) => r.id)).toEqual(posts.map((p) => p.id));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const second = a[0];
    if (second === undefined || isItemError(second)) throw new Error('expected a result');
    expect(second.categories).toEqual(['support']);
    expect(second.sentiment.label).toBe('negative');
  });

  it('never scores text in a language it cannot read', () => {
    for (const text of [
      'Hoy es un día terrible, odio el tráfico de esta ciudad',
      'Сегодня очень плохая погода и всё ужасно',
      '今日はとても悪い天気です',
    ]) {
      const [r] = analyzer.analyzeBatch([{ id: 'x', text }]);
      if (r === undefined || isItemError(r)) throw new Error('expected a result');
      expect(r.language).not.toBe('en');
      expect(r.sentiment.label).toBeNull();
      expect(r.sentiment.reason).toBe('unsupported_language');
    }
  });

  it('refuses clearly non-English Latin-script text', () => {
    for (const text of [
      'Bugün hava çok kötü, hiç dışarı çıkmak istemiyorum',
      'kisa zamanda mirrorlari cikar gibi geliyor :)',
      'Ich habe heute wirklich keine Lust auf die Arbeit',
      'das een eind geleden dat ik je nog op twitter heb gezien! hoe gaat het daar in utrecht?',
      '我今天非常高兴，因为天气很好',
    ]) {
      const [r] = analyzer.analyzeBatch([{ id: 'x', text }]);
      if (r === undefined || isItemError(r)) throw new Error('expected a result');
      expect(r.language, text).not.toBe('en');
      expect(r.sentiment.label, text).toBeNull();
    }
  });

  it('does not read a German or French word spelt like an English lexicon word as sentiment', () => {
    for (const text of ['Die Katze', 'Bad Homburg', 'Das Kind']) {
      const [r] = analyzer.analyzeBatch([{ id: 'x', text }]);
      if (r === undefined || isItemError(r)) throw new Error('expected a result');
      expect(r.sentiment, text).toMatchObject({ label: null, reason: 'undetermined_language' });
    }
  });

  it('reads short, informal English posts (no language refusal)', () => {
    for (const text of [
      'bad',
      'Hell no',
      'so much pain',
      'Die!',
      'Magic Mouse FTW',
      '@someone happy Birthday brother.',
      '@someone pregnant? ;-)',
      'Whoo upgrades :D',
      'Bye bye Hanoi :-(',
      'Floyd Mayweather vs Andre Berto, Sept 12th at the MGM Grand, live on SHOWTIME PPV',
    ]) {
      const [r] = analyzer.analyzeBatch([{ id: 'x', text }]);
      if (r === undefined || isItemError(r)) throw new Error('expected a result');
      // Too short to tell ('und') is fine: it is read, not refused.
      expect(['en', 'und'], text).toContain(r.language);
      expect(r.sentiment.label, text).not.toBeNull();
    }
  });

  it('says why an empty post has no sentiment, and scores emoji-only posts', () => {
    const [empty, emoji] = analyzer.analyzeBatch([
      { id: 'e', text: '' },
      { id: 'm', text: '😍😍🎉' },
    ]);
    if (empty === undefined || isItemError(empty) || emoji === undefined || isItemError(emoji))
      throw new Error('expected results');
    expect(empty.sentiment).toMatchObject({ label: null, reason: 'empty_text' });
    expect(emoji.sentiment.label).toBe('positive');
    expect(emoji.emoji).toEqual(['😍', '😍', '🎉']);
  });

  it('says a hashtag-only post is undetermined, not empty', () => {
    for (const text of ['#happy #love #blessed', '#sad']) {
      const [r] = analyzer.analyzeBatch([{ id: 'h', text }]);
      if (r === undefined || isItemError(r)) throw new Error('expected a result');
      expect(r.language, text).toBe('und');
      expect(r.sentiment, text).toMatchObject({ label: null, reason: 'undetermined_language' });
    }
  });

  it('does not read profanity into links and mentions', () => {
    const [link, mention, both] = analyzer.analyzeBatch([
      { id: 'l', text: 'new post https://t.co/aB1tChxyz' },
      { id: 'm', text: 'thanks @sh1thead for the tip' },
      { id: 'b', text: 'this shit again https://t.co/aB1tChxyz' },
    ]);
    for (const r of [link, mention, both])
      if (r === undefined || isItemError(r)) throw new Error('expected a result');
    expect(link).toMatchObject({ toxic: false, urls: ['https://t.co/aB1tChxyz'] });
    expect(mention).toMatchObject({ toxic: false });
    expect(both).toMatchObject({ toxic: true });
  });

  it('flags profanity', () => {
    const [r] = analyzer.analyzeBatch([{ id: 't', text: 'this is fucking bullshit' }]);
    if (r === undefined || isItemError(r)) throw new Error('expected a result');
    expect(r.toxic).toBe(true);
  });
});

describe('mentions of other platforms', () => {
  // The model reads every mention as one "user" feature, whatever its name: a handle of
  // another platform must read exactly as an X mention does, with no stray words or dots.
  it('give the model the same features as an X mention', () => {
    const model = getSentimentModel();
    const logits = (text: string): number[] => {
      const z = new Float64Array(3);
      model.logits(text, z);
      return [...z];
    };
    const plain = logits('great show tonight @alice, thanks!');
    for (const handle of [
      '@alice.bsky.social',
      '@gargron@mastodon.social',
      '@nat.geo',
      '@the.real.account_name_thirty',
    ]) {
      expect(logits(`great show tonight ${handle}, thanks!`), handle).toEqual(plain);
    }
  });

  it('are listed whole and keep their labels out of toxicity and keywords', () => {
    const [r] = analyzer.analyzeBatch([
      {
        id: 'b',
        text: 'Loved the keynote by @shit.posting.example.com and @gargron@mastodon.social',
      },
    ]);
    if (r === undefined || isItemError(r)) throw new Error('expected a result');
    expect(r.mentions).toEqual(['shit.posting.example.com', 'gargron@mastodon.social']);
    expect(r.toxic).toBe(false);
    expect(r.keywords.map((k) => k.term).join(' ')).not.toMatch(/posting|mastodon|social/);
  });
});

describe('bad input never crashes, NaNs or silently zeroes', () => {
  const awkward = [
    '',
    '   ',
    '😀',
    '🇫🇷🇫🇷',
    'a'.repeat(100_000),
    'good '.repeat(20_000),
    'bad\u0000word\u0000',
    '\uD800 lone high \uDC00 lone low',
    'שלום עולם, זה יום נפלא',
    'مرحبا بكم في يوم رائع',
    'constructor',
    '__proto__',
    'constructor __proto__ toString valueOf hasOwnProperty #constructor @__proto__',
    'https://example.com/?__proto__=1&constructor=2',
    '#'.repeat(1000),
    '!!!???',
    'but but but but',
  ];

  it.each(awkward.map((t) => [t.slice(0, 40), t]))('%s', (_name, text) => {
    const r = analyzeTwice(text);
    expect(r).toBeDefined();
    if (r !== undefined) expectValid(r);
  });

  it('holds for arbitrary strings (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 300 }),
        ),
        (text) => {
          const r = analyzeTwice(text);
          if (r !== undefined) expectValid(r);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('holds for strings made of awkward pieces (property)', () => {
    const piece = fc.constantFrom(
      'constructor',
      '__proto__',
      '\u0000',
      '\uD83D',
      '😀',
      '👍🏽',
      'NOT',
      'not',
      'but',
      '!!!',
      '#tag',
      '@user',
      'http://x.y/?utm_source=z',
      'שלום',
      'good',
      'BAD',
      ' ',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const r = analyzeTwice(pieces.join(''));
        if (r !== undefined) expectValid(r);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('turns a non-string text into a per-item error, not a crash', () => {
    const results = analyzer.analyzeBatch([
      { id: 'ok', text: 'fine' },
      { id: 'bad', text: 42 as unknown as string },
    ]);
    expect(results).toHaveLength(2);
    expect(isItemError(results[1])).toBe(true);
  });
});
