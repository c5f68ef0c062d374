/**
 * Text every part of SocialPulse can store and analyse: its own module (no models, no lexicons),
 * so that the collection can clean what a platform sent without loading the analysis.
 */

/** Removes what JSON and downstream code choke on: NUL and unpaired surrogates. */
export function sanitizeText(text: string): string {
  // Fast path: no NUL and no surrogate at all (most posts) means nothing to replace.
  let suspect = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) {
      suspect = true;
      break;
    }
  }
  if (!suspect) return text;
  const out = text.includes('\u0000') ? text.replaceAll('\u0000', ' ') : text;
  return LONE_SURROGATE.test(out) ? out.replace(LONE_SURROGATE_G, '\uFFFD') : out;
}

const LONE_SURROGATE_SOURCE =
  '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE);
const LONE_SURROGATE_G = new RegExp(LONE_SURROGATE_SOURCE, 'g');
