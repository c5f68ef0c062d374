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

export type SentimentEngineName = 'vader' | 'model' | 'default';

export type SentimentNullReason = 'empty_text' | 'unsupported_language' | 'undetermined_language';

export interface SentimentResult {
  label: 'positive' | 'neutral' | 'negative' | null;
  /** -1..1 (P(positive) − P(negative) for the model and default; compound for VADER); null with the label. */
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
