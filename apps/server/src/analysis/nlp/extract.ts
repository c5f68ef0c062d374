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

/**
 * Query parameters that only track the click, never change the page, on any site: their names
 * mean nothing else anywhere (`_gl`, `_ga`: Google's cross-domain linker; `mibextid`, `igsh`:
 * Meta's share links).
 */
const TRACKING_PARAMS = new Set([
  'fbclid', 'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'twclid',
  'ttclid', 'li_fat_id', 'mc_cid', 'mc_eid', 'igshid', 'igsh', 'mibextid', 'si', 'ref_src',
  'ref_url', '_hsenc', '_hsmi', 'mkt_tok', 'vero_id', 'oly_anon_id', 'oly_enc_id', 'wickedid',
  'spm', 'scid', 'cmpid', 's_cid', 'share_id', 'rdt', '_gl', '_ga',
]); // prettier-ignore

/**
 * Tracking parameters of one platform's share links, removed on its hosts (and subdomains)
 * only: elsewhere the same short names can choose the page ("?s=shoes" is a search, "?t=42" on
 * YouTube a timestamp). Names lower case, as isTrackingParam compares them.
 */
const X_SHARE = new Set(['s', 't']);
const TIKTOK_SHARE = new Set(['is_from_webapp', 'sender_device', '_r', '_t', 'is_copy_url']);
const LINKEDIN_SHARE = new Set(['trk', 'trackingid', 'lipi']);
// `feature` says where the click came from ("share", "youtu.be", "emb_title"), `pp` is a
// search token (the share token `si` is removed everywhere, Spotify's too). `v`, `t`, `list`,
// `index` choose the video and stay.
const YOUTUBE_SHARE = new Set(['feature', 'pp']);
const HOST_TRACKING_PARAMS = new Map<string, ReadonlySet<string>>([
  ['x.com', X_SHARE],
  ['twitter.com', X_SHARE],
  ['tiktok.com', TIKTOK_SHARE],
  ['linkedin.com', LINKEDIN_SHARE],
  ['lnkd.in', LINKEDIN_SHARE],
  ['youtube.com', YOUTUBE_SHARE],
  ['youtu.be', YOUTUBE_SHARE],
  ['youtube-nocookie.com', YOUTUBE_SHARE],
]);

/** The host's own tracking parameters: the entry for it or for the nearest parent domain. */
function hostTrackingParams(hostname: string): ReadonlySet<string> | undefined {
  let host = hostname;
  for (;;) {
    const params = HOST_TRACKING_PARAMS.get(host);
    if (params !== undefined) return params;
    const dot = host.indexOf('.');
    if (dot === -1) return undefined;
    host = host.slice(dot + 1);
  }
}

/**
 * Normalises a URL for counting: scheme and host lower case, `www.` kept (it can be a
 * different site), credentials, default ports, fragments and tracking parameters (utm_*,
 * fbclid, …, and platforms' own on their hosts: X's `s` and `t`, YouTube's `feature`)
 * removed, the other query parameters kept exactly as written, trailing sentence
 * punctuation dropped. Returns null for something that is not an http(s) URL.
 */
const SIMPLE_URL = /^https?:\/\/(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*(?:\/[A-Za-z0-9_-]*)*$/;

export function normalizeUrl(raw: string): string | null {
  let candidate = stripTrailingPunctuation(raw);
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
  // A password must not end up in stored results, and "user@" names no other page.
  url.username = '';
  url.password = '';
  // Filtered as written: URLSearchParams would re-encode what it keeps ("a%20b" → "a+b",
  // "x" → "x="), and some servers read those differently.
  if (url.search !== '') {
    const hostParams = hostTrackingParams(url.hostname);
    url.search = url.search
      .slice(1)
      .split('&')
      .filter((pair) => pair !== '' && !isTrackingParam(pair, hostParams))
      .join('&');
  }
  let out = url.toString();
  if (url.pathname === '/' && url.search === '' && out.endsWith('/')) out = out.slice(0, -1);
  return out;
}

function isTrackingParam(pair: string, hostParams: ReadonlySet<string> | undefined): boolean {
  const eq = pair.indexOf('=');
  let key = eq === -1 ? pair : pair.slice(0, eq);
  if (key.includes('%')) {
    try {
      key = decodeURIComponent(key);
    } catch {
      return false;
    }
  }
  key = key.toLowerCase();
  return key.startsWith('utm_') || TRACKING_PARAMS.has(key) || hostParams?.has(key) === true;
}

const CLOSING_TO_OPENING = new Map([
  [')', '('],
  [']', '['],
  ['}', '{'],
]);

/**
 * Drops sentence punctuation glued to the end of a link; a closing bracket only when the
 * link has no opening one left to match it (`…/wiki/Foo_(bar)` keeps its parenthesis,
 * `(see …/a)` loses it).
 */
function stripTrailingPunctuation(raw: string): string {
  let end = raw.length;
  // Unmatched closing brackets of each kind, counted once (a run of them stays linear).
  let unmatched: Map<string, number> | undefined;
  while (end > 0) {
    const c = raw[end - 1] ?? '';
    const opening = CLOSING_TO_OPENING.get(c);
    if (opening !== undefined) {
      unmatched ??= new Map();
      const n = unmatched.get(c) ?? count(raw, c) - count(raw, opening);
      if (n <= 0) break;
      unmatched.set(c, n - 1);
    } else if (!'.,;:!?\'"\u2026'.includes(c)) break;
    end--;
  }
  return end === raw.length ? raw : raw.slice(0, end);
}

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1; i = text.indexOf(ch, i + 1)) n++;
  return n;
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
