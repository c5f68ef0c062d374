/**
 * A social-media tokenizer shared by the trained sentiment model, keyword extraction and
 * language gating: URLs, @mentions (X, Instagram, Bluesky and fediverse forms), #hashtags,
 * $cashtags, emoticons, emoji (with skin tones, ZWJ sequences and flags), words (any script,
 * with apostrophes) and punctuation runs. One pass; no allocation beyond the token list.
 */

export type TokenKind =
  'url' | 'mention' | 'hashtag' | 'cashtag' | 'emoticon' | 'word' | 'number' | 'emoji' | 'punct';

export interface Token {
  kind: TokenKind;
  /** The token as written. */
  text: string;
  /** UTF-16 offset in the input. */
  start: number;
  /**
   * Words and hashtags: lower case, ’ as ', without '#' (computed once here and shared by
   * every engine). Other kinds: the text as written.
   */
  norm: string;
}

// Sticky expressions, tried only at a position whose first character can start that kind.
// URL: a scheme or "www." in any case (people and phones capitalise the first letter), then
// the characters twitter-text lets into a URL, so that a link glued to the text after it
// ("…/a،", "…/a。すごい", "…/a\u200F") ends where the link does: any character except
// whitespace, quotes and angle brackets, format characters (\p{Cf}: RLM, ZWSP…), non-ASCII
// punctuation, and letters of scripts other than Latin and Cyrillic (twitter-text keeps
// Cyrillic paths: ru.wikipedia.org links). Host labels followed by a dot may be in any
// script (IDN hosts); after them nothing non-Latin may follow, so "https://t.coすごい" ends
// after "co".
const URL_NOT_ASCII = String.raw`[^\x00-\x7f\s\p{Cf}\p{P}\p{L}]`;
// Printable ASCII but " ' < >; in a label also without # . / ?.
const URL_CHAR = String.raw`(?:[!#-&(-;=?-~\p{Script=Latin}\p{Script=Cyrillic}]|${URL_NOT_ASCII})`;
const URL_LABEL_CHAR = String.raw`(?:[!$-&(--0-;=@-~\p{L}]|${URL_NOT_ASCII})`;
const URL_RE = new RegExp(
  String.raw`(?:[Hh][Tt][Tt][Pp][Ss]?:\/\/|[Ww][Ww][Ww]\.)(?:(?:${URL_LABEL_CHAR}*\.)+${URL_CHAR}*|${URL_CHAR}+)`,
  'uy',
);
// Mentions of every platform the posts come from, read by hand in one forward pass (no
// backtracking; see mentionEnd): names of [A-Za-z0-9_] (X) and with dots too (Instagram,
// Threads, TikTok), at most 30 characters and not ending in "."; Bluesky domain handles
// ("@alice.bsky.social"); fediverse addresses ("@gargron@mastodon.social"). As twitter-text
// does, a name that runs on into "@", an accented Latin letter or "://" is no mention
// ("@aliceìnheiro" is a word, "@http://…" a link).
const MENTION_BAD_END_RE =
  /[@\uFF20\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263\u0268\u026F\u0272\u0289\u028B\u02BB\u1E00-\u1EFF]|[\u0300-\u036F]|:\/\//y;
/** Instagram's limit, the longest of the platforms' plain names (X: 15, once 20; TikTok: 24). */
const MAX_NAME = 30;
/** DNS limits, which Bluesky handles and fediverse instances follow. */
const MAX_DOMAIN = 253;
const MAX_LABEL = 63;
// A hash sign followed by U+FE0F or U+20E3 is the keycap emoji #️⃣, not a hashtag (twitter-text).
const HASHTAG_RE = /[#\uFF03](?![\uFE0F\u20E3])[\p{L}\p{M}\p{N}_]*\p{L}[\p{L}\p{M}\p{N}_]*/uy;
const CASHTAG_RE = /\$[A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?(?![\p{L}\p{N}_])/uy;
const EMOTICON_RE =
  /(?:[<>]?[:;=8][-o*']?[)\]([dDpP/\\|@3oO]+|<\/?3+|\^_*\^|[)\]([dD/\\|@][-o*']?[:;=8])(?![\p{L}\p{N}])/uy;
const WORD_RE = /\p{L}[\p{L}\p{M}\p{N}_]*(?:['\u2019]\p{L}+)*/uy;
const NUMBER_RE = /\p{N}+(?:[.,:]\p{N}+)*%?/uy;
// Emoji: flags of two regional indicators, keycaps (0-9 # *), and pictographs with their
// variation selector, skin tone, tag sequence (🏴 + tags + cancel tag: the England, Scotland
// and Wales flags) and ZWJ-joined parts, each sequence one token. U+FE0E asks for a symbol's
// text presentation, so a pictograph followed by it is no emoji. ©, ® and ™ are typography
// unless U+FE0F (or a skin tone, tag or ZWJ sequence, which only emoji take) asks for the emoji;
// other pictographs whose default presentation is text (❤, ☺, ✔) are emoji without it too,
// as people type them.
const EMOJI_TAGS = String.raw`[\u{E0020}-\u{E007E}]+\u{E007F}`;
const TYPOGRAPHIC_SYMBOL = String.raw`[\u00A9\u00AE\u2122]`;
const EMOJI_PICTOGRAPH = String.raw`(?:(?!${TYPOGRAPHIC_SYMBOL})\p{Extended_Pictographic}(?!\uFE0E)|${TYPOGRAPHIC_SYMBOL}(?=\uFE0F|\p{Emoji_Modifier}|\u200D\p{Extended_Pictographic}|${EMOJI_TAGS}))`;
const EMOJI_RE = new RegExp(
  String.raw`\p{Regional_Indicator}{2}|(?:${EMOJI_PICTOGRAPH}|[0-9#*]\uFE0F?\u20E3)(?:\uFE0F|\p{Emoji_Modifier}|${EMOJI_TAGS}|\u200D\p{Extended_Pictographic}\uFE0F?)*`,
  'uy',
);
const PUNCT_RE = /[!?.,;:\u2026]+/y;
const LETTER_OR_DIGIT = /[\p{L}\p{N}_]/u;

function isAsciiLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isAsciiDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWhitespace(c: number): boolean {
  return (
    c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || (c >= 0x2000 && c <= 0x200b) || c === 0x3000
  );
}

/** True when the character before `i` is a letter, digit or underscore. */
function wordCharBefore(text: string, i: number): boolean {
  if (i === 0) return false;
  const c = text.charCodeAt(i - 1);
  if (c < 128) return isAsciiLetter(c) || isAsciiDigit(c) || c === 95;
  const start = c >= 0xdc00 && c <= 0xdfff && i >= 2 ? i - 2 : i - 1;
  return LETTER_OR_DIGIT.test(text.slice(start, i));
}

function matchAt(re: RegExp, text: string, i: number): string | undefined {
  re.lastIndex = i;
  const m = re.exec(text);
  return m === null ? undefined : m[0];
}

function isNameChar(c: number): boolean {
  return isAsciiLetter(c) || isAsciiDigit(c) || c === 95;
}

function isHandleChar(c: number): boolean {
  return isNameChar(c) || c === 46 || c === 45;
}

function badMentionEnd(text: string, end: number): boolean {
  return matchAt(MENTION_BAD_END_RE, text, end) !== undefined;
}

/** Shapes `text[s, e)` can have: bit 1 a domain name (Bluesky handle), bit 2 a dotted name. */
const DOMAIN = 1;
const DOTTED_NAME = 2;

function handleShapes(text: string, s: number, e: number): number {
  let domain = e - s <= MAX_DOMAIN;
  let dotted = e - s <= MAX_NAME;
  let letter = false;
  let labels = 0;
  let labelStart = s;
  for (let k = s; k <= e; k++) {
    const c = k < e ? text.charCodeAt(k) : 46;
    if (c === 46) {
      // ".." is neither: no empty DNS label, and Instagram refuses it.
      if (k === labelStart) return 0;
      if (
        k - labelStart > MAX_LABEL ||
        text.charCodeAt(labelStart) === 45 ||
        text.charCodeAt(k - 1) === 45
      )
        domain = false;
      labels++;
      if (k < e) labelStart = k + 1;
    } else if (c === 95) domain = false;
    else if (c === 45) dotted = false;
    else if (!letter && isAsciiLetter(c)) letter = true;
  }
  if (labels < 2) return 0;
  // A top-level domain starts with a letter ("alice.2024" is no domain).
  if (!isAsciiLetter(text.charCodeAt(labelStart)) || e - labelStart < 2) domain = false;
  // A dotted name has a letter somewhere ("@3.14" is no name).
  if (!letter) dotted = false;
  return (domain ? DOMAIN : 0) | (dotted ? DOTTED_NAME : 0);
}

/**
 * Where the handle of `text[s…]` ends when it is one of the dotted forms, else 0. `plainEnd`:
 * end of its run of X name characters.
 */
function dottedHandleEnd(text: string, s: number, plainEnd: number): number {
  const n = text.length;
  let e = plainEnd;
  while (e < n && isHandleChar(text.charCodeAt(e))) e++;
  if (e < n && text.charCodeAt(e) === 64) {
    // Fediverse "@user@instance.tld"; the user part as the platforms' names allow.
    const user = e;
    if (user - s > MAX_NAME || !isNameChar(text.charCodeAt(user - 1))) return 0;
    let d = user + 1;
    while (d < n && isHandleChar(text.charCodeAt(d)) && text.charCodeAt(d) !== 95) d++;
    // A sentence's full stop or dash after the instance is not part of it.
    while (d > user + 1 && !isNameChar(text.charCodeAt(d - 1))) d--;
    if (d === user + 1 || (handleShapes(text, user + 1, d) & DOMAIN) === 0) return 0;
    return text.charCodeAt(d) === 95 || badMentionEnd(text, d) ? 0 : d;
  }
  while (e > plainEnd && !isNameChar(text.charCodeAt(e - 1))) e--;
  if (e === plainEnd) return 0;
  // Instagram names and Bluesky handles are lower case: a capital after the dot starts the
  // next sentence of a post that lost its space ("thanks @narendramodi.What have you…").
  for (let k = plainEnd; k < e; k++) {
    const d = text.charCodeAt(k);
    if (d >= 65 && d <= 90) return 0;
  }
  if (handleShapes(text, s, e) === 0) return 0;
  return badMentionEnd(text, e) ? 0 : e;
}

/**
 * The end of the mention at `i` (an "@" with no word character before it); 0 when there is
 * none; minus the end of a name too long for any platform, which is no mention and no words
 * either. The checks run after each scan, not as lookaheads, so that a rejected name is not
 * retried one character shorter (twitter-text would read the first 20 characters of a longer
 * name: that names another account, so it is not done here).
 */
function mentionEnd(text: string, i: number): number {
  const s = i + 1;
  let j = s;
  while (j < text.length && isNameChar(text.charCodeAt(j))) j++;
  if (j === s) return 0;
  const c = text.charCodeAt(j);
  // Dotted forms first; when the text after the name is none of them, it is read as X reads
  // it ("@bob.Thanks" → "@bob"), so that posts without such handles tokenize as before.
  if (c === 46 || c === 45 || c === 64) {
    const end = dottedHandleEnd(text, s, j);
    if (end !== 0) return end;
  }
  if (badMentionEnd(text, j)) return 0;
  return j - s <= MAX_NAME ? j : -j;
}

const EMOTICON_START = new Set([...':;=8<>^)(][dD/\\|@'].map((ch) => ch.charCodeAt(0)));

/** Splits a post into tokens. Never throws; anything unrecognised (symbols, lone surrogates, NUL) is skipped. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWhitespace(c)) {
      i++;
      continue;
    }
    let kind: TokenKind | undefined;
    let value: string | undefined;
    let mentionTo: number;
    if (
      (c === 104 || c === 119 || c === 72 || c === 87) &&
      (value = matchAt(URL_RE, text, i)) !== undefined
    ) {
      kind = 'url';
    } else if (c === 64 && !wordCharBefore(text, i) && (mentionTo = mentionEnd(text, i)) !== 0) {
      if (mentionTo < 0) {
        i = -mentionTo;
        continue;
      }
      value = text.slice(i, mentionTo);
      kind = 'mention';
    } else if (
      (c === 35 || c === 0xff03) &&
      !wordCharBefore(text, i) &&
      text.charCodeAt(i - 1) !== 38 &&
      (value = matchAt(HASHTAG_RE, text, i)) !== undefined
    ) {
      kind = 'hashtag';
    } else if (
      c === 36 &&
      !wordCharBefore(text, i) &&
      (value = matchAt(CASHTAG_RE, text, i)) !== undefined
    ) {
      kind = 'cashtag';
    } else if (
      EMOTICON_START.has(c) &&
      !(i > 0 && LETTER_OR_DIGIT.test(text[i - 1] ?? '') && text.charCodeAt(i - 1) !== 95) &&
      (value = matchAt(EMOTICON_RE, text, i)) !== undefined
    ) {
      kind = 'emoticon';
    } else if (
      isAsciiLetter(c) ||
      (c >= 128 && (value = matchAt(WORD_RE, text, i)) !== undefined)
    ) {
      if (value === undefined) {
        // ASCII fast path: letters, digits, underscore, then apostrophe parts.
        let j = i + 1;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (isAsciiLetter(d) || isAsciiDigit(d) || d === 95) j++;
          else if ((d === 39 || d === 0x2019) && j + 1 < n && isAsciiLetter(text.charCodeAt(j + 1)))
            j += 2;
          else break;
        }
        value = j < n && text.charCodeAt(j) >= 128 ? matchAt(WORD_RE, text, i) : text.slice(i, j);
      }
      kind = 'word';
    } else if (
      (isAsciiDigit(c) || c === 35 || c === 42 || c >= 128) &&
      (value = matchAt(EMOJI_RE, text, i)) !== undefined
    ) {
      kind = 'emoji';
    } else if (
      (isAsciiDigit(c) || c >= 128) &&
      (value = matchAt(NUMBER_RE, text, i)) !== undefined
    ) {
      kind = 'number';
    } else if ((value = matchAt(PUNCT_RE, text, i)) !== undefined) {
      kind = 'punct';
    }
    if (kind === undefined || value === undefined || value === '') {
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
      continue;
    }
    let norm = value;
    if (kind === 'word' || kind === 'hashtag') {
      norm = (kind === 'hashtag' ? value.slice(1) : value).toLowerCase();
      if (norm.includes('\u2019')) norm = norm.replaceAll('\u2019', "'");
    }
    tokens.push({ kind, text: value, start: i, norm });
    i += value.length;
  }
  return tokens;
}

/**
 * "soooo" → "soo": runs of 3+ identical characters collapse to `keep` of them (elongation); runs
 * of 1 or 2 stay as written ("soooo" with keep 1 → "so", "coool" → "col", "cool" → "cool").
 */
export function squashElongation(word: string, keep: 1 | 2 = 2): string {
  // Most words have no run of three: check before building anything.
  let found = false;
  for (let i = 2; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c === word.charCodeAt(i - 1) && c === word.charCodeAt(i - 2)) {
      found = true;
      break;
    }
  }
  if (!found) return word;
  let out = '';
  let runStart = 0;
  for (let i = 1; i <= word.length; i++) {
    if (i < word.length && word.charCodeAt(i) === word.charCodeAt(runStart)) continue;
    out += i - runStart >= 3 ? word.slice(runStart, runStart + keep) : word.slice(runStart, i);
    runStart = i;
  }
  return out;
}
