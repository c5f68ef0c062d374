import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type PostAnalysis } from './analyzer.js';
import { isItemError, type ItemError } from './engine.js';
import { getSentimentModel } from './models/sentiment-weights.js';

const analyzer = createAnalyzer({
  engine: 'all',
  categories: [
    { id: 'support', keywords: ['refund', 'customer service'], hashtags: ['#help'] },
    { id: 'launch', keywords: ['new phone'], hashtags: ['launch'] },
  ],
});

function expectValid(result: PostAnalysis | ItemError): void {
  if (isItemError(result)) {
    // A clear per-item error is allowed; it must say why.
    expect(result.error.message.length).toBeGreaterThan(0);
    return;
  }
  for (const n of [result.vader.neg, result.vader.neu, result.vader.pos, result.vader.compound]) {
    expect(Number.isFinite(n)).toBe(true);
  }
  for (const s of [result.sentiment, ...Object.values(result.sentiments ?? {})]) {
    expect(s.engine.name.length).toBeGreaterThan(0);
    expect(s.engine.version.length).toBeGreaterThan(0);
    if (s.label === null) {
      expect(s.reason).toBeDefined();
      expect(s.score).toBeNull();
      expect(s.probabilities).toBeNull();
    } else {
      expect(['positive', 'neutral', 'negative']).toContain(s.label);
      expect(s.score).not.toBeNull();
      expect(Math.abs(s.score ?? Number.NaN)).toBeLessThanOrEqual(1);
      const p = s.probabilities;
      // VADER has no probabilities; the model and the default always do.
      if (s.engine.name === 'vader') expect(p).toBeNull();
      else {
        expect(p).not.toBeNull();
        expect((p?.negative ?? 0) + (p?.neutral ?? 0) + (p?.positive ?? 0)).toBeCloseTo(1, 3);
      }
    }
  }
  expect(typeof result.language).toBe('string');
  expect(Array.isArray(result.keywords)).toBe(true);
  expect(typeof result.toxic).toBe('boolean');
  expect(() => JSON.stringify(result)).not.toThrow();
}

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
    const [r] = analyzer.analyzeBatch([{ id: 'x', text }]);
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
          const results = analyzer.analyzeBatch([{ id: 'p', text }]);
          expect(results).toHaveLength(1);
          const [r] = results;
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
        const [r] = analyzer.analyzeBatch([{ id: 'p', text: pieces.join('') }]);
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
