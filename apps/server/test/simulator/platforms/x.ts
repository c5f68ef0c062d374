/**
 * X API v2: user by username, user timeline, tweet lookup, usage, OAuth 2.0 with PKCE.
 * Shapes follow fixtures/x/recorded (academictwitteR) and the problem+json error bodies.
 */
import {
  bearer,
  basicAuth,
  formBody,
  json,
  type Headers,
  type LimitState,
  type SimRequest,
  type SimResponse,
} from '../core.js';
import { metricsAt, postText, visiblePosts, type SimAccount, type SimPost } from '../data.js';
import { pkceMatches } from '../auth.js';
import {
  redirectWithCode,
  startAuthorization,
  type PlatformModule,
  type SimContext,
} from '../context.js';

const TWITTER_EPOCH = 1_288_834_974_657n;
const PROBLEM = 'application/problem+json';

export function xTweetId(createdAtMs: number, rnd: () => number): string {
  return (
    ((BigInt(createdAtMs) - TWITTER_EPOCH) << 22n) |
    BigInt(Math.floor(rnd() * 0x3fffff))
  ).toString();
}

function rateHeaders(state: LimitState): Headers {
  return {
    'x-rate-limit-limit': String(state.limit),
    'x-rate-limit-remaining': String(state.remaining),
    'x-rate-limit-reset': String(Math.floor(state.resetMs / 1000)),
  };
}

const unauthorized = (): SimResponse =>
  json(
    401,
    { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' },
    { 'content-type': PROBLEM },
  );

function invalidRequest(
  parameter: string,
  value: string,
  message: string,
  headers: Headers,
): SimResponse {
  return json(
    400,
    {
      errors: [{ parameters: { [parameter]: [value] }, message }],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    },
    headers,
  );
}

function tooManyRequests(state: LimitState | null): SimResponse {
  return json(
    429,
    { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
    { 'content-type': PROBLEM, ...(state === null ? {} : rateHeaders(state)) },
  );
}

function usageCapped(state: LimitState | null): SimResponse {
  return json(
    429,
    {
      account_id: '1500000000000000000',
      product_name: 'standard-basic',
      title: 'UsageCapExceeded',
      period: 'Monthly',
      scope: 'Product',
      detail: 'Usage cap exceeded: Monthly product cap',
      type: 'https://api.twitter.com/2/problems/usage-capped',
    },
    { 'content-type': PROBLEM, ...(state === null ? {} : rateHeaders(state)) },
  );
}

function fieldsOf(req: SimRequest, name: 'tweet' | 'user'): Set<string> {
  const raw =
    req.query.get(`${name}.fields`) ??
    (name === 'tweet' ? req.query.get('post.fields') : null) ??
    '';
  return new Set(raw.split(',').filter((f) => f !== ''));
}

function codePointRange(text: string, needle: string): { start: number; end: number } | null {
  const at = text.indexOf(needle);
  if (at < 0) return null;
  const start = Array.from(text.slice(0, at)).length;
  return { start, end: start + Array.from(needle).length };
}

function tweetObject(
  post: SimPost,
  fields: Set<string>,
  ctx: SimContext,
  now: number,
): Record<string, unknown> {
  const t = postText(post, ctx.otherHandles('x'));
  const rt = post.retweetOf;
  const tweet: Record<string, unknown> = {
    id: post.id,
    text: rt ? `RT @${rt.handle}: ${t.text}` : t.text,
    edit_history_tweet_ids: [post.id],
  };
  if (rt && fields.has('referenced_tweets'))
    tweet.referenced_tweets = [{ type: 'retweeted', id: rt.id }];
  if (fields.has('created_at')) tweet.created_at = new Date(post.createdAtMs).toISOString();
  if (fields.has('author_id')) tweet.author_id = post.account.id;
  if (fields.has('conversation_id')) tweet.conversation_id = post.id;
  if (fields.has('lang')) tweet.lang = t.lang;
  if (fields.has('possibly_sensitive')) tweet.possibly_sensitive = false;
  if (fields.has('public_metrics')) {
    const own = metricsAt(post, now);
    // A retweet carries the original tweet's counts (X copies them), far above the account's own.
    const m = rt ? { ...own, shares: own.shares * 40 + 1000, likes: own.likes * 40 } : own;
    tweet.public_metrics = {
      retweet_count: m.shares,
      reply_count: m.comments,
      like_count: m.likes,
      quote_count: m.quotes,
      bookmark_count: m.saves,
      impression_count: m.views,
    };
  }
  if (fields.has('entities')) {
    const entities: Record<string, unknown> = {};
    const hashtags = t.hashtags
      .map((tag) => ({ ...codePointRange(t.text, `#${tag}`), tag }))
      .filter((h) => h.start !== undefined);
    const mentions = t.mentions
      .map((m) => ({ ...codePointRange(t.text, `@${m}`), username: m }))
      .filter((h) => h.start !== undefined);
    if (hashtags.length > 0) entities.hashtags = hashtags;
    if (mentions.length > 0) entities.mentions = mentions;
    if (Object.keys(entities).length > 0) tweet.entities = entities;
  }
  return tweet;
}

function userObject(
  account: SimAccount,
  fields: Set<string>,
  now: number,
): Record<string, unknown> {
  const user: Record<string, unknown> = {
    id: account.id,
    name: account.displayName,
    username: account.handle,
  };
  if (fields.has('created_at')) user.created_at = new Date(account.createdAtMs).toISOString();
  if (fields.has('description')) user.description = account.bio;
  if (fields.has('protected')) user.protected = false;
  if (fields.has('verified')) user.verified = false;
  if (fields.has('profile_image_url'))
    user.profile_image_url = `https://pbs.twimg.com/profile_images/${account.id}/avatar_normal.jpg`;
  if (fields.has('public_metrics')) {
    user.public_metrics = {
      followers_count: account.followers,
      following_count: account.following,
      tweet_count: visiblePosts(account, now).length,
      listed_count: Math.floor(account.followers / 300),
      like_count: account.following * 7,
    };
  }
  return user;
}

type Authed =
  { ok: true; principal: string; state: LimitState } | { ok: false; response: SimResponse };

/** Bearer check, then the endpoint's 15-minute window for this principal. */
function authAndLimit(req: SimRequest, ctx: SimContext): Authed {
  const check = ctx.checkToken(req, bearer(req), ['app', 'access']);
  if (!check.ok) return { ok: false, response: unauthorized() };
  const state = ctx.charge(req, req.endpoint, check.record.principal);
  if (!state.allowed)
    return { ok: false, response: { ...tooManyRequests(state), overLimit: 'rate' } };
  return { ok: true, principal: check.record.principal, state };
}

/** Charges post reads to the app's monthly cap; null when within it. */
function chargeUsage(ctx: SimContext, now: number, posts: number): boolean {
  const month = new Date(now).getUTCFullYear() * 12 + new Date(now).getUTCMonth();
  if (ctx.xPostsRead.month !== month) ctx.xPostsRead = { month, count: 0 };
  if (ctx.xPostsRead.count >= ctx.options.xUsageCapPosts) return false;
  ctx.xPostsRead.count += posts;
  return true;
}

const tokenPrefix = { next: '7140', previous: '77qp' };
function pageToken(kind: 'next' | 'previous', id: string): string {
  return `${tokenPrefix[kind]}${BigInt(id).toString(36)}`;
}
function readPageToken(token: string): { kind: 'next' | 'previous'; id: bigint } | null {
  const kind = token.startsWith(tokenPrefix.next)
    ? 'next'
    : token.startsWith(tokenPrefix.previous)
      ? 'previous'
      : null;
  const rest = token.slice(4);
  if (kind === null || !/^[0-9a-z]+$/.test(rest)) return null;
  let value = 0n;
  for (const ch of rest) value = value * 36n + BigInt(parseInt(ch, 36));
  return { kind, id: value };
}

function notFound(
  resource: 'user' | 'tweet',
  parameter: string,
  value: string,
  detail: string,
): Record<string, unknown> {
  return {
    value,
    detail,
    title: 'Not Found Error',
    resource_type: resource,
    parameter,
    resource_id: value,
    type: 'https://api.twitter.com/2/problems/resource-not-found',
  };
}

export const xPlatform: PlatformModule = {
  platform: 'x',
  defaultLimits: () => ({
    'GET /2/users/me': { limit: 75, windowSeconds: 900 },
    'GET /2/users/by/username/:username': { limit: 900, windowSeconds: 900 },
    'GET /2/users/:id/tweets': { limit: 900, windowSeconds: 900 },
    'GET /2/tweets': { limit: 900, windowSeconds: 900 },
    'GET /2/usage/tweets': { limit: 50, windowSeconds: 900 },
  }),
  faults: {
    rateLimited: (req, ctx) =>
      tooManyRequests({ ...ctx.peek(req, req.endpoint, 'app'), remaining: 0 }),
    serverError: (_req, status) =>
      json(
        status,
        {
          title: status === 503 ? 'Service Unavailable' : 'Internal Server Error',
          detail: status === 503 ? 'Service Unavailable' : 'Internal Server Error',
          type: 'about:blank',
          status,
        },
        { 'content-type': PROBLEM },
      ),
    expiredToken: () => unauthorized(),
    usageCap: (req, ctx) => usageCapped(ctx.peek(req, req.endpoint, 'app')),
  },
  routes: [
    {
      method: 'GET',
      pattern: '/2/users/me',
      handle(req, ctx) {
        const check = ctx.checkToken(req, bearer(req), ['access']);
        if (!check.ok) return unauthorized();
        const state = ctx.charge(req, req.endpoint, check.record.principal);
        if (!state.allowed) return { ...tooManyRequests(state), overLimit: 'rate' };
        const account = ctx.accounts('x').find((a) => a.id === check.record.accountId);
        if (account === undefined) return unauthorized();
        return json(
          200,
          { data: userObject(account, fieldsOf(req, 'user'), req.now) },
          rateHeaders(state),
        );
      },
    },
    {
      method: 'GET',
      pattern: '/2/users/by/username/:username',
      handle(req, ctx) {
        const auth = authAndLimit(req, ctx);
        if (!auth.ok) return auth.response;
        const headers = rateHeaders(auth.state);
        const username = req.params.username ?? '';
        if (!/^[A-Za-z0-9_]{1,15}$/.test(username))
          return invalidRequest(
            'username',
            username,
            `The \`username\` query parameter value [${username}] does not match ^[A-Za-z0-9_]{1,15}$`,
            headers,
          );
        const account = ctx
          .accounts('x')
          .find((a) => a.handle.toLowerCase() === username.toLowerCase());
        if (account === undefined)
          return json(
            200,
            {
              errors: [
                notFound(
                  'user',
                  'username',
                  username,
                  `Could not find user with username: [${username}].`,
                ),
              ],
            },
            headers,
          );
        return json(200, { data: userObject(account, fieldsOf(req, 'user'), req.now) }, headers);
      },
    },
    {
      method: 'GET',
      pattern: '/2/users/:id/tweets',
      handle(req, ctx) {
        const auth = authAndLimit(req, ctx);
        if (!auth.ok) return auth.response;
        const headers = rateHeaders(auth.state);
        const id = req.params.id ?? '';
        const maxRaw = req.query.get('max_results');
        const max = maxRaw === null ? 10 : Number(maxRaw);
        if (!Number.isInteger(max) || max < 5 || max > 100)
          return invalidRequest(
            'max_results',
            maxRaw ?? '',
            `The \`max_results\` query parameter value [${maxRaw ?? ''}] is not between 5 and 100`,
            headers,
          );
        const account = ctx.accounts('x').find((a) => a.id === id);
        if (account === undefined)
          return json(
            200,
            { errors: [notFound('user', 'id', id, `Could not find user with id: [${id}].`)] },
            headers,
          );
        let posts = visiblePosts(account, req.now).slice(0, ctx.options.xTimelineCap);
        const since = req.query.get('since_id');
        const until = req.query.get('until_id');
        const start = req.query.get('start_time');
        const end = req.query.get('end_time');
        if (since !== null) posts = posts.filter((p) => BigInt(p.id) > BigInt(since));
        if (until !== null) posts = posts.filter((p) => BigInt(p.id) < BigInt(until));
        if (start !== null) posts = posts.filter((p) => p.createdAtMs >= Date.parse(start));
        if (end !== null) posts = posts.filter((p) => p.createdAtMs < Date.parse(end));
        const exclude = (req.query.get('exclude') ?? '').split(',');
        if (exclude.includes('retweets')) posts = posts.filter((p) => p.retweetOf === undefined);
        const tokenRaw = req.query.get('pagination_token');
        let page: SimPost[];
        if (tokenRaw === null) page = posts.slice(0, max);
        else {
          const token = readPageToken(tokenRaw);
          if (token === null)
            return invalidRequest(
              'pagination_token',
              tokenRaw,
              `The \`pagination_token\` query parameter value [${tokenRaw}] is not valid`,
              headers,
            );
          if (token.kind === 'next')
            page = posts.filter((p) => BigInt(p.id) < token.id).slice(0, max);
          else {
            const newer = posts.filter((p) => BigInt(p.id) > token.id);
            page = newer.slice(Math.max(0, newer.length - max));
          }
        }
        if (!chargeUsage(ctx, req.now, page.length))
          return { ...usageCapped(auth.state), overLimit: 'usage_cap' };
        if (page.length === 0) return json(200, { meta: { result_count: 0 } }, headers);
        const first = page[0] as SimPost;
        const last = page[page.length - 1] as SimPost;
        const meta: Record<string, unknown> = {
          oldest_id: last.id,
          newest_id: first.id,
          result_count: page.length,
        };
        if (posts.some((p) => BigInt(p.id) < BigInt(last.id)))
          meta.next_token = pageToken('next', last.id);
        if (tokenRaw !== null && posts.some((p) => BigInt(p.id) > BigInt(first.id)))
          meta.previous_token = pageToken('previous', first.id);
        const body: Record<string, unknown> = {
          data: page.map((p) => tweetObject(p, fieldsOf(req, 'tweet'), ctx, req.now)),
        };
        if ((req.query.get('expansions') ?? '').split(',').includes('author_id'))
          body.includes = { users: [userObject(account, fieldsOf(req, 'user'), req.now)] };
        if (req.partialError === true) {
          const missing = (BigInt(first.id) - 1n).toString();
          body.errors = [
            {
              value: missing,
              detail: `Could not find tweet with referenced_tweets.id: [${missing}].`,
              title: 'Not Found Error',
              resource_type: 'tweet',
              parameter: 'referenced_tweets.id',
              resource_id: missing,
              type: 'https://api.twitter.com/2/problems/resource-not-found',
            },
          ];
        }
        body.meta = meta;
        return json(200, body, headers);
      },
    },
    {
      method: 'GET',
      pattern: '/2/tweets',
      handle(req, ctx) {
        const auth = authAndLimit(req, ctx);
        if (!auth.ok) return auth.response;
        const headers = rateHeaders(auth.state);
        const raw = req.query.get('ids') ?? '';
        const ids = raw.split(',').filter((s) => s !== '');
        if (ids.length === 0 || ids.length > 100)
          return invalidRequest(
            'ids',
            raw,
            `The number of values in the \`ids\` query parameter list [${ids.length}] is not between 1 and 100`,
            headers,
          );
        const bad = ids.find((id) => !/^[0-9]{1,19}$/.test(id));
        if (bad !== undefined)
          return invalidRequest(
            'ids',
            raw,
            `The \`ids\` query parameter value [${bad}] does not match ^[0-9]{1,19}$`,
            headers,
          );
        const data: Record<string, unknown>[] = [];
        const errors: Record<string, unknown>[] = [];
        ids.forEach((id, i) => {
          const post = ctx.findPost('x', id);
          if (req.partialError === true && i === ids.length - 1 && post !== undefined) {
            errors.push({
              value: id,
              detail: `Sorry, you are not authorized to see the Post with id: [${id}].`,
              title: 'Authorization Error',
              resource_type: 'tweet',
              parameter: 'ids',
              resource_id: id,
              type: 'https://api.twitter.com/2/problems/not-authorized-for-resource',
            });
          } else if (post === undefined || post.deleted || post.createdAtMs > req.now) {
            errors.push(notFound('tweet', 'ids', id, `Could not find tweet with ids: [${id}].`));
          } else data.push(tweetObject(post, fieldsOf(req, 'tweet'), ctx, req.now));
        });
        if (!chargeUsage(ctx, req.now, data.length))
          return { ...usageCapped(auth.state), overLimit: 'usage_cap' };
        const body: Record<string, unknown> = {};
        if (data.length > 0) body.data = data;
        if (errors.length > 0) body.errors = errors;
        return json(200, body, headers);
      },
    },
    {
      method: 'GET',
      pattern: '/2/usage/tweets',
      handle(req, ctx) {
        const auth = authAndLimit(req, ctx);
        if (!auth.ok) return auth.response;
        return json(
          200,
          {
            data: {
              cap_reset_day: 1,
              project_cap: String(ctx.options.xUsageCapPosts),
              project_id: '1500000000000000001',
              project_usage: String(ctx.xPostsRead.count),
            },
          },
          rateHeaders(auth.state),
        );
      },
    },
    {
      method: 'GET',
      pattern: '/i/oauth2/authorize',
      handle(req, ctx) {
        const started = startAuthorization(req, ctx, { requirePkce: true, codeTtlSeconds: 30 });
        if ('error' in started)
          return json(400, { error: 'invalid_request', error_description: started.error });
        return redirectWithCode(started.redirectUri, { state: started.state, code: started.code });
      },
    },
    {
      method: 'POST',
      pattern: '/2/oauth2/token',
      handle(req, ctx) {
        const form = formBody(req);
        const basic = basicAuth(req);
        const client = ctx.client('x');
        const invalid = (what: string): SimResponse =>
          json(400, {
            error: 'invalid_request',
            error_description: `Value passed for the ${what} was invalid.`,
          });
        if (form.grant_type === 'client_credentials') {
          if (basic?.user !== client.clientId || basic.password !== client.clientSecret)
            return json(403, {
              errors: [
                {
                  code: 99,
                  message: 'Unable to verify your credentials',
                  label: 'authenticity_token_error',
                },
              ],
            });
          const app = ctx.tokens.issue({
            platform: 'x',
            kind: 'app',
            accountId: null,
            now: req.now,
            ttlSeconds: null,
          });
          return json(200, { token_type: 'bearer', access_token: app.token });
        }
        const clientId = basic?.user ?? form.client_id;
        if (
          clientId !== client.clientId ||
          (basic !== null && basic.password !== client.clientSecret)
        )
          return json(401, {
            error: 'unauthorized_client',
            error_description: 'Missing valid authorization header',
          });
        let accountId: string;
        let scope: string;
        if (form.grant_type === 'authorization_code') {
          const code = ctx.codes.find('x', form.code);
          if (
            code === null ||
            code.used ||
            req.now >= code.expiresAtMs ||
            code.redirectUri !== form.redirect_uri
          )
            return invalid('authorization code');
          if (!(code.codeChallenge !== null && pkceMatches(code, form.code_verifier)))
            return invalid('code verifier');
          code.used = true;
          accountId = code.accountId;
          scope = code.scope;
        } else if (form.grant_type === 'refresh_token') {
          const check = ctx.tokens.check('x', form.refresh_token ?? null, ['refresh'], req.now);
          if (!check.ok || check.record.accountId === null) return invalid('token');
          ctx.tokens.revoke(check.record.token); // X rotates refresh tokens
          accountId = check.record.accountId;
          scope = check.record.scope;
        } else
          return json(400, {
            error: 'unsupported_grant_type',
            error_description: 'Grant type not supported',
          });
        const access = ctx.tokens.issue({
          platform: 'x',
          kind: 'access',
          accountId,
          now: req.now,
          ttlSeconds: ctx.tokenTtlSeconds('x', 'access'),
          scope,
        });
        const body: Record<string, unknown> = {
          token_type: 'bearer',
          expires_in: Math.round(((access.expiresAtMs ?? req.now) - req.now) / 1000),
          access_token: access.token,
          scope,
        };
        if (scope.split(' ').includes('offline.access'))
          body.refresh_token = ctx.tokens.issue({
            platform: 'x',
            kind: 'refresh',
            accountId,
            now: req.now,
            ttlSeconds: ctx.tokenTtlSeconds('x', 'refresh'),
            scope,
          }).token;
        return json(200, body);
      },
    },
    {
      method: 'POST',
      pattern: '/2/oauth2/revoke',
      handle(req, ctx) {
        const basic = basicAuth(req);
        const client = ctx.client('x');
        if (basic?.user !== client.clientId || basic.password !== client.clientSecret)
          return json(401, {
            error: 'unauthorized_client',
            error_description: 'Missing valid authorization header',
          });
        const token = formBody(req).token;
        if (token !== undefined) ctx.tokens.revokeGrantOf('x', token);
        return json(200, { revoked: true });
      },
    },
  ],
};
