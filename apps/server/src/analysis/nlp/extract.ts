/** Entities of a post: hashtags, mentions, cashtags, normalised URLs and emoji (pure). */
import type { Token } from './tokenize.js';

export interface Entities {
  /** Lower case, without '#', unique, in order of appearance. */
  hashtags: string[];
  /** Lower case, without '@', unique. */
  mentions: string[];
  /** Upper case, without '$', unique. */
  cashtags: string[];
  /** Normalised (see normalizeUrl), unique. */
  urls: string[];
  /** Every emoji in order of appearance (repeats kept: they carry intensity). */
  emoji: string[];
}

/** Query parameters that only track the click, never change the page. */
const TRACKING_PARAMS = new Set([
  'fbclid', 'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'twclid',
  'ttclid', 'li_fat_id', 'mc_cid', 'mc_eid', 'igshid', 'igsh', 'si', 'ref_src', 'ref_url',
  '_hsenc', '_hsmi', 'mkt_tok', 'vero_id', 'oly_anon_id', 'oly_enc_id', 'wickedid', 'spm',
  'scid', 'cmpid', 's_cid', 'share_id', 'rdt',
]); // prettier-ignore

/**
 * Normalises a URL for counting: scheme and host lower case, `www.` kept (it can be a
 * different site), default ports, fragments and tracking parameters (utm_*, fbclid, …)
 * removed, trailing sentence punctuation dropped. Returns null for something that is not
 * an http(s) URL.
 */
const SIMPLE_URL = /^https?:\/\/(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*(?:\/[A-Za-z0-9_-]*)*$/;

export function normalizeUrl(raw: string): string | null {
  let candidate = raw.replace(/[.,;:!?)\]}'"\u2026]+$/u, '');
  if (/^www\./i.test(candidate)) candidate = `https://${candidate}`;
  // Most posted links (t.co and the like) are already normal: lower-case host whose last
  // label is not numeric (no IPv4 rewriting) and not punycode, no port, query or fragment,
  // path segments without dots or escapes. The URL parser would return them unchanged
  // (bar a lone "/" path), so skip it; checked against it in extract.test.ts.
  if (SIMPLE_URL.test(candidate) && !candidate.includes('xn--')) {
    return candidate.endsWith('/') &&
      candidate.indexOf('/', candidate.indexOf('//') + 2) === candidate.length - 1
      ? candidate.slice(0, -1)
      : candidate;
  }
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  const kept = [...url.searchParams.entries()].filter(
    ([key]) => !key.toLowerCase().startsWith('utm_') && !TRACKING_PARAMS.has(key.toLowerCase()),
  );
  url.search = '';
  for (const [key, value] of kept) url.searchParams.append(key, value);
  let out = url.toString();
  if (url.pathname === '/' && url.search === '' && out.endsWith('/')) out = out.slice(0, -1);
  return out;
}

export function extractEntities(tokens: readonly Token[]): Entities {
  const hashtags = new Set<string>();
  const mentions = new Set<string>();
  const cashtags = new Set<string>();
  const urls = new Set<string>();
  const emoji: string[] = [];
  for (const t of tokens) {
    switch (t.kind) {
      case 'hashtag':
        hashtags.add(t.text.slice(1).toLowerCase());
        break;
      case 'mention':
        mentions.add(t.text.slice(1).toLowerCase());
        break;
      case 'cashtag':
        cashtags.add(t.text.slice(1).toUpperCase());
        break;
      case 'url': {
        const u = normalizeUrl(t.text);
        if (u !== null) urls.add(u);
        break;
      }
      case 'emoji':
        if (emoji.length < 1000) emoji.push(t.text);
        break;
      default:
        break;
    }
  }
  return {
    hashtags: [...hashtags],
    mentions: [...mentions],
    cashtags: [...cashtags],
    urls: [...urls],
    emoji,
  };
}
