/**
 * Language identification for short posts. Most posts a SocialPulse workspace sees are in
 * the language its sentiment engines read (English), so a cheap check comes first: a post
 * whose words are mostly unambiguous English function words is English. Everything else
 * goes to ELD (Nito-ELD, Apache-2.0, n-gram detector, 60 languages), which is accurate on
 * tweets but about 5x slower. Posts without words in any script (emoji, URLs, numbers only)
 * are `und` (undetermined). ELD's extra-small tables (same 60 languages): 126 MB of RSS loaded
 * against 190 MB for `eld/small`, which matters in a worker with a 256 MB target; on the
 * labelled English tweet sets they refuse fewer posts than `eld/small` (15 vs 17 of VADER's
 * 4,200, 7 vs 8 of SemEval-2016 test's 20,632) at the same macro-F1 (bench/README.md).
 */
import { eld } from 'eld/extrasmall';
import type { Token } from './tokenize.js';

export interface LanguageGuess {
  /** ISO 639-1 code, or 'und' when the post has no words to judge. */
  language: string;
  /** How it was decided, for debugging and measurements. */
  method: 'english-words' | 'eld' | 'no-words' | 'too-short';
}

// Frequent English words that are not (frequent) words of other Latin-script languages
// (no "a", "in", "is", "me", "so", "on", "die", "of", …).
const ENGLISH_MARKERS = new Set([
  'the', 'and', 'you', 'your', 'that', 'this', 'with', 'for', 'have', 'has', 'was', 'were',
  'are', 'be', 'been', 'it', "it's", 'its', 'my', 'we', 'they', 'he', 'she', 'his', 'her',
  'what', 'when', 'who', 'why', 'how', 'which', 'will', 'would', 'can', 'could', 'should',
  'just', 'not', "don't", "can't", "i'm", 'im', 'dont', 'cant', 'about', 'from', 'but',
  'all', 'out', 'up', 'get', 'got', 'like', 'love', 'good', 'great', 'new', 'now', 'today',
  'tomorrow', 'night', 'day', 'time', 'people', 'know', 'think', 'want', 'see', 'go',
  'going', 'been', 'there', 'their', 'them', 'if', 'at', 'to', 'by', 'or', 'our', 'us',
  'i', 'do', 'does', 'did', 'had', 'than', 'then', 'too', 'very', 'really', 'more', 'some',
  'one', 'only', 'after', 'before', 'over', 'back', 'still', 'here', 'where', 'because',
  'watch', 'happy', 'best', 'first', 'last', 'may', 'make', 'need', 'thank', 'thanks',
  "you're", "i'll", "i've", "that's", 'should', 'may', 'being', 'these', 'those', 'every',
]); // prettier-ignore

/** ELD reads at most this many characters of a post's words: enough for short texts. */
export const ELD_PREFIX_CHARS = 240;
/** Posts of at most this many (Latin-script, not mostly known) words are `und`. */
export const SHORT_POST_WORDS = 3;

/**
 * Guesses the language of a post from its tokens (see tokenize.ts). `isEnglishWord` (VADER's
 * lexicon and the sentiment model's vocabulary in the analyzer) lets short, informal posts
 * such as "Magic Mouse FTW" or "bad mood. :'(" count as English: a post whose Latin-script
 * words are mostly known English words is English; ELD (on a bounded prefix) decides the
 * rest, and an unreliable ELD guess is reported as `und`, never as a language.
 */
export function detectLanguage(
  tokens: readonly Token[],
  isEnglishWord: (lowerCaseWord: string) => boolean = () => false,
): LanguageGuess {
  let words = 0;
  let markers = 0;
  let latin = 0;
  let hasLetters = false;
  // First pass without lexicon lookups: most English posts are settled by function words.
  for (const t of tokens) {
    if (t.kind === 'hashtag') {
      hasLetters = true;
      continue;
    }
    if (t.kind !== 'word') continue;
    hasLetters = true;
    words++;
    const lower = t.norm;
    if (!isLatinWord(lower)) continue;
    latin++;
    if (ENGLISH_MARKERS.has(lower)) markers++;
  }
  if (!hasLetters) return { language: 'und', method: 'no-words' };
  if (markers >= 2 && markers * 4 >= words) return { language: 'en', method: 'english-words' };
  let known = markers;
  if (latin === words) {
    for (const t of tokens) {
      if (t.kind === 'word' && !ENGLISH_MARKERS.has(t.norm) && isEnglishWord(t.norm)) known++;
    }
  }
  // Mostly known English words, in Latin script: English (short and informal posts included).
  if (latin === words && words > 0 && known * 3 >= words * 2)
    return { language: 'en', method: 'english-words' };
  // One to three Latin-script words are too little signal for any detector: undetermined
  // (the analyzer then reads only what it knows, such as emoticons, emoji and lexicon words).
  if (latin === words && words <= SHORT_POST_WORDS) return { language: 'und', method: 'too-short' };
  const result = eld.detect(prefixOfWords(tokens));
  if (result.language === '' || !result.isReliable()) {
    return latin === words && known * 2 >= words && known > 0
      ? { language: 'en', method: 'english-words' }
      : { language: 'und', method: 'eld' };
  }
  return { language: result.language, method: 'eld' };
}

/** True for ASCII letters/digits/apostrophes and Latin-1/Latin Extended letters. */
function isLatinWord(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c >= 0x250 && c !== 0x2019) return false;
  }
  return true;
}

/** The post's words and hashtags' words, space-separated, up to ELD_PREFIX_CHARS characters. */
function prefixOfWords(tokens: readonly Token[]): string {
  let letters = '';
  for (const t of tokens) {
    if (t.kind !== 'word' && t.kind !== 'hashtag') continue;
    letters += t.norm + ' ';
    if (letters.length >= ELD_PREFIX_CHARS) break;
  }
  return letters;
}
