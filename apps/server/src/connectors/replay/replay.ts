import type { Platform } from '@socialpulse/contracts';
import type {
  CollectedComment,
  CollectedPost,
  Gap,
  MetricSnapshot,
  ResolvedAccount,
} from '../connector.js';
import { ConnectorError, isConnectorError, redactUrl } from '../errors.js';
import { InMemoryBudgetStore } from '../http/budget-store.js';
import { createHttpClient, type HttpClient, type PlatformProfile } from '../http/http-client.js';
import { asArray, asRecord, asString, asText, toCount } from '../mapping.js';
import { BlueskyConnector } from '../bluesky/client.js';
import { blueskyProfile } from '../bluesky/profile.js';
import { InstagramConnector } from '../instagram/client.js';
import { parseInsights } from '../instagram/mapper.js';
import { instagramProfile } from '../instagram/profile.js';
import { MastodonConnector, accountFrom as mastodonAccount } from '../mastodon/client.js';
import { mastodonProfile } from '../mastodon/profile.js';
import { RedditConnector } from '../reddit/client.js';
import { redditProfile } from '../reddit/profile.js';
import { TiktokConnector } from '../tiktok/client.js';
import { tiktokProfile } from '../tiktok/profile.js';
import { XConnector, accountsFromUsers } from '../x/client.js';
import { xProfile } from '../x/profile.js';
import { YoutubeConnector } from '../youtube/client.js';
import { mapYoutubeList } from '../youtube/mapper.js';
import { youtubeProfile } from '../youtube/profile.js';
import type { Registry } from 'prom-client';

/** The fixtures' normalized envelope (see ../shared/fixtures/README.md). */
export interface RecordedInteraction {
  request: { method: string; url: string; body?: unknown };
  response: { status: number; headers?: Record<string, string | string[]>; body: unknown };
}

export interface Envelope {
  _provenance?: unknown;
  interactions: RecordedInteraction[];
}

export type ReplayOutcome =
  | {
      type: 'posts';
      posts: CollectedPost[];
      gaps: Gap[];
      nextCursor: string | null;
      hasMore: boolean;
    }
  | { type: 'metrics'; snapshots: MetricSnapshot[]; gaps: Gap[] }
  | { type: 'accounts'; accounts: ResolvedAccount[] }
  | { type: 'comments'; comments: CollectedComment[]; nextCursor: string | null; hasMore: boolean }
  | { type: 'info'; info: Record<string, unknown> }
  | { type: 'error'; error: ConnectorError }
  | { type: 'skipped'; reason: string };

export interface ReplayResult {
  index: number;
  method: string;
  url: string;
  platform: Platform | null;
  operation: string;
  outcome: ReplayOutcome;
}

export function isEnvelope(value: unknown): value is Envelope {
  const record = asRecord(value);
  return (
    record !== null &&
    Array.isArray(record.interactions) &&
    record.interactions.every(
      (i) => asRecord(asRecord(i)?.request) !== null && asRecord(asRecord(i)?.response) !== null,
    )
  );
}

/** Served when the connector asks for something the recording does not contain. */
export class ReplayMissError extends Error {
  constructor(method: string, url: string) {
    super(`no recorded response for ${method} ${redactUrl(url)}`);
    this.name = 'ReplayMissError';
  }
}

function toHeaders(headers: Record<string, string | string[]> | undefined): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
  }
  return out;
}

const pathOf = (url: string): string => {
  try {
    return decodeURIComponent(new URL(url).pathname).replace(/\/+$/, '');
  } catch {
    return url;
  }
};

/**
 * A fetch that answers from recorded interactions: each one at most once, matched by method and
 * path (hosts differ: api.twitter.com then, api.x.com now). Anything else is a ReplayMissError.
 */
export function createReplayFetch(
  interactions: readonly RecordedInteraction[],
): typeof fetch & { used(): number } {
  const used = new Set<number>();
  const replay = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url =
      typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const index = interactions.findIndex(
      (i, n) =>
        !used.has(n) &&
        i.request.method.toUpperCase() === method &&
        pathOf(i.request.url) === pathOf(url),
    );
    const found = interactions[index];
    if (found === undefined) return Promise.reject(new ReplayMissError(method, url));
    used.add(index);
    const body = found.response.body;
    const text =
      typeof body === 'string'
        ? body
        : body === undefined || body === null
          ? ''
          : JSON.stringify(body);
    const headers = toHeaders(found.response.headers);
    if (typeof body !== 'string' && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    const status = found.response.status;
    return Promise.resolve(
      new Response(status === 204 || status === 304 ? null : text, { status, headers }),
    );
  };
  return Object.assign(replay, { used: () => used.size });
}

export function platformOfUrl(url: string): Platform | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname;
  if (/(^|\.)(twitter|x)\.com$/.test(host)) return 'x';
  if (/googleapis\.com$/.test(host)) return 'youtube';
  if (/graph\.(facebook|instagram)\.com$/.test(host)) return 'instagram';
  if (/tiktokapis\.com$/.test(host)) return 'tiktok';
  if (/reddit\.com$/.test(host)) return 'reddit';
  if (/bsky\.(app|social|network)$/.test(host) || u.pathname.startsWith('/xrpc/')) return 'bluesky';
  if (/^\/api\/v[12]\//.test(u.pathname) || /^\/oauth\/token/.test(u.pathname)) return 'mastodon';
  return null;
}

const profiles: Record<string, PlatformProfile> = {
  x: xProfile,
  youtube: youtubeProfile,
  instagram: instagramProfile,
  tiktok: tiktokProfile,
  bluesky: blueskyProfile,
  mastodon: mastodonProfile,
  reddit: redditProfile,
};

/** A route template for metrics: ids become `:id`. */
export function templatePath(pathname: string): string {
  return pathname
    .split('/')
    .map((s) => (/^\d{3,}$/.test(s) || /^[A-Za-z0-9_-]{20,}$/.test(s) ? ':id' : s))
    .join('/');
}

/** A token endpoint's answer, without the secrets. */
export function describeTokenResponse(body: unknown): Record<string, unknown> {
  const record = asRecord(asRecord(body)?.data) ?? asRecord(body);
  if (record === null || asText(record.access_token) === null) {
    throw new ConnectorError(
      'malformed_response',
      'token endpoint answered without an access_token',
      { platform: 'other' },
    );
  }
  return {
    token_type: asText(record.token_type),
    expires_in: toCount(record.expires_in),
    refresh_expires_in: toCount(record.refresh_expires_in),
    has_refresh_token: asText(record.refresh_token) !== null,
    scope: asText(record.scope),
  };
}

function parseRequestBody(body: unknown): Record<string, unknown> {
  if (typeof body === 'string') {
    try {
      return asRecord(JSON.parse(body)) ?? {};
    } catch {
      return {};
    }
  }
  return asRecord(body) ?? {};
}

/** Clock for a replay: the recorded `date` header when there is one. */
function recordedTime(interaction: RecordedInteraction): number {
  const date = interaction.response.headers?.date;
  const ms = typeof date === 'string' ? Date.parse(date) : Number.NaN;
  return Number.isNaN(ms) ? Date.now() : ms;
}

export interface ReplayOptions {
  registry?: Registry;
}

/**
 * Feeds each recorded interaction through the real connector and HTTP layer code: the operation
 * is inferred from the request URL, the connector builds its own request, and the replay fetch
 * answers it from the recording. Write requests (POST /statuses, DELETE) are skipped.
 */
export async function replayEnvelope(
  envelope: Envelope,
  options: ReplayOptions = {},
): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const [index, interaction] of envelope.interactions.entries()) {
    const method = interaction.request.method.toUpperCase();
    const url = interaction.request.url;
    const platform = platformOfUrl(url);
    const base = { index, method, url: redactUrl(url), platform };
    if (platform === null) {
      results.push({
        ...base,
        operation: 'unknown',
        outcome: { type: 'skipped', reason: 'no supported platform serves this URL' },
      });
      continue;
    }
    let clock = recordedTime(interaction);
    const http = createHttpClient({
      fetch: createReplayFetch([interaction]),
      now: () => clock,
      sleep: (ms) => {
        clock += ms;
        return Promise.resolve();
      },
      // Each recorded exchange answers once: no retries.
      maxAttempts: 1,
      budgetStore: new InMemoryBudgetStore(),
      registry: options.registry,
    });
    const { operation, run } = inferOperation(platform, method, url, interaction, http);
    let outcome: ReplayOutcome;
    try {
      outcome = await run();
    } catch (error) {
      if (isConnectorError(error)) outcome = { type: 'error', error };
      else throw error;
    }
    results.push({ ...base, operation, outcome });
  }
  return results;
}

interface Operation {
  operation: string;
  run: () => Promise<ReplayOutcome>;
}

const credential = { id: 'replay', accessToken: 'replay-token' };
const ctx = { credential };

function inferOperation(
  platform: Platform,
  method: string,
  url: string,
  interaction: RecordedInteraction,
  http: HttpClient,
): Operation {
  const u = new URL(url);
  const path = decodeURIComponent(u.pathname).replace(/\/+$/, '');
  const q = u.searchParams;
  const profile = profiles[platform] as PlatformProfile;
  const endpoint = `${method} ${templatePath(path)}`;

  /** The recorded request as is, through the HTTP layer and the platform's error classification. */
  const raw = () =>
    http.request(profile, {
      endpoint,
      method: (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
        ? method
        : 'GET') as 'GET',
      url,
      credential,
      json:
        method !== 'GET' &&
        interaction.request.body !== undefined &&
        typeof interaction.request.body !== 'string'
          ? interaction.request.body
          : undefined,
    });
  const generic = (
    operation: string,
    extract: (r: Awaited<ReturnType<typeof raw>>) => ReplayOutcome,
  ): Operation => ({ operation, run: async () => extract(await raw()) });
  const info = (
    operation: string,
    describe: (body: unknown) => Record<string, unknown>,
  ): Operation => generic(operation, (r) => ({ type: 'info', info: describe(r.body) }));
  const posts = (page: {
    posts: CollectedPost[];
    gaps: Gap[];
    nextCursor: string | null;
    hasMore: boolean;
  }): ReplayOutcome => ({ type: 'posts', ...page });

  if (/token\/?$/.test(path) && method === 'POST') return info('token', describeTokenResponse);
  if (method !== 'GET' && !(platform === 'tiktok' && method === 'POST')) {
    // Connectors only read; a recorded write still goes through the HTTP layer so that its error is typed.
    return generic('write', () => ({
      type: 'skipped',
      reason: `${method} is a write; connectors only read`,
    }));
  }

  switch (platform) {
    case 'x': {
      const x = new XConnector({ http, baseUrl: `${u.protocol}//${u.host}` });
      let m: RegExpExecArray | null;
      if ((m = /^\/2\/users\/by\/username\/([^/]+)$/.exec(path))) {
        const handle = m[1] ?? '';
        return {
          operation: 'resolveAccount',
          run: async () => ({
            type: 'accounts',
            accounts: [await x.resolveAccount({ handle }, ctx)],
          }),
        };
      }
      if ((m = /^\/2\/users\/(\d+)\/tweets$/.exec(path))) {
        const id = m[1] ?? '';
        return {
          operation: 'listPosts',
          run: async () =>
            posts(await x.listPosts({ externalId: id }, q.get('pagination_token'), ctx)),
        };
      }
      if (
        /^\/2\/users\/[^/]+\/(mentions|liked_tweets|timelines\/reverse_chronological)$/.test(
          path,
        ) ||
        /^\/2\/tweets\/search\//.test(path)
      ) {
        return generic('listTweets', (r) => posts(x.postPage(r, endpoint, null)));
      }
      if (path === '/2/tweets' && q.has('ids')) {
        const ids = (q.get('ids') ?? '').split(',');
        return {
          operation: 'refreshMetrics',
          run: async () => ({ type: 'metrics', ...(await x.refreshMetrics(ids, ctx)) }),
        };
      }
      if (path === '/2/users' || /^\/2\/users\/\d+$/.test(path))
        return generic('lookupAccounts', (r) => ({
          type: 'accounts',
          accounts: accountsFromUsers(r.body, endpoint),
        }));
      if (path === '/2/usage/tweets')
        return {
          operation: 'usage',
          run: async () => ({ type: 'info', info: { usage: await x.getUsage(ctx) } }),
        };
      if (/^\/2\/tweets\/counts\//.test(path)) {
        return info('counts', (body) => ({
          buckets: asArray(asRecord(body)?.data).length,
          total_tweet_count: toCount(asRecord(asRecord(body)?.meta)?.total_tweet_count),
          next_token: asText(asRecord(asRecord(body)?.meta)?.next_token),
        }));
      }
      return generic('request', (r) => posts(x.postPage(r, endpoint, null)));
    }
    case 'youtube': {
      const yt = new YoutubeConnector({ http, baseUrl: `${u.protocol}//${u.host}` });
      const method_ = path.replace(/^.*\/youtube\/v3\//, '');
      if (method_ === 'channels') {
        const ref =
          q.get('id') !== null
            ? { id: q.get('id') ?? '' }
            : { handle: q.get('forHandle') ?? q.get('forUsername') ?? 'mine' };
        return {
          operation: 'resolveAccount',
          run: async () => ({ type: 'accounts', accounts: [await yt.resolveAccount(ref, ctx)] }),
        };
      }
      if (method_ === 'playlistItems') {
        const playlistId = q.get('playlistId') ?? '';
        return {
          operation: 'listPosts',
          run: async () =>
            posts(
              await yt.listPosts(
                {
                  externalId: playlistId.replace(/^UU/, 'UC'),
                  extra: { uploadsPlaylistId: playlistId },
                },
                q.get('pageToken'),
                ctx,
              ),
            ),
        };
      }
      if (method_ === 'videos') {
        const ids = (q.get('id') ?? '').split(',').filter((s) => s !== '');
        return {
          operation: 'refreshMetrics',
          run: async () => ({ type: 'metrics', ...(await yt.refreshMetrics(ids, ctx)) }),
        };
      }
      if (method_ === 'commentThreads') {
        return {
          operation: 'listComments',
          run: async () => ({
            type: 'comments',
            ...(await yt.listComments(q.get('videoId') ?? '', q.get('pageToken'), ctx)),
          }),
        };
      }
      // search and activities are never used to enumerate; their answers still map.
      return generic(
        method_ === 'search' || method_ === 'activities' ? method_ : 'request',
        (r) => ({
          type: 'posts',
          ...mapYoutubeList(r.body, { capturedAt: new Date(r.receivedAt).toISOString() }),
          nextCursor: asText(asRecord(r.body)?.nextPageToken),
          hasMore: asText(asRecord(r.body)?.nextPageToken) !== null,
        }),
      );
    }
    case 'instagram': {
      const baseUrl = `${u.protocol}//${u.host}${/^\/v\d+\.\d+/.exec(path)?.[0] ?? ''}`;
      const ig = new InstagramConnector({ http, baseUrl, insights: false });
      const rest = path.replace(/^\/v[^/]+/, '');
      let m: RegExpExecArray | null;
      if ((m = /^\/(\d+)\/media$/.exec(rest))) {
        const id = m[1] ?? '';
        return {
          operation: 'listPosts',
          run: async () => posts(await ig.listPosts({ externalId: id }, q.get('after'), ctx)),
        };
      }
      if ((m = /^\/(\d+)\/stories$/.exec(rest)))
        return generic('stories', (r) => posts(ig.mediaPage(r, null)));
      if ((m = /^\/(\d+)\/insights$/.exec(rest)))
        return info('insights', (body) => ({ insights: parseInsights(body) }));
      if ((m = /^\/(\d+)\/comments$/.exec(rest))) {
        const id = m[1] ?? '';
        return {
          operation: 'listComments',
          run: async () => ({
            type: 'comments',
            ...(await ig.listComments(id, q.get('after'), ctx)),
          }),
        };
      }
      if (/^\/\d+\/content_publishing_limit$/.test(rest)) {
        return info('publishingLimit', (body) => {
          const entry = asRecord(asArray(asRecord(body)?.data)[0]);
          return {
            quota_usage: toCount(entry?.quota_usage),
            quota_total: toCount(asRecord(entry?.config)?.quota_total),
          };
        });
      }
      const fields = q.get('fields') ?? '';
      if (rest === '' && q.has('ids')) {
        const ids = (q.get('ids') ?? '').split(',');
        if (/\btext\b/.test(fields))
          return generic('comments', (r) => ({ type: 'comments', ...ig.commentPage(r, null) }));
        return generic('refreshMetrics', (r) => {
          const into = { snapshots: [], gaps: [] };
          ig.collectMetrics(r, ids, into);
          return { type: 'metrics', ...into };
        });
      }
      if ((m = /^\/(\d+)$/.exec(rest))) {
        const id = m[1] ?? '';
        if (/\b(caption|timestamp|media_type)\b/.test(fields)) {
          return generic('media', (r) => {
            const into = { snapshots: [], gaps: [] };
            ig.collectMetrics(r, [id], into);
            return { type: 'metrics', ...into };
          });
        }
        return {
          operation: 'resolveAccount',
          run: async () => ({ type: 'accounts', accounts: [await ig.resolveAccount({ id }, ctx)] }),
        };
      }
      return generic('request', (r) => posts(ig.mediaPage(r, null)));
    }
    case 'tiktok': {
      const body = parseRequestBody(interaction.request.body);
      const baseUrl = `${u.protocol}//${u.host}`;
      if (path === '/v2/video/list') {
        const tt = new TiktokConnector({ http, baseUrl, api: 'display', now: () => Date.now() });
        const cursor = toCount(body.cursor);
        return {
          operation: 'listPosts',
          run: async () =>
            posts(
              await tt.listPosts(
                { externalId: 'me' },
                cursor === null ? null : String(cursor),
                ctx,
              ),
            ),
        };
      }
      if (path === '/v2/video/query') {
        const tt = new TiktokConnector({ http, baseUrl, api: 'display' });
        const ids = asArray(asRecord(body.filters)?.video_ids)
          .map(asString)
          .filter((s): s is string => s !== null);
        return {
          operation: 'refreshMetrics',
          run: async () => ({
            type: 'metrics',
            ...(await tt.refreshMetrics(ids.length > 0 ? ids : ['unknown'], ctx)),
          }),
        };
      }
      if (path === '/v2/research/video/query') {
        const tt = new TiktokConnector({ http, baseUrl, api: 'research' });
        const handle =
          asString(asArray(asRecord(asArray(asRecord(body.query)?.and)[0])?.field_values)[0]) ??
          'unknown';
        const cursor = toCount(body.cursor);
        const state =
          cursor === null
            ? null
            : JSON.stringify({
                cursor,
                searchId: asString(body.search_id),
                start: asString(body.start_date) ?? '',
                end: asString(body.end_date) ?? '',
              });
        return {
          operation: 'listPosts',
          run: async () => posts(await tt.listPosts({ externalId: handle, handle }, state, ctx)),
        };
      }
      if (path === '/v2/research/video/comment/list') {
        const tt = new TiktokConnector({ http, baseUrl, api: 'research' });
        const cursor = toCount(body.cursor);
        return {
          operation: 'listComments',
          run: async () => ({
            type: 'comments',
            ...(await tt.listComments(
              asString(body.video_id) ?? 'unknown',
              cursor === null ? null : String(cursor),
              ctx,
            )),
          }),
        };
      }
      if (path === '/v2/user/info') {
        const tt = new TiktokConnector({ http, baseUrl, api: 'display' });
        return {
          operation: 'resolveAccount',
          run: async () => ({
            type: 'accounts',
            accounts: [await tt.resolveAccount({ id: 'me' }, ctx)],
          }),
        };
      }
      const tt = new TiktokConnector({ http, baseUrl, api: 'research' });
      return generic('request', (r) => posts(tt.videoPage(r, null, {}, null)));
    }
    case 'bluesky': {
      const bs = new BlueskyConnector({ http, baseUrl: `${u.protocol}//${u.host}` });
      const nsid = path.replace(/^\/xrpc\//, '');
      if (nsid === 'app.bsky.feed.getAuthorFeed') {
        return {
          operation: 'listPosts',
          run: async () =>
            posts(await bs.listPosts({ externalId: q.get('actor') ?? '' }, q.get('cursor'), ctx)),
        };
      }
      if (nsid === 'app.bsky.actor.getProfile') {
        return {
          operation: 'resolveAccount',
          run: async () => ({
            type: 'accounts',
            accounts: [await bs.resolveAccount({ handle: q.get('actor') ?? '' }, ctx)],
          }),
        };
      }
      if (nsid === 'app.bsky.feed.getPosts') {
        return {
          operation: 'refreshMetrics',
          run: async () => ({
            type: 'metrics',
            ...(await bs.refreshMetrics(q.getAll('uris'), ctx)),
          }),
        };
      }
      return generic('request', (r) => posts(bs.feedPage(r)));
    }
    case 'mastodon': {
      const md = new MastodonConnector({ http, baseUrl: `${u.protocol}//${u.host}` });
      let m: RegExpExecArray | null;
      if (path === '/api/v1/accounts/verify_credentials')
        return generic('verifyCredentials', (r) => ({
          type: 'accounts',
          accounts: [mastodonAccount(r.body, u.host)],
        }));
      if (path === '/api/v1/accounts/lookup') {
        return {
          operation: 'resolveAccount',
          run: async () => ({
            type: 'accounts',
            accounts: [await md.resolveAccount({ handle: q.get('acct') ?? '' }, ctx)],
          }),
        };
      }
      if ((m = /^\/api\/v1\/accounts\/([^/]+)\/statuses$/.exec(path))) {
        const id = m[1] ?? '';
        return {
          operation: 'listPosts',
          run: async () => posts(await md.listPosts({ externalId: id }, q.get('max_id'), ctx)),
        };
      }
      if ((m = /^\/api\/v1\/statuses\/([^/]+)$/.exec(path))) {
        const id = m[1] ?? '';
        return {
          operation: 'refreshMetrics',
          run: async () => ({ type: 'metrics', ...(await md.refreshMetrics([id], ctx)) }),
        };
      }
      return generic(/timelines/.test(path) ? 'timeline' : 'request', (r) =>
        posts(md.statusPage(r)),
      );
    }
    case 'reddit': {
      const rd = new RedditConnector({ http, baseUrl: `${u.protocol}//${u.host}` });
      let m: RegExpExecArray | null;
      if ((m = /^\/user\/([^/]+)\/submitted$/.exec(path))) {
        const name = m[1] ?? '';
        return {
          operation: 'listPosts',
          run: async () =>
            posts(await rd.listPosts({ externalId: name, handle: name }, q.get('after'), ctx)),
        };
      }
      if ((m = /^\/user\/([^/]+)\/about$/.exec(path))) {
        const name = m[1] ?? '';
        return {
          operation: 'resolveAccount',
          run: async () => ({
            type: 'accounts',
            accounts: [await rd.resolveAccount({ handle: name }, ctx)],
          }),
        };
      }
      if (path === '/api/info') {
        const ids = (q.get('id') ?? '').split(',').filter((s) => s !== '');
        return {
          operation: 'refreshMetrics',
          run: async () => ({ type: 'metrics', ...(await rd.refreshMetrics(ids, ctx)) }),
        };
      }
      if (/^\/(user\/[^/]+(\/overview)?|r\/[^/]+(\/(new|hot|top|rising))?)$/.test(path))
        return generic('listing', (r) => posts(rd.listingPage(r)));
      // Other reads (announcements, messages, me): their errors are typed; their bodies are not posts.
      return generic('request', (r) => ({
        type: 'info',
        info: { status: r.status, note: 'not an endpoint the connector reads posts from' },
      }));
    }
    default:
      return {
        operation: 'unknown',
        run: () => Promise.resolve({ type: 'skipped', reason: `no connector for ${platform}` }),
      };
  }
}

/** One JSON line per post (common model), snapshot, account, comment, info, or the typed error. */
export function formatResult(result: ReplayResult): string[] {
  const head = {
    interaction: result.index,
    platform: result.platform,
    operation: result.operation,
  };
  const o = result.outcome;
  switch (o.type) {
    case 'posts':
      return [
        ...o.posts.map((p) => JSON.stringify({ ...head, post: { ...p, raw: undefined } })),
        ...o.gaps.map((g) => JSON.stringify({ ...head, gap: g })),
        JSON.stringify({
          ...head,
          page: { posts: o.posts.length, next_cursor: o.nextCursor, has_more: o.hasMore },
        }),
      ];
    case 'metrics':
      return [
        ...o.snapshots.map((s) => JSON.stringify({ ...head, snapshot: { ...s, raw: undefined } })),
        ...o.gaps.map((g) => JSON.stringify({ ...head, gap: g })),
      ];
    case 'accounts':
      return o.accounts.map((a) => JSON.stringify({ ...head, account: { ...a, raw: undefined } }));
    case 'comments':
      return o.comments.map((c) => JSON.stringify({ ...head, comment: { ...c, raw: undefined } }));
    case 'info':
      return [JSON.stringify({ ...head, info: o.info })];
    case 'error':
      return [JSON.stringify({ ...head, error: o.error.toJSON() })];
    case 'skipped':
      return [JSON.stringify({ ...head, skipped: o.reason })];
  }
}
