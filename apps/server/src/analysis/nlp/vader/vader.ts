/**
 * VADER (Hutto & Gilbert, 2014), a faithful TypeScript port of the reference Python
 * `vaderSentiment.py` (cjhutto/vaderSentiment, MIT). Every rule of the reference is kept,
 * including its quirks (for example `_but_check` rescaling the *first* equal score, or a
 * zero-valence ALL-CAPS lexicon word becoming negative), because the point of this engine is
 * to agree with the reference to 0.001 on the compound score. Python string semantics that
 * matter (`str.split()` / `str.strip()` whitespace, `str.isupper()`, `string.punctuation`,
 * code-point iteration, `round()`) are reproduced by the helpers at the end of this file.
 *
 * Pure: the lexicons are passed in as text (see `vader-lexicons.ts` for the shipped copy).
 */

export interface VaderScores {
  /** Proportion of the text that is negative, 0..1 (rounded to 3 decimals as the reference). */
  neg: number;
  neu: number;
  pos: number;
  /** Normalised, weighted composite score, -1..1 (rounded to 4 decimals as the reference). */
  compound: number;
}

export type SentimentLabel = 'negative' | 'neutral' | 'positive';

export interface VaderLexiconText {
  /** `vader_lexicon.txt`: word TAB mean valence TAB … */
  vaderLexicon: string;
  /** `emoji_utf8_lexicon.txt`: emoji TAB description */
  emojiLexicon: string;
}

export interface Vader {
  polarityScores(text: string): VaderScores;
  /** True when the lower-cased token is a VADER lexicon entry (for feature extraction). */
  hasWord(lowerCaseWord: string): boolean;
  /** The valence of a lower-cased lexicon entry, or undefined. */
  valence(lowerCaseWord: string): number | undefined;
  /** The emoji lexicon's description of one emoji (code point or sequence), or undefined. */
  emojiDescription(emoji: string): string | undefined;
}

/** VADER's conventional three-way split of the compound score at ±0.05. */
export function vaderLabel(compound: number): SentimentLabel {
  if (compound >= 0.05) return 'positive';
  if (compound <= -0.05) return 'negative';
  return 'neutral';
}

const B_INCR = 0.293;
const B_DECR = -0.293;
const C_INCR = 0.733;
const N_SCALAR = -0.74;

const NEGATE = new Set([
  'aint', 'arent', 'cannot', 'cant', 'couldnt', 'darent', 'didnt', 'doesnt',
  "ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
  'dont', 'hadnt', 'hasnt', 'havent', 'isnt', 'mightnt', 'mustnt', 'neither',
  "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
  'neednt', "needn't", 'never', 'none', 'nope', 'nor', 'not', 'nothing', 'nowhere',
  'oughtnt', 'shant', 'shouldnt', 'uhuh', 'wasnt', 'werent',
  "oughtn't", "shan't", "shouldn't", 'uh-uh', "wasn't", "weren't",
  'without', 'wont', 'wouldnt', "won't", "wouldn't", 'rarely', 'seldom', 'despite',
]); // prettier-ignore

const BOOSTER = new Map<string, number>([
  ...[
    'absolutely', 'amazingly', 'awfully', 'completely', 'considerable', 'considerably',
    'decidedly', 'deeply', 'effing', 'enormous', 'enormously', 'entirely', 'especially',
    'exceptional', 'exceptionally', 'extreme', 'extremely', 'fabulously', 'flipping', 'flippin',
    'frackin', 'fracking', 'fricking', 'frickin', 'frigging', 'friggin', 'fully', 'fuckin',
    'fucking', 'fuggin', 'fugging', 'greatly', 'hella', 'highly', 'hugely', 'incredible',
    'incredibly', 'intensely', 'major', 'majorly', 'more', 'most', 'particularly', 'purely',
    'quite', 'really', 'remarkably', 'so', 'substantially', 'thoroughly', 'total', 'totally',
    'tremendous', 'tremendously', 'uber', 'unbelievably', 'unusually', 'utter', 'utterly', 'very',
  ].map((w): [string, number] => [w, B_INCR]),
  ...[
    'almost', 'barely', 'hardly', 'just enough', 'kind of', 'kinda', 'kindof', 'kind-of', 'less',
    'little', 'marginal', 'marginally', 'occasional', 'occasionally', 'partly', 'scarce',
    'scarcely', 'slight', 'slightly', 'somewhat', 'sort of', 'sorta', 'sortof', 'sort-of',
  ].map((w): [string, number] => [w, B_DECR]),
]); // prettier-ignore

const SPECIAL_CASES = new Map<string, number>([
  ['the shit', 3],
  ['the bomb', 3],
  ['bad ass', 1.5],
  ['badass', 1.5],
  ['bus stop', 0.0],
  ['yeah right', -2],
  ['kiss of death', -1.5],
  ['to die for', 3],
  ['beating heart', 3.1],
  ['broken heart', -2.9],
]);

/** Every word of a multi-word SPECIAL_CASES or BOOSTER key (see specialIdiomsCheck). */
const IDIOM_WORDS = new Set<string>(
  [...SPECIAL_CASES.keys(), ...BOOSTER.keys()]
    .filter((key) => key.includes(' '))
    .flatMap((key) => key.split(' ')),
);

/** Parses `vader_lexicon.txt` as the reference's `make_lex_dict` does. */
export function parseVaderLexicon(text: string): Map<string, number> {
  const lexicon = new Map<string, number>();
  for (const line of rstripNewlines(text).split('\n')) {
    if (line === '') continue;
    const [word, measure] = pyStrip(line).split('\t');
    if (word === undefined || measure === undefined) continue;
    const value = Number.parseFloat(measure);
    if (Number.isFinite(value)) lexicon.set(word, value);
  }
  return lexicon;
}

/** Parses `emoji_utf8_lexicon.txt` as the reference's `make_emoji_dict` does. */
export function parseEmojiLexicon(text: string): Map<string, string> {
  const emojis = new Map<string, string>();
  for (const line of rstripNewlines(text).split('\n')) {
    const [emoji, description] = pyStrip(line).split('\t');
    if (emoji === undefined || description === undefined) continue;
    emojis.set(emoji, description);
  }
  return emojis;
}

export function createVader(lexicons: VaderLexiconText): Vader {
  const lexicon = parseVaderLexicon(lexicons.vaderLexicon);
  const emojis = parseEmojiLexicon(lexicons.emojiLexicon);

  function replaceEmoji(text: string): string {
    // Emoji keys are all non-ASCII: an ASCII text is returned as is.
    if (!NON_ASCII.test(text)) return text;
    let out = '';
    let prevSpace = true;
    for (const ch of text) {
      const description = emojis.get(ch);
      if (description !== undefined) {
        if (!prevSpace) out += ' ';
        out += description;
        prevSpace = false;
      } else {
        out += ch;
        prevSpace = ch === ' ';
      }
    }
    return out;
  }

  function scalarIncDec(word: string, lower: string, valence: number, isCapDiff: boolean): number {
    const booster = BOOSTER.get(lower);
    if (booster === undefined) return 0;
    let scalar = booster;
    if (valence < 0) scalar *= -1;
    if (isCapDiff && isUpper(word)) {
      if (valence > 0) scalar += C_INCR;
      else scalar -= C_INCR;
    }
    return scalar;
  }

  function negationCheck(valence: number, lower: string[], startI: number, i: number): number {
    const w1 = lower[i - 1] ?? '';
    if (startI === 0) {
      if (isNegated(w1)) return valence * N_SCALAR;
      return valence;
    }
    const w2 = lower[i - 2] ?? '';
    if (startI === 1) {
      if (w2 === 'never' && (w1 === 'so' || w1 === 'this')) return valence * 1.25;
      if (w2 === 'without' && w1 === 'doubt') return valence;
      if (isNegated(w2)) return valence * N_SCALAR;
      return valence;
    }
    const w3 = lower[i - 3] ?? '';
    if ((w3 === 'never' && (w2 === 'so' || w2 === 'this')) || w1 === 'so' || w1 === 'this') {
      return valence * 1.25;
    }
    if (w3 === 'without' && (w2 === 'doubt' || w1 === 'doubt')) return valence;
    if (isNegated(w3)) return valence * N_SCALAR;
    return valence;
  }

  function specialIdiomsCheck(valence: number, lower: string[], i: number): number {
    const w0 = lower[i] ?? '';
    const w1 = lower[i - 1] ?? '';
    const w2 = lower[i - 2] ?? '';
    const w3 = lower[i - 3] ?? '';
    // Fast exit (same result): every n-gram looked up below is made of window words, so
    // none can match unless one of them is a word of some multi-word key.
    if (
      !IDIOM_WORDS.has(w0) &&
      !IDIOM_WORDS.has(w1) &&
      !IDIOM_WORDS.has(w2) &&
      !IDIOM_WORDS.has(w3) &&
      !IDIOM_WORDS.has(lower[i + 1] ?? '') &&
      !IDIOM_WORDS.has(lower[i + 2] ?? '')
    ) {
      return valence;
    }
    const oneZero = `${w1} ${w0}`;
    const twoOneZero = `${w2} ${w1} ${w0}`;
    const twoOne = `${w2} ${w1}`;
    const threeTwoOne = `${w3} ${w2} ${w1}`;
    const threeTwo = `${w3} ${w2}`;
    for (const seq of [oneZero, twoOneZero, twoOne, threeTwoOne, threeTwo]) {
      const special = SPECIAL_CASES.get(seq);
      if (special !== undefined) {
        valence = special;
        break;
      }
    }
    const n = lower.length;
    if (n - 1 > i) {
      const special = SPECIAL_CASES.get(`${w0} ${lower[i + 1] ?? ''}`);
      if (special !== undefined) valence = special;
    }
    if (n - 1 > i + 1) {
      const special = SPECIAL_CASES.get(`${w0} ${lower[i + 1] ?? ''} ${lower[i + 2] ?? ''}`);
      if (special !== undefined) valence = special;
    }
    for (const nGram of [threeTwoOne, threeTwo, twoOne]) {
      const booster = BOOSTER.get(nGram);
      if (booster !== undefined) valence = valence + booster;
    }
    return valence;
  }

  function leastCheck(valence: number, lower: string[], i: number): number {
    const w1 = lower[i - 1] ?? '';
    if (i > 1 && w1 === 'least' && !lexicon.has(w1)) {
      const w2 = lower[i - 2] ?? '';
      if (w2 !== 'at' && w2 !== 'very') return valence * N_SCALAR;
    } else if (i > 0 && w1 === 'least' && !lexicon.has(w1)) {
      return valence * N_SCALAR;
    }
    return valence;
  }

  function sentimentValence(
    words: string[],
    lower: string[],
    i: number,
    isCapDiff: boolean,
  ): number {
    const itemLower = lower[i] ?? '';
    const base = lexicon.get(itemLower);
    if (base === undefined) return 0;
    const n = words.length;
    let valence = base;
    if (itemLower === 'no' && i !== n - 1 && lexicon.has(lower[i + 1] ?? '')) valence = 0.0;
    if (
      (i > 0 && lower[i - 1] === 'no') ||
      (i > 1 && lower[i - 2] === 'no') ||
      (i > 2 && lower[i - 3] === 'no' && (lower[i - 1] === 'or' || lower[i - 1] === 'nor'))
    ) {
      valence = base * N_SCALAR;
    }
    if (isCapDiff && isUpper(words[i] ?? '')) {
      if (valence > 0) valence += C_INCR;
      else valence -= C_INCR;
    }
    for (let startI = 0; startI < 3; startI++) {
      const j = i - (startI + 1);
      if (i > startI && !lexicon.has(lower[j] ?? '')) {
        let s = scalarIncDec(words[j] ?? '', lower[j] ?? '', valence, isCapDiff);
        if (startI === 1 && s !== 0) s = s * 0.95;
        if (startI === 2 && s !== 0) s = s * 0.9;
        valence = valence + s;
        valence = negationCheck(valence, lower, startI, i);
        if (startI === 2) valence = specialIdiomsCheck(valence, lower, i);
      }
    }
    return leastCheck(valence, lower, i);
  }

  function polarityScores(input: string): VaderScores {
    const text = pyStrip(replaceEmoji(input));
    const words = text === '' ? [] : text.split(PY_WHITESPACE_RUN).map(stripPuncIfWord);
    const lower = words.map((w) => w.toLowerCase());
    const isCapDiff = allCapDifferential(words);
    const n = words.length;
    const sentiments: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const item = lower[i] ?? '';
      if (BOOSTER.has(item) || (i < n - 1 && item === 'kind' && lower[i + 1] === 'of')) {
        sentiments[i] = 0;
        continue;
      }
      sentiments[i] = sentimentValence(words, lower, i, isCapDiff);
    }
    butCheck(lower, sentiments);
    return scoreValence(sentiments, text);
  }

  return {
    polarityScores,
    hasWord: (w) => lexicon.has(w),
    valence: (w) => lexicon.get(w),
    emojiDescription: (e) => emojis.get(e),
  };
}

/**
 * The reference's `_but_check`: for each score in order, the *first* equal score is halved
 * (before the first "but") or multiplied by 1.5 (after it). Zeros never change anything, so
 * only non-zero scores are scanned; this keeps long texts linear-ish without changing results.
 */
function butCheck(lower: string[], sentiments: number[]): void {
  const bi = lower.indexOf('but');
  if (bi === -1) return;
  const nonZero: number[] = [];
  for (let k = 0; k < sentiments.length; k++) if (sentiments[k] !== 0) nonZero.push(k);
  for (const k of nonZero) {
    const s = sentiments[k] ?? 0;
    let si = k;
    for (const j of nonZero) {
      if (sentiments[j] === s) {
        si = j;
        break;
      }
    }
    if (si < bi) sentiments[si] = s * 0.5;
    else if (si > bi) sentiments[si] = s * 1.5;
  }
}

function scoreValence(sentiments: number[], text: string): VaderScores {
  if (sentiments.length === 0) return { neg: 0, neu: 0, pos: 0, compound: 0 };
  let sumS = 0;
  for (const s of sentiments) sumS += s;
  const punct = punctuationEmphasis(text);
  if (sumS > 0) sumS += punct;
  else if (sumS < 0) sumS -= punct;
  const compound = normalize(sumS);

  let posSum = 0;
  let negSum = 0;
  let neuCount = 0;
  for (const s of sentiments) {
    if (s > 0) posSum += s + 1;
    if (s < 0) negSum += s - 1;
    if (s === 0) neuCount += 1;
  }
  if (posSum > Math.abs(negSum)) posSum += punct;
  else if (posSum < Math.abs(negSum)) negSum -= punct;
  const total = posSum + Math.abs(negSum) + neuCount;
  return {
    neg: pyRound(Math.abs(negSum / total), 3),
    neu: pyRound(Math.abs(neuCount / total), 3),
    pos: pyRound(Math.abs(posSum / total), 3),
    compound: pyRound(compound, 4),
  };
}

function punctuationEmphasis(text: string): number {
  let ep = 0;
  let qm = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 33) ep++;
    else if (c === 63) qm++;
  }
  const epAmplifier = Math.min(ep, 4) * 0.292;
  let qmAmplifier = 0;
  if (qm > 1) qmAmplifier = qm <= 3 ? qm * 0.18 : 0.96;
  return epAmplifier + qmAmplifier;
}

function normalize(score: number, alpha = 15): number {
  const norm = score / Math.sqrt(score * score + alpha);
  if (norm < -1) return -1;
  if (norm > 1) return 1;
  return norm;
}

function isNegated(lowerWord: string): boolean {
  return NEGATE.has(lowerWord) || lowerWord.includes("n't");
}

function allCapDifferential(words: string[]): boolean {
  let allCap = 0;
  for (const w of words) if (isUpper(w)) allCap++;
  const differential = words.length - allCap;
  return differential > 0 && differential < words.length;
}

// ---- Python string semantics ------------------------------------------------------------

const NON_ASCII = /[\u0080-\uffff]/;
/** Characters for which Python's `str.isspace()` is true (what `split()` / `strip()` use). */
const PY_WS =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WHITESPACE_RUN = new RegExp(`[${PY_WS}]+`);
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');
const PUNCT_STRIP = /^[!-/:-@[-`{-~]+|[!-/:-@[-`{-~]+$/g;

function isPyWhitespace(c: number): boolean {
  return (
    (c >= 9 && c <= 13) ||
    (c >= 0x1c && c <= 0x20) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

function pyStrip(s: string): string {
  // Fast path (same result): nothing to strip at either end.
  if (s === '' || (!isPyWhitespace(s.charCodeAt(0)) && !isPyWhitespace(s.charCodeAt(s.length - 1))))
    return s;
  return s.replace(PY_STRIP, '');
}

/** ASCII punctuation as in PUNCT_STRIP (Python's `string.punctuation`). */
function isAsciiPunct(c: number): boolean {
  return (
    (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)
  );
}

function rstripNewlines(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 10) end--;
  return s.slice(0, end);
}

/** `SentiText._strip_punc_if_word`: strip ASCII punctuation unless ≤ 2 code points remain. */
function stripPuncIfWord(token: string): string {
  // Fast path (same result): no punctuation at either end, nothing would be stripped.
  if (!isAsciiPunct(token.charCodeAt(0)) && !isAsciiPunct(token.charCodeAt(token.length - 1)))
    return token;
  const stripped = token.replace(PUNCT_STRIP, '');
  return codePointLength(stripped) <= 2 ? token : stripped;
}

function codePointLength(s: string): number {
  if (s.length <= 2 || !NON_ASCII.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point; lone surrogates count as one.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Python's `str.isupper()`: at least one cased character and no lower-case one. */
export function isUpper(s: string): boolean {
  let cased = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) return false;
    if (c >= 65 && c <= 90) cased = true;
    else if (c >= 128) return s.toUpperCase() === s && s.toLowerCase() !== s;
  }
  return cased;
}

/**
 * Python's `round(x, digits)`: the decimal nearest to the exact binary value, ties to even.
 * `toFixed` already rounds the exact value; only exact ties (dyadic values) need the even rule.
 */
export function pyRound(x: number, digits: number): number {
  const y = x * 10 ** digits;
  if (Number.isInteger(y * 2) && !Number.isInteger(y)) {
    // Possibly an exact tie: look at the exact decimal expansion (toFixed is exact up to 100).
    const exact = Math.abs(x).toFixed(100);
    const cut = exact.indexOf('.') + 1 + digits;
    if (/^50*$/.test(exact.slice(cut))) {
      const kept = exact.slice(0, cut);
      const lastDigit = kept.charCodeAt(kept.length - 1) - 48;
      const magnitude = Number(kept) + (lastDigit % 2 === 0 ? 0 : 10 ** -digits);
      return Number((x < 0 ? -magnitude : magnitude).toFixed(digits));
    }
    return Number(x.toFixed(digits));
  }
  // Not a tie: the nearest integer to y is the correctly rounded one (y = x·10^d is within
  // half an ulp of the exact product and rounding is monotone, so y cannot cross a .5 that
  // the exact value does not reach), and r / 10^d is the double nearest to the decimal r·10^-d,
  // exactly what Number(x.toFixed(d)) parses, at a fraction of toFixed's cost.
  const r = Math.round(y) / 10 ** digits;
  // toFixed writes -0 as "0" but a small negative as "-0.00": keep both signs of zero.
  return r === 0 ? (x < 0 ? -0 : 0) : r;
}
