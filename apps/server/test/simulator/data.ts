/**
 * Deterministic data of the simulator: accounts and posts from a seed, texts with hashtags,
 * mentions and emoji, and metrics that grow with a post's age at the simulator's clock, so that
 * repeated fetches yield a time series.
 */
import { hash32, hexOf, pick, seededRandom, type Platform } from './core.js';

export interface SimAccount {
  platform: Platform;
  index: number;
  /** Platform id (X user id, YouTube channel id, IG user id, TikTok open_id, DID, Mastodon id, Reddit t2 id). */
  id: string;
  handle: string;
  displayName: string;
  bio: string;
  createdAtMs: number;
  followers: number;
  following: number;
  /** Newest first. */
  posts: SimPost[];
  /** Bluesky app password / Reddit script password: the simulated login secret. */
  password: string;
}

export interface SimPost {
  platform: Platform;
  account: SimAccount;
  index: number;
  id: string;
  createdAtMs: number;
  seed: number;
  /** Popularity multiplier (heavy-tailed). */
  popularity: number;
  /** IMAGE / VIDEO / CAROUSEL_ALBUM for Instagram, ignored elsewhere. */
  mediaType: 'IMAGE' | 'VIDEO' | 'CAROUSEL_ALBUM';
  deleted: boolean;
  /** A text set by a test (`setPostText`) instead of the seeded one: crafted or edited posts. */
  text?: string;
  /** X: this timeline item is a retweet (`setRetweet`) of another account's tweet. */
  retweetOf?: { id: string; handle: string };
}

const firstNames = [
  'maya',
  'liam',
  'amara',
  'kenji',
  'sofia',
  'noah',
  'zainab',
  'lucas',
  'ingrid',
  'mateo',
  'priya',
  'oluwaseun',
  'hana',
  'diego',
  'freya',
  'tariq',
  'elena',
  'kwame',
  'yuki',
  'omar',
  'chloe',
  'ravi',
  'nadia',
  'felix',
];
const lastNames = [
  'okafor',
  'lindqvist',
  'tanaka',
  'garcia',
  'mensah',
  'novak',
  'haddad',
  'oliveira',
  'kowalski',
  'nguyen',
  'brennan',
  'adeyemi',
  'rossi',
  'iyer',
  'schmidt',
  'moreau',
  'sato',
  'ibrahim',
];
const topics = [
  'coffee',
  'climbing',
  'typescript',
  'gardening',
  'jazz',
  'photography',
  'running',
  'baking',
  'startups',
  'design',
  'football',
  'books',
  'travel',
  'opensource',
  'science',
];
const hashtags = [
  'buildinpublic',
  'MondayMotivation',
  'photography',
  'opensource',
  'coffee',
  'travel',
  'fitness',
  'ai',
  'design',
  'music',
  'foodie',
  'climate',
  'books',
  'devlife',
  'sunset',
  'fyp',
  'cats',
  'TikTokMadeMeBuyIt',
];
const emoji = [
  '🚀',
  '☕',
  '🔥',
  '🎉',
  '😂',
  '🙌🏾',
  '❤️',
  '🌱',
  '📸',
  '👩🏽‍💻',
  '🇬🇭',
  '🏳️‍🌈',
  '✨',
  '🤔',
  '🐈',
];
const openers = [
  'Just shipped a new',
  'Hot take on',
  'Morning thoughts about',
  'Finally tried',
  'Thread: what I learned from',
  'Can we talk about',
  'Small win today with',
  'Behind the scenes of my',
  'Honest review of',
  'Three tips for',
];
const closers = [
  'What do you think?',
  'More soon.',
  'Link in bio.',
  'Who else?',
  'Totally worth it.',
  'Never again 😅',
  'Thoughts welcome!',
  '',
];
const foreign = [
  'Heute gibt es frischen Kaffee und gute Laune',
  'Nuevo proyecto en marcha, ¡qué emoción',
  'Petite balade au bord de la mer ce matin',
  '今日はとても良い天気です',
];

export interface TextParts {
  text: string;
  hashtags: string[];
  mentions: string[];
  lang: string;
}

/** The text of a post, from its seed (computed on demand: 100,000 posts stay cheap). */
export function postText(post: SimPost, others: readonly string[]): TextParts {
  if (post.text !== undefined) return { text: post.text, hashtags: [], mentions: [], lang: 'en' };
  const rnd = seededRandom(post.seed ^ 0x5bd1e995);
  const topic = pick(rnd, topics);
  const tags = Array.from({ length: Math.floor(rnd() * 3) }, () => pick(rnd, hashtags));
  const mentions = others.length > 0 && rnd() < 0.3 ? [pick(rnd, others)] : [];
  const lang = rnd() < 0.1 ? pick(rnd, ['de', 'es', 'fr', 'ja']) : 'en';
  const body =
    lang === 'en'
      ? `${pick(rnd, openers)} ${topic}`
      : (foreign[['de', 'es', 'fr', 'ja'].indexOf(lang)] ?? topic);
  const parts = [
    mentions.length > 0 ? `@${mentions[0]}` : '',
    `${body} ${rnd() < 0.6 ? pick(rnd, emoji) : ''}`.trim(),
    lang === 'en' ? pick(rnd, closers) : '',
    tags.map((t) => `#${t}`).join(' '),
  ].filter((p) => p !== '');
  return { text: parts.join(' '), hashtags: [...new Set(tags)], mentions, lang };
}

/** A deterministic non-decreasing function of age: fast early growth, slow long tail. */
export function grow(base: number, ageMs: number): number {
  if (ageMs <= 0) return 0;
  const hours = ageMs / 3_600_000;
  return Math.floor(base * (1 - Math.exp(-hours / 30) + 0.12 * Math.log1p(hours / 720)));
}

export interface Metrics {
  views: number;
  likes: number;
  comments: number;
  shares: number;
  quotes: number;
  saves: number;
  reach: number;
}

export function metricsAt(post: SimPost, now: number): Metrics {
  const age = now - post.createdAtMs;
  const rnd = seededRandom(post.seed ^ 0x27d4eb2f);
  const views = 200 * post.popularity;
  return {
    views: grow(views, age),
    likes: grow(views * (0.02 + rnd() * 0.06), age),
    comments: grow(views * (0.002 + rnd() * 0.01), age),
    shares: grow(views * (0.001 + rnd() * 0.008), age),
    quotes: grow(views * rnd() * 0.002, age),
    saves: grow(views * rnd() * 0.01, age),
    reach: grow(views * (0.6 + rnd() * 0.3), age),
  };
}

export interface GenerateOptions {
  seed: number;
  accounts: Partial<Record<Platform, number>>;
  postsPerAccount: number | Partial<Record<Platform, number>>;
  /** Posts spread over [start - spanDays, start]. */
  startMs: number;
  spanDays: number;
  /** Extra posts per account dated after the start (they appear as the clock passes them). */
  upcomingPostsPerAccount: number;
  upcomingSpanDays: number;
}

const YEAR = 365 * 86_400_000;

export interface IdMaker {
  account(platform: Platform, index: number, rnd: () => number): string;
  post(account: SimAccount, index: number, createdAtMs: number, rnd: () => number): string;
}

function handleFor(
  platform: Platform,
  index: number,
  rnd: () => number,
): { handle: string; displayName: string } {
  const first = pick(rnd, firstNames);
  const last = pick(rnd, lastNames);
  const displayName = `${first[0]?.toUpperCase() ?? ''}${first.slice(1)} ${last[0]?.toUpperCase() ?? ''}${last.slice(1)}`;
  switch (platform) {
    case 'bluesky':
      return { handle: `${first}-${last}${index}.bsky.social`, displayName };
    case 'youtube':
      return { handle: `@${first}${last}${index}`, displayName: `${displayName} TV` };
    case 'tiktok':
      return { handle: `${first}.${last}${index}`, displayName };
    case 'reddit':
      return { handle: `${first}_${last}_${index}`, displayName };
    default:
      // X usernames are at most 15 characters; the index keeps them unique.
      return { handle: `${first.slice(0, 6)}_${last.slice(0, 5)}${index}`, displayName };
  }
}

export function generateAccounts(
  options: GenerateOptions,
  ids: IdMaker,
): Map<Platform, SimAccount[]> {
  const out = new Map<Platform, SimAccount[]>();
  for (const [platform, count] of Object.entries(options.accounts) as [Platform, number][]) {
    const postsCount =
      typeof options.postsPerAccount === 'number'
        ? options.postsPerAccount
        : (options.postsPerAccount[platform] ?? 50);
    const accounts: SimAccount[] = [];
    const seenIds = new Set<string>();
    for (let i = 0; i < count; i++) {
      const rnd = seededRandom(hash32(options.seed, platform, 'account', i));
      const { handle, displayName } = handleFor(platform, i, rnd);
      const account: SimAccount = {
        platform,
        index: i,
        id: ids.account(platform, i, rnd),
        handle,
        displayName,
        bio: `${pick(rnd, openers)} ${pick(rnd, topics)} ${pick(rnd, emoji)} #${pick(rnd, hashtags)}`,
        createdAtMs:
          options.startMs - YEAR * (1 + Math.floor(rnd() * 8)) - Math.floor(rnd() * YEAR),
        followers: Math.floor(50 + rnd() ** 3 * 200_000),
        following: Math.floor(20 + rnd() * 1500),
        posts: [],
        password: `app-${hexOf(options.seed, platform, 'password', i).slice(0, 4)}-${hexOf(options.seed, platform, 'password2', i).slice(0, 4)}`,
      };
      const total = postsCount + options.upcomingPostsPerAccount;
      const times: number[] = [];
      for (let p = 0; p < total; p++) {
        const t =
          p < postsCount
            ? options.startMs - Math.floor(rnd() * options.spanDays * 86_400_000)
            : options.startMs + 1 + Math.floor(rnd() * options.upcomingSpanDays * 86_400_000);
        times.push(t);
      }
      times.sort((a, b) => b - a);
      // Unique milliseconds per account: time cursors (TikTok, Bluesky) never tie.
      for (let p = 1; p < times.length; p++) {
        const prev = times[p - 1] as number;
        if ((times[p] as number) >= prev) times[p] = prev - 1;
      }
      times.forEach((createdAtMs, p) => {
        const seed = hash32(options.seed, platform, i, 'post', p);
        const postRnd = seededRandom(seed);
        const popularity = Math.max(
          0.05,
          Math.exp(postRnd() * 2.5 - 0.5) * (postRnd() < 0.03 ? 40 : 1),
        );
        const kindDraw = postRnd();
        let id = ids.post(account, p, createdAtMs, postRnd);
        while (seenIds.has(id)) id = ids.post(account, p, createdAtMs, postRnd);
        seenIds.add(id);
        account.posts.push({
          platform,
          account,
          index: p,
          id,
          createdAtMs,
          seed,
          popularity,
          mediaType: kindDraw < 0.6 ? 'IMAGE' : kindDraw < 0.85 ? 'VIDEO' : 'CAROUSEL_ALBUM',
          deleted: false,
        });
      });
      accounts.push(account);
    }
    out.set(platform, accounts);
  }
  return out;
}

/** Posts visible at `now`, newest first. */
export function visiblePosts(account: SimAccount, now: number): SimPost[] {
  return account.posts.filter((p) => p.createdAtMs <= now && !p.deleted);
}
