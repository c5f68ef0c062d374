import { describe, expect, it } from 'vitest';
import { extractEntities } from './extract.js';
import { postKeywords } from './keywords.js';
import { tokenize } from './tokenize.js';

const urls = (text: string): string[] =>
  tokenize(text)
    .filter((t) => t.kind === 'url')
    .map((t) => t.text);

describe('tokenize: links', () => {
  it.each([
    ['Https://example.com/a read this', 'Https://example.com/a'],
    ['HTTP://EXAMPLE.COM/A', 'HTTP://EXAMPLE.COM/A'],
    ['Www.example.com/page', 'Www.example.com/page'],
    ['see WWW.example.com', 'WWW.example.com'],
  ])('reads a capitalised scheme or www: %s', (text, url) => {
    expect(urls(text)).toEqual([url]);
  });

  it('does not make keywords of a capitalised link', () => {
    const keywords = postKeywords(tokenize('Https://example.com/a read this')).map((k) => k.term);
    expect(keywords).not.toContain('https');
    expect(keywords).not.toContain('com');
    expect(extractEntities(tokenize('Www.example.com/page')).urls).toEqual([
      'https://www.example.com/page',
    ]);
  });

  it.each([
    ['right-to-left mark', 'https://example.com/a\u200F', []],
    ['zero-width space', 'https://example.com/a\u200Bnext', ['next']],
    ['Arabic comma', 'https://example.com/a\u060C', []],
    ['ideographic full stop', 'https://example.com/a。すごい', ['すごい']],
    ['guillemet', '«https://example.com/a»', []],
    ['ellipsis', 'https://example.com/a… more', ['more']],
    ['Japanese after the host', 'https://t.coすごい', ['すごい']],
    ['Arabic letters', 'https://example.com/aمرحبا', ['مرحبا']],
  ])('ends a link at a %s', (_name, text, words) => {
    const tokens = tokenize(text);
    const url = tokens.find((t) => t.kind === 'url');
    expect(url?.text).toBe(text.includes('t.co') ? 'https://t.co' : 'https://example.com/a');
    expect(tokens.filter((t) => t.kind === 'word').map((t) => t.text)).toEqual(words);
  });

  it('keeps what twitter-text keeps in a link', () => {
    for (const url of [
      'https://en.wikipedia.org/wiki/Foo_(bar)',
      'https://ru.wikipedia.org/wiki/Москва',
      'https://fr.wikipedia.org/wiki/Café_crème',
      'https://例え.jp/a',
      'http://t.co/AbC_12-x?q=a%20b&x=1#top',
    ]) {
      expect(urls(`${url} ok`), url).toEqual([url]);
    }
  });

  it('needs something after the scheme', () => {
    expect(urls('https:// nothing')).toEqual([]);
    expect(urls('www. nothing')).toEqual([]);
  });
});

const kinds = (text: string): string[] => tokenize(text).map((t) => `${t.kind}:${t.text}`);

describe('tokenize: emoji', () => {
  it.each([
    ['#️⃣', '#\uFE0F\u20E3'],
    ['*️⃣', '*\uFE0F\u20E3'],
    ['#⃣ without U+FE0F', '#\u20E3'],
  ])('reads the keycap %s as one emoji', (_name, keycap) => {
    expect(kinds(`press ${keycap} now`)).toEqual(['word:press', `emoji:${keycap}`, 'word:now']);
    // Glued to a word, still the keycap: twitter-text starts no hashtag at U+FE0F or U+20E3.
    expect(kinds(`${keycap}tag`)).toEqual([`emoji:${keycap}`, 'word:tag']);
  });

  it('keeps a tag-sequence flag whole', () => {
    const england = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}';
    const scotland = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}';
    expect(kinds(`${england}${scotland} come on`)).toEqual([
      `emoji:${england}`,
      `emoji:${scotland}`,
      'word:come',
      'word:on',
    ]);
  });

  it('counts ©, ® and ™ as emoji only with U+FE0F, and no pictograph with U+FE0E', () => {
    expect(kinds('© 2024 ® ™ ☺\uFE0E ❤\uFE0E ok')).toEqual(['number:2024', 'word:ok']);
    // As people type them: a heart or a smiley without U+FE0F is still the emoji.
    expect(kinds('I ❤ NY ☺')).toEqual(['word:I', 'emoji:❤', 'word:NY', 'emoji:☺']);
    expect(kinds('☺\uFE0F ❤\uFE0F ©\uFE0F')).toEqual([
      'emoji:☺\uFE0F',
      'emoji:❤\uFE0F',
      'emoji:©\uFE0F',
    ]);
  });

  it('keeps ZWJ sequences, skin tones and regional-indicator flags whole', () => {
    for (const emoji of ['👨‍👩‍👧', '👍🏽', '☝🏻', '🇬🇧', '❤️‍🔥', '❤‍🔥', '🏳️‍🌈', '😀']) {
      expect(kinds(`a${emoji}b`), emoji).toEqual(['word:a', `emoji:${emoji}`, 'word:b']);
    }
  });
});

describe('tokenize: mentions', () => {
  const mentions = (text: string): string[] =>
    tokenize(text)
      .filter((t) => t.kind === 'mention')
      .map((t) => t.text);

  it('reads at most 20 characters of a name, as twitter-text does', () => {
    const name = 'abcdefghijklmnopqrstuvwxyz0123';
    expect(kinds(`hi @${name} there`)).toEqual([
      'word:hi',
      `mention:@${name.slice(0, 20)}`,
      'word:there',
    ]);
    expect(mentions('@a2345678901234567890')).toEqual(['@a2345678901234567890']);
  });

  it.each([
    ['an address after a mention', '@user@example.com'],
    ['a long name in an address', '@abcdefghijklmnopqrstuvwxyz@example.com'],
    ['an accented Latin letter', '@aliceìnheiro something'],
    ['a scheme', '@http://example.com'],
    ['an email address', 'name@example.com'],
    ['an email address with dots', 'first.last@example.co.uk'],
  ])('gives no mention for %s', (_name, text) => {
    expect(mentions(text)).toEqual([]);
  });

  it('still reads mentions beside those', () => {
    expect(mentions('@username email me @test@example.com (cc: @Other_1)')).toEqual([
      '@username',
      '@Other_1',
    ]);
  });
});
