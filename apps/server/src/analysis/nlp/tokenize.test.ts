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

  it('reads a name of up to 30 characters whole, and a longer one as nothing', () => {
    // 30 characters: Instagram's limit. Truncating would name another account.
    const name = 'this_is_a_very_long_username_x';
    expect(kinds(`hi @${name} there`)).toEqual(['word:hi', `mention:@${name}`, 'word:there']);
    expect(mentions('@a2345678901234567890')).toEqual(['@a2345678901234567890']);
    // Too long for any platform: no mention, and not words of the post either.
    expect(kinds(`hi @${name}y there`)).toEqual(['word:hi', 'word:there']);
  });

  it.each([
    ['a Bluesky handle', 'thanks @alice.bsky.social!', '@alice.bsky.social'],
    ['a custom-domain Bluesky handle', 'by @jay-graber.example.co.uk', '@jay-graber.example.co.uk'],
    ['a fediverse address', 'cc @gargron@mastodon.social', '@gargron@mastodon.social'],
    ['a dotted Instagram name', 'photo @nat.geo today', '@nat.geo'],
    ['a long dotted name', '@the.real.account_name_thirty', '@the.real.account_name_thirty'],
    ['a dotted name ending in digits', 'with @lindsay.lambert.18!', '@lindsay.lambert.18'],
    ['a sentence period after a name', 'thanks @bob.', '@bob'],
    ['a sentence period after a handle', 'thanks @alice.bsky.social.', '@alice.bsky.social'],
    [
      'a sentence period after an address',
      'ask @gargron@mastodon.social.',
      '@gargron@mastodon.social',
    ],
    ['an ellipsis after a handle', 'so @nat.geo...', '@nat.geo'],
    ['a dash after a handle', '@nat.geo- what', '@nat.geo'],
  ])('reads %s whole', (_name, text, mention) => {
    expect(mentions(text)).toEqual([mention]);
  });

  it('leaves no word or punctuation of a handle behind', () => {
    expect(kinds('thanks @alice.bsky.social.')).toEqual([
      'word:thanks',
      'mention:@alice.bsky.social',
      'punct:.',
    ]);
    expect(kinds('@gargron@mastodon.social hi')).toEqual([
      'mention:@gargron@mastodon.social',
      'word:hi',
    ]);
  });

  it.each([
    // A capital after the dot starts a sentence: Instagram and Bluesky names are lower case.
    ['a sentence glued to a name', 'Sir @narendramodi.What have you done', '@narendramodi'],
    ['two dots', '@bob..thanks', '@bob'],
    ['a number', 'at @3.14 now', '@3'],
    ['a hyphen without a dot', '@alice-bob', '@alice'],
    ['an accented Latin letter after the dot', '@alice.bskì.social', '@alice'],
    ['an instance without a dot', '@user@localhost', undefined],
    ['an underscore in an instance', '@user@my_host.com', undefined],
  ])('reads X names as before beside %s', (_name, text, mention) => {
    expect(mentions(text)).toEqual(mention === undefined ? [] : [mention]);
  });

  it.each([
    ['a long name in an address', '@abcdefghijklmnopqrstuvwxyz012345@example.com'],
    ['an accented Latin letter', '@aliceìnheiro something'],
    ['a scheme', '@http://example.com'],
    ['an email address', 'name@example.com'],
    ['a short email address', 'a@b.com'],
    ['an email address with dots', 'first.last@example.co.uk'],
    ['an email address on an instance', 'write to bob.smith@mastodon.social'],
  ])('gives no mention for %s', (_name, text) => {
    expect(mentions(text)).toEqual([]);
  });

  it('lists handles lower case without "@", and keeps their labels out of keywords', () => {
    const tokens = tokenize(
      'Great talk by @Alice.bsky.social, @Gargron@Mastodon.Social and @nat.geo, thanks @bob.',
    );
    expect(extractEntities(tokens).mentions).toEqual([
      'alice.bsky.social',
      'gargron@mastodon.social',
      'nat.geo',
      'bob',
    ]);
    const keywords = postKeywords(tokens, 20).map((k) => k.term);
    for (const label of ['bsky', 'social', 'mastodon', 'geo', 'nat']) {
      expect(keywords.join(' ')).not.toMatch(new RegExp(`\\b${label}\\b`));
    }
  });

  it('still reads mentions beside those', () => {
    expect(mentions('@username email me test@example.com (cc: @Other_1)')).toEqual([
      '@username',
      '@Other_1',
    ]);
  });
});
