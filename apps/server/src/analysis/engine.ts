/**
 * The one interface every analysis engine implements, and the shapes of its results.
 * An engine is pure (no I/O), deterministic (same input → same output), and names itself:
 * `{ name, version }` is recorded with every result, so stored results say what made them.
 */

export interface EngineInfo {
  name: string;
  version: string;
}

export interface PostInput {
  id: string;
  text: string;
  /** The language the source declares (BCP 47), trusted over detection when present. */
  language?: string;
}

/** A per-item failure: the batch goes on, this item reports why it has no result. */
export interface ItemError {
  id: string;
  error: { code: 'invalid_input' | 'engine_failed'; message: string };
}

export interface Engine<Output> {
  readonly info: EngineInfo;
  /** One result per input, in order (100 in, 100 out). Never throws for one bad item. */
  analyzeBatch(posts: readonly PostInput[]): (Output | ItemError)[];
}

/**
 * The sentiment engines a user can choose, in the order choices are listed. Everything that
 * offers the choice derives from this list or must be kept equal to it (see README, "Adding
 * an engine"): `createAnalyzer`'s `engine` option, `socialpulse analyze --engine`, the jobs'
 * `sentiment_engine` (contract enum, web select, `socialpulse analyses start`).
 */
export const SENTIMENT_ENGINE_NAMES = ['default', 'model', 'vader'] as const;

export type SentimentEngineName = (typeof SENTIMENT_ENGINE_NAMES)[number];

export type SentimentNullReason = 'empty_text' | 'unsupported_language' | 'undetermined_language';

/**
 * One sentiment engine's answer for one post. The rules every engine keeps (the analyzer's
 * property tests check them for every engine, by these rules and not by engine name):
 *
 * - `label` null exactly when the engines may not read the post (empty, or a language they do
 *   not read: the analyzer's gate, `sentimentReadable`, decides for every engine); then
 *   `reason` says why and `score` and `probabilities` are null too.
 * - Otherwise `score` is a finite number within −1..1 (negative to positive), and
 *   `probabilities` is either null (an engine without class probabilities, such as VADER) or
 *   three finite numbers within 0..1 that sum to 1 (±0.001, after rounding to 4 places).
 *   Whether an engine has probabilities is a property of the engine: it gives them for every
 *   post it reads or for none.
 * - Deterministic: the same text (and declared language) gives the same result, byte for byte.
 * - `engine` names the engine and its version; the version changes whenever any output can.
 */
export interface SentimentResult {
  label: 'positive' | 'neutral' | 'negative' | null;
  /** −1..1 (P(positive) − P(negative) for the model and default; compound for VADER); null with the label. */
  score: number | null;
  /**
   * Calibrated class probabilities (the model and the default); null with the label, and always
   * null for VADER, which has none (its neg/neu/pos proportions are the result's `vader`).
   */
  probabilities: { negative: number; neutral: number; positive: number } | null;
  engine: EngineInfo;
  /** Why there is no sentiment, when label is null. */
  reason?: SentimentNullReason;
}

export function isItemError(value: unknown): value is ItemError {
  return typeof value === 'object' && value !== null && 'error' in value && 'id' in value;
}
