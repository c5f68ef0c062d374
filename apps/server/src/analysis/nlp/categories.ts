/**
 * User-defined categories: each rule lists keywords (words or phrases of up to 5 tokens) and
 * hashtags; a post is in a category when any of them occurs. Rules compile into one map from
 * term to categories, so matching is one lookup per token n-gram, whatever the number of rules.
 *
 * Keywords are split by the same tokenizer as posts, so that they compare token by token
 * ("covid-19", "AT&T", "U.S.", 🔥) and a keyword never matches inside a word ("art" is not in
 * "start"). Both sides are folded the same way: lower case, Latin accents removed ("café",
 * "cafe" and a decomposed "café" are one word), a possessive 's dropped ("Tesla's").
 * Phrases are runs of words, numbers, cashtags and emoji; punctuation, links, @mentions and
 * emoticons between them are skipped, as before keywords were tokenized. A keyword that is one
 * @mention matches that mention; keywords with links or emoticons match nothing.
 */
import { squashElongation, tokenize, type Token } from './tokenize.js';

export interface CategoryRule {
  /** Stable id or name reported in results. */
  id: string;
  keywords?: readonly string[];
  /** With or without '#'. */
  hashtags?: readonly string[];
}

export interface CategoryMatcher {
  /** `text`: the text `tokens` were made from (symbols between tokens, as in "c++", are read there). */
  match(tokens: readonly Token[], text: string): string[];
}

const MAX_PHRASE = 5;

const LATIN_MARKS = /(\p{Script=Latin})[\u0300-\u036f]+/gu;
const FOLD_CACHE_LIMIT = 20_000;
const foldCache = new Map<string, string>();

/** Latin letters without their accents, composed (NFC); other scripts keep their marks. */
function fold(word: string): string {
  let ascii = true;
  for (let i = 0; i < word.length; i++) {
    if (word.charCodeAt(i) >= 128) {
      ascii = false;
      break;
    }
  }
  if (ascii) return word;
  let folded = foldCache.get(word);
  if (folded === undefined) {
    folded = word.normalize('NFD').replace(LATIN_MARKS, '$1').normalize('NFC');
    if (foldCache.size >= FOLD_CACHE_LIMIT) foldCache.clear();
    foldCache.set(word, folded);
  }
  return folded;
}

/** Emoji compare without presentation selectors and skin tones (👍🏽 is 👍). */
const EMOJI_VARIANTS = /[\uFE0E\uFE0F]|\p{Emoji_Modifier}/gu;

/** The key of a token that can be part of a phrase, else undefined. */
function phraseKey(t: Token): string | undefined {
  switch (t.kind) {
    case 'word': {
      const w = fold(t.norm);
      return w.length > 2 && w.endsWith("'s") ? w.slice(0, -2) : w;
    }
    case 'number':
    case 'cashtag':
      return t.text.toLowerCase();
    case 'emoji':
      // One code point (two UTF-16 units) has no selector or modifier to remove.
      return t.text.length <= 2 ? t.text : t.text.replace(EMOJI_VARIANTS, '');
    default:
      return undefined;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c >= 128 && /\s/.test(String.fromCharCode(c)));
}

// Closing brackets and quotes end a phrase ("(c++)"), they are not part of it.
const CLOSERS = /[)\]}"'\u2019\u201d\u00bb]+$/u;

/**
 * The characters the tokenizer skipped (symbols such as + & - /) glued to the end of a token,
 * up to the next token or space: "c++" must not match a lone "c", nor "AT&T" the words
 * "at t". A keyword with such symbols is stored with each token's ("c++", "at& t",
 * "covid- 19"); a post's n-grams are looked up both with and without them, so that "covid"
 * still matches "covid-19".
 */
function gluedAfter(text: string, t: Token, nextStart: number): string {
  const end = t.start + t.text.length;
  let j = end;
  while (j < nextStart && !isSpace(text.charCodeAt(j))) j++;
  return j === end ? '' : text.slice(end, j).replace(CLOSERS, '');
}

function normalizeHashtag(tag: string): string {
  return fold(
    tag
      .trim()
      .replace(/^[#\uFF03]/, '')
      .toLowerCase(),
  );
}

/** The key a keyword is stored under ('' when it can match nothing), and whether it has glued symbols. */
function keywordKey(keyword: string): { key: string; glued: boolean } {
  const tokens = tokenize(keyword);
  const words = tokens.filter((t) => t.kind !== 'punct');
  const only = words.length === 1 ? words[0] : undefined;
  if (only?.kind === 'hashtag') return { key: fold(only.norm), glued: false };
  if (only?.kind === 'mention') return { key: only.text.toLowerCase(), glued: false };
  const keys: string[] = [];
  const glued: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === undefined || t.kind === 'punct') continue;
    const key = phraseKey(t);
    if (key === undefined || key === '') return { key: '', glued: false };
    keys.push(key);
    glued.push(gluedAfter(keyword, t, tokens[i + 1]?.start ?? keyword.length));
  }
  if (keys.length > MAX_PHRASE) return { key: '', glued: false };
  const hasGlued = glued.some((g) => g !== '');
  return {
    key: hasGlued ? keys.map((k, i) => k + (glued[i] ?? '')).join(' ') : keys.join(' '),
    glued: hasGlued,
  };
}

function addAll(found: Set<string>, ids: readonly string[] | undefined): void {
  if (ids !== undefined) for (const id of ids) found.add(id);
}

export function createCategoryMatcher(rules: readonly CategoryRule[]): CategoryMatcher {
  const byTerm = new Map<string, string[]>();
  const byTag = new Map<string, string[]>();
  let anyGlued = false;
  const add = (map: Map<string, string[]>, key: string, id: string): void => {
    if (key === '') return;
    const list = map.get(key);
    if (list === undefined) map.set(key, [id]);
    else if (!list.includes(id)) list.push(id);
  };
  for (const rule of rules) {
    for (const k of rule.keywords ?? []) {
      const { key, glued } = keywordKey(k);
      if (glued) anyGlued = true;
      add(byTerm, key, rule.id);
    }
    for (const h of rule.hashtags ?? []) add(byTag, normalizeHashtag(h), rule.id);
  }
  const order = new Map(rules.map((r, i) => [r.id, i]));
  // Reused between posts: matching allocates only the phrases it looks up.
  const keys: string[] = [];
  const glued: string[] = [];
  return {
    match(tokens, text) {
      if (byTerm.size === 0 && byTag.size === 0) return [];
      const found = new Set<string>();
      keys.length = 0;
      glued.length = 0;
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i];
        if (t === undefined) continue;
        if (t.kind === 'hashtag') {
          const tag = fold(t.norm);
          addAll(found, byTag.get(tag));
          addAll(found, byTerm.get(tag));
          continue;
        }
        if (t.kind === 'mention') {
          addAll(found, byTerm.get(t.text.toLowerCase()));
          continue;
        }
        const key = phraseKey(t);
        if (key === undefined) continue;
        keys.push(key);
        if (anyGlued) {
          const next = tokens[i + 1]?.start ?? text.length;
          glued.push(next > t.start + t.text.length ? gluedAfter(text, t, next) : '');
        }
      }
      for (let i = 0; i < keys.length; i++) {
        let phrase = '';
        // The n-gram with each token's glued symbols but the last one's (see gluedAfter).
        let gluedPhrase = '';
        let hasGlued = false;
        for (let n = 0; n < MAX_PHRASE && i + n < keys.length; n++) {
          const key = keys[i + n] ?? '';
          if (n === 0) {
            phrase = key;
            const squashed = squashElongation(key);
            if (squashed !== key) addAll(found, byTerm.get(squashed));
          } else {
            phrase = `${phrase} ${key}`;
          }
          addAll(found, byTerm.get(phrase));
          if (!anyGlued) continue;
          const before = n === 0 ? '' : (glued[i + n - 1] ?? '');
          if (before !== '') hasGlued = true;
          gluedPhrase = !hasGlued ? phrase : `${gluedPhrase}${before} ${key}`;
          if (hasGlued) addAll(found, byTerm.get(gluedPhrase));
          const after = glued[i + n] ?? '';
          if (after !== '') addAll(found, byTerm.get(gluedPhrase + after));
        }
      }
      return [...found].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    },
  };
}
