/**
 * Copies VADER's lexicons (MIT, cjhutto/vaderSentiment @44fc044) from the shared data folder
 * into `nlp/vader/data/vader-lexicons.json`, verbatim, so the pure engine can import them
 * statically (no fs at run time, found from `dist` too).
 *
 * Usage: node --import tsx apps/server/src/analysis/training/import-vader-lexicons.ts [SHARED_DATA_DIR]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSharedDataDir } from './shared-data.js';

const dataDir = process.argv[2] ?? defaultSharedDataDir();
const vaderDir = join(dataDir, 'sentiment', 'vader');
const out = new URL('../nlp/vader/data/vader-lexicons.json', import.meta.url);

const json = {
  source:
    'cjhutto/vaderSentiment @44fc044, vaderSentiment/vader_lexicon.txt and emoji_utf8_lexicon.txt',
  license: 'MIT (see LICENSE.txt beside this file)',
  citation:
    'Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text. ICWSM-14.',
  vaderLexicon: readFileSync(join(vaderDir, 'vader_lexicon.txt'), 'utf8'),
  emojiLexicon: readFileSync(join(vaderDir, 'emoji_utf8_lexicon.txt'), 'utf8'),
};
writeFileSync(out, JSON.stringify(json) + '\n');
process.stdout.write(`wrote ${out.pathname}\n`);
