/**
 * The platform simulator: one node:http server that serves X, YouTube, Instagram, TikTok,
 * Bluesky, Mastodon and Reddit under `/<platform>/...` (the real paths below the prefix), from
 * seeded data, with each platform's limits, headers, error bodies and OAuth, plus fault injection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CodeStore, TokenStore, type TokenKind, type TokenRecord } from './auth.js';
import {
  Limiter,
  PLATFORMS,
  isPlatform,
  toJson,
  type LimitRule,
  type LimitWindow,
  type Platform,
  type SimRequest,
  type SimResponse,
} from './core.js';
import type { PlatformModule, Route, SimContext } from './context.js';
import { generateAccounts, type IdMaker, type SimAccount, type SimPost } from './data.js';
import { blueskyPlatform, blueskyIds } from './platforms/bluesky.js';
import { instagramPlatform, instagramIds } from './platforms/instagram.js';
import { mastodonPlatform, mastodonIds } from './platforms/mastodon.js';
import { redditPlatform, redditIds } from './platforms/reddit.js';
import { tiktokPlatform, tiktokIds } from './platforms/tiktok.js';
import { xPlatform, xTweetId } from './platforms/x.js';
import { youtubePlatform, youtubeIds } from './platforms/youtube.js';

/** The app-level credential each platform issues (X app bearer, YouTube API key, TikTok research client token, Meta app token). */
const APP_TOKENS: Partial<Record<Platform, { kind: TokenKind; ttlSeconds: number | null }>> = {
  x: { kind: 'app', ttlSeconds: null },
  youtube: { kind: 'api_key', ttlSeconds: null },
  tiktok: { kind: 'client', ttlSeconds: 7200 * 12 * 365 },
  instagram: { kind: 'app', ttlSeconds: null },
};

export type FaultKind =
  | 'rate_limit'
  | 'server_error'
  | 'timeout'
  | 'network_drop'
  | 'delay'
  | 'expired_token'
  | 'malformed_json'
  | 'usage_cap'
  | 'partial_error';

export interface FaultRule {
  platform: Platform;
  /** Endpoint id as in stats, e.g. `GET /2/users/:id/tweets`; omitted: every endpoint of the platform. */
  endpoint?: string;
  kind: FaultKind;
  /** How many consecutive matching requests get the fault (default 1; Infinity: until cleared). */
  times?: number;
  /** Matching requests to let through before the fault starts (default 0; requests an earlier rule took do not count). */
  after?: number;
  /** server_error: the status (default 500). */
  status?: number;
  /** rate_limit on Instagram: the Graph error code (4, 17, 32, 613, 80002; default 4). */
  code?: number;
  /** delay: how long to wait before answering normally. */
  delayMs?: number;
}

export interface SimulatorOptions {
  seed?: number;
  /** Accounts per platform (default 2 on every platform). */
  accounts?: Partial<Record<Platform, number>>;
  postsPerAccount?: number | Partial<Record<Platform, number>>;
  /** Posts dated after the start that appear as the clock passes them (default 0), over `upcomingSpanDays` (default 7). */
  upcomingPostsPerAccount?: number;
  upcomingSpanDays?: number;
  /** Overrides per platform and bucket (bucket names: see `limits(platform)`). */
  limits?: Partial<Record<Platform, Record<string, Partial<LimitRule>>>>;
  /** Multiplies every default limit (e.g. 0.01 in tests), at least 1 request per window. */
  limitScale?: number;
  /** Access-token lifetime: one number for all platforms or per platform (default: each platform's real value). */
  tokenTtlSeconds?: number | Partial<Record<Platform, number>>;
  refreshTokenTtlSeconds?: number;
  /** Simulator time in ms (default Date.now); see createManualClock. */
  clock?: () => number;
  faults?: FaultRule[];
  host?: string;
  port?: number;
  instagram?: { legacyInsightsFraction?: number };
  reddit?: { listingCap?: number };
  x?: { timelineCap?: number; usageCapPosts?: number };
}

export interface SimAccountInfo {
  id: string;
  handle: string;
  displayName: string;
  /** Posts visible at start (upcoming ones excluded). */
  postCount: number;
  accessToken: string;
  refreshToken?: string;
  /** Bluesky app password / Reddit script-app password. */
  password?: string;
  /** YouTube uploads playlist id. */
  uploadsPlaylistId?: string;
}

export interface SimAppCredentials {
  clientId: string;
  clientSecret: string;
  /** X app-only bearer token; YouTube API key; TikTok research client token; Instagram app token. */
  appToken?: string;
}

export interface SimStats {
  totalRequests: number;
  requests: Partial<Record<Platform, Record<string, number>>>;
  /** Every 429 answered, whether from a real limit or an injected storm. */
  served429: number;
  /** Requests that arrived after a real limit (rate, quota or usage cap) was spent and were refused. */
  overLimit: {
    total: number;
    byKind: Record<'rate' | 'quota' | 'usage_cap', number>;
    byEndpoint: Partial<Record<Platform, Record<string, number>>>;
  };
  faultsInjected: Partial<Record<FaultKind, number>>;
  /** Handler exceptions (simulator bugs), answered with a 500. */
  handlerErrors: string[];
}

export interface Simulator {
  origin: string;
  url(platform: Platform): string;
  baseUrls: Record<Platform, string>;
  accounts: Record<Platform, SimAccountInfo[]>;
  apps: Record<Platform, SimAppCredentials>;
  /** Replaces the fault rules. */
  setFaults(rules: FaultRule[]): void;
  /** Marks posts deleted: they leave listings and lookups answer the platform's not-found. */
  deletePosts(platform: Platform, ids: readonly string[]): void;
  /** Replaces a post's text from now on (an edit, or a crafted value such as a NUL character). */
  setPostText(platform: Platform, id: string, text: string): void;
  /**
   * X: turns a timeline item into a retweet of someone else's tweet (`RT @…`, a `retweeted`
   * reference, the original's large counts), as X lists them unless asked `exclude=retweets`.
   */
  setRetweet(platform: 'x', id: string): void;
  /** Moves a post to another creation time (a crafted value such as year 0); listings stay newest first. */
  setPostCreatedAt(platform: Platform, id: string, createdAtMs: number): void;
  /** Expires every access token of a platform now (refresh tokens stay valid). */
  expireTokens(platform: Platform): void;
  /** Revokes every user access and refresh token of a platform (the user removed the app there). */
  revokeGrants(platform: Platform): void;
  /** Whether the platform would accept a token now (ground truth for tests of renewal and revocation). */
  tokenStatus(
    platform: Platform,
    token: string,
  ): 'valid' | 'missing' | 'invalid' | 'expired' | 'revoked';
  /** Ids of an account's posts visible now, newest first (ground truth for tests and benchmarks). */
  postIds(platform: Platform, accountId: string): string[];
  /** Resolved limits of a platform by bucket. */
  limits(platform: Platform): Record<string, LimitRule>;
  /**
   * Per limit key (`platform|bucket|principal`), every window that saw a request: units served
   * and requests refused. Includes each key's current window (open until its `endMs`).
   */
  windowHistory(): LimitWindow[];
  readonly stats: SimStats;
  resetStats(): void;
  close(): Promise<void>;
}

const modules: Record<Platform, PlatformModule> = {
  x: xPlatform,
  youtube: youtubePlatform,
  instagram: instagramPlatform,
  tiktok: tiktokPlatform,
  bluesky: blueskyPlatform,
  mastodon: mastodonPlatform,
  reddit: redditPlatform,
};

const accessTtl: Record<Platform, number | null> = {
  x: 7200,
  youtube: 3599,
  instagram: 5_183_944,
  tiktok: 86_400,
  bluesky: 7200,
  mastodon: null,
  reddit: 86_400,
};
const refreshTtl: Record<Platform, number | null> = {
  x: 180 * 86_400,
  youtube: null,
  instagram: null,
  tiktok: 365 * 86_400,
  bluesky: 90 * 86_400,
  mastodon: null,
  reddit: null,
};

const idMaker: IdMaker = {
  account(platform, index, rnd) {
    switch (platform) {
      case 'x':
        return String(
          1_200_000_000_000_000_000n + BigInt(index) * 7_919n + BigInt(Math.floor(rnd() * 1000)),
        );
      case 'youtube':
        return youtubeIds.channel(rnd);
      case 'instagram':
        return instagramIds.user(index);
      case 'tiktok':
        return tiktokIds.openId(rnd);
      case 'bluesky':
        return blueskyIds.did(rnd);
      case 'mastodon':
        return mastodonIds.account(index);
      case 'reddit':
        return redditIds.account(index, rnd);
    }
  },
  post(account, index, createdAtMs, rnd) {
    switch (account.platform) {
      case 'x':
        return xTweetId(createdAtMs, rnd);
      case 'youtube':
        return youtubeIds.video(rnd);
      case 'instagram':
        return instagramIds.media(account.index, index, rnd);
      case 'tiktok':
        return tiktokIds.video(createdAtMs, rnd);
      case 'bluesky':
        return blueskyIds.post(account.id, createdAtMs, rnd);
      case 'mastodon':
        return mastodonIds.status(createdAtMs, rnd);
      case 'reddit':
        return redditIds.post(createdAtMs, rnd);
    }
  },
};

function compileRoute(route: Route): {
  regex: RegExp;
  names: string[];
  route: Route;
  endpoint: string;
} {
  const names: string[] = [];
  const source = route.pattern
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return {
    regex: new RegExp(`^${source}$`),
    names,
    route,
    endpoint: route.endpoint ?? `${route.method} ${route.pattern}`,
  };
}

function emptyStats(): SimStats {
  return {
    totalRequests: 0,
    requests: {},
    served429: 0,
    overLimit: { total: 0, byKind: { rate: 0, quota: 0, usage_cap: 0 }, byEndpoint: {} },
    faultsInjected: {},
    handlerErrors: [],
  };
}

function bump(
  table: Partial<Record<Platform, Record<string, number>>>,
  platform: Platform,
  endpoint: string,
): void {
  const byEndpoint = (table[platform] ??= {});
  byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return null;
  if (contentType?.includes('application/x-www-form-urlencoded') === true)
    return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const clock = options.clock ?? Date.now;
  const startMs = clock();
  const accountCounts = options.accounts ?? Object.fromEntries(PLATFORMS.map((p) => [p, 2]));
  const generated = generateAccounts(
    {
      seed,
      accounts: accountCounts,
      postsPerAccount: options.postsPerAccount ?? 30,
      startMs,
      spanDays: 365,
      upcomingPostsPerAccount: options.upcomingPostsPerAccount ?? 0,
      upcomingSpanDays: options.upcomingSpanDays ?? 7,
    },
    idMaker,
  );
  const postIndex = new Map<Platform, Map<string, SimPost>>();
  const accountIndex = new Map<Platform, Map<string, SimAccount>>();
  for (const platform of PLATFORMS) {
    const posts = new Map<string, SimPost>();
    const byKey = new Map<string, SimAccount>();
    for (const account of generated.get(platform) ?? []) {
      byKey.set(account.id, account);
      byKey.set(account.handle.toLowerCase(), account);
      for (const post of account.posts) posts.set(post.id, post);
    }
    postIndex.set(platform, posts);
    accountIndex.set(platform, byKey);
  }

  const tokens = new TokenStore(seed);
  const limiter = new Limiter();
  let stats = emptyStats();
  let faults: (FaultRule & { left: number; skip: number })[] = [];
  const setFaults = (rules: FaultRule[]): void => {
    faults = rules.map((r) => ({ ...r, left: r.times ?? 1, skip: r.after ?? 0 }));
  };
  setFaults(options.faults ?? []);

  const resolvedLimits = new Map<Platform, Record<string, LimitRule>>();
  const ttl = (platform: Platform, kind: 'access' | 'refresh'): number | null => {
    if (kind === 'refresh') return options.refreshTokenTtlSeconds ?? refreshTtl[platform];
    const configured = options.tokenTtlSeconds;
    if (typeof configured === 'number') return accessTtl[platform] === null ? null : configured;
    return configured?.[platform] ?? accessTtl[platform];
  };

  const ctx: SimContext = {
    seed,
    now: clock,
    accounts: (platform) => generated.get(platform) ?? [],
    findAccount: (platform, key) =>
      accountIndex.get(platform)?.get(key) ?? accountIndex.get(platform)?.get(key.toLowerCase()),
    findPost: (platform, id) => postIndex.get(platform)?.get(id),
    otherHandles: (platform) => (generated.get(platform) ?? []).map((a) => a.handle),
    tokens,
    codes: new CodeStore(seed),
    limiter,
    limit(platform, bucket) {
      const rule = resolvedLimits.get(platform)?.[bucket];
      if (rule === undefined) throw new Error(`no limit bucket ${platform}/${bucket}`);
      return rule;
    },
    charge(req, bucket, principal, cost = 1) {
      return limiter.take(
        `${req.platform}|${bucket}|${principal}`,
        ctx.limit(req.platform, bucket),
        req.now,
        cost,
      );
    },
    peek(req, bucket, principal) {
      return limiter.peek(
        `${req.platform}|${bucket}|${principal}`,
        ctx.limit(req.platform, bucket),
        req.now,
      );
    },
    tokenTtlSeconds: ttl,
    client: (platform) => ({
      clientId: `sim-${platform}-client`,
      clientSecret: `sim-${platform}-secret`,
    }),
    checkToken: (req, token, kinds) => tokens.check(req.platform, token, kinds, req.now),
    options: {
      instagramLegacyInsightsFraction: options.instagram?.legacyInsightsFraction ?? 0.25,
      redditListingCap: options.reddit?.listingCap ?? 1000,
      xTimelineCap: options.x?.timelineCap ?? 3200,
      xUsageCapPosts: options.x?.usageCapPosts ?? 3_000_000,
    },
    xPostsRead: { month: -1, count: 0 },
  };

  for (const platform of PLATFORMS) {
    const defaults = modules[platform].defaultLimits(ctx);
    const scale = options.limitScale ?? 1;
    const resolved: Record<string, LimitRule> = {};
    for (const [bucket, rule] of Object.entries(defaults)) {
      const override = options.limits?.[platform]?.[bucket];
      resolved[bucket] = {
        ...rule,
        limit: Math.max(1, Math.floor(rule.limit * scale)),
        ...override,
      };
    }
    for (const [bucket, override] of Object.entries(options.limits?.[platform] ?? {})) {
      if (resolved[bucket] === undefined)
        throw new Error(
          `unknown limit bucket ${platform}/${bucket}; known: ${Object.keys(defaults).join(', ')}`,
        );
      void override;
    }
    resolvedLimits.set(platform, resolved);
  }

  // Pre-issued credentials for every generated account.
  const accountsInfo = {} as Record<Platform, SimAccountInfo[]>;
  const apps = {} as Record<Platform, SimAppCredentials>;
  for (const platform of PLATFORMS) {
    const app: SimAppCredentials = { ...ctx.client(platform) };
    const appToken = APP_TOKENS[platform];
    if (appToken)
      app.appToken = tokens.issue({
        platform,
        kind: appToken.kind,
        accountId: null,
        now: startMs,
        ttlSeconds: appToken.ttlSeconds,
      }).token;
    apps[platform] = app;
    accountsInfo[platform] = (generated.get(platform) ?? []).map((account) => {
      const jwt =
        platform === 'bluesky' ? { did: account.id, scope: 'com.atproto.access' } : undefined;
      const scope =
        platform === 'x'
          ? 'tweet.read users.read offline.access'
          : platform === 'tiktok'
            ? 'user.info.basic,user.info.stats,video.list'
            : '';
      const access = tokens.issue({
        platform,
        kind: 'access',
        accountId: account.id,
        now: startMs,
        ttlSeconds: ttl(platform, 'access'),
        scope,
        ...(jwt === undefined ? {} : { jwt }),
      });
      const info: SimAccountInfo = {
        id: account.id,
        handle: account.handle,
        displayName: account.displayName,
        postCount: account.posts.filter((p) => p.createdAtMs <= startMs).length,
        accessToken: access.token,
      };
      if (platform !== 'mastodon' && platform !== 'instagram') {
        const refreshJwt =
          platform === 'bluesky' ? { did: account.id, scope: 'com.atproto.refresh' } : undefined;
        info.refreshToken = tokens.issue({
          platform,
          kind: 'refresh',
          accountId: account.id,
          now: startMs,
          ttlSeconds: ttl(platform, 'refresh'),
          scope,
          ...(refreshJwt === undefined ? {} : { jwt: refreshJwt }),
        }).token;
      }
      if (platform === 'bluesky' || platform === 'reddit') info.password = account.password;
      if (platform === 'youtube') info.uploadsPlaylistId = `UU${account.id.slice(2)}`;
      return info;
    });
  }

  const compiled = new Map<Platform, ReturnType<typeof compileRoute>[]>(
    PLATFORMS.map((p) => [p, modules[p].routes.map(compileRoute)]),
  );
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();

  const nextFault = (
    platform: Platform,
    endpoint: string,
  ): (FaultRule & { left: number; skip: number }) | null => {
    for (const rule of faults) {
      if (
        rule.platform !== platform ||
        (rule.endpoint !== undefined && rule.endpoint !== endpoint) ||
        rule.left <= 0
      )
        continue;
      if (rule.skip > 0) {
        rule.skip -= 1;
        continue;
      }
      rule.left -= 1;
      return rule;
    }
    return null;
  };

  let origin = '';
  const send = (res: ServerResponse, answer: SimResponse, malformed: boolean): void => {
    let body =
      answer.body === undefined
        ? ''
        : typeof answer.body === 'string'
          ? answer.body
          : toJson(answer.body);
    if (malformed) body = body.slice(0, Math.max(1, Math.floor(body.length / 2)));
    res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', origin);
    const [, first = '', ...rest] = url.pathname.split('/');
    const rawBody = await readBody(req);
    if (!isPlatform(first)) {
      send(
        res,
        {
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: { error: 'unknown platform prefix', platforms: PLATFORMS },
        },
        false,
      );
      return;
    }
    const platform = first;
    const path = `/${rest.join('/')}`;
    const method = req.method ?? 'GET';
    let matched: { route: Route; endpoint: string; params: Record<string, string> } | null = null;
    for (const candidate of compiled.get(platform) ?? []) {
      if (candidate.route.method !== method) continue;
      const m = candidate.regex.exec(path);
      if (m === null) continue;
      const params: Record<string, string> = {};
      candidate.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? '');
      });
      matched = { route: candidate.route, endpoint: candidate.endpoint, params };
      break;
    }
    stats.totalRequests += 1;
    if (matched === null) {
      bump(stats.requests, platform, `${method} (unknown)`);
      send(
        res,
        {
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: {
            error: 'not_found',
            message: `the simulator has no ${method} ${path} for ${platform}`,
          },
        },
        false,
      );
      return;
    }
    bump(stats.requests, platform, matched.endpoint);
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const simReq: SimRequest = {
      platform,
      method,
      path,
      params: matched.params,
      query: url.searchParams,
      headers,
      body: parseBody(rawBody, req.headers['content-type']),
      rawBody,
      now: clock(),
      base: `${origin}/${platform}`,
      remoteAddress: req.socket.remoteAddress ?? '127.0.0.1',
      endpoint: matched.endpoint,
    };
    const module = modules[platform];
    const fault = nextFault(platform, matched.endpoint);
    if (fault !== null)
      stats.faultsInjected[fault.kind] = (stats.faultsInjected[fault.kind] ?? 0) + 1;
    let answer: SimResponse;
    switch (fault?.kind) {
      case 'timeout':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'network_drop':
        req.socket.destroy();
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 100));
        break;
      case 'rate_limit':
        answer = module.faults.rateLimited(simReq, ctx, fault.code);
        break;
      case 'server_error':
        answer = module.faults.serverError(simReq, fault.status ?? 500);
        break;
      case 'expired_token':
        answer = module.faults.expiredToken(simReq, ctx);
        break;
      case 'usage_cap':
        answer = module.faults.usageCap(simReq, ctx);
        break;
      case 'partial_error':
        simReq.partialError = true;
        break;
      default:
        break;
    }
    answer ??= await runHandler(matched.route, simReq);
    if (answer.status === 429) stats.served429 += 1;
    if (answer.overLimit !== undefined) {
      stats.overLimit.total += 1;
      stats.overLimit.byKind[answer.overLimit] += 1;
      bump(stats.overLimit.byEndpoint, platform, matched.endpoint);
    }
    send(res, answer, fault?.kind === 'malformed_json');
  };

  const runHandler = async (route: Route, simReq: SimRequest): Promise<SimResponse> => {
    try {
      return await route.handle(simReq, ctx);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      stats.handlerErrors.push(`${simReq.endpoint}: ${message}`);
      return {
        status: 500,
        headers: { 'content-type': 'application/json', 'x-simulator-error': 'handler' },
        body: { error: 'simulator_handler_error', message: String(error) },
      };
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      stats.handlerErrors.push(String(error));
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"simulator_failure"}');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  origin = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
  const baseUrls = Object.fromEntries(PLATFORMS.map((p) => [p, `${origin}/${p}`])) as Record<
    Platform,
    string
  >;

  return {
    origin,
    url: (platform) => baseUrls[platform],
    baseUrls,
    accounts: accountsInfo,
    apps,
    setFaults,
    deletePosts(platform, ids) {
      for (const id of ids) {
        const post = postIndex.get(platform)?.get(id);
        if (post !== undefined) post.deleted = true;
      }
    },
    setPostText(platform, id, text) {
      const post = postIndex.get(platform)?.get(id);
      if (post === undefined) throw new Error(`no ${platform} post ${id}`);
      post.text = text;
    },
    setRetweet(platform, id) {
      const post = postIndex.get(platform)?.get(id);
      if (post === undefined) throw new Error(`no ${platform} post ${id}`);
      post.retweetOf = { id: (BigInt(id) - 7n).toString(), handle: 'someone_else' };
    },
    setPostCreatedAt(platform, id, createdAtMs) {
      const post = postIndex.get(platform)?.get(id);
      if (post === undefined) throw new Error(`no ${platform} post ${id}`);
      post.createdAtMs = createdAtMs;
      post.account.posts.sort((a, b) => b.createdAtMs - a.createdAtMs);
    },
    expireTokens(platform) {
      tokens.expireAll(platform, clock());
    },
    revokeGrants(platform) {
      tokens.revokeGrants(platform);
    },
    tokenStatus(platform, token) {
      const check = tokens.check(platform, token, ['access', 'refresh', 'client'], clock());
      return check.ok ? 'valid' : check.reason;
    },
    postIds(platform, accountId) {
      const account = accountIndex.get(platform)?.get(accountId);
      if (account === undefined) throw new Error(`no ${platform} account ${accountId}`);
      const now = clock();
      return account.posts.filter((p) => p.createdAtMs <= now && !p.deleted).map((p) => p.id);
    },
    limits: (platform) => ({ ...resolvedLimits.get(platform) }),
    windowHistory: () => limiter.windowHistory(),
    get stats() {
      return structuredClone(stats);
    },
    resetStats() {
      stats = emptyStats();
    },
    async close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type { TokenRecord };
