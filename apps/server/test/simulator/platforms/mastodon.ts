/**
 * Mastodon: account lookup, account statuses paginated by the `Link` header (next by max_id,
 * prev by min_id), single status, X-RateLimit-* headers with an ISO-8601 reset, Mastodon's error
 * bodies and OAuth (tokens without expiry). Shapes follow fixtures/mastodon/recorded.
 */
import {
  bearer,
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

export const mastodonIds = {
  account: (index: number): string =>
    (109_300_000_000_000_000n + BigInt(index) * 65_537n).toString(),
  /** Mastodon ids are milliseconds << 16 plus a sequence. */
  status: (createdAtMs: number, rnd: () => number): string =>
    ((BigInt(createdAtMs) << 16n) | BigInt(Math.floor(rnd() * 0xffff))).toString(),
};

function rateHeaders(state: LimitState): Headers {
  return {
    'x-ratelimit-limit': String(state.limit),
    'x-ratelimit-remaining': String(state.remaining),
    'x-ratelimit-reset': new Date(state.resetMs).toISOString().replace('Z', '000Z'),
  };
}

const invalidToken = (): SimResponse => json(401, { error: 'The access token is invalid' });

type Access =
  { ok: true; headers: Headers; authed: boolean } | { ok: false; response: SimResponse };

function authAndLimit(req: SimRequest, ctx: SimContext): Access {
  let principal = `ip:${req.remoteAddress}`;
  const token = bearer(req);
  if (token !== null) {
    const check = ctx.checkToken(req, token, ['access']);
    if (!check.ok) return { ok: false, response: invalidToken() };
    principal = check.record.principal;
  }
  const state = ctx.charge(req, 'account', principal);
  const headers = rateHeaders(state);
  if (!state.allowed)
    return {
      ok: false,
      response: { ...json(429, { error: 'Too many requests' }, headers), overLimit: 'rate' },
    };
  return { ok: true, headers, authed: token !== null };
}

const host = (req: SimRequest): string => new URL(req.base).host;

function accountEntity(req: SimRequest, account: SimAccount): Record<string, unknown> {
  const url = `${req.base}/@${account.handle}`;
  const posts = visiblePosts(account, req.now);
  const media = `${req.base}/system/accounts/avatars/${account.id}/original/avatar.png`;
  return {
    id: account.id,
    username: account.handle,
    acct: account.handle,
    display_name: account.displayName,
    locked: false,
    bot: false,
    discoverable: account.index % 2 === 0 ? null : true, // nullable in the API (null in the recording)
    indexable: true,
    group: false,
    created_at: new Date(Math.floor(account.createdAtMs / 86_400_000) * 86_400_000).toISOString(),
    note: `<p>${account.bio}</p>`,
    url,
    uri: `${req.base}/users/${account.handle}`,
    avatar: media,
    avatar_static: media,
    header: `${req.base}/headers/original/missing.png`,
    header_static: `${req.base}/headers/original/missing.png`,
    followers_count: account.followers,
    following_count: account.following,
    statuses_count: posts.length,
    last_status_at:
      posts[0] === undefined ? null : new Date(posts[0].createdAtMs).toISOString().slice(0, 10),
    hide_collections: false,
    emojis: [],
    fields: [],
  };
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function statusEntity(
  req: SimRequest,
  post: SimPost,
  ctx: SimContext,
  authed: boolean,
): Record<string, unknown> {
  const t = postText(post, ctx.otherHandles('mastodon'));
  const m = metricsAt(post, req.now);
  const mentions = t.mentions.flatMap((handle) => {
    const target = ctx.findAccount('mastodon', handle);
    return target === undefined
      ? []
      : [
          {
            id: target.id,
            username: target.handle,
            url: `${req.base}/@${target.handle}`,
            acct: target.handle,
          },
        ];
  });
  let html = escapeHtml(t.text);
  for (const tag of t.hashtags)
    html = html.replace(
      `#${tag}`,
      `<a href="${req.base}/tags/${tag.toLowerCase()}" class="mention hashtag" rel="tag">#<span>${tag}</span></a>`,
    );
  for (const mention of mentions)
    html = html.replace(
      `@${mention.username}`,
      `<span class="h-card"><a href="${mention.url}" class="u-url mention">@<span>${mention.username}</span></a></span>`,
    );
  const status: Record<string, unknown> = {
    id: post.id,
    created_at: new Date(post.createdAtMs).toISOString(),
    in_reply_to_id: null,
    in_reply_to_account_id: null,
    sensitive: false,
    spoiler_text: '',
    visibility: 'public',
    language: t.lang,
    uri: `${req.base}/users/${post.account.handle}/statuses/${post.id}`,
    url: `${req.base}/@${post.account.handle}/${post.id}`,
    replies_count: m.comments,
    reblogs_count: m.shares,
    favourites_count: m.likes,
    quotes_count: m.quotes,
    edited_at: null,
  };
  if (authed)
    Object.assign(status, {
      favourited: false,
      reblogged: false,
      muted: false,
      bookmarked: false,
      pinned: false,
    });
  Object.assign(status, {
    content: `<p>${html}</p>`,
    filtered: [],
    reblog: null,
    account: accountEntity(req, post.account),
    media_attachments: [],
    mentions,
    tags: t.hashtags.map((name) => ({
      name: name.toLowerCase(),
      url: `${req.base}/tags/${name.toLowerCase()}`,
    })),
    emojis: [],
    quote: null,
    card: null,
    poll: null,
  });
  return status;
}

const notFound = (headers: Headers): SimResponse =>
  json(404, { error: 'Record not found' }, headers);

export const mastodonPlatform: PlatformModule = {
  platform: 'mastodon',
  defaultLimits: () => ({ account: { limit: 300, windowSeconds: 300 } }),
  faults: {
    rateLimited: (req, ctx) =>
      json(
        429,
        { error: 'Too many requests' },
        rateHeaders({ ...ctx.peek(req, 'account', `ip:${req.remoteAddress}`), remaining: 0 }),
      ),
    serverError: (_req, status) => ({
      status,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<!DOCTYPE html><html><head><title>We're sorry, but something went wrong (${status})</title></head><body><div class="dialog"><h1>We're sorry, but something went wrong.</h1></div></body></html>`,
    }),
    expiredToken: () => invalidToken(),
    usageCap: (req, ctx) =>
      json(
        429,
        { error: 'Too many requests' },
        rateHeaders({ ...ctx.peek(req, 'account', `ip:${req.remoteAddress}`), remaining: 0 }),
      ),
  },
  routes: [
    {
      method: 'GET',
      pattern: '/api/v1/accounts/verify_credentials',
      handle(req, ctx) {
        const check = ctx.checkToken(req, bearer(req), ['access']);
        if (!check.ok) return invalidToken();
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = ctx.accounts('mastodon').find((a) => a.id === check.record.accountId);
        return account === undefined
          ? invalidToken()
          : json(200, accountEntity(req, account), access.headers);
      },
    },
    {
      // Registering an app: the simulated instance has one registered client and hands it out.
      method: 'POST',
      pattern: '/api/v1/apps',
      handle(req, ctx) {
        const form = formBody(req);
        if (!form.client_name || !form.redirect_uris || !/^https?:\/\//.test(form.redirect_uris))
          return json(422, {
            error:
              "Validation failed: Redirect URI must be an absolute URI., Application name can't be blank",
          });
        const client = ctx.client('mastodon');
        return json(200, {
          id: '1',
          name: form.client_name,
          website: form.website ?? null,
          scopes: (form.scopes ?? 'read').split(' '),
          redirect_uri: form.redirect_uris,
          redirect_uris: [form.redirect_uris],
          client_id: client.clientId,
          client_secret: client.clientSecret,
        });
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/accounts/lookup',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const acct = (req.query.get('acct') ?? '').replace(/^@/, '');
        const [username, domain] = acct.split('@');
        if (domain !== undefined && domain !== host(req)) return notFound(access.headers);
        const account = ctx.findAccount('mastodon', username ?? '');
        return account === undefined
          ? notFound(access.headers)
          : json(200, accountEntity(req, account), access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/accounts/:id/statuses',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = ctx.accounts('mastodon').find((a) => a.id === req.params.id);
        if (account === undefined) return notFound(access.headers);
        const limitRaw = Number(req.query.get('limit') ?? '20');
        const limit = Number.isInteger(limitRaw) && limitRaw > 0 ? Math.min(40, limitRaw) : 20;
        const maxId = req.query.get('max_id');
        const sinceId = req.query.get('since_id');
        const minId = req.query.get('min_id');
        let posts = visiblePosts(account, req.now);
        if (maxId !== null) posts = posts.filter((p) => BigInt(p.id) < BigInt(maxId));
        if (sinceId !== null) posts = posts.filter((p) => BigInt(p.id) > BigInt(sinceId));
        let page: SimPost[];
        if (minId !== null) {
          const newer = posts.filter((p) => BigInt(p.id) > BigInt(minId));
          page = newer.slice(Math.max(0, newer.length - limit));
        } else page = posts.slice(0, limit);
        const headers = { ...access.headers };
        const first = page[0];
        const last = page[page.length - 1];
        if (first !== undefined && last !== undefined) {
          const link = (key: string, id: string): string =>
            `${req.base}/api/v1/accounts/${account.id}/statuses?limit=${limit}&${key}=${id}`;
          const links: string[] = [];
          // Like Mastodon: `next` whenever the page is full, even if nothing older remains.
          if (page.length === limit) links.push(`<${link('max_id', last.id)}>; rel="next"`);
          links.push(`<${link('min_id', first.id)}>; rel="prev"`);
          headers.link = links.join(', ');
        }
        return json(
          200,
          page.map((p) => statusEntity(req, p, ctx, access.authed)),
          headers,
        );
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/accounts/:id',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = ctx.accounts('mastodon').find((a) => a.id === req.params.id);
        return account === undefined
          ? notFound(access.headers)
          : json(200, accountEntity(req, account), access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/statuses/:id',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const post = ctx.findPost('mastodon', req.params.id ?? '');
        if (post === undefined || post.deleted || post.createdAtMs > req.now)
          return notFound(access.headers);
        return json(200, statusEntity(req, post, ctx, access.authed), access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/oauth/authorize',
      handle(req, ctx) {
        const started = startAuthorization(req, ctx, { requirePkce: false, codeTtlSeconds: 600 });
        if ('error' in started)
          return json(400, { error: 'invalid_request', error_description: started.error });
        return redirectWithCode(started.redirectUri, { code: started.code, state: started.state });
      },
    },
    {
      method: 'POST',
      pattern: '/oauth/revoke',
      handle(req, ctx) {
        const form = formBody(req);
        const client = ctx.client('mastodon');
        if (form.client_id !== client.clientId || form.client_secret !== client.clientSecret)
          return json(403, {
            error: 'unauthorized_client',
            error_description: 'You are not authorized to revoke this token',
          });
        ctx.tokens.revokeGrantOf('mastodon', form.token ?? '');
        return json(200, {});
      },
    },
    {
      method: 'POST',
      pattern: '/oauth/token',
      handle(req, ctx) {
        const form = formBody(req);
        const client = ctx.client('mastodon');
        if (form.client_id !== client.clientId || form.client_secret !== client.clientSecret)
          return json(401, {
            error: 'invalid_client',
            error_description:
              'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
          });
        if (form.grant_type !== 'authorization_code')
          return json(400, {
            error: 'unsupported_grant_type',
            error_description:
              'The authorization grant type is not supported by the authorization server.',
          });
        const code = ctx.codes.find('mastodon', form.code);
        if (
          code === null ||
          code.used ||
          req.now >= code.expiresAtMs ||
          code.redirectUri !== form.redirect_uri ||
          !pkceMatches(code, form.code_verifier)
        ) {
          return json(400, {
            error: 'invalid_grant',
            error_description:
              'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
          });
        }
        code.used = true;
        const token = ctx.tokens.issue({
          platform: 'mastodon',
          kind: 'access',
          accountId: code.accountId,
          now: req.now,
          ttlSeconds: null,
          scope: code.scope || 'read',
        });
        return json(200, {
          access_token: token.token,
          token_type: 'Bearer',
          scope: token.scope,
          created_at: Math.floor(req.now / 1000),
        });
      },
    },
  ],
};
