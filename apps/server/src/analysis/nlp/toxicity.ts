/**
 * Profanity / toxicity flag from the word list of `obscenity` (maintained English dataset,
 * MIT). Obscenity's own matcher runs one regular expression per term plus transformer
 * chains, about 10,000 posts/s on tweets; here the same parsed patterns are compiled into a
 * single regular expression over a text transformed once (ASCII lower case, leet speak,
 * repeated letters collapsed with obscenity's recommended thresholds), and whitelisted
 * phrases ("scunthorpe" cases) are masked first. Measured agreement with obscenity's
 * recommended matcher is in bench/README.md.
 */
import { englishDataset, SyntaxKind, type ParsedPattern } from 'obscenity';
import { tokenize, type Token } from './tokenize.js';

export interface ToxicityResult {
  toxic: boolean;
  /** The matched terms as written in the transformed text (at most 10). */
  terms: string[];
}

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
})) {
  LEET_CODES[from.charCodeAt(0)] = to.charCodeAt(0);
}
const COLLAPSE_CODES: (number | undefined)[] = [];
for (const ch of 'beolsg') COLLAPSE_CODES[ch.charCodeAt(0)] = 2;

/** Lower case ASCII, leet speak decoded, runs longer than the threshold collapsed. */
let transformBuffer = new Uint16Array(1024);

export function transformForMatching(text: string): string {
  if (transformBuffer.length < text.length) transformBuffer = new Uint16Array(text.length);
  const out = transformBuffer;
  let n = 0;
  let prev = -1;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c < 128) c = LEET_CODES[c] ?? c;
    run = c === prev ? run + 1 : 1;
    prev = c;
    if (c >= 97 && c <= 122 && run > (COLLAPSE_CODES[c] ?? 1)) continue;
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
  let source = pattern.requireWordBoundaryAtStart ? '(?<![a-z0-9])' : '';
  for (const node of pattern.nodes) {
    if (node.kind === SyntaxKind.Literal) source += node.chars.map(escapeChar).join('');
    else if (node.kind === SyntaxKind.Wildcard) source += '.';
    else if (node.kind === SyntaxKind.Optional) {
      const child = node.childNode;
      source +=
        child.kind === SyntaxKind.Literal ? `(?:${child.chars.map(escapeChar).join('')})?` : '.?';
    }
  }
  if (pattern.requireWordBoundaryAtEnd) source += '(?![a-z0-9])';
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

export function createToxicityDetector(): ToxicityDetector {
  const built = englishDataset.build();
  const blacklist = new RegExp(
    built.blacklistedTerms.map((t) => patternSource(t.pattern)).join('|'),
    'g',
  );
  const whitelist = built.whitelistedTerms ?? [];
  const whitelistRe =
    whitelist.length === 0
      ? null
      : new RegExp(
          whitelist
            .map((w) => transformForMatching(w))
            .sort((a, b) => b.length - a.length)
            .map((w) => w.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))
            .join('|'),
          'g',
        );
  return {
    detect(text, tokens = tokenize(text)) {
      let t = transformForMatching(withoutLinksAndMentions(text, tokens));
      // Whitelisted phrases are blanked (same length) so that their letters cannot match.
      if (whitelistRe !== null) t = t.replace(whitelistRe, (m) => '\u0000'.repeat(m.length));
      const terms: string[] = [];
      blacklist.lastIndex = 0;
      for (let m = blacklist.exec(t); m !== null && terms.length < 10; m = blacklist.exec(t)) {
        if (m[0] === '') {
          blacklist.lastIndex++;
          continue;
        }
        terms.push(m[0]);
      }
      return { toxic: terms.length > 0, terms };
    },
  };
}
