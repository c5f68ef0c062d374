/**
 * Profanity / toxicity flag from the word list of `obscenity` (maintained English dataset,
 * MIT). Obscenity's own matcher runs one regular expression per term plus transformer
 * chains, about 10,000 posts/s on tweets; here the same parsed patterns are compiled into a
 * single regular expression over a text transformed once (ASCII lower case, leet speak,
 * repeated characters collapsed with obscenity's recommended thresholds; word boundaries and
 * wildcards as obscenity compiles them: `_` is a word character, `?` matches a line break).
 *
 * Whitelisted terms ("scunthorpe" cases: "assassin", "class", "cockney") are handled as
 * obscenity handles them: searched as written in the post lower-cased with runs of spaces
 * collapsed (no leet speak: the term "45s" protects "45s", not "ass"), and a match is dropped
 * only when one whitelisted occurrence covers all of it. Deliberate differences from
 * obscenity's recommended matcher: no terms inside links and @mentions; "(", "|" and "/" are
 * not read as letters (see LEET_CODES); no folding of confusable Unicode letters. Measured
 * agreement is in bench/README.md; toxicity.test.ts compares phrase by phrase.
 */
import { englishDataset, SyntaxKind, type ParsedPattern } from 'obscenity';
import { tokenize, type Token } from './tokenize.js';

export interface ToxicityResult {
  toxic: boolean;
  /** The matched terms as written in the transformed text (at most 10). */
  terms: string[];
}

// Obscenity's leet-speak table without "(" → c, "|" → i and "/" → l: in posts those are
// brackets and separators far more often than letters ("(um" would read "cum").
const LEET_CODES: (number | undefined)[] = [];
for (const [from, to] of Object.entries({
  '4': 'a',
  '@': 'a',
  '3': 'e',
  '1': 'i',
  '!': 'i',
  '0': 'o',
  $: 's',
  '5': 's',
  '7': 't',
  '6': 'g',
  '2': 'z',
})) {
  LEET_CODES[from.charCodeAt(0)] = to.charCodeAt(0);
}
const COLLAPSE_CODES: (number | undefined)[] = [];
for (const ch of 'beolsg') COLLAPSE_CODES[ch.charCodeAt(0)] = 2;

let transformBuffer = new Uint16Array(1024);
/** transformOrigin[k]: the input offset of the k-th character of the last transform's output. */
let transformOrigin = new Uint32Array(1024);

/**
 * Lower case ASCII, leet speak decoded, then runs of any character longer than obscenity's
 * thresholds collapsed (as its collapseDuplicatesTransformer does: "f**ck" reads "f*ck").
 */
export function transformForMatching(text: string): string {
  if (transformBuffer.length < text.length) {
    transformBuffer = new Uint16Array(text.length);
    transformOrigin = new Uint32Array(text.length);
  }
  const out = transformBuffer;
  const origin = transformOrigin;
  let n = 0;
  let prev = -1;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c < 128) c = LEET_CODES[c] ?? c;
    run = c === prev ? run + 1 : 1;
    prev = c;
    if (run > (COLLAPSE_CODES[c] ?? 1)) continue;
    origin[n] = i;
    out[n++] = c;
  }
  // Chunks keep fromCharCode's argument list short on long texts.
  let s = '';
  for (let i = 0; i < n; i += 8192) {
    s += String.fromCharCode.apply(
      null,
      out.subarray(i, Math.min(n, i + 8192)) as unknown as number[],
    );
  }
  return s;
}

function escapeChar(code: number): string {
  return String.fromCharCode(code).replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function patternSource(pattern: ParsedPattern): string {
  let source = pattern.requireWordBoundaryAtStart ? '(?<![a-z0-9_])' : '';
  for (const node of pattern.nodes) {
    if (node.kind === SyntaxKind.Literal) source += node.chars.map(escapeChar).join('');
    else if (node.kind === SyntaxKind.Wildcard) source += '.';
    else if (node.kind === SyntaxKind.Optional) {
      const child = node.childNode;
      source +=
        child.kind === SyntaxKind.Literal ? `(?:${child.chars.map(escapeChar).join('')})?` : '.?';
    }
  }
  if (pattern.requireWordBoundaryAtEnd) source += '(?![a-z0-9_])';
  return source;
}

export interface ToxicityDetector {
  /** `tokens`: tokenize(text), when the caller has them already. */
  detect(text: string, tokens?: readonly Token[]): ToxicityResult;
}

/**
 * The text with its links and @mentions blanked (same length). Their letters are not words
 * anyone wrote: leet speak decoding finds terms in random short-link codes
 * ("t.co/aB1tCh" → "abitch") and in user names.
 */
function withoutLinksAndMentions(text: string, tokens: readonly Token[]): string {
  let out = '';
  let from = 0;
  for (const t of tokens) {
    if (t.kind !== 'url' && t.kind !== 'mention') continue;
    out += text.slice(from, t.start) + ' '.repeat(t.text.length);
    from = t.start + t.text.length;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * The post as obscenity's whitelist matcher reads it (ASCII lower case, runs of spaces as one
 * space), and for each of its characters the input offset it came from.
 */
function whitelistView(text: string): { view: string; origin: number[] } {
  let view = '';
  const origin: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c === 32 && i > 0 && text.charCodeAt(i - 1) === 32) continue;
    if (c >= 65 && c <= 90) c += 32;
    view += String.fromCharCode(c);
    origin.push(i);
  }
  return { view, origin };
}

/**
 * Input intervals [start, end] (inclusive, flattened) of every whitelisted term, found as
 * obscenity finds them: each term searched as written, occurrences of one term not overlapping.
 */
function whitelistedIntervals(text: string, whitelist: readonly string[]): number[] {
  const { view, origin } = whitelistView(text);
  const intervals: number[] = [];
  for (const term of whitelist) {
    for (let at = view.indexOf(term); at !== -1; at = view.indexOf(term, at + term.length)) {
      intervals.push(origin[at] ?? 0, origin[at + term.length - 1] ?? 0);
    }
  }
  return intervals;
}

function covered(intervals: readonly number[], start: number, end: number): boolean {
  for (let k = 0; k < intervals.length; k += 2) {
    if ((intervals[k] ?? 0) <= start && end <= (intervals[k + 1] ?? -1)) return true;
  }
  return false;
}

export function createToxicityDetector(): ToxicityDetector {
  const built = englishDataset.build();
  const sources = built.blacklistedTerms.map((t) => patternSource(t.pattern));
  const blacklist = new RegExp(sources.join('|'), 'gs');
  // One expression per term, for the rare post where a whitelisted term might cover a match:
  // obscenity tests every term on its own there, so a term that a whitelisted word covers
  // cannot hide another term overlapping it.
  let perTerm: RegExp[] | undefined;
  // Obscenity's whitelist transformers are ASCII lower case and collapsed spaces, nothing
  // else; the dataset's terms are already in that form, so they are used as written.
  const whitelist = (built.whitelistedTerms ?? []).filter((w) => w !== '');

  /** Matches in `t` (the post transformed) that no whitelisted term covers, left to right. */
  function unwhitelisted(t: string, intervals: readonly number[]): string[] {
    // transformOrigin is overwritten by the next transform: read it before anything else runs.
    const origin = transformOrigin;
    perTerm ??= sources.map((source) => new RegExp(source, 'gs'));
    const found: { at: number; term: number; text: string }[] = [];
    perTerm.forEach((re, term) => {
      re.lastIndex = 0;
      for (let m = re.exec(t); m !== null; m = re.exec(t)) {
        if (m[0] === '') {
          re.lastIndex++;
          continue;
        }
        const start = origin[m.index] ?? 0;
        const end = origin[m.index + m[0].length - 1] ?? 0;
        if (!covered(intervals, start, end)) found.push({ at: m.index, term, text: m[0] });
      }
    });
    // Reported as the single expression reports them: leftmost first, earlier term first at
    // one position, none overlapping one already reported.
    found.sort((a, b) => a.at - b.at || a.term - b.term);
    const terms: string[] = [];
    let reachedTo = 0;
    for (const f of found) {
      if (terms.length === 10) break;
      if (f.at < reachedTo) continue;
      terms.push(f.text);
      reachedTo = f.at + f.text.length;
    }
    return terms;
  }

  return {
    detect(text, tokens = tokenize(text)) {
      const t = transformForMatching(withoutLinksAndMentions(text, tokens));
      const terms: string[] = [];
      blacklist.lastIndex = 0;
      for (let m = blacklist.exec(t); m !== null && terms.length < 10; m = blacklist.exec(t)) {
        if (m[0] === '') {
          blacklist.lastIndex++;
          continue;
        }
        terms.push(m[0]);
      }
      // Most posts match no term: the whitelist is only looked for when something matched.
      if (terms.length === 0) return { toxic: false, terms };
      const intervals = whitelistedIntervals(text, whitelist);
      if (intervals.length === 0) return { toxic: true, terms };
      const kept = unwhitelisted(t, intervals);
      return { toxic: kept.length > 0, terms: kept };
    },
  };
}
