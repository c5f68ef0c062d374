/**
 * Keywords and keyphrases. Per post: content words and two-word phrases of adjacent content
 * words, ranked by TF-IDF against an IDF table (the corpus's, when one is given; otherwise a
 * stop-word list and a length prior stand in). Per corpus: `createCorpusKeywords` counts
 * document frequencies in bounded memory and ranks terms by summed TF-IDF.
 */
import { squashElongation, type Token } from './tokenize.js';

// English stop words, social-media filler ("rt", "via") and the names of the HTML entities
// that scraped and exported posts carry undecoded ("&quot;" is tokenized as the word "quot";
// numeric ones such as "&#39;" give no word).
const STOP_WORDS = new Set(
  (
    "a about above after again against all am an and any are aren't as at be because been before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then there there's these they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves " +
    'rt via amp gt lt im dont cant u ur just get got like one also will would now new day today time lol yeah oh ok okay im ive youre thats its wanna gonna gotta really still even much many well back go going know think see say said make way need want ' +
    'quot apos nbsp hellip mdash ndash lsquo rsquo ldquo rdquo laquo raquo'
  ).split(' '),
);

/** Longer "words" are runs of text without a break (a pasted blob, a clause), not keywords. */
const MAX_TERM_LENGTH = 30;

// Scripts written without spaces between words: the tokenizer gives a whole clause as one
// "word" there, so such a word is no keyword. Hangul is written with spaces, but a Hangul
// token carries its particles ("날씨가", "날씨는"), so it would not count as one term either.
const UNSPACED_SCRIPT =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

// Words spelt with a double letter that posts stretch ("goooood", "cooool"): elongation
// of these keeps two letters (see keywordTerm).
const DOUBLED_WORDS = new Set(
  'good cool sweet sleep feel soon food free miss kill happy sorry hello hell boo woo woohoo yummy funny silly pretty little coffee beer tweet week kiss boss'.split(
    ' ',
  ),
);

/**
 * The keyword form of a word token's norm, or undefined when it is no content term.
 * An elongated word (a run of 3+ identical letters) drops the run to one letter: the
 * sentiment features keep two ("soo") and fall back to one for their lexicon, but here there
 * is no lexicon to choose with, and on the labelled tweets one letter is the written form
 * almost nine times in ten ("so", "yes", "no", "please"); the common exceptions are listed in
 * DOUBLED_WORDS. When either form is a stop word ("sooo", "welll"), so is the word.
 */
function keywordTerm(norm: string): string | undefined {
  let w = norm;
  const squashed = squashElongation(norm);
  if (squashed !== norm) {
    if (STOP_WORDS.has(squashed)) return undefined;
    w = DOUBLED_WORDS.has(squashed) ? squashed : squashElongation(norm, 1);
  }
  if (w.length < 3 || w.length > MAX_TERM_LENGTH || STOP_WORDS.has(w)) return undefined;
  // Checked only past U+0E00 (the first unspaced script, Thai): most words are ASCII.
  for (let i = 0; i < w.length; i++) {
    if (w.charCodeAt(i) >= 0x0e00) return UNSPACED_SCRIPT.test(w) ? undefined : w;
  }
  return w;
}

export interface Keyword {
  term: string;
  score: number;
}

/**
 * Content terms of a post, as runs of adjacent content words: words in lower case, elongation
 * collapsed, 3 to 30 characters, not stop words, not in a script written without spaces.
 */
export function contentTerms(tokens: readonly Token[]): string[][] {
  // A stop word, URL or punctuation breaks a run.
  const runs: string[][] = [];
  let run: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'word') {
      // Word tokens start with a letter (tokenize.ts), so no digit test is needed.
      const w = keywordTerm(t.norm);
      if (w !== undefined) {
        run.push(w);
        continue;
      }
    }
    if (run.length > 0) runs.push(run);
    run = [];
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Unigrams and adjacent bigrams with their counts in one post. */
export function termCounts(tokens: readonly Token[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const run of contentTerms(tokens)) {
    for (let i = 0; i < run.length; i++) {
      const w = run[i] ?? '';
      counts.set(w, (counts.get(w) ?? 0) + 1);
      const next = run[i + 1];
      // "good good" says "good" louder, not a phrase.
      if (next !== undefined && next !== w) {
        const phrase = `${w} ${next}`;
        counts.set(phrase, (counts.get(phrase) ?? 0) + 1);
      }
    }
  }
  return counts;
}

export type IdfLookup = (term: string) => number;

/** Without corpus statistics: longer terms and phrases are more specific. */
export const defaultIdf: IdfLookup = (term) =>
  Math.log(2 + term.length) + (term.includes(' ') ? 0.5 : 0);

function addTerm(
  term: string,
  terms: (string | undefined)[],
  counts: number[],
  index: Map<string, number>,
): void {
  const k = index.get(term);
  if (k === undefined) {
    index.set(term, terms.length);
    terms.push(term);
    counts.push(1);
  } else counts[k] = (counts[k] ?? 0) + 1;
}

export function postKeywords(
  tokens: readonly Token[],
  limit = 5,
  idf: IdfLookup = defaultIdf,
): Keyword[] {
  // The terms of termCounts, gathered into arrays in one pass (no run arrays, no Map entry
  // iteration: this is the analyzer's per-post hot path). Insertion order does not matter:
  // the selection below orders by score, then term.
  const terms: (string | undefined)[] = [];
  const scores: number[] = [];
  const index = new Map<string, number>();
  let previous: string | undefined;
  for (const t of tokens) {
    if (t.kind === 'word') {
      const w = keywordTerm(t.norm);
      if (w !== undefined) {
        addTerm(w, terms, scores, index);
        if (previous !== undefined && previous !== w)
          addTerm(`${previous} ${w}`, terms, scores, index);
        previous = w;
        continue;
      }
    }
    previous = undefined;
  }
  for (let i = 0; i < terms.length; i++) scores[i] = (scores[i] ?? 0) * idf(terms[i] ?? '');
  // Terms in order of score (highest first, ties by term), as a sort would give them, but
  // picked one at a time: a post has a few dozen terms and only `limit` (plus the few that
  // a chosen phrase makes redundant) are ever needed, so selection beats sorting them all.
  const chosen: Keyword[] = [];
  let phraseWords: Set<string> | undefined;
  const n = terms.length;
  for (let picked = 0; picked < n && chosen.length < limit; picked++) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      const t = terms[i];
      if (t === undefined) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const si = scores[i] ?? 0;
      const sb = scores[best] ?? 0;
      if (si > sb || (si === sb && t < (terms[best] ?? ''))) best = i;
    }
    if (best < 0) break;
    const term = terms[best] ?? '';
    const score = scores[best] ?? 0;
    terms[best] = undefined; // taken
    const space = term.indexOf(' ');
    if (space < 0 && phraseWords?.has(term) === true) continue;
    chosen.push({ term, score: Math.round(score * 1000) / 1000 });
    if (space >= 0) {
      phraseWords ??= new Set();
      for (const w of term.split(' ')) phraseWords.add(w);
    }
  }
  return chosen;
}

export interface CorpusKeywords {
  add(tokens: readonly Token[]): void;
  readonly documents: number;
  idf: IdfLookup;
  top(limit: number): Keyword[];
}

/**
 * Corpus keywords in bounded memory: at most `maxTerms` distinct terms are tracked; when
 * the table is full, the rarest half is dropped (a space-saving approximation: terms that
 * matter for a top list are frequent).
 */
export function createCorpusKeywords(maxTerms = 200_000): CorpusKeywords {
  const df = new Map<string, number>();
  const tf = new Map<string, number>();
  let documents = 0;
  function prune(): void {
    const entries = [...df.entries()].sort((a, b) => a[1] - b[1]);
    for (const [term] of entries.slice(0, Math.floor(entries.length / 2))) {
      df.delete(term);
      tf.delete(term);
    }
  }
  const idf: IdfLookup = (term) => Math.log((1 + documents) / (1 + (df.get(term) ?? 0))) + 1;
  return {
    add(tokens) {
      documents++;
      for (const [term, count] of termCounts(tokens)) {
        df.set(term, (df.get(term) ?? 0) + 1);
        tf.set(term, (tf.get(term) ?? 0) + count);
      }
      if (df.size > maxTerms) prune();
    },
    get documents() {
      return documents;
    },
    idf,
    top(limit) {
      const scored: Keyword[] = [];
      for (const [term, count] of tf) {
        if ((df.get(term) ?? 0) < 2) continue;
        scored.push({ term, score: Math.round(count * idf(term) * 1000) / 1000 });
      }
      scored.sort((a, b) => b.score - a.score || (a.term < b.term ? -1 : 1));
      return scored.slice(0, limit);
    },
  };
}
