/**
 * Features of the trained sentiment model: hashed word unigrams and bigrams (with negation
 * scope marked, Pang et al. 2002), hashed character 3–5-grams of words, emoji, emoticons,
 * hashtags (also as words), and a few dense features from VADER's lexicon (positive and
 * negative valence sums after negation, exclamation, question, ALL CAPS, elongation).
 *
 * The same code builds features for training (training/) and for inference, so they cannot
 * drift apart. Features are written into a reusable buffer: no per-post allocation beyond
 * the tokenizer's.
 */
import { squashElongation, tokenize, type Token } from '../nlp/tokenize.js';

export const DENSE_FEATURES = [
  'bias',
  'lexicon_positive',
  'lexicon_negative',
  'lexicon_positive_count',
  'lexicon_negative_count',
  'exclamation',
  'question',
  'all_caps',
  'elongated',
  'last_valence',
  'emoji_positive',
  'emoji_negative',
  'negation',
] as const;

/**
 * With `FeatureSpace.interactions`: negation scope × lexicon valence (positive and negative
 * words inside a negation scope, counted apart from the flipped valence sums) and the
 * valence after the last "but" (VADER's contrast rule), appended after DENSE_FEATURES.
 */
export const INTERACTION_FEATURES = ['negated_positive', 'negated_negative', 'after_but'] as const;

export interface FeatureSpace {
  /** log2 of the number of hashed buckets. */
  hashBits: number;
  /** Include character 3–5-grams of words. */
  charNgrams: boolean;
  /** Include INTERACTION_FEATURES (absent in older model files: false). */
  interactions?: boolean;
}

/** Names of the dense features of a space, in weight-row order after the hashed buckets. */
export function denseFeatures(space: FeatureSpace): readonly string[] {
  return space.interactions === true
    ? [...DENSE_FEATURES, ...INTERACTION_FEATURES]
    : DENSE_FEATURES;
}

export interface LexiconLookup {
  /** Valence of a lower-case word or emoticon (VADER lexicon), or undefined. */
  valence(lowerCaseWord: string): number | undefined;
  /** Valence of an emoji (from its VADER description), 0 when unknown. */
  emojiValence(emoji: string): number;
}

/**
 * A sparse feature vector: `count` (index, value) pairs; indices may repeat (they add up).
 * With `deferWords`, each word's (and hashtag's) unigram and character n-grams are not
 * pushed: the word is listed in `words` with `wordFlags` (WORD_NEGATED: its unigram is the
 * negation-scope one; WORD_CHARS: its character n-grams count), and inference adds the word's
 * cached scores instead (see sentiment-model.ts): one lookup per word instead of ~16 rows.
 */
export interface FeatureBuffer {
  indices: Int32Array;
  values: Float32Array;
  count: number;
  words: WordInfo[];
  wordFlags: Uint8Array;
  wordCount: number;
}

export const WORD_NEGATED = 1;
export const WORD_CHARS = 2;

export function createFeatureBuffer(capacity = 4096): FeatureBuffer {
  return {
    indices: new Int32Array(capacity),
    values: new Float32Array(capacity),
    count: 0,
    words: [],
    wordFlags: new Uint8Array(capacity),
    wordCount: 0,
  };
}

/** Weight of each character n-gram feature. */
export const CHAR_NGRAM_VALUE = 0.5;
/** At most this many words of a post get character n-grams (a huge text keeps its first). */
const MAX_CHAR_WORDS = 512;

/**
 * Calls `emit` with the hashed bucket of every character 3–5-gram of " word " (with
 * boundaries), by rolling FNV-1a; words shorter than 3 characters have none.
 */
export function forEachCharNgram(norm: string, mask: number, emit: (index: number) => void): void {
  if (norm.length < 3) return;
  const n = norm.length + 2;
  const at = (q: number): number => (q === 0 || q === n - 1 ? 32 : norm.charCodeAt(q - 1));
  for (let p = 0; p < n - 2; p++) {
    let h = (0x811c9dc5 ^ SALT_CHAR) >>> 0;
    for (let q = p; q < n && q < p + 5; q++) {
      h ^= at(q);
      h = Math.imul(h, 0x01000193);
      if (q - p >= 2) emit((h >>> 0) & mask);
    }
  }
}

/** Number of weight rows: hashed buckets followed by the dense features. */
export function featureCount(space: FeatureSpace): number {
  return (1 << space.hashBits) + denseFeatures(space).length;
}

const NEGATORS = new Set([
  'not', 'no', 'never', 'none', 'nobody', 'nothing', 'nowhere', 'neither', 'nor', 'cannot',
  'without', 'aint', 'arent', 'cant', 'couldnt', 'didnt', 'doesnt', 'dont', 'hadnt', 'hasnt',
  'havent', 'isnt', 'mightnt', 'mustnt', 'neednt', 'shouldnt', 'wasnt', 'werent', 'wont',
  'wouldnt', 'nope', 'nah', 'rarely', 'seldom', 'hardly', 'barely',
]); // prettier-ignore

const SALT_WORD = 0x9e3779b1;
const SALT_NEG = 0x85ebca6b;
const SALT_BIGRAM = 0xc2b2ae35;
const SALT_CHAR = 0x27d4eb2f;
const SALT_EMOJI = 0x165667b1;
const SALT_TAG = 0xd3a2646c;
/** Salt of the hashed training vocabulary (see SentimentModel.knowsWord). */
export const SALT_VOCABULARY = 0x5bd1e995;

export function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ (b >>> 15), 0x2c1b3c6d) ^ b;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

function scaleValence(sum: number): number {
  return sum / (Math.abs(sum) + 4);
}

function isNegator(norm: string): boolean {
  return NEGATORS.has(norm) || norm.endsWith("n't");
}

/** What the features need of a word (lower case, as tokenized); cached per lexicon. */
export interface WordInfo {
  /**
   * Its slot in the bounded cache (0 ≤ id < WORD_CACHE_SIZE); slots are reused after the
   * cache is emptied, so whoever keys data by id must also check the object.
   */
  id: number;
  /** Elongation squashed ("soooo" → "soo"). */
  norm: string;
  elongated: boolean;
  negator: boolean;
  hash: number;
  valence: number | undefined;
}

export const WORD_CACHE_SIZE = 65_536;
/**
 * The per-lexicon word cache: open addressing over WORD_CACHE_SIZE × 2 slots, keyed by the
 * word's FNV-1a hash computed here. A Map keyed by the word costs about twice as much per
 * lookup, because each token's string is new and V8 hashes it in a runtime call; this was
 * ~20% of the model's time.
 */
interface WordTable {
  keys: (string | undefined)[];
  infos: (WordInfo | undefined)[];
  size: number;
}

const TABLE_SLOTS = WORD_CACHE_SIZE * 2;
const wordTables = new WeakMap<LexiconLookup, WordTable>();

function wordTable(lexicon: LexiconLookup): WordTable {
  let table = wordTables.get(lexicon);
  if (table === undefined) {
    table = {
      keys: new Array<string | undefined>(TABLE_SLOTS).fill(undefined),
      infos: new Array<WordInfo | undefined>(TABLE_SLOTS).fill(undefined),
      size: 0,
    };
    wordTables.set(lexicon, table);
  }
  return table;
}

/** The same result as computing it afresh; the cache (bounded, emptied when full) only saves time. */
function wordInfo(lower: string, lexicon: LexiconLookup, table: WordTable): WordInfo {
  let h = 0x811c9dc5;
  for (let i = 0; i < lower.length; i++) {
    h ^= lower.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  const mask = TABLE_SLOTS - 1;
  let slot = h & mask;
  for (let key = table.keys[slot]; key !== undefined; key = table.keys[slot]) {
    if (key === lower) {
      const cached = table.infos[slot];
      if (cached !== undefined) return cached;
    }
    slot = (slot + 1) & mask;
  }
  const norm = squashElongation(lower);
  const elongated = norm !== lower;
  const negator = isNegator(norm);
  let valence: number | undefined;
  if (!negator) {
    valence = lexicon.valence(norm);
    if (valence === undefined && elongated)
      valence = lexicon.valence(squashElongation(norm).replace(/(.)\1/g, '$1'));
  }
  if (table.size >= WORD_CACHE_SIZE) {
    table.keys.fill(undefined);
    table.infos.fill(undefined);
    table.size = 0;
    slot = h & mask;
  }
  const id = table.size++;
  const info: WordInfo = { id, norm, elongated, negator, hash: fnv1a(norm, SALT_WORD), valence };
  table.keys[slot] = lower;
  table.infos[slot] = info;
  return info;
}

/** `word === word.toUpperCase()` without building the upper-case copy for ASCII words. */
function isUpperCase(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c >= 128) return word === word.toUpperCase();
    if (c >= 97 && c <= 122) return false;
  }
  return true;
}

const EMOJI_HASHES = new Map<string, number>();

/** The hashed feature of an emoji, cached (bounded): skin tones and variation selectors do not change the sentiment. */
function emojiHash(emoji: string): number {
  const cached = EMOJI_HASHES.get(emoji);
  if (cached !== undefined) return cached;
  const h = fnv1a(emoji.replace(/\uFE0F|[\u{1F3FB}-\u{1F3FF}]/gu, ''), SALT_EMOJI);
  if (EMOJI_HASHES.size < 10_000) EMOJI_HASHES.set(emoji, h);
  return h;
}

const HASH_URL = fnv1a('<url>', SALT_WORD);
const HASH_USER = fnv1a('<user>', SALT_WORD);
const HASH_NUM = fnv1a('<num>', SALT_WORD);
const HASH_CASHTAG = fnv1a('<cashtag>', SALT_WORD);
const HASH_START = fnv1a('<s>', SALT_WORD);
const HASH_END = fnv1a('</s>', SALT_WORD);

const DENSE_SCRATCH = new Float32Array(DENSE_FEATURES.length + INTERACTION_FEATURES.length);

function push(out: FeatureBuffer, index: number, value = 1): void {
  if (out.count >= out.indices.length) return; // a huge text keeps its first features
  out.indices[out.count] = index;
  out.values[out.count] = value;
  out.count++;
}

/** The hashed unigram of a word (in a negation scope or not), before masking. */
export function unigramHash(info: WordInfo, negated: boolean): number {
  return negated ? mix(info.hash, SALT_NEG) : info.hash;
}

/**
 * Writes the features of `text` into `out` (reset first). Never throws. Pass `tokens` when
 * already tokenized; `deferWords`: see FeatureBuffer (inference only).
 */
export function extractFeatures(
  text: string,
  space: FeatureSpace,
  lexicon: LexiconLookup,
  out: FeatureBuffer,
  tokens: readonly Token[] = tokenize(text),
  deferWords = false,
): void {
  out.count = 0;
  out.wordCount = 0;
  const mask = (1 << space.hashBits) - 1;
  // Looked up once per post, not per word (a WeakMap lookup per word cost ~5% of the analysis).
  const cache = wordTable(lexicon);

  const dense = DENSE_SCRATCH;
  dense.fill(0);
  dense[0] = 1;

  let negated = false;
  let prevHash = HASH_START;
  let lastValence = 0;
  let allCaps = false;
  let elongatedAny = false;
  let charWords = 0;
  let afterBut = false;
  let butValence = 0;

  for (const token of tokens) {
    let wordHash: number | undefined;
    let word: WordInfo | undefined;
    let withChars = false;
    switch (token.kind) {
      case 'url':
        wordHash = HASH_URL;
        break;
      case 'mention':
        wordHash = HASH_USER;
        break;
      case 'number':
        wordHash = HASH_NUM;
        break;
      case 'cashtag':
        wordHash = HASH_CASHTAG;
        break;
      case 'punct': {
        const p = token.text;
        if (p.includes('!')) dense[5] = 1;
        if (p.includes('?')) dense[6] = 1;
        negated = false;
        wordHash = fnv1a(p.length > 3 ? p.slice(0, 3) : p, SALT_WORD);
        break;
      }
      case 'emoji': {
        const v = lexicon.emojiValence(token.text);
        if (v > 0) dense[10] = (dense[10] ?? 0) + v;
        else if (v < 0) dense[11] = (dense[11] ?? 0) - v;
        if (v !== 0) lastValence = v;
        wordHash = emojiHash(token.text);
        break;
      }
      case 'emoticon': {
        const v = lexicon.valence(token.text.toLowerCase());
        if (v !== undefined) {
          if (v > 0) dense[10] = (dense[10] ?? 0) + v;
          else dense[11] = (dense[11] ?? 0) - v;
          lastValence = v;
        }
        wordHash = fnv1a(token.text.toLowerCase(), SALT_EMOJI);
        break;
      }
      case 'hashtag':
      case 'word': {
        const raw = token.kind === 'hashtag' ? token.text.slice(1) : token.text;
        const first = raw.charCodeAt(0);
        if (!allCaps && raw.length >= 3 && first >= 65 && first <= 90 && isUpperCase(raw))
          allCaps = true;
        const info = wordInfo(token.norm, lexicon, cache);
        const norm = info.norm;
        if (info.elongated) elongatedAny = true;
        if (token.kind === 'hashtag') push(out, mask & fnv1a(norm, SALT_TAG));
        word = info;
        if (info.negator) {
          negated = true;
          dense[12] = 1;
          wordHash = info.hash;
          break;
        }
        if (norm === 'but') {
          afterBut = true;
          butValence = 0;
        }
        const v = info.valence;
        if (v !== undefined && v !== 0) {
          const effective = negated ? -0.74 * v : v;
          if (negated) {
            if (v > 0) dense[13] = (dense[13] ?? 0) + 1;
            else dense[14] = (dense[14] ?? 0) + 1;
          }
          if (afterBut) butValence += effective;
          if (effective > 0) {
            dense[1] = (dense[1] ?? 0) + effective;
            dense[3] = (dense[3] ?? 0) + 1;
          } else {
            dense[2] = (dense[2] ?? 0) - effective;
            dense[4] = (dense[4] ?? 0) + 1;
          }
          lastValence = effective;
        }
        wordHash = info.hash;
        if (space.charNgrams && norm.length >= 3 && charWords < MAX_CHAR_WORDS) {
          withChars = true;
          charWords++;
          if (!deferWords)
            forEachCharNgram(norm, mask, (index) => push(out, index, CHAR_NGRAM_VALUE));
        }
        break;
      }
    }
    if (wordHash === undefined) continue;
    const negatedWord = negated && token.kind === 'word';
    if (word !== undefined && deferWords) {
      // A huge text keeps its first words, as push keeps its first features.
      if (out.wordCount < out.wordFlags.length) {
        out.words[out.wordCount] = word;
        out.wordFlags[out.wordCount] =
          (negatedWord ? WORD_NEGATED : 0) | (withChars ? WORD_CHARS : 0);
        out.wordCount++;
      }
    } else {
      push(out, mask & (negatedWord ? mix(wordHash, SALT_NEG) : wordHash));
    }
    push(out, mask & mix(mix(prevHash, SALT_BIGRAM), wordHash));
    prevHash = wordHash;
  }
  push(out, mask & mix(mix(prevHash, SALT_BIGRAM), HASH_END));

  dense[1] = scaleValence(dense[1] ?? 0);
  dense[2] = scaleValence(dense[2] ?? 0);
  dense[3] = Math.log1p(dense[3] ?? 0);
  dense[4] = Math.log1p(dense[4] ?? 0);
  dense[7] = allCaps ? 1 : 0;
  dense[8] = elongatedAny ? 1 : 0;
  dense[9] = scaleValence(lastValence);
  dense[10] = scaleValence(dense[10] ?? 0);
  dense[11] = scaleValence(dense[11] ?? 0);
  const denseCount =
    space.interactions === true
      ? DENSE_FEATURES.length + INTERACTION_FEATURES.length
      : DENSE_FEATURES.length;
  if (space.interactions === true) {
    dense[13] = Math.log1p(dense[13] ?? 0);
    dense[14] = Math.log1p(dense[14] ?? 0);
    dense[15] = scaleValence(butValence);
  }
  const base = mask + 1;
  // Dense features go last, so they survive the capacity cut on a huge text.
  out.count = Math.min(out.count, out.indices.length - denseCount);
  for (let k = 0; k < denseCount; k++) {
    const value = dense[k] ?? 0;
    if (value !== 0) push(out, base + k, value);
  }
}
