/**
 * `npm run bench:analyze`: posts/s on one core for sentiment alone (SocialPulse VADER, model,
 * default) and for the full analysis, with the peers `vader-sentiment` and `sentiment` (AFINN)
 * and `obscenity`'s own matcher timed in the same run as ratios; then `socialpulse analyze`'s
 * streaming path over N generated JSON lines (default 200,000; `--lines 1000000`) with peak RSS.
 * Texts: SemEval-2016 test tweets from the shared data folder (internal, read in place).
 */
import { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import Sentiment from 'sentiment';
// @ts-expect-error -- vader-sentiment ships no types; it is only used here, as a peer.
import vaderNpm from 'vader-sentiment';
import { createAnalyzer } from '../apps/server/src/analysis/analyzer.js';
import { getSentimentModel } from '../apps/server/src/analysis/models/sentiment-weights.js';
import { tokenize } from '../apps/server/src/analysis/nlp/tokenize.js';
import { createToxicityDetector } from '../apps/server/src/analysis/nlp/toxicity.js';
import { getVader } from '../apps/server/src/analysis/nlp/vader/vader-lexicons.js';
import { readSemeval } from '../apps/server/src/analysis/training/labelled-data.js';
import { defaultSharedDataDir } from '../apps/server/src/analysis/training/shared-data.js';
import { analyzeStream } from '../apps/server/src/cli/commands/analyze.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '2' },
  },
});
const dataDir = defaultSharedDataDir(process.env.SOCIALPULSE_SHARED_DATA);
const texts = readSemeval(dataDir, 'twitter-2016test-A').map((r) => r.text);
const minSeconds = Number(values.seconds);

/** Posts/s of `f` over the corpus: best of 3 timed runs of at least `minSeconds` each, after a warm-up. */
function postsPerSecond(f: (batch: readonly string[]) => void): number {
  const batches: string[][] = [];
  for (let i = 0; i < texts.length; i += 100) batches.push(texts.slice(i, i + 100));
  for (const b of batches.slice(0, 50)) f(b);
  let best = 0;
  for (let run = 0; run < 3; run++) {
    let n = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < minSeconds * 1000) {
      for (const b of batches) {
        f(b);
        n += b.length;
      }
      elapsed = performance.now() - t0;
    }
    best = Math.max(best, (n / elapsed) * 1000);
  }
  return best;
}

interface VaderNpm {
  SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } };
}
const npmVader = vaderNpm as VaderNpm;
const afinn = new Sentiment();
const vader = getVader();
const model = getSentimentModel();
const analyzer = createAnalyzer({ engine: 'default' });
const toxicity = createToxicityDetector();
const obscenity = new RegExpMatcher({
  ...englishDataset.build(),
  ...englishRecommendedTransformers,
});
const posts = texts.map((text, i) => ({ id: String(i), text }));
const postBatches: (typeof posts)[] = [];
for (let i = 0; i < posts.length; i += 100) postBatches.push(posts.slice(i, i + 100));

const results: [string, number][] = [];
const measure = (name: string, f: (batch: readonly string[]) => void): number => {
  const rate = postsPerSecond(f);
  results.push([name, rate]);
  process.stdout.write(
    `${name.padEnd(52)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} posts/s\n`,
  );
  return rate;
};

process.stdout.write(
  `node ${process.version}, one core, ${texts.length} SemEval-2016 test tweets, best of 3 runs\n\n`,
);
const npmVaderRate = measure('npm vader-sentiment 1.1.3', (b) =>
  b.forEach((t) => npmVader.SentimentIntensityAnalyzer.polarity_scores(t)),
);
const afinnRate = measure('npm sentiment 5.0.2 (AFINN)', (b) => b.forEach((t) => afinn.analyze(t)));
const ourVader = measure('SocialPulse VADER', (b) => b.forEach((t) => vader.polarityScores(t)));
const ourModel = measure('SocialPulse model (tokenize + features + linear)', (b) =>
  b.forEach((t) => model.predict(t)),
);
measure('SocialPulse tokenizer alone', (b) => b.forEach((t) => tokenize(t)));
const obscenityRate = measure('npm obscenity 0.4.6 RegExpMatcher (recommended)', (b) =>
  b.forEach((t) => obscenity.hasMatch(t)),
);
const ourToxicity = measure('SocialPulse toxicity (obscenity word list, one regex)', (b) =>
  b.forEach((t) => toxicity.detect(t)),
);
let index = 0;
const full = measure('SocialPulse full analysis (analyzeBatch of 100)', () => {
  analyzer.analyzeBatch(postBatches[index++ % postBatches.length] ?? []);
});

let agree = 0;
for (const t of texts) if (toxicity.detect(t).toxic === obscenity.hasMatch(t)) agree++;

process.stdout.write(`\nratios\n`);
process.stdout.write(
  `  VADER vs npm vader-sentiment: ${(ourVader / npmVaderRate).toFixed(1)}x (target ≥ 3x)\n`,
);
process.stdout.write(
  `  model: ${Math.round(ourModel).toLocaleString('en-US')} posts/s (target ≥ 100,000); ${(ourModel / afinnRate).toFixed(2)}x AFINN\n`,
);
process.stdout.write(
  `  full analysis: ${Math.round(full).toLocaleString('en-US')} posts/s (target ≥ 20,000); ${(full / npmVaderRate).toFixed(1)}x npm vader-sentiment alone\n`,
);
process.stdout.write(
  `  toxicity vs obscenity's matcher: ${(ourToxicity / obscenityRate).toFixed(1)}x faster, same flag on ${((agree / texts.length) * 100).toFixed(2)}% of tweets\n`,
);

// The CLI's streaming path: generated JSON lines in, JSON lines out to nowhere; peak RSS.
const lines = Number(values.lines);
let produced = 0;
const input = new Readable({
  read() {
    for (let k = 0; k < 1000 && produced < lines; k++, produced++) {
      const t = texts[produced % texts.length] ?? '';
      this.push(
        produced % 10_000 === 9_999
          ? '{"id": broken\n'
          : `${JSON.stringify({ id: `p${produced}`, text: t })}\n`,
      );
    }
    if (produced >= lines) this.push(null);
  },
});
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
const t0 = performance.now();
const summary = await analyzeStream(input, sink, createAnalyzer());
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
process.stdout.write(
  `\nsocialpulse analyze streaming: ${summary.lines.toLocaleString('en-US')} lines (${summary.errors} malformed) in ${seconds.toFixed(1)} s, ${Math.round(summary.analyzed / seconds).toLocaleString('en-US')} posts/s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB\n`,
);
