import modelFile from './data/sentiment-model.json' with { type: 'json' };
import { getVader } from '../nlp/vader/vader-lexicons.js';
import { createLexiconLookup } from './sentiment-lexicon.js';
import {
  loadSentimentModel,
  type SentimentModel,
  type SentimentModelFile,
} from './sentiment-model.js';

/** The shipped model file (built by `npm run train:sentiment`). */
export const shippedModelFile = modelFile as SentimentModelFile;

let shared: SentimentModel | undefined;

/** The shipped sentiment model, decoded on first use (~20 ms). */
export function getSentimentModel(): SentimentModel {
  shared ??= loadSentimentModel(shippedModelFile, createLexiconLookup(getVader()));
  return shared;
}
