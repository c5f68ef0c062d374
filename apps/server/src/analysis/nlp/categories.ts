/**
 * User-defined categories: each rule lists keywords (words or phrases of up to 5 tokens) and
 * hashtags; a post is in a category when any of them occurs. Rules compile into one map from
 * term to categories, so matching is one lookup per token n-gram, whatever the number of rules.
 *
 * Keywords are split by the same tokenizer as posts, so that they compare token by token
 * ("covid-19", "AT&T", "U.S.", 🔥) and a keyword never matches inside a word ("art" is not in
 * "start"). Both sides are folded the same way: lower case, Latin accents removed ("café",
 * "cafe" and a decomposed "café" are one word), a possessive 's dropped ("Tesla's").
 * "Straße" and "STRASSE" are one word too (ß folds to ss, as full case folding does).
 * Phrases are runs of words, numbers, cashtags and emoji; punctuation, links, @mentions and
 * emoticons between them are skipped, as before keywords were tokenized, but a phrase never
 * runs across the end of a sentence (. ! ? followed by a space, 。！？, a line break): "the
 * customer. Service was slow" is no "customer service". A keyword that is one @mention matches
 * that mention. A keyword in a script written without spaces (Han, kana, Thai, Lao, Khmer,
 * Myanmar) matches anywhere inside a run of such letters, since the tokenizer gives a whole
 * clause there as one word ("咖啡" in "我喜欢咖啡"). Keywords that can never match (links,
 * emoticons, more than 5 words, across a sentence end, nothing left once normalised) and
 * hashtags that no post can contain are what `ruleProblems` reports, so that callers refuse
 * them rather than store rules that silently match nothing.
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

/** Longest keyword phrase, in tokens: the n-grams looked up per post stop there. */
export const MAX_PHRASE = 5;

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
    // ß and ς are what full case folding adds to toLowerCase here: "STRASSE" lowers to
    // "strasse" but "Straße" keeps its ß, and a word-final sigma is a σ in another position.
    folded = word
      .normalize('NFD')
      .replace(LATIN_MARKS, '$1')
      .normalize('NFC')
      .replaceAll('ß', 'ss')
      .replaceAll('ς', 'σ');
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

// Terminators that end a sentence when a space (or the end) follows: "node.js", "3.5" and
// "yahoo!inc" are words, not sentence ends.
const SENTENCE_END = /[.!?\u2026\u203c\u2047-\u2049]/;
// Full-width terminators end a sentence with no space after: CJK text has none.
const WIDE_SENTENCE_END = /[\u3002\uff01\uff0e\uff1f\uff61]/;
// A period after these (or after a single letter: "U.S.", "e.g.") abbreviates, so "Dr. Smith"
// stays one phrase.
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'st', 'vs', 'jr', 'sr', 'prof', 'inc']);
const CLOSER_CODES = new Set([...')]}"\'\u2019\u201d\u00bb'].map((c) => c.charCodeAt(0)));

/** Whether punctuation token `tokens[i]` ends a sentence. */
function endsSentence(tokens: readonly Token[], i: number, text: string): boolean {
  const t = tokens[i];
  if (t === undefined) return false;
  if (WIDE_SENTENCE_END.test(t.text)) return true;
  if (!SENTENCE_END.test(t.text)) return false;
  let j = t.start + t.text.length;
  while (j < text.length && CLOSER_CODES.has(text.charCodeAt(j))) j++;
  if (j < text.length && !isSpace(text.charCodeAt(j))) return false;
  const prev = tokens[i - 1];
  return !(
    t.text === '.' &&
    prev?.kind === 'word' &&
    prev.start + prev.text.length === t.start &&
    (prev.text.length === 1 || ABBREVIATIONS.has(prev.norm))
  );
}

/** Whether the text the tokenizer skipped between two tokens ends a sentence (a line break, 。). */
function gapEndsSentence(text: string, from: number, to: number): boolean {
  for (let j = from; j < to; j++) {
    const c = text.charCodeAt(j);
    if (
      c === 10 ||
      c === 13 ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x3002 ||
      c === 0xff01 ||
      c === 0xff0e ||
      c === 0xff1f ||
      c === 0xff61
    )
      return true;
  }
  return false;
}

// Scripts written without spaces: the tokenizer gives a whole clause there as one word, so a
// keyword in them is looked for inside such words. Script_Extensions, so that the kana length
// mark ー (Common) stays inside "コーヒー".
const UNSPACED = String.raw`\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}`;
const UNSPACED_WORD = new RegExp(`^[${UNSPACED}]+$`, 'u');
const UNSPACED_RUN = new RegExp(`[${UNSPACED}]+`, 'gu');
/** The first code unit of the first unspaced script (Thai): words below it need no scan. */
const FIRST_UNSPACED = 0x0e00;

function hasUnspaced(word: string): boolean {
  for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) >= FIRST_UNSPACED) return true;
  return false;
}

function normalizeHashtag(tag: string): string {
  return fold(
    tag
      .trim()
      .replace(/^[#\uFF03]/, '')
      .toLowerCase(),
  );
}

/** Why a hashtag of a rule can never match a post's hashtag, or undefined when it can. */
function hashtagProblem(tag: string): string | undefined {
  const norm = normalizeHashtag(tag);
  if (norm === '') return 'is empty';
  if (/\s/u.test(norm)) {
    return `contains a space, and a hashtag ends at a space (write #${norm.replace(/\s+/gu, '')})`;
  }
  const tokens = tokenize(`#${norm}`);
  const only = tokens.length === 1 ? tokens[0] : undefined;
  if (only?.kind !== 'hashtag' || fold(only.norm) !== norm) {
    return 'is not a hashtag a post can contain (letters, digits and _, with at least one letter)';
  }
  return undefined;
}

interface KeywordKey {
  /** '' when the keyword can match nothing. */
  key: string;
  glued: boolean;
  /** Why the key is '' (for ruleProblems). */
  problem?: string;
}

const never = (problem: string): KeywordKey => ({ key: '', glued: false, problem });

/** The key a keyword is stored under, and whether it has glued symbols. */
function keywordKey(keyword: string): KeywordKey {
  const tokens = tokenize(keyword);
  const words = tokens.filter((t) => t.kind !== 'punct');
  const only = words.length === 1 ? words[0] : undefined;
  if (only?.kind === 'hashtag') return { key: fold(only.norm), glued: false };
  if (only?.kind === 'mention') return { key: only.text.toLowerCase(), glued: false };
  const keys: string[] = [];
  const glued: string[] = [];
  let pendingBreak = false;
  let broken = false;
  let prevEnd = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === undefined) continue;
    if (gapEndsSentence(keyword, prevEnd, t.start)) pendingBreak = true;
    prevEnd = t.start + t.text.length;
    if (t.kind === 'punct') {
      if (endsSentence(tokens, i, keyword)) pendingBreak = true;
      continue;
    }
    const key = phraseKey(t);
    if (key === undefined || key === '') {
      switch (t.kind) {
        case 'url':
          return never('contains a link, and links are not matched as words');
        case 'emoticon':
          return never(`contains the emoticon ${t.text}, and emoticons are not matched as words`);
        case 'mention':
          return never(
            'has an @mention among other words: a keyword may be one @mention, or words',
          );
        case 'hashtag':
          return never(
            'has a #hashtag among other words: a keyword may be one hashtag, or words (or list it under hashtags)',
          );
        default:
          return never(`has a part (${t.text}) that matches nothing`);
      }
    }
    if (pendingBreak && keys.length > 0) broken = true;
    pendingBreak = false;
    keys.push(key);
    glued.push(gluedAfter(keyword, t, tokens[i + 1]?.start ?? keyword.length));
  }
  if (keys.length === 0) return never('has no words once normalised (only punctuation or symbols)');
  if (keys.length > MAX_PHRASE) {
    return never(`has ${keys.length} words, and phrases match up to ${MAX_PHRASE}`);
  }
  if (broken) {
    return never('runs across a sentence end (. ! ? or a line break), which phrases never do');
  }
  const hasGlued = glued.some((g) => g !== '');
  return {
    key: hasGlued ? keys.map((k, i) => k + (glued[i] ?? '')).join(' ') : keys.join(' '),
    glued: hasGlued,
  };
}

export interface RuleProblem {
  /** The rule's position in the list, and its id. */
  ruleIndex: number;
  ruleId: string;
  field: 'keywords' | 'hashtags';
  /** The term's position in `field`, and the term as given. */
  index: number;
  term: string;
  reason: string;
  /** The whole problem in words, naming the rule, the term and the reason. */
  message: string;
}

/**
 * The keywords and hashtags of `rules` that can never match a post, each with why. They are
 * judged by the normalisation the matcher itself uses, so that the check and the matching
 * cannot disagree.
 */
export function ruleProblems(rules: readonly CategoryRule[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  rules.forEach((rule, ruleIndex) => {
    const report = (field: RuleProblem['field'], index: number, term: string, reason: string) =>
      problems.push({
        ruleIndex,
        ruleId: rule.id,
        field,
        index,
        term,
        reason,
        message: `category ${JSON.stringify(rule.id)}: ${field === 'keywords' ? 'keyword' : 'hashtag'} ${JSON.stringify(term)} ${reason}`,
      });
    (rule.keywords ?? []).forEach((k, i) => {
      const problem = keywordKey(k).problem;
      if (problem !== undefined) report('keywords', i, k, problem);
    });
    (rule.hashtags ?? []).forEach((h, i) => {
      const problem = hashtagProblem(h);
      if (problem !== undefined) report('hashtags', i, h, problem);
    });
  });
  return problems;
}

function addAll(found: Set<string>, ids: readonly string[] | undefined): void {
  if (ids !== undefined) for (const id of ids) found.add(id);
}

export function createCategoryMatcher(rules: readonly CategoryRule[]): CategoryMatcher {
  const byTerm = new Map<string, string[]>();
  const byTag = new Map<string, string[]>();
  // Keywords in unspaced scripts, also looked for inside words; by their lengths, so that a
  // run of text costs one lookup per position and length, whatever the number of keywords.
  const bySubstring = new Map<string, string[]>();
  const substringLengths = new Set<number>();
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
      if (key !== '' && UNSPACED_WORD.test(key)) {
        add(bySubstring, key, rule.id);
        substringLengths.add(key.length);
      }
    }
    for (const h of rule.hashtags ?? []) add(byTag, normalizeHashtag(h), rule.id);
  }
  const lengths = [...substringLengths].sort((a, b) => a - b);
  const order = new Map(rules.map((r, i) => [r.id, i]));
  const matchInside = (found: Set<string>, word: string): void => {
    UNSPACED_RUN.lastIndex = 0;
    for (let m = UNSPACED_RUN.exec(word); m !== null; m = UNSPACED_RUN.exec(word)) {
      const run = m[0];
      for (const len of lengths) {
        if (len > run.length) break;
        for (let s = 0; s + len <= run.length; s++)
          addAll(found, bySubstring.get(run.slice(s, s + len)));
      }
    }
  };
  // Reused between posts: matching allocates only the phrases it looks up.
  const keys: string[] = [];
  const glued: string[] = [];
  // breaks[i]: a sentence ends between keys[i - 1] and keys[i].
  const breaks: boolean[] = [];
  return {
    match(tokens, text) {
      if (byTerm.size === 0 && byTag.size === 0) return [];
      const found = new Set<string>();
      keys.length = 0;
      glued.length = 0;
      breaks.length = 0;
      let pendingBreak = false;
      let prevEnd = 0;
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i];
        if (t === undefined) continue;
        if (t.start > prevEnd && gapEndsSentence(text, prevEnd, t.start)) pendingBreak = true;
        prevEnd = t.start + t.text.length;
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
        if (t.kind === 'punct') {
          if (endsSentence(tokens, i, text)) pendingBreak = true;
          continue;
        }
        const key = phraseKey(t);
        if (key === undefined) continue;
        if (t.kind === 'word' && bySubstring.size > 0 && hasUnspaced(key)) matchInside(found, key);
        keys.push(key);
        breaks.push(pendingBreak);
        pendingBreak = false;
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
          if (n > 0 && breaks[i + n] === true) break;
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
