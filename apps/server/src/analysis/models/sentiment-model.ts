/**
 * The trained sentiment model: multinomial logistic regression over hashed sparse features
 * (see sentiment-features.ts), with temperature scaling so that its probabilities are
 * calibrated. Weights are stored as 16-bit integers with one scale (base64 in JSON), which
 * keeps the shipped file near 1 MB and loses nothing measurable.
 */
import {
  CHAR_NGRAM_VALUE,
  createFeatureBuffer,
  extractFeatures,
  featureCount,
  forEachCharNgram,
  fnv1a,
  SALT_VOCABULARY,
  unigramHash,
  WORD_CACHE_SIZE,
  WORD_CHARS,
  WORD_NEGATED,
  type FeatureBuffer,
  type FeatureSpace,
  type LexiconLookup,
  type WordInfo,
} from './sentiment-features.js';
import { tokenize, type Token } from '../nlp/tokenize.js';
import type { CombinerFile } from './default-sentiment.js';

export const SENTIMENT_CLASSES = ['negative', 'neutral', 'positive'] as const;
export type SentimentClass = (typeof SENTIMENT_CLASSES)[number];
export const CLASS_COUNT = SENTIMENT_CLASSES.length;

/** The JSON file that `npm run train:sentiment` writes and the engine imports. */
export interface SentimentModelFile {
  format: 'socialpulse-sentiment-linear';
  version: string;
  space: FeatureSpace;
  classes: readonly string[];
  /** Softmax temperature fitted on the validation split (probability calibration). */
  temperature: number;
  /** Weights are `int16 * scale`, row-major [feature][class], little-endian, base64. */
  scale: number;
  weights: string;
  /**
   * Hashes (FNV-1a, SALT_VOCABULARY) of the lower-case words seen in at least
   * `vocabularyMinDocs` training tweets, sorted, uint32 little-endian, base64: lets the
   * language gate recognise informal English without shipping any training text.
   */
  vocabulary?: string;
  /** The default sentiment's combiner of this model and VADER (see default-sentiment.ts). */
  combiner: CombinerFile;
  /** What it was trained on and how it scored: for people, not read by the code. */
  training: Record<string, unknown>;
}

export interface SentimentPrediction {
  /** P(negative), P(neutral), P(positive), summing to 1. */
  probabilities: [number, number, number];
  label: SentimentClass;
  /** P(positive) − P(negative), in -1..1. */
  score: number;
}

export interface SentimentModel {
  readonly version: string;
  readonly space: FeatureSpace;
  readonly temperature: number;
  predict(text: string): SentimentPrediction;
  /** True when the lower-case word was frequent in the training tweets (hashed vocabulary). */
  knowsWord(lowerCaseWord: string): boolean;
  /** Raw class scores before softmax (training and calibration use them); `tokens` if already tokenized. */
  logits(text: string, out: Float64Array, tokens?: readonly Token[]): void;
}

/** Builds a model from float weights (training) or from a shipped file (inference). */
export function createSentimentModel(
  params: {
    space: FeatureSpace;
    weights: Float32Array;
    temperature: number;
    version: string;
    vocabulary?: Uint32Array;
  },
  lexicon: LexiconLookup,
): SentimentModel {
  const { space, weights, temperature, version } = params;
  const vocabulary = new Set<number>(params.vocabulary ?? []);
  const rows = featureCount(space);
  if (weights.length !== rows * CLASS_COUNT) {
    throw new Error(
      `sentiment model: expected ${rows * CLASS_COUNT} weights, got ${weights.length}`,
    );
  }
  const buffer: FeatureBuffer = createFeatureBuffer();
  const z = new Float64Array(CLASS_COUNT);
  const mask = (1 << space.hashBits) - 1;
  // Per-word scores, kept by the word's slot in the features' word cache (whose owner is
  // checked, since slots are reused): its unigram row, its negation-scope unigram row, and
  // the sum of its character n-gram rows. A word then costs one lookup instead of ~16 rows.
  // The sums are computed the same way on every call, so results do not depend on the cache.
  const owner: (WordInfo | undefined)[] = new Array<WordInfo | undefined>(WORD_CACHE_SIZE);
  const wordScores = new Float64Array(WORD_CACHE_SIZE * 9);
  const scratch = new Float64Array(CLASS_COUNT);
  const addRow = (index: number): void => {
    const row = index * 3;
    scratch[0] = (scratch[0] ?? 0) + (weights[row] ?? 0) * CHAR_NGRAM_VALUE;
    scratch[1] = (scratch[1] ?? 0) + (weights[row + 1] ?? 0) * CHAR_NGRAM_VALUE;
    scratch[2] = (scratch[2] ?? 0) + (weights[row + 2] ?? 0) * CHAR_NGRAM_VALUE;
  };
  function fill(info: WordInfo): void {
    const slot = info.id * 9;
    const plain = (mask & unigramHash(info, false)) * 3;
    const negated = (mask & unigramHash(info, true)) * 3;
    scratch.fill(0);
    if (space.charNgrams) forEachCharNgram(info.norm, mask, addRow);
    for (let c = 0; c < 3; c++) {
      wordScores[slot + c] = weights[plain + c] ?? 0;
      wordScores[slot + 3 + c] = weights[negated + c] ?? 0;
      wordScores[slot + 6 + c] = scratch[c] ?? 0;
    }
    owner[info.id] = info;
  }

  function logits(text: string, out: Float64Array, tokens?: readonly Token[]): void {
    const all = tokens ?? tokenize(text);
    const cuts = segmentCuts(all);
    if (cuts === null) {
      segmentLogits(text, out, all);
      return;
    }
    // A long text is read as the tweets the model learnt from: segment by segment, the logits
    // averaged by the segments' sizes. Summed over a whole article, a linear model's scores
    // grow with its length, and a confident label follows from length alone.
    const sum = new Float64Array(CLASS_COUNT);
    let weight = 0;
    for (let i = 0; i < cuts.length - 1; i++) {
      const from = cuts[i] ?? 0;
      const to = cuts[i + 1] ?? all.length;
      const startAt = all[from]?.start ?? 0;
      const endAt = to < all.length ? (all[to]?.start ?? text.length) : text.length;
      const size = contentTokens(all, from, to);
      segmentLogits(text.slice(startAt, endAt), out);
      for (let c = 0; c < CLASS_COUNT; c++) sum[c] = (sum[c] ?? 0) + (out[c] ?? 0) * size;
      weight += size;
    }
    for (let c = 0; c < CLASS_COUNT; c++) out[c] = (sum[c] ?? 0) / Math.max(1, weight);
  }

  function segmentLogits(text: string, out: Float64Array, tokens?: readonly Token[]): void {
    extractFeatures(text, space, lexicon, buffer, tokens, true);
    linearScores(weights, buffer, out);
    if (buffer.wordCount === 0) return;
    let z0 = out[0] ?? 0;
    let z1 = out[1] ?? 0;
    let z2 = out[2] ?? 0;
    const { words, wordFlags } = buffer;
    for (let k = 0; k < buffer.wordCount; k++) {
      const info = words[k];
      if (info === undefined) continue;
      if (owner[info.id] !== info) fill(info);
      const flags = wordFlags[k] ?? 0;
      const slot = info.id * 9;
      const u = (flags & WORD_NEGATED) === 0 ? slot : slot + 3;
      z0 += wordScores[u] ?? 0;
      z1 += wordScores[u + 1] ?? 0;
      z2 += wordScores[u + 2] ?? 0;
      if ((flags & WORD_CHARS) !== 0) {
        z0 += wordScores[slot + 6] ?? 0;
        z1 += wordScores[slot + 7] ?? 0;
        z2 += wordScores[slot + 8] ?? 0;
      }
    }
    out[0] = z0;
    out[1] = z1;
    out[2] = z2;
  }

  function predict(text: string): SentimentPrediction {
    logits(text, z);
    return predictionFromLogits(z, temperature);
  }

  function knowsWord(lowerCaseWord: string): boolean {
    return vocabulary.has(fnv1a(lowerCaseWord, SALT_VOCABULARY));
  }

  return { version, space, temperature, predict, logits, knowsWord };
}

/**
 * Texts longer than any the model was trained or checked on (tweets: at most 35 words) are
 * scored in segments of about a tweet's length. Counted in tokens other than punctuation, so
 * that every labelled set (none above 50 of them) is scored whole, exactly as it was measured.
 */
export const LONG_TEXT_TOKENS = 60;
const SEGMENT_TOKENS = 40;
const MIN_SEGMENT_TOKENS = 15;
const SENTENCE_END = /^[.!?\u2026\u3002\uff01\uff1f]+$/;

function contentTokens(tokens: readonly Token[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (tokens[i]?.kind !== 'punct') n++;
  return n;
}

/**
 * Where a long text's segments start (token indexes, ending with the token count), or null for
 * a text short enough to be scored whole. A segment ends after a sentence's end once it has
 * MIN_SEGMENT_TOKENS content tokens, and at SEGMENT_TOKENS in any case.
 */
export function segmentCuts(tokens: readonly Token[]): number[] | null {
  if (contentTokens(tokens, 0, tokens.length) <= LONG_TEXT_TOKENS) return null;
  const cuts = [0];
  let inSegment = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined) continue;
    if (token.kind !== 'punct') {
      if (inSegment === SEGMENT_TOKENS) {
        cuts.push(i);
        inSegment = 0;
      }
      inSegment++;
    } else if (inSegment >= MIN_SEGMENT_TOKENS && SENTENCE_END.test(token.text)) {
      cuts.push(i + 1);
      inSegment = 0;
    }
  }
  if (cuts.at(-1) !== tokens.length) cuts.push(tokens.length);
  // A last segment of a few tokens joins the one before it.
  if (
    cuts.length > 2 &&
    contentTokens(tokens, cuts.at(-2) ?? 0, tokens.length) < MIN_SEGMENT_TOKENS
  )
    cuts.splice(cuts.length - 2, 1);
  return cuts;
}

/** Calibrated probabilities, label (argmax; ties go to neutral) and score from raw logits. */
export function predictionFromLogits(z: Float64Array, temperature: number): SentimentPrediction {
  const probabilities = softmax3(z, temperature);
  const [pNeg, pNeu, pPos] = probabilities;
  let label: SentimentClass = 'neutral';
  if (pNeg > pNeu && pNeg >= pPos) label = 'negative';
  else if (pPos > pNeu && pPos > pNeg) label = 'positive';
  return { probabilities, label, score: pPos - pNeg };
}

export function linearScores(
  weights: Float32Array,
  features: FeatureBuffer,
  out: Float64Array,
): void {
  let z0 = 0;
  let z1 = 0;
  let z2 = 0;
  const { indices, values, count } = features;
  for (let k = 0; k < count; k++) {
    const row = (indices[k] ?? 0) * 3;
    const v = values[k] ?? 0;
    z0 += (weights[row] ?? 0) * v;
    z1 += (weights[row + 1] ?? 0) * v;
    z2 += (weights[row + 2] ?? 0) * v;
  }
  out[0] = z0;
  out[1] = z1;
  out[2] = z2;
}

export function softmax3(z: Float64Array, temperature: number): [number, number, number] {
  const a = (z[0] ?? 0) / temperature;
  const b = (z[1] ?? 0) / temperature;
  const c = (z[2] ?? 0) / temperature;
  const m = Math.max(a, b, c);
  const ea = Math.exp(a - m);
  const eb = Math.exp(b - m);
  const ec = Math.exp(c - m);
  const s = ea + eb + ec;
  return [ea / s, eb / s, ec / s];
}

/** Quantises float weights into the shipped file format. */
export function encodeWeights(weights: Float32Array): { scale: number; weights: string } {
  let max = 0;
  for (const w of weights) max = Math.max(max, Math.abs(w));
  const scale = max === 0 ? 1 : max / 32767;
  const q = new Int16Array(weights.length);
  for (let i = 0; i < weights.length; i++) q[i] = Math.round((weights[i] ?? 0) / scale);
  const bytes = new Uint8Array(q.buffer);
  return { scale, weights: bytesToBase64(bytes) };
}

export function decodeWeights(file: Pick<SentimentModelFile, 'scale' | 'weights'>): Float32Array {
  const bytes = base64ToBytes(file.weights);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) * file.scale;
  return out;
}

export function loadSentimentModel(
  file: SentimentModelFile,
  lexicon: LexiconLookup,
): SentimentModel {
  if (file.format !== 'socialpulse-sentiment-linear') {
    throw new Error(`sentiment model: unknown format ${String(file.format)}`);
  }
  return createSentimentModel(
    {
      space: file.space,
      weights: decodeWeights(file),
      temperature: file.temperature,
      version: file.version,
      ...(file.vocabulary === undefined ? {} : { vocabulary: decodeUint32(file.vocabulary) }),
    },
    lexicon,
  );
}

/** Sorted uint32 values ⇄ base64 (little-endian), for the hashed vocabulary. */
export function encodeUint32(values: readonly number[]): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
  return bytesToBase64(bytes);
}

export function decodeUint32(b64: string): Uint32Array {
  const bytes = base64ToBytes(b64);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.byteLength >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

// atob/btoa work on "binary strings"; chunks keep String.fromCharCode's argument list short.
function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64ToBytes(b64: string): Uint8Array {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
