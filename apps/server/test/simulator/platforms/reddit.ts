/**
 * Reddit: OAuth token endpoint (client credentials, password, authorization code, refresh),
 * user about, user submitted Listing (`after` fullnames, ~1,000 item cap), /api/info by
 * fullname, x-ratelimit-* headers (seconds to reset) and Reddit's error bodies. Shapes follow
 * fixtures/reddit/recorded.
 */
import {
  basicAuth,
  bearer,
  formBody,
  json,
  pick,
  seededRandom,
  type Headers,
  type LimitState,
  type SimRequest,
  type SimResponse,
} from '../core.js';
import { metricsAt, postText, visiblePosts, type SimAccount, type SimPost } from '../data.js';
import {
  redirectWithCode,
  startAuthorization,
  type PlatformModule,
  type SimContext,
} from '../context.js';

export const redditIds = {
  account: (index: number, rnd: () => number): string =>
    (2_000_000_000 + index * 9_973 + Math.floor(rnd() * 1000)).toString(36),
  /** Reddit ids grow with time: seconds since 2005 times a spread, in base 36. */
  post: (createdAtMs: number, rnd: () => number): string =>
    ((Math.floor(createdAtMs / 1000) - 1_120_000_000) * 37 + Math.floor(rnd() * 37)).toString(36),
};

const subreddits = [
  'typescript',
  'photography',
  'coffee',
  'running',
  'AskReddit',
  'dataisbeautiful',
  'selfhosted',
  'books',
  'travel',
  'gardening',
];
const JSON_UTF8 = { 'content-type': 'application/json; charset=UTF-8' };

function rateHeaders(state: LimitState, now: number): Headers {
  return {
    'x-ratelimit-used': String(state.used),
    'x-ratelimit-remaining': `${state.remaining}.0`,
    'x-ratelimit-reset': String(Math.max(0, Math.ceil((state.resetMs - now) / 1000))),
  };
}

const unauthorized = (): SimResponse =>
  json(
    401,
    { message: 'Unauthorized', error: 401 },
    { ...JSON_UTF8, 'www-authenticate': 'Bearer realm="reddit", error="invalid_token"' },
  );
const tooMany = (headers: Headers): SimResponse =>
  json(429, { message: 'Too Many Requests', error: 429 }, { ...JSON_UTF8, ...headers });
const notFound = (headers: Headers): SimResponse =>
  json(404, { message: 'Not Found', error: 404 }, { ...JSON_UTF8, ...headers });

type Access = { ok: true; headers: Headers } | { ok: false; response: SimResponse };

function authAndLimit(req: SimRequest, ctx: SimContext): Access {
  const check = ctx.checkToken(req, bearer(req), ['access', 'app']);
  if (!check.ok) return { ok: false, response: unauthorized() };
  const state = ctx.charge(req, 'client', check.record.principal);
  const headers = rateHeaders(state, req.now);
  if (!state.allowed) return { ok: false, response: { ...tooMany(headers), overLimit: 'rate' } };
  return { ok: true, headers: { ...JSON_UTF8, ...headers } };
}

function link(post: SimPost, ctx: SimContext, now: number): Record<string, unknown> {
  const t = postText(post, ctx.otherHandles('reddit'));
  const m = metricsAt(post, now);
  const rnd = seededRandom(post.seed ^ 0x1234567);
  const subreddit = pick(rnd, subreddits);
  const isSelf = rnd() < 0.6;
  const created = post.createdAtMs / 1000;
  const ratio = Math.round((0.7 + rnd() * 0.29) * 100) / 100;
  const permalink = `/r/${subreddit}/comments/${post.id}/${t.text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 40)
    .replace(/^_|_$/g, '')}/`;
  return {
    approved_at_utc: null,
    subreddit,
    selftext: post.deleted ? '[deleted]' : isSelf ? t.text : '',
    author_fullname: `t2_${post.account.id}`,
    saved: false,
    gilded: 0,
    clicked: false,
    title: Array.from(t.text).slice(0, 120).join(''),
    subreddit_name_prefixed: `r/${subreddit}`,
    hidden: false,
    pwls: 6,
    downs: 0,
    name: `t3_${post.id}`,
    upvote_ratio: ratio,
    ups: m.likes,
    total_awards_received: 0,
    score: m.likes,
    is_self: isSelf,
    created: Math.floor(created),
    domain: isSelf ? `self.${subreddit}` : 'example.com',
    over_18: false,
    removed_by_category: post.deleted ? 'deleted' : null,
    author: post.deleted ? '[deleted]' : post.account.handle,
    num_comments: m.comments,
    num_crossposts: Math.floor(m.shares / 10),
    id: post.id,
    subreddit_id: `t5_${(subreddits.indexOf(subreddit) + 100_000).toString(36)}`,
    permalink,
    url: isSelf ? `https://www.reddit.com${permalink}` : `https://example.com/articles/${post.id}`,
    stickied: false,
    is_video: false,
    edited: false,
    archived: now - post.createdAtMs > 180 * 86_400_000,
    locked: false,
    send_replies: true,
    thumbnail: isSelf ? 'self' : 'default',
    created_utc: created,
  };
}

function listing(
  children: Record<string, unknown>[],
  after: string | null,
  before: string | null,
): Record<string, unknown> {
  return {
    kind: 'Listing',
    data: {
      after,
      dist: children.length,
      modhash: '',
      geo_filter: '',
      children: children.map((data) => ({ kind: 't3', data })),
      before,
    },
  };
}

function findUser(ctx: SimContext, name: string): SimAccount | undefined {
  return ctx.accounts('reddit').find((a) => a.handle.toLowerCase() === name.toLowerCase());
}

export const redditPlatform: PlatformModule = {
  platform: 'reddit',
  defaultLimits: () => ({ client: { limit: 1000, windowSeconds: 600 } }),
  faults: {
    rateLimited: (req, ctx) =>
      tooMany(rateHeaders({ ...ctx.peek(req, 'client', 'app'), remaining: 0 }, req.now)),
    serverError: (_req, status) => ({
      status,
      headers: { 'content-type': 'text/html; charset=UTF-8' },
      body: `<!doctype html><html><head><title>Reddit - Dive into anything</title></head><body><h1>${status === 503 ? 'Our CDN was unable to reach our servers' : 'Something went wrong'}</h1></body></html>`,
    }),
    expiredToken: () => unauthorized(),
    usageCap: (req, ctx) =>
      tooMany(rateHeaders({ ...ctx.peek(req, 'client', 'app'), remaining: 0 }, req.now)),
  },
  routes: [
    {
      method: 'GET',
      pattern: '/api/v1/authorize',
      handle(req, ctx) {
        const started = startAuthorization(req, ctx, {
          requirePkce: false,
          codeTtlSeconds: 600,
          scopeSeparator: req.query.get('scope')?.includes(',') === true ? ',' : ' ',
        });
        if ('error' in started)
          return json(400, { error: 'invalid_request', message: started.error });
        return redirectWithCode(started.redirectUri, { state: started.state, code: started.code });
      },
    },
    {
      // Reddit answers 204 with no body, whether or not the token was valid.
      method: 'POST',
      pattern: '/api/v1/revoke_token',
      handle(req, ctx) {
        const basic = basicAuth(req);
        const client = ctx.client('reddit');
        if (basic?.user !== client.clientId || basic.password !== client.clientSecret)
          return json(401, { message: 'Unauthorized', error: 401 }, JSON_UTF8);
        ctx.tokens.revokeGrantOf('reddit', formBody(req).token ?? '');
        return { status: 204, headers: {}, body: '' };
      },
    },
    {
      method: 'POST',
      pattern: '/api/v1/access_token',
      handle(req, ctx) {
        const basic = basicAuth(req);
        const client = ctx.client('reddit');
        if (basic?.user !== client.clientId || basic.password !== client.clientSecret)
          return json(401, { message: 'Unauthorized', error: 401 }, JSON_UTF8);
        const form = formBody(req);
        const ttl = ctx.tokenTtlSeconds('reddit', 'access') ?? 86_400;
        const invalidGrant = (): SimResponse => json(200, { error: 'invalid_grant' }, JSON_UTF8);
        const issue = (
          accountId: string | null,
          scope: string,
          refresh: string | null,
        ): SimResponse => {
          const access = ctx.tokens.issue({
            platform: 'reddit',
            kind: accountId === null ? 'app' : 'access',
            accountId,
            now: req.now,
            ttlSeconds: ttl,
            scope,
          });
          if (accountId === null) access.expiresAtMs = req.now + ttl * 1000;
          return json(
            200,
            {
              access_token: access.token,
              token_type: 'bearer',
              expires_in: ttl,
              ...(refresh === null ? {} : { refresh_token: refresh }),
              scope,
            },
            JSON_UTF8,
          );
        };
        switch (form.grant_type) {
          case 'client_credentials':
            return issue(null, '*', null);
          case 'password': {
            const account = findUser(ctx, form.username ?? '');
            if (account === undefined || account.password !== form.password) return invalidGrant();
            return issue(account.id, '*', null);
          }
          case 'authorization_code': {
            const code = ctx.codes.find('reddit', form.code);
            if (
              code === null ||
              code.used ||
              req.now >= code.expiresAtMs ||
              code.redirectUri !== form.redirect_uri
            )
              return invalidGrant();
            code.used = true;
            const refresh = ctx.tokens.issue({
              platform: 'reddit',
              kind: 'refresh',
              accountId: code.accountId,
              now: req.now,
              ttlSeconds: ctx.tokenTtlSeconds('reddit', 'refresh'),
              scope: code.scope,
            });
            return issue(code.accountId, code.scope, refresh.token);
          }
          case 'refresh_token': {
            const check = ctx.tokens.check(
              'reddit',
              form.refresh_token ?? null,
              ['refresh'],
              req.now,
            );
            if (!check.ok) return invalidGrant();
            return issue(check.record.accountId, check.record.scope, check.record.token); // Reddit does not rotate
          }
          default:
            return json(200, { error: 'unsupported_grant_type' }, JSON_UTF8);
        }
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/me',
      handle(req, ctx) {
        const check = ctx.checkToken(req, bearer(req), ['access']);
        if (!check.ok) return unauthorized();
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = ctx.accounts('reddit').find((a) => a.id === check.record.accountId);
        if (account === undefined) return unauthorized();
        return json(
          200,
          {
            name: account.handle,
            id: account.id,
            created_utc: Math.floor(account.createdAtMs / 1000),
            verified: true,
          },
          access.headers,
        );
      },
    },
    {
      method: 'GET',
      pattern: '/user/:name/about',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = findUser(ctx, req.params.name ?? '');
        if (account === undefined) return notFound(access.headers);
        const karma = Math.floor(account.followers / 3);
        return json(
          200,
          {
            kind: 't2',
            data: {
              is_employee: false,
              is_friend: false,
              name: account.handle,
              id: account.id,
              created: Math.floor(account.createdAtMs / 1000),
              created_utc: Math.floor(account.createdAtMs / 1000),
              link_karma: karma,
              comment_karma: karma * 2,
              total_karma: karma * 3,
              icon_img: `https://styles.redditmedia.com/sim/${account.id}.png`,
              verified: true,
              has_verified_email: true,
              is_gold: false,
              is_mod: false,
            },
          },
          access.headers,
        );
      },
    },
    {
      method: 'GET',
      pattern: '/user/:name/submitted',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = findUser(ctx, req.params.name ?? '');
        if (account === undefined) return notFound(access.headers);
        const limitRaw = Number(req.query.get('limit') ?? '25');
        const limit = Number.isInteger(limitRaw) && limitRaw > 0 ? Math.min(100, limitRaw) : 25;
        const posts = visiblePosts(account, req.now).slice(0, ctx.options.redditListingCap);
        const after = req.query.get('after');
        const before = req.query.get('before');
        let start = 0;
        if (after !== null) {
          const at = posts.findIndex((p) => `t3_${p.id}` === after);
          start = at < 0 ? posts.length : at + 1;
        } else if (before !== null) {
          const at = posts.findIndex((p) => `t3_${p.id}` === before);
          start = Math.max(0, (at < 0 ? 0 : at) - limit);
        }
        const page = posts.slice(start, start + limit);
        const last = page[page.length - 1];
        const first = page[0];
        const nextAfter =
          last !== undefined && start + limit < posts.length ? `t3_${last.id}` : null;
        const prevBefore = first !== undefined && start > 0 ? `t3_${first.id}` : null;
        return json(
          200,
          listing(
            page.map((p) => link(p, ctx, req.now)),
            nextAfter,
            prevBefore,
          ),
          access.headers,
        );
      },
    },
    {
      method: 'GET',
      pattern: '/api/info',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const ids = (req.query.get('id') ?? '').split(',').filter((s) => s !== '');
        if (ids.length > 100)
          return json(400, { message: 'Bad Request', error: 400 }, access.headers);
        const children = ids.flatMap((fullname) => {
          const post = fullname.startsWith('t3_')
            ? ctx.findPost('reddit', fullname.slice(3))
            : undefined;
          return post === undefined || post.createdAtMs > req.now ? [] : [link(post, ctx, req.now)];
        });
        return json(200, listing(children, null, null), access.headers);
      },
    },
  ],
};
