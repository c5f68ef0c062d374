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
 * On posts of at most this many words ELD sees too few n-grams to separate English from a
 * related language it scores within ENGLISH_NEAR_TOP; longer posts keep ELD's answer (a
 * French tweet naming "the Big Bang Theory" is French).
 */
export const FEW_WORDS = 6;

/**
 * Guesses the language of a post from its tokens (see tokenize.ts). `isEnglishWord` (VADER's
 * lexicon and the sentiment model's vocabulary in the analyzer) lets short, informal posts
 * such as "Magic Mouse FTW" or "bad mood. :'(" count as English: a post whose Latin-script
 * words are mostly known English words is English; ELD (on a bounded prefix) decides the
 * rest, and an unreliable ELD guess is reported as `und`, never as a language. Where ELD is
 * unreliable or the post has at most FEW_WORDS words, a post half of whose words are known
 * English words is English only if ELD ranks English first or within ENGLISH_NEAR_TOP of its
 * first language ("Stormy weather", "Summer temps in burbank"), never when ELD puts another
 * language clearly ahead ("sehr sehr gut gut": German, English unscored).
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
  const halfKnown = latin === words && known * 2 >= words && known > 0;
  // One to three Latin-script words are too little signal for a detector alone: undetermined
  // (the analyzer then reads only what it knows, such as emoticons, emoji and lexicon words),
  // unless half of them are known English words and ELD agrees (see englishNearTop).
  if (latin === words && words <= SHORT_POST_WORDS) {
    if (!halfKnown) return { language: 'und', method: 'too-short' };
    const result = eld.detect(prefixOfWords(tokens));
    return result.language === 'en' || englishNearTop(result)
      ? { language: 'en', method: 'english-words' }
      : { language: 'und', method: 'too-short' };
  }
  const result = eld.detect(prefixOfWords(tokens));
  if (result.language === '' || !result.isReliable() || words <= FEW_WORDS) {
    // ELD unsure (or a post of a few words): English when half the words are known English
    // words and ELD does not rank another language clearly above English.
    if (halfKnown && (result.language === '' || englishNearTop(result)))
      return { language: 'en', method: 'english-words' };
    if (result.language === '' || !result.isReliable()) return { language: 'und', method: 'eld' };
  }
  return { language: result.language, method: 'eld' };
}

/**
 * English scores within this share of ELD's top score count as a tie with it. On a few words
 * ELD's n-gram scores of related languages lie close together ("Summer temps in burbank":
 * German 0.718, English 0.715); text in another language scores English far lower or not at
 * all ("ich bin so müde heute": English 0.39 of German's 0.79; "que bonito dia": none).
 */
export const ENGLISH_NEAR_TOP = 0.95;

/** True when ELD's score for English is at least ENGLISH_NEAR_TOP of its best score. */
function englishNearTop(result: ReturnType<typeof eld.detect>): boolean {
  if (result.language === 'en') return true;
  if (result.language === '') return false;
  const scores = result.getScores() as Record<string, number | undefined>;
  const top = scores[result.language] ?? 0;
  const english = scores.en ?? 0;
  return top > 0 && english >= ENGLISH_NEAR_TOP * top;
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
