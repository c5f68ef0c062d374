/**
 * The full analysis of a post: language, sentiment (default engine, or VADER / the model /
 * all three), VADER scores, entities, keywords, toxicity and workspace categories.
 * `createAnalyzer()` is the batch engine that jobs and `socialpulse analyze` call.
 */
import type {
  Engine,
  EngineInfo,
  ItemError,
  PostInput,
  SentimentEngineName,
  SentimentResult,
} from './engine.js';
import { combine, combinerInputs, COMBINER_FEATURES } from './models/default-sentiment.js';
import { sanitizeText } from './nlp/text.js';
import { getSentimentModel, shippedModelFile } from './models/sentiment-weights.js';
import {
  predictionFromLogits,
  type SentimentModel,
  type SentimentPrediction,
} from './models/sentiment-model.js';
import { createCategoryMatcher, type CategoryRule } from './nlp/categories.js';
import { extractEntities } from './nlp/extract.js';
import { postKeywords, type IdfLookup, type Keyword } from './nlp/keywords.js';
import { detectLanguage } from './nlp/language.js';
import { tokenize, type Token } from './nlp/tokenize.js';
import { createToxicityDetector } from './nlp/toxicity.js';
import { getVader } from './nlp/vader/vader-lexicons.js';
import { vaderLabel, type Vader, type VaderScores } from './nlp/vader/vader.js';

export const VADER_ENGINE: EngineInfo = { name: 'vader', version: '3.3.2+lexicon-44fc044' };
// 2: the language gate reads short English posts ELD ties with a related language (nlp/language.ts).
// 3: links end where twitter-text ends them and keep their query as written; no profanity
// inside links and mentions; keywords compared as tokens; hashtag-only posts not `empty_text`.
// 4: in a post of undetermined language, "die", "bad", "kind"… are not read as English sentiment;
// keycaps and tag-sequence flags are whole emoji, ©, ® and ™ none without U+FE0F; mentions as
// twitter-text reads them (20 characters, none in "a@b@c"); keywords without entity names, runs
// of scripts written without spaces, over-long terms or a word paired with itself.
// 5: mentions of Instagram, Bluesky and the fediverse ("@nat.geo", "@alice.bsky.social",
// "@gargron@mastodon.social"), none for a name too long for any platform (not its first 20
// characters); toxicity's whitelist read as obscenity reads it ("ass" flagged again); platform
// tracking parameters removed on their own hosts (X's s and t, TikTok's, LinkedIn's, YouTube's
// feature and pp) and _gl, _ga, mibextid everywhere; declared three-letter codes read as
// two-letter ones ("eng": "en") and X's "qme", "qht", "art", "zxx" as no declaration; VADER's
// sentiment without probabilities.
// 6: `vader` is null when the sentiment engines refuse the post (unsupported or undetermined
// language, empty text), as `sentiment` is: German "die", "bad", "war" no longer give a
// confident compound; an analyzer computes only the sentiment engines its `engine` option needs.
export const ANALYZER_ENGINE: EngineInfo = { name: 'socialpulse-analysis', version: '6' };
/**
 * The model's and default's inference beyond the shipped file: `segmented` reads a text longer
 * than any tweet in segments (sentiment-model.ts, segmentCuts).
 */
const SENTIMENT_INFERENCE = 'segmented';

/** Languages the sentiment engines read. */
export const SENTIMENT_LANGUAGES: ReadonlySet<string> = new Set(['en']);

/** Longer texts are analysed on their first MAX_TEXT_LENGTH UTF-16 units (and say so). */
export const MAX_TEXT_LENGTH = 20_000;

export interface PostAnalysis {
  id: string;
  language: string;
  sentiment: SentimentResult;
  /** Every engine's sentiment, with `--engine all`. */
  sentiments?: Record<SentimentEngineName, SentimentResult>;
  /**
   * VADER's proportions and compound; null when the sentiment engines refuse the post (then
   * `sentiment.reason` says why): VADER reads any Latin-script text as English, and German
   * "die", "bad", "war" would otherwise score a confident −0.9.
   */
  vader: VaderScores | null;
  hashtags: string[];
  mentions: string[];
  cashtags: string[];
  urls: string[];
  emoji: string[];
  keywords: Keyword[];
  toxic: boolean;
  categories: string[];
  truncated?: true;
  engine: EngineInfo;
}

export interface AnalyzerOptions {
  /** Which engine answers `sentiment` ('all' = default, plus every engine in `sentiments`). */
  engine?: SentimentEngineName | 'all';
  categories?: readonly CategoryRule[];
  keywordLimit?: number;
  /** Corpus IDF for keywords (see createCorpusKeywords); a length prior otherwise. */
  idf?: IdfLookup;
}

export interface Analyzer extends Engine<PostAnalysis> {
  analyze(post: PostInput): PostAnalysis;
}

export function createAnalyzer(options: AnalyzerOptions = {}): Analyzer {
  const vader: Vader = getVader();
  const model: SentimentModel = getSentimentModel();
  const toxicity = createToxicityDetector();
  const categories = createCategoryMatcher(options.categories ?? []);
  const engineChoice = options.engine ?? 'default';
  const keywordLimit = options.keywordLimit ?? 5;
  const modelInfo: EngineInfo = {
    name: 'socialpulse-sentiment-model',
    version: `${model.version}+${SENTIMENT_INFERENCE}`,
  };
  const defaultInfo: EngineInfo = {
    name: 'socialpulse-sentiment',
    version: `${model.version}+${SENTIMENT_INFERENCE}+vader`,
  };
  const z = new Float64Array(3);
  const x = new Float64Array(COMBINER_FEATURES.length);
  const combinerWeights = shippedModelFile.combiner.weights;
  // VADER's lexicon and the model's (hashed) training vocabulary: informal English words.
  const isEnglishWord = (w: string): boolean => vader.hasWord(w) || model.knowsWord(w);

  function nullSentiment(engine: EngineInfo, reason: SentimentResult['reason']): SentimentResult {
    return {
      label: null,
      score: null,
      probabilities: null,
      engine,
      ...(reason === undefined ? {} : { reason }),
    };
  }

  // The model's logits divided by its temperature: the combiner's input.
  const scaled = new Float64Array(3);

  /** A post the engines may read, and what is computed once for all of them. */
  interface Reading {
    text: string;
    tokens: readonly Token[];
    scores: VaderScores;
    model: SentimentPrediction | null;
  }

  /**
   * The model's prediction, computed on first use; it leaves the post's scaled logits in
   * `scaled` (one post at a time: analyze is synchronous, and a Reading lives for one post).
   */
  function modelOf(reading: Reading): SentimentPrediction {
    if (reading.model === null) {
      model.logits(reading.text, z, reading.tokens);
      reading.model = predictionFromLogits(z, model.temperature);
      for (let c = 0; c < 3; c++) scaled[c] = (z[c] ?? 0) / model.temperature;
    }
    return reading.model;
  }

  // A switch over every name: a new engine name does not compile until it has a case here.
  function sentimentOf(engine: SentimentEngineName, reading: Reading): SentimentResult {
    switch (engine) {
      case 'default': {
        modelOf(reading);
        combinerInputs(scaled, reading.scores, x);
        const combined = combine(combinerWeights, x);
        return {
          label: combined.label,
          score: round4(combined.score),
          probabilities: probs(combined.probabilities),
          engine: defaultInfo,
        };
      }
      case 'model': {
        const own = modelOf(reading);
        return {
          label: own.label,
          score: round4(own.score),
          probabilities: probs(own.probabilities),
          engine: modelInfo,
        };
      }
      case 'vader':
        return {
          label: vaderLabel(reading.scores.compound),
          score: reading.scores.compound,
          // VADER has no probabilities: its neg/neu/pos are shares of the text (in `vader`), and
          // a long neutral text can score positive with neu 0.92.
          probabilities: null,
          engine: VADER_ENGINE,
        };
    }
  }

  const infoOf: Record<SentimentEngineName, EngineInfo> = {
    default: defaultInfo,
    model: modelInfo,
    vader: VADER_ENGINE,
  };

  function analyze(post: PostInput): PostAnalysis {
    const truncated = post.text.length > MAX_TEXT_LENGTH;
    const text = sanitizeText(truncated ? post.text.slice(0, MAX_TEXT_LENGTH) : post.text);
    const tokens = tokenize(text);
    const language =
      declaredLanguage(post.language) ?? detectLanguage(tokens, isEnglishWord).language;
    const readable = sentimentReadable(text, tokens, language, vader);
    const refusal = readable === true ? undefined : readable;
    const reading: Reading | null =
      readable === true ? { text, tokens, scores: vader.polarityScores(text), model: null } : null;
    // Only the engines this analyzer answers with are computed: the model's logits are the
    // dearest part of a post's analysis, and `engine: 'vader'` needs none.
    const answer = (engine: SentimentEngineName): SentimentResult =>
      reading === null ? nullSentiment(infoOf[engine], refusal) : sentimentOf(engine, reading);
    let sentiment: SentimentResult;
    let sentiments: Record<SentimentEngineName, SentimentResult> | undefined;
    if (engineChoice === 'all') {
      sentiments = {
        default: answer('default'),
        model: answer('model'),
        vader: answer('vader'),
      };
      sentiment = sentiments.default;
    } else {
      sentiment = answer(engineChoice);
    }
    const entities = extractEntities(tokens);
    const result: PostAnalysis = {
      id: post.id,
      language,
      sentiment,
      ...(sentiments === undefined ? {} : { sentiments }),
      vader: reading === null ? null : reading.scores,
      ...entities,
      keywords: postKeywords(tokens, keywordLimit, options.idf),
      toxic: toxicity.detect(text, tokens).toxic,
      categories: categories.match(tokens, text),
      ...(truncated ? { truncated: true as const } : {}),
      engine: ANALYZER_ENGINE,
    };
    assertFinite(result);
    return result;
  }

  return {
    info: ANALYZER_ENGINE,
    analyze,
    analyzeBatch(posts) {
      return posts.map((post): PostAnalysis | ItemError => {
        if (typeof post.text !== 'string' || typeof post.id !== 'string') {
          return {
            id: String(post.id),
            error: { code: 'invalid_input', message: 'id and text must be strings' },
          };
        }
        try {
          return analyze(post);
        } catch (error) {
          return {
            id: post.id,
            error: {
              code: 'engine_failed',
              message: error instanceof Error ? error.message : String(error),
            },
          };
        }
      });
    },
  };
}

/**
 * Lexicon words that are also frequent words of other Latin-script languages, where they carry
 * no such feeling: German "die" (the), "Gift" (poison), "Kind" (child), "Bad" (bath), "hell"
 * (bright), "war" (was); French "pain" (bread). In a post whose language is undetermined they
 * are no evidence of English sentiment ("Die Katze" is not negative).
 */
const FOREIGN_HOMOGRAPHS: ReadonlySet<string> = new Set([
  'die',
  'gift',
  'kind',
  'bad',
  'hell',
  'war',
  'pain',
]);

/** ISO 639-2/3 codes of common languages, as the ISO 639-1 codes the engines report. */
const THREE_LETTER_CODES: ReadonlyMap<string, string> = new Map([
  ['eng', 'en'], ['spa', 'es'], ['fra', 'fr'], ['fre', 'fr'], ['deu', 'de'], ['ger', 'de'],
  ['por', 'pt'], ['ita', 'it'], ['nld', 'nl'], ['dut', 'nl'], ['rus', 'ru'], ['jpn', 'ja'],
  ['zho', 'zh'], ['chi', 'zh'], ['kor', 'ko'], ['ara', 'ar'], ['tur', 'tr'], ['hin', 'hi'],
  ['ind', 'id'], ['pol', 'pl'], ['swe', 'sv'], ['ukr', 'uk'], ['fas', 'fa'], ['per', 'fa'],
]); // prettier-ignore

/**
 * The language a post declares (a BCP 47 tag, or a platform's code), as the engines name
 * languages; undefined when it declares none or says it has none: `und`, `zxx` (no linguistic
 * content), `mul`, `mis`, `art` and the private `qaa`–`qtz` (X writes `qme` for a post of
 * mentions, `qht` for hashtags, `art` for emoji only), so that the post's own words decide.
 */
export function declaredLanguage(tag: string | undefined): string | undefined {
  const primary = tag?.trim().split(/[-_]/)[0]?.toLowerCase();
  if (primary === undefined || !/^[a-z]{2,3}$/.test(primary)) return undefined;
  if (/^(und|zxx|mul|mis|art|q[a-t][a-z])$/.test(primary)) return undefined;
  return THREE_LETTER_CODES.get(primary) ?? primary;
}

/**
 * Whether the sentiment engines may read a post: true, or why not. Undetermined language
 * (`und`): read it only if it carries signals the engines know (emoji, emoticons, lexicon
 * words such as "lol"); never a confident score for text it cannot read. The trainer uses it
 * too, so that the combiner is checked with the refusals the analyzer makes.
 */
export function sentimentReadable(
  text: string,
  tokens: readonly Token[],
  language: string,
  vader: Pick<Vader, 'hasWord'>,
): true | SentimentResult['reason'] {
  if (text.trim() === '') return 'empty_text';
  if (SENTIMENT_LANGUAGES.has(language)) return true;
  if (language !== 'und') return 'unsupported_language';
  for (const t of tokens) {
    if (t.kind === 'emoji' || t.kind === 'emoticon') return true;
    if (t.kind === 'word' && vader.hasWord(t.norm) && !FOREIGN_HOMOGRAPHS.has(t.norm)) return true;
  }
  // Hashtags are words too ("#happy #blessed"): such a post is not empty, only unread.
  return tokens.some((t) => t.kind === 'word' || t.kind === 'hashtag')
    ? 'undetermined_language'
    : 'empty_text';
}

function probs(p: [number, number, number]): SentimentResult['probabilities'] {
  return { negative: round4(p[0]), neutral: round4(p[1]), positive: round4(p[2]) };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** A NaN or infinity in a result is a bug: fail this item loudly rather than store it. */
function assertFinite(result: PostAnalysis): void {
  const { vader } = result;
  if (
    vader !== null &&
    (!Number.isFinite(vader.neg) ||
      !Number.isFinite(vader.neu) ||
      !Number.isFinite(vader.pos) ||
      !Number.isFinite(vader.compound))
  )
    throw new Error('analysis produced a non-finite number');
  assertFiniteSentiment(result.sentiment);
  if (result.sentiments !== undefined)
    for (const s of Object.values(result.sentiments)) assertFiniteSentiment(s);
}

function assertFiniteSentiment(sentiment: SentimentResult): void {
  const p = sentiment.probabilities;
  if (
    !Number.isFinite(sentiment.score ?? 0) ||
    (p !== null &&
      (!Number.isFinite(p.negative) || !Number.isFinite(p.neutral) || !Number.isFinite(p.positive)))
  )
    throw new Error('analysis produced a non-finite number');
}
