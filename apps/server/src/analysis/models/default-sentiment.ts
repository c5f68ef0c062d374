/**
 * SocialPulse's default sentiment: a small stacked softmax over the trained model's
 * calibrated logits and VADER's scores. The model knows tweets (SemEval); VADER knows
 * intensity and emphasis; the combiner, fitted on held-apart data of both kinds, keeps the
 * model's accuracy on SemEval while not falling below VADER on VADER's own tweets.
 */
import type { VaderScores } from '../nlp/vader/vader.js';
import { softmax3, type SentimentPrediction, type SentimentClass } from './sentiment-model.js';

export const COMBINER_FEATURES = [
  'model_negative',
  'model_neutral',
  'model_positive',
  'vader_compound',
  'vader_positive',
  'vader_negative',
  'vader_intensity',
  'vader_strong_negative',
  'vader_negative_label',
  'vader_zero',
  'vader_positive_label',
  'vader_strong_positive',
  'bias',
] as const;

export interface CombinerFile {
  features: readonly string[];
  /** Row-major [class][feature]. */
  weights: number[];
}

/** Fills `out` with the combiner's inputs (model logits already divided by its temperature). */
export function combinerInputs(
  scaledLogits: Float64Array,
  vader: VaderScores,
  out: Float64Array,
): void {
  out[0] = scaledLogits[0] ?? 0;
  out[1] = scaledLogits[1] ?? 0;
  out[2] = scaledLogits[2] ?? 0;
  out[3] = vader.compound;
  out[4] = vader.pos;
  out[5] = vader.neg;
  const c = vader.compound;
  out[6] = Math.abs(c);
  out[7] = c <= -0.5 ? 1 : 0;
  out[8] = c <= -0.05 ? 1 : 0;
  out[9] = c === 0 ? 1 : 0;
  out[10] = c >= 0.05 ? 1 : 0;
  out[11] = c >= 0.5 ? 1 : 0;
  out[12] = 1;
}

export function combine(weights: readonly number[], inputs: Float64Array): SentimentPrediction {
  const k = COMBINER_FEATURES.length;
  const z = new Float64Array(3);
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let f = 0; f < k; f++) s += (weights[c * k + f] ?? 0) * (inputs[f] ?? 0);
    z[c] = s;
  }
  const probabilities = softmax3(z, 1);
  const [pNeg, pNeu, pPos] = probabilities;
  let label: SentimentClass = 'neutral';
  if (pNeg > pNeu && pNeg >= pPos) label = 'negative';
  else if (pPos > pNeu && pPos > pNeg) label = 'positive';
  return { probabilities, label, score: pPos - pNeg };
}
