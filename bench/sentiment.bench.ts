/**
 * `npm run bench:sentiment`: accuracy, macro-F1 and (where ratings are continuous) Pearson r
 * of SocialPulse's VADER, trained model and default sentiment, and in the same run the npm
 * packages `vader-sentiment` and `sentiment` (AFINN), on every labelled set in the shared
 * data folder: VADER's tweets (human mean rating, 3 classes at ±0.05 of mean/4) and the
 * SemEval split held out of training and of all tuning (a seeded, stratified 25% of
 * twitter-2016test-A, defined once in `training/splits.ts`, which the trainer uses too).
 */
import Sentiment from 'sentiment';
// @ts-expect-error -- vader-sentiment ships no types; it is only used here, as a peer.
import vaderNpm from 'vader-sentiment';
import { createAnalyzer } from '../apps/server/src/analysis/analyzer.js';
import { isItemError, type SentimentEngineName } from '../apps/server/src/analysis/engine.js';
import { classificationReport, pearson } from '../apps/server/src/analysis/evaluation/metrics.js';
import { getVader } from '../apps/server/src/analysis/nlp/vader/vader-lexicons.js';
import { vaderLabel } from '../apps/server/src/analysis/nlp/vader/vader.js';
import {
  readVaderTweets,
  type LabelledText,
} from '../apps/server/src/analysis/training/labelled-data.js';
import {
  HELD_OUT_FILE,
  HELD_OUT_SHARE,
  isVaderHeldOut,
  readSemevalHeldOut,
} from '../apps/server/src/analysis/training/splits.js';
import { defaultSharedDataDir } from '../apps/server/src/analysis/training/shared-data.js';

const dataDir = defaultSharedDataDir(process.env.SOCIALPULSE_SHARED_DATA);
const CLASSES = ['negative', 'neutral', 'positive'] as const;

interface Peer {
  name: string;
  /** Label and a continuous score (for Pearson r). Null label: the engine declined. */
  run(texts: readonly string[]): { label: string | null; score: number }[];
}

const vader = getVader();
const analyzer = createAnalyzer({ engine: 'all' });
const afinn = new Sentiment();
interface VaderNpm {
  SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } };
}
const npmVader = vaderNpm as VaderNpm;

function ours(engine: SentimentEngineName): Peer['run'] {
  return (texts) =>
    analyzer.analyzeBatch(texts.map((text, i) => ({ id: String(i), text }))).map((r) => {
      if (isItemError(r)) return { label: null, score: 0 };
      const s = r.sentiments?.[engine];
      return { label: s?.label ?? null, score: s?.score ?? 0 };
    });
}

const peers: Peer[] = [
  {
    name: 'SocialPulse VADER (pure, no language gate)',
    run: (texts) =>
      texts.map((t) => {
        const c = vader.polarityScores(t).compound;
        return { label: vaderLabel(c), score: c };
      }),
  },
  { name: 'SocialPulse model', run: ours('model') },
  { name: 'SocialPulse default (model + VADER)', run: ours('default') },
  {
    name: 'npm vader-sentiment 1.1.3',
    run: (texts) =>
      texts.map((t) => {
        const c = npmVader.SentimentIntensityAnalyzer.polarity_scores(t).compound;
        return { label: vaderLabel(c), score: c };
      }),
  },
  {
    name: 'npm sentiment 5.0.2 (AFINN)',
    run: (texts) =>
      texts.map((t) => {
        const r = afinn.analyze(t);
        return {
          label: r.score > 0 ? 'positive' : r.score < 0 ? 'negative' : 'neutral',
          score: r.comparative,
        };
      }),
  },
];

const sets: { name: string; rows: LabelledText[] }[] = [
  {
    name: 'VADER tweets (4,200; human mean rating; the model trained on the odd-id half)',
    rows: readVaderTweets(dataDir),
  },
  {
    name: 'VADER tweets, even ids (held out of training and of the combiner)',
    rows: readVaderTweets(dataDir).filter(isVaderHeldOut),
  },
  {
    name: `SemEval held out (${HELD_OUT_SHARE * 100}% of ${HELD_OUT_FILE}; never trained or tuned on)`,
    rows: readSemevalHeldOut(dataDir),
  },
];

const pad = (s: string, n: number): string => s.padEnd(n);
for (const set of sets) {
  process.stdout.write(`\n${set.name}: ${set.rows.length} texts\n`);
  process.stdout.write(`${pad('engine', 44)} accuracy  macro-F1  pearson-r  no-answer\n`);
  const texts = set.rows.map((r) => r.text);
  const gold = set.rows.map((r) => r.label);
  const ratings = set.rows.map((r) => r.rating);
  for (const peer of peers) {
    const out = peer.run(texts);
    const report = classificationReport(
      gold,
      out.map((o) => o.label),
      CLASSES,
    );
    const r = ratings.every((x) => x !== undefined)
      ? pearson(
          out.map((o) => o.score),
          ratings.map((x) => x ?? 0),
        ).toFixed(3)
      : '-';
    const none = out.filter((o) => o.label === null).length;
    process.stdout.write(
      `${pad(peer.name, 44)} ${report.accuracy.toFixed(3).padStart(8)}  ${report.macroF1.toFixed(3).padStart(8)}  ${r.padStart(9)}  ${String(none).padStart(9)}\n`,
    );
  }
}
