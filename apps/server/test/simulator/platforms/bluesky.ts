/**
 * Bluesky (AT Protocol XRPC): getProfile, getAuthorFeed (feedViewPost, opaque cursor), getPosts,
 * createSession/refreshSession with JWT-shaped tokens, RateLimit-* headers and XRPC error bodies.
 * Shapes follow fixtures/bluesky lexicons and the AppView snapshot.
 */
import {
  bearer,
  hexOf,
  json,
  type Headers,
  type LimitState,
  type SimRequest,
  type SimResponse,
} from '../core.js';
import { metricsAt, postText, visiblePosts, type SimAccount, type SimPost } from '../data.js';
import type { PlatformModule, SimContext } from '../context.js';

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const TID = '234567abcdefghijklmnopqrstuvwxyz';

export const blueskyIds = {
  did: (rnd: () => number): string =>
    `did:plc:${Array.from({ length: 24 }, () => B32[Math.floor(rnd() * 32)] ?? 'a').join('')}`,
  /** The post's at:// URI; the record key is a TID (microseconds + clock id, base32-sortable). */
  post: (did: string, createdAtMs: number, rnd: () => number): string => {
    let v = ((BigInt(createdAtMs) * 1000n) << 10n) | BigInt(Math.floor(rnd() * 1024));
    let s = '';
    for (let i = 0; i < 13; i++) {
      s = (TID[Number(v & 31n)] ?? '2') + s;
      v >>= 5n;
    }
    return `at://${did}/app.bsky.feed.post/${s}`;
  },
};

const cidOf = (uri: string): string =>
  `bafyrei${Array.from(Buffer.from(hexOf('cid', uri), 'hex'))
    .map((b) => B32[b % 32])
    .join('')}`.slice(0, 59);

function xrpcError(
  status: number,
  error: string,
  message: string,
  headers: Headers = {},
): SimResponse {
  return json(status, { error, message }, headers);
}

function rateHeaders(state: LimitState, windowSeconds: number): Headers {
  return {
    'ratelimit-limit': String(state.limit),
    'ratelimit-remaining': String(state.remaining),
    'ratelimit-reset': String(Math.floor(state.resetMs / 1000)),
    'ratelimit-policy': `${state.limit};w=${windowSeconds}`,
  };
}

type Access = { ok: true; headers: Headers } | { ok: false; response: SimResponse };

/** Reads need no auth, but a presented token is checked; the budget is per account or per IP. */
function authAndLimit(req: SimRequest, ctx: SimContext): Access {
  let principal = `ip:${req.remoteAddress}`;
  const token = bearer(req);
  if (token !== null) {
    const check = ctx.checkToken(req, token, ['access']);
    if (!check.ok)
      return {
        ok: false,
        response:
          check.reason === 'expired'
            ? xrpcError(400, 'ExpiredToken', 'Token has expired')
            : xrpcError(401, 'InvalidToken', 'Token could not be verified'),
      };
    principal = check.record.principal;
  }
  const state = ctx.charge(req, 'global', principal);
  const headers = rateHeaders(state, ctx.limit('bluesky', 'global').windowSeconds);
  if (!state.allowed)
    return {
      ok: false,
      response: {
        ...xrpcError(429, 'RateLimitExceeded', 'Rate Limit Exceeded', headers),
        overLimit: 'rate',
      },
    };
  return { ok: true, headers };
}

function avatar(account: SimAccount): string {
  return `https://cdn.bsky.app/img/avatar/plain/${account.id}/${cidOf(account.id)}@jpeg`;
}

function authorView(account: SimAccount): Record<string, unknown> {
  return {
    did: account.id,
    handle: account.handle,
    displayName: account.displayName,
    avatar: avatar(account),
    associated: { activitySubscription: { allowSubscriptions: 'followers' } },
    viewer: { muted: false, blockedBy: false },
    labels: [],
    createdAt: new Date(account.createdAtMs).toISOString(),
  };
}

function byteRange(text: string, needle: string): { byteStart: number; byteEnd: number } | null {
  const at = text.indexOf(needle);
  if (at < 0) return null;
  const byteStart = Buffer.byteLength(text.slice(0, at));
  return { byteStart, byteEnd: byteStart + Buffer.byteLength(needle) };
}

function postView(post: SimPost, ctx: SimContext, now: number): Record<string, unknown> {
  const t = postText(post, ctx.otherHandles('bluesky'));
  const m = metricsAt(post, now);
  const facets: Record<string, unknown>[] = [];
  for (const tag of t.hashtags) {
    const index = byteRange(t.text, `#${tag}`);
    if (index !== null)
      facets.push({
        $type: 'app.bsky.richtext.facet',
        index,
        features: [{ $type: 'app.bsky.richtext.facet#tag', tag }],
      });
  }
  for (const handle of t.mentions) {
    const index = byteRange(t.text, `@${handle}`);
    const target = ctx.findAccount('bluesky', handle);
    if (index !== null && target !== undefined)
      facets.push({
        $type: 'app.bsky.richtext.facet',
        index,
        features: [{ $type: 'app.bsky.richtext.facet#mention', did: target.id }],
      });
  }
  const created = new Date(post.createdAtMs).toISOString();
  const record: Record<string, unknown> = {
    $type: 'app.bsky.feed.post',
    createdAt: created,
    langs: [t.lang],
    text: t.text,
  };
  if (facets.length > 0) record.facets = facets;
  return {
    uri: post.id,
    cid: cidOf(post.id),
    author: authorView(post.account),
    record,
    bookmarkCount: m.saves,
    replyCount: m.comments,
    repostCount: m.shares,
    likeCount: m.likes,
    quoteCount: m.quotes,
    indexedAt: new Date(post.createdAtMs + 1200).toISOString(),
    viewer: { bookmarked: false, threadMuted: false, embeddingDisabled: false },
    labels: [],
  };
}

function profile(account: SimAccount, now: number): Record<string, unknown> {
  return {
    did: account.id,
    handle: account.handle,
    displayName: account.displayName,
    description: account.bio,
    avatar: avatar(account),
    banner: `https://cdn.bsky.app/img/banner/plain/${account.id}/${cidOf(`banner${account.id}`)}@jpeg`,
    followersCount: account.followers,
    followsCount: account.following,
    postsCount: visiblePosts(account, now).length,
    associated: {
      lists: 0,
      feedgens: 0,
      starterPacks: 0,
      labeler: false,
      activitySubscription: { allowSubscriptions: 'followers' },
    },
    indexedAt: new Date(account.createdAtMs + 60_000).toISOString(),
    createdAt: new Date(account.createdAtMs).toISOString(),
    viewer: { muted: false, blockedBy: false },
    labels: [],
  };
}

function session(req: SimRequest, ctx: SimContext, account: SimAccount): Record<string, unknown> {
  const access = ctx.tokens.issue({
    platform: 'bluesky',
    kind: 'access',
    accountId: account.id,
    now: req.now,
    ttlSeconds: ctx.tokenTtlSeconds('bluesky', 'access'),
    jwt: { did: account.id, scope: 'com.atproto.access' },
  });
  const refresh = ctx.tokens.issue({
    platform: 'bluesky',
    kind: 'refresh',
    accountId: account.id,
    now: req.now,
    ttlSeconds: ctx.tokenTtlSeconds('bluesky', 'refresh'),
    jwt: { did: account.id, scope: 'com.atproto.refresh' },
  });
  return {
    did: account.id,
    handle: account.handle,
    email: `${account.handle.split('.')[0] ?? 'user'}@example.com`,
    emailConfirmed: true,
    emailAuthFactor: false,
    accessJwt: access.token,
    refreshJwt: refresh.token,
    active: true,
  };
}

export const blueskyPlatform: PlatformModule = {
  platform: 'bluesky',
  defaultLimits: () => ({
    global: { limit: 3000, windowSeconds: 300 },
    createSession: { limit: 30, windowSeconds: 300 },
  }),
  faults: {
    rateLimited: (req, ctx) =>
      xrpcError(
        429,
        'RateLimitExceeded',
        'Rate Limit Exceeded',
        rateHeaders(
          { ...ctx.peek(req, 'global', `ip:${req.remoteAddress}`), remaining: 0 },
          ctx.limit('bluesky', 'global').windowSeconds,
        ),
      ),
    serverError: (_req, status) =>
      xrpcError(
        status,
        status === 502 ? 'UpstreamFailure' : 'InternalServerError',
        status === 502 ? 'Upstream Failure' : 'Internal Server Error',
      ),
    expiredToken: () => xrpcError(400, 'ExpiredToken', 'Token has expired'),
    usageCap: (req, ctx) =>
      xrpcError(
        429,
        'RateLimitExceeded',
        'Rate Limit Exceeded',
        rateHeaders(
          { ...ctx.peek(req, 'global', `ip:${req.remoteAddress}`), remaining: 0 },
          ctx.limit('bluesky', 'global').windowSeconds,
        ),
      ),
  },
  routes: [
    {
      method: 'GET',
      pattern: '/xrpc/app.bsky.actor.getProfile',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const actor = req.query.get('actor');
        if (actor === null)
          return xrpcError(
            400,
            'InvalidRequest',
            'Params must have the property "actor"',
            access.headers,
          );
        const account = ctx.findAccount('bluesky', actor);
        if (account === undefined)
          return xrpcError(400, 'InvalidRequest', 'Profile not found', access.headers);
        return json(200, profile(account, req.now), access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/xrpc/app.bsky.feed.getAuthorFeed',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const actor = req.query.get('actor');
        if (actor === null)
          return xrpcError(
            400,
            'InvalidRequest',
            'Params must have the property "actor"',
            access.headers,
          );
        const limitRaw = req.query.get('limit');
        const limit = limitRaw === null ? 50 : Number(limitRaw);
        if (!Number.isInteger(limit) || limit < 1)
          return xrpcError(400, 'InvalidRequest', 'limit must be an integer', access.headers);
        if (limit > 100)
          return xrpcError(
            400,
            'InvalidRequest',
            'limit can not be greater than 100',
            access.headers,
          );
        const account = ctx.findAccount('bluesky', actor);
        if (account === undefined)
          return xrpcError(400, 'InvalidRequest', 'Profile not found', access.headers);
        const cursor = req.query.get('cursor');
        const cursorMs = cursor === null ? null : Date.parse(cursor);
        if (cursorMs !== null && Number.isNaN(cursorMs))
          return xrpcError(400, 'InvalidRequest', 'Malformed cursor', access.headers);
        const page = visiblePosts(account, req.now)
          .filter((p) => cursorMs === null || p.createdAtMs < cursorMs)
          .slice(0, limit);
        const body: Record<string, unknown> = {};
        const last = page[page.length - 1];
        // Like the AppView: a full page carries a cursor even when nothing follows.
        if (last !== undefined && page.length === limit)
          body.cursor = new Date(last.createdAtMs).toISOString();
        body.feed = page.map((p) => ({ post: postView(p, ctx, req.now) }));
        return json(200, body, access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/xrpc/app.bsky.feed.getPosts',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const uris = req.query.getAll('uris');
        if (uris.length > 25)
          return xrpcError(
            400,
            'InvalidRequest',
            'uris can not have more than 25 items',
            access.headers,
          );
        const posts = uris.flatMap((uri) => {
          const post = ctx.findPost('bluesky', uri);
          return post === undefined || post.deleted || post.createdAtMs > req.now
            ? []
            : [postView(post, ctx, req.now)];
        });
        return json(200, { posts }, access.headers);
      },
    },
    {
      method: 'POST',
      pattern: '/xrpc/com.atproto.server.createSession',
      handle(req, ctx) {
        const body = (req.body ?? {}) as { identifier?: unknown; password?: unknown };
        const identifier = typeof body.identifier === 'string' ? body.identifier : '';
        const state = ctx.charge(req, 'createSession', `id:${identifier.toLowerCase()}`);
        const headers = rateHeaders(state, ctx.limit('bluesky', 'createSession').windowSeconds);
        if (!state.allowed)
          return {
            ...xrpcError(429, 'RateLimitExceeded', 'Rate Limit Exceeded', headers),
            overLimit: 'rate',
          };
        const account = ctx.findAccount('bluesky', identifier);
        if (account === undefined || body.password !== account.password)
          return xrpcError(
            401,
            'AuthenticationRequired',
            'Invalid identifier or password',
            headers,
          );
        return json(200, session(req, ctx, account), headers);
      },
    },
    {
      method: 'POST',
      pattern: '/xrpc/com.atproto.server.refreshSession',
      handle(req, ctx) {
        const check = ctx.checkToken(req, bearer(req), ['refresh']);
        if (!check.ok) {
          if (check.reason === 'missing')
            return xrpcError(401, 'AuthMissing', 'Authentication Required');
          return check.reason === 'expired'
            ? xrpcError(400, 'ExpiredToken', 'Token has expired')
            : xrpcError(400, 'InvalidToken', 'Token has been revoked');
        }
        const account = ctx.findAccount('bluesky', check.record.accountId ?? '');
        if (account === undefined)
          return xrpcError(400, 'InvalidToken', 'Token could not be verified');
        ctx.tokens.revoke(check.record.token);
        return json(200, session(req, ctx, account));
      },
    },
  ],
};
