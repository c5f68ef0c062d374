import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractEntities, normalizeUrl } from './extract.js';
import { tokenize } from './tokenize.js';
import { createCategoryMatcher } from './categories.js';
import { createCorpusKeywords, postKeywords } from './keywords.js';
import { createToxicityDetector } from './toxicity.js';
import { detectLanguage } from './language.js';

describe('normalizeUrl', () => {
  it.each([
    ['https://Example.COM/a?utm_source=tw&utm_medium=x&id=3#top', 'https://example.com/a?id=3'],
    ['http://example.com:80/', 'http://example.com'],
    ['www.example.com/path).', 'https://www.example.com/path'],
    ['https://youtu.be/abc?si=XYZ&t=10', 'https://youtu.be/abc?t=10'],
    ['https://shop.example/p?fbclid=1&gclid=2', 'https://shop.example/p'],
  ])('%s → %s', (raw, expected) => {
    expect(normalizeUrl(raw)).toBe(expected);
  });

  it('skips the URL parser only where the parser would change nothing', () => {
    // The parser's answer for the shapes the fast path accepts, and near misses it must not.
    const viaParser = (raw: string): string => {
      const url = new URL(raw);
      const out = url.toString();
      return url.pathname === '/' && url.search === '' && out.endsWith('/')
        ? out.slice(0, -1)
        : out;
    };
    for (const raw of [
      'http://t.co',
      'http://t.co/',
      'https://t.co/AbC_12-x',
      'http://t.co//',
      'http://t.co//x/',
      'https://a-b.example-1.org/x/y/',
      'http://1.2.a/x',
      'http://1.2.3/x',
      'http://0x7f.1/',
      'http://xn--bcher-kva.example/',
      'http://a..b/',
      'http://t.co./x',
      'http://-a-.b-/c',
      'http://localhost/',
    ]) {
      expect(normalizeUrl(raw), raw).toBe(viaParser(raw));
    }
  });

  it.each([
    ['https://en.wikipedia.org/wiki/Foo_(bar)', 'https://en.wikipedia.org/wiki/Foo_(bar)'],
    ['https://en.wikipedia.org/wiki/Foo_(bar)).', 'https://en.wikipedia.org/wiki/Foo_(bar)'],
    ['https://example.com/a).', 'https://example.com/a'],
    ['http://[::1]/a', 'http://[::1]/a'],
    ['https://example.com/s?q=a%20b&x', 'https://example.com/s?q=a%20b&x'],
    ['https://example.com/s?q=a+b&utm_source=tw&x=&y&fbclid=1', 'https://example.com/s?q=a+b&x=&y'],
    ['https://example.com/?utm%5Fsource=tw&a=1', 'https://example.com/?a=1'],
    ['https://user:pass@example.com/', 'https://example.com'],
    ['https://user@Example.com/p', 'https://example.com/p'],
  ])('keeps the page: %s → %s', (raw, expected) => {
    expect(normalizeUrl(raw)).toBe(expected);
  });

  it.each([
    // X: `s` (client) and `t` (share token).
    ['https://x.com/user/status/123?s=20&t=AbCdEf', 'https://x.com/user/status/123'],
    ['https://twitter.com/user/status/123?s=46', 'https://twitter.com/user/status/123'],
    ['https://mobile.twitter.com/u/status/1?t=x&s=19', 'https://mobile.twitter.com/u/status/1'],
    // TikTok.
    [
      'https://www.tiktok.com/@user/video/123?is_from_webapp=1&sender_device=pc&_r=1&_t=8abc&is_copy_url=1',
      'https://www.tiktok.com/@user/video/123',
    ],
    ['https://vm.tiktok.com/ZMabc/?_r=1&_t=8x', 'https://vm.tiktok.com/ZMabc/'],
    // LinkedIn (names compared case-insensitively: `trackingId`).
    [
      'https://www.linkedin.com/posts/acme_launch-123?trk=public_post&trackingId=ab%3D%3D&lipi=urn%3Ali',
      'https://www.linkedin.com/posts/acme_launch-123',
    ],
    [
      'https://www.linkedin.com/jobs/view/1?trk=x&refId=y',
      'https://www.linkedin.com/jobs/view/1?refId=y',
    ],
    // Facebook and Instagram share links.
    [
      'https://www.facebook.com/share/v/abc/?mibextid=wwXIfr',
      'https://www.facebook.com/share/v/abc/',
    ],
    ['https://www.instagram.com/p/abc/?igsh=MWQ1ZGUx', 'https://www.instagram.com/p/abc/'],
    [
      'https://www.instagram.com/reel/abc/?igshid=NTc4MTIwNjQ2YQ==',
      'https://www.instagram.com/reel/abc/',
    ],
    // YouTube: `feature`, `pp`, `si` go; `v`, `t`, `list`, `index` choose what plays.
    [
      'https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=share&si=Ab1&pp=ygUE&t=42&list=PL1&index=2',
      'https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42&list=PL1&index=2',
    ],
    ['https://youtu.be/dQw4w9WgXcQ?t=42', 'https://youtu.be/dQw4w9WgXcQ?t=42'],
    ['https://youtu.be/dQw4w9WgXcQ?feature=shared&t=42', 'https://youtu.be/dQw4w9WgXcQ?t=42'],
    ['https://m.youtube.com/watch?v=abc&feature=youtu.be', 'https://m.youtube.com/watch?v=abc'],
    // Google's cross-domain linker, on any site.
    ['https://shop.example/p?_gl=1*1abc*_ga*MTIz&id=3&_ga=2.1.2', 'https://shop.example/p?id=3'],
  ])('removes platform tracking: %s → %s', (raw, expected) => {
    expect(normalizeUrl(raw)).toBe(expected);
  });

  it.each([
    // The same names choose the page on other hosts.
    'https://example.com/search?s=shoes&t=2',
    'https://example.com/a?_r=1&_t=2&trk=3&lipi=4',
    'https://docs.example/page?feature=share&pp=2',
    'https://notx.com/a?s=1',
    'https://myyoutube.com/watch?v=1&feature=share',
    'https://youtube.com.example.org/watch?feature=share',
    'https://x.com.example.org/a?s=20',
  ])('keeps the same names on other hosts: %s', (raw) => {
    expect(normalizeUrl(raw)).toBe(raw);
  });

  it('rejects what is not an http(s) URL', () => {
    expect(normalizeUrl('https://')).toBeNull();
  });
});

describe('extractEntities', () => {
  it('finds hashtags, mentions, cashtags, URLs and emoji', () => {
    const e = extractEntities(
      tokenize(
        'RT @Brand: #Sale #sale on $TSLA and $BRK.B 👍🏽🇫🇷 https://x.co/a?utm_campaign=q me@mail.com &#39;',
      ),
    );
    expect(e.hashtags).toEqual(['sale']);
    expect(e.mentions).toEqual(['brand']);
    expect(e.cashtags).toEqual(['TSLA', 'BRK.B']);
    expect(e.urls).toEqual(['https://x.co/a']);
    expect(e.emoji).toEqual(['👍🏽', '🇫🇷']);
  });

  it('lists keycaps and tag-sequence flags whole, and no text-style symbols', () => {
    const england = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}';
    const e = extractEntities(tokenize(`#️⃣ *️⃣ ${england} © 2024 Brand™ ☺\uFE0E ☺️`));
    expect(e.emoji).toEqual(['#️⃣', '*️⃣', england, '☺️']);
    expect(e.hashtags).toEqual([]);
  });

  it('lists no mention from an email address or an over-long name', () => {
    const e = extractEntities(
      tokenize(
        'mail name@example.com or @user@example.com, cc @Team_Lead, @abcdefghijklmnopqrstuvwxyz and @abcdefghijklmnopqrstuvwxyz01234',
      ),
    );
    // "@user@example.com" is a fediverse account; a name over 30 characters is none.
    expect(e.mentions).toEqual(['user@example.com', 'team_lead', 'abcdefghijklmnopqrstuvwxyz']);
  });
});

describe('categories', () => {
  it('matches keywords, phrases and hashtags case-insensitively', () => {
    const m = createCategoryMatcher([
      { id: 'billing', keywords: ['refund', 'credit card'] },
      { id: 'events', hashtags: ['#WWDC', 'launch'] },
      { id: '__proto__', keywords: ['constructor'] },
    ]);
    const text = 'Need a REFUND on my credit  card #wwdc';
    expect(m.match(tokenize(text), text)).toEqual(['billing', 'events']);
    expect(m.match(tokenize('the constructor'), 'the constructor')).toEqual(['__proto__']);
    expect(m.match(tokenize('nothing here'), 'nothing here')).toEqual([]);
  });

  const matches = (keyword: string, text: string): boolean =>
    createCategoryMatcher([{ id: 'c', keywords: [keyword] }]).match(tokenize(text), text).length >
    0;

  it.each([
    ['covid-19', 'covid-19'],
    ['covid-19', 'New COVID-19 rules'],
    ['covid-19 vaccine', 'my covid-19 vaccine appointment'],
    ['e-commerce', 'E-commerce is growing'],
    ['AT&T', 'AT&T'],
    ['AT&T', "at&t's network is down"],
    ['U.S.', 'U.S.'],
    ['U.S.', 'the U.S. economy'],
    ['c++', 'c++'],
    ['c++', 'I write C++.'],
    ['c++', 'languages (c++)'],
    ['tesla', "Tesla's new car"],
    ["Tesla's", 'a tesla'],
    ['café', 'cafe'],
    ['café', 'nice cafe\u0301 here'],
    ['cafe', 'CAFÉ'],
    ['🔥', '🔥'],
    ['🔥', 'this is 🔥🔥🔥'],
    ['👍', 'ok 👍🏽'],
    ['covid', 'covid-19'],
    ['refund', 'a #refund please'],
  ])('keyword %s matches %s', (keyword, text) => {
    expect(matches(keyword, text)).toBe(true);
  });

  it.each([
    ['art', 'start'],
    ['art', 'smartart'],
    ['c++', 'plan c'],
    ['covid-19', 'covid'],
    ['AT&T', 'at t'],
    ['🔥', 'fire'],
    ['new phone', 'new 📱 phone'],
  ])('keyword %s does not match %s', (keyword, text) => {
    expect(matches(keyword, text)).toBe(false);
  });
});

describe('keywords', () => {
  it('ranks content words and phrases of a post', () => {
    const k = postKeywords(
      tokenize('The battery life of the new phone is amazing, battery life matters'),
    );
    expect(k[0]?.term).toBe('battery life');
  });

  it('ranks corpus keywords by TF-IDF in bounded memory', () => {
    const corpus = createCorpusKeywords(50);
    for (let i = 0; i < 200; i++)
      corpus.add(
        tokenize(`customer service was slow ${i % 3 === 0 ? 'refund please' : ''} item${i}`),
      );
    const top = corpus.top(3).map((k) => k.term);
    expect(top).toContain('customer service');
    expect(corpus.documents).toBe(200);
  });
});

describe('toxicity', () => {
  const d = createToxicityDetector();
  it.each([
    ['fuck this', true],
    ['sh1t happens', true],
    ['what a lovely day', false],
    ['Scunthorpe United', false],
    ['assassin class', false],
  ])('%s → %s', (text, toxic) => {
    expect(d.detect(text).toxic).toBe(toxic);
  });

  it('does not read terms into links and mentions', () => {
    expect(d.detect('https://t.co/aB1tChxyz')).toEqual({ toxic: false, terms: [] });
    expect(d.detect('go WWW.sh1t.example/x now')).toEqual({ toxic: false, terms: [] });
    expect(d.detect('cc @b1tchcraft_fan')).toEqual({ toxic: false, terms: [] });
    expect(d.detect('@user fuck https://t.co/x').toxic).toBe(true);
    const text = 'what the fuck https://t.co/aB1tChxyz';
    expect(d.detect(text, tokenize(text)).terms).toEqual(['fuck']);
  });

  it('flags no short link, whatever its code (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{10}$/), (code) => {
        expect(d.detect(`read this https://t.co/${code}`).toxic).toBe(false);
      }),
      { numRuns: 3000, seed: 11 },
    );
  });
});

describe('language', () => {
  it.each([
    ['I think this is the best day of my life', 'en'],
    ['Je suis très content de vous voir ce soir', 'fr'],
    ['Ich habe heute keine Zeit für dich', 'de'],
    ['😀😀 https://x.co', 'und'],
  ])('%s → %s', (text, language) => {
    expect(detectLanguage(tokenize(text)).language).toBe(language);
  });
});
