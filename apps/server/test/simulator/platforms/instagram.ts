/**
 * Instagram Graph API (graph.facebook.com/vXX.0): IG user, media with cursor paging, media
 * objects, insights in the new (`total_value`) and legacy (`values` only) styles, stories, usage
 * headers (X-App-Usage, X-Business-Use-Case-Usage) and Graph error bodies; Facebook Login OAuth.
 * Shapes follow fixtures/instagram/bodies and issue_transcripts.
 */
import {
  base64url,
  bearer,
  hash32,
  hexOf,
  json,
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

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export const instagramIds = {
  user: (index: number): string => `178414${pad(index, 11)}`,
  media: (accountIndex: number, index: number, rnd: () => number): string =>
    `1789${pad(accountIndex, 4)}${pad(index, 6)}${pad(Math.floor(rnd() * 1000), 3)}`,
  story: (accountIndex: number, k: number): string => `1799${pad(accountIndex, 4)}${pad(k, 9)}`,
};

const fbtrace = (req: SimRequest): string =>
  base64url(
    Buffer.from(hexOf('fbtrace', req.now, req.path, req.rawBody).slice(0, 16), 'hex'),
  ).slice(0, 11);

interface GraphError {
  message: string;
  type?: string;
  code: number;
  error_subcode?: number;
  is_transient?: boolean;
  error_user_title?: string;
  error_user_msg?: string;
}

function graphError(
  req: SimRequest,
  status: number,
  error: GraphError,
  headers: Headers = {},
): SimResponse {
  return json(
    status,
    { error: { type: 'OAuthException', ...error, fbtrace_id: fbtrace(req) } },
    {
      'www-authenticate': `OAuth "Facebook Platform" "${error.code === 190 ? 'invalid_token' : 'invalid_request'}" "${error.message.replace(/"/g, "'")}"`,
      ...headers,
    },
  );
}

const rateMessages: Record<number, string> = {
  4: '(#4) Application request limit reached',
  17: '(#17) User request limit reached',
  32: '(#32) Page request limit reached',
  613: '(#613) Calls to this api have exceeded the rate limit.',
  80002:
    '(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
};

function rateError(req: SimRequest, code: number, headers: Headers = {}): SimResponse {
  return graphError(
    req,
    code === 4 ? 400 : 403,
    {
      message: rateMessages[code] ?? rateMessages[4] ?? '',
      code,
      is_transient: true,
      ...(code === 80002 ? { error_subcode: 2446079 } : {}),
    },
    headers,
  );
}

const fmtDate = (ms: number): string => new Date(ms).toUTCString().replace('GMT', 'UTC');

function expiredToken(req: SimRequest, expiredAt: number): SimResponse {
  return graphError(req, 400, {
    message: `Error validating access token: Session has expired on ${fmtDate(expiredAt)}. The current time is ${fmtDate(req.now)}.`,
    code: 190,
    error_subcode: 463,
  });
}

function usageHeaders(
  app: LimitState,
  buc: LimitState | null,
  accountId: string | null,
  now: number,
): Headers {
  const pct = (s: LimitState): number => Math.min(100, Math.ceil((s.used / s.limit) * 100));
  const headers: Headers = {
    'x-app-usage': JSON.stringify({
      call_count: pct(app),
      total_cputime: Math.floor(pct(app) / 3),
      total_time: Math.floor(pct(app) / 2),
    }),
    'facebook-api-version': 'v21.0',
  };
  if (buc !== null && accountId !== null) {
    const regain = buc.remaining > 0 ? 0 : Math.ceil((buc.resetMs - now) / 60_000);
    headers['x-business-use-case-usage'] = JSON.stringify({
      [accountId]: [
        {
          type: 'instagram',
          call_count: pct(buc),
          total_cputime: Math.floor(pct(buc) / 3),
          total_time: Math.floor(pct(buc) / 2),
          estimated_time_to_regain_access: Math.max(0, regain),
        },
      ],
    });
  }
  return headers;
}

type Access =
  { ok: true; accountId: string; headers: Headers } | { ok: false; response: SimResponse };

function authAndLimit(req: SimRequest, ctx: SimContext): Access {
  const token = req.query.get('access_token') ?? bearer(req);
  const check = ctx.checkToken(req, token, ['access']);
  if (!check.ok) {
    if (check.reason === 'missing')
      return {
        ok: false,
        response: graphError(req, 400, {
          message:
            'An active access token must be used to query information about the current user.',
          code: 2500,
        }),
      };
    if (check.reason === 'expired' && check.record?.expiresAtMs != null)
      return { ok: false, response: expiredToken(req, check.record.expiresAtMs) };
    return {
      ok: false,
      response: graphError(req, 400, {
        message: 'Invalid OAuth access token - Cannot parse access token',
        code: 190,
      }),
    };
  }
  const accountId = check.record.accountId ?? '';
  const app = ctx.charge(req, 'app', 'app');
  if (!app.allowed)
    return {
      ok: false,
      response: { ...rateError(req, 4, usageHeaders(app, null, null, req.now)), overLimit: 'rate' },
    };
  const buc = ctx.charge(req, 'buc', check.record.principal);
  const headers = usageHeaders(app, buc, accountId, req.now);
  if (!buc.allowed)
    return { ok: false, response: { ...rateError(req, 80002, headers), overLimit: 'rate' } };
  return { ok: true, accountId, headers };
}

const userFields = [
  'id',
  'ig_id',
  'username',
  'name',
  'biography',
  'followers_count',
  'follows_count',
  'media_count',
  'profile_picture_url',
  'website',
];
const mediaFields = [
  'id',
  'caption',
  'media_type',
  'media_product_type',
  'media_url',
  'permalink',
  'shortcode',
  'thumbnail_url',
  'timestamp',
  'like_count',
  'comments_count',
  'username',
  'owner',
  'is_comment_enabled',
  'children',
];

function requestedFields(
  req: SimRequest,
  allowed: readonly string[],
  nodeType: string,
): string[] | { unknown: string } {
  const raw = req.query.get('fields');
  if (raw === null || raw === '') return ['id'];
  const fields = raw
    .split(',')
    .map((f) => f.replace(/\{.*$/, '').trim())
    .filter((f) => f !== '');
  const unknown = fields.find((f) => !allowed.includes(f));
  return unknown === undefined
    ? fields
    : {
        unknown: `(#100) Tried accessing nonexisting field (${unknown}) on node type (${nodeType})`,
      };
}

const igTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

function shortcode(id: string): string {
  return base64url(Buffer.from(hexOf('shortcode', id).slice(0, 16), 'hex')).slice(0, 11);
}

function userObject(account: SimAccount, fields: string[], now: number): Record<string, unknown> {
  const all: Record<string, unknown> = {
    id: account.id,
    ig_id: Number(account.id.slice(6)) + 1_000_000,
    username: account.handle,
    name: account.displayName,
    biography: account.bio,
    followers_count: account.followers,
    follows_count: account.following,
    media_count: visiblePosts(account, now).length,
    profile_picture_url: `https://scontent.cdninstagram.com/v/sim/${account.id}_n.jpg`,
    website: `https://example.com/${account.handle}`,
  };
  return Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]));
}

function mediaObject(
  post: SimPost,
  fields: string[],
  ctx: SimContext,
  now: number,
): Record<string, unknown> {
  const m = metricsAt(post, now);
  const code = shortcode(post.id);
  const all: Record<string, unknown> = {
    id: post.id,
    caption: postText(post, ctx.otherHandles('instagram')).text,
    media_type: post.mediaType,
    media_product_type: post.mediaType === 'VIDEO' ? 'REELS' : 'FEED',
    media_url: `https://scontent.cdninstagram.com/v/sim/${post.id}_n.${post.mediaType === 'VIDEO' ? 'mp4' : 'jpg'}`,
    permalink: `https://www.instagram.com/${post.mediaType === 'VIDEO' ? 'reel' : 'p'}/${code}/`,
    shortcode: code,
    timestamp: igTime(post.createdAtMs),
    like_count: m.likes,
    comments_count: m.comments,
    username: post.account.handle,
    owner: { id: post.account.id },
    is_comment_enabled: true,
  };
  if (post.mediaType === 'VIDEO')
    all.thumbnail_url = `https://scontent.cdninstagram.com/v/sim/${post.id}_thumb.jpg`;
  if (post.mediaType === 'CAROUSEL_ALBUM')
    all.children = { data: [1, 2, 3].map((i) => ({ id: `${post.id.slice(0, 14)}${pad(i, 3)}` })) };
  return Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]));
}

interface Story {
  id: string;
  account: SimAccount;
  createdAtMs: number;
  k: number;
}

const STORY_EVERY = 6 * 3_600_000;
function storiesAt(account: SimAccount, now: number): Story[] {
  const out: Story[] = [];
  for (
    let k = Math.floor((now - 86_400_000) / STORY_EVERY) - 1;
    k <= Math.floor(now / STORY_EVERY);
    k++
  ) {
    const t = k * STORY_EVERY + (hash32('story', account.id, k) % (3 * 3_600_000));
    if (t <= now && t > now - 86_400_000)
      out.push({ id: instagramIds.story(account.index, k), account, createdAtMs: t, k });
  }
  return out.reverse();
}
function findStory(ctx: SimContext, id: string): Story | undefined {
  if (!/^1799\d{13}$/.test(id)) return undefined;
  const account = ctx.accounts('instagram')[Number(id.slice(4, 8))];
  if (account === undefined) return undefined;
  const k = Number(id.slice(8));
  return {
    id,
    account,
    createdAtMs: k * STORY_EVERY + (hash32('story', account.id, k) % (3 * 3_600_000)),
    k,
  };
}

const unsupportedGet = (req: SimRequest, id: string): SimResponse =>
  graphError(req, 400, {
    message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
    type: 'GraphMethodException',
    code: 100,
    error_subcode: 33,
  });

const insightTitles: Record<string, [string, string]> = {
  views: ['Views', 'The number of times your content was played or displayed.'],
  reach: [
    'Accounts reached',
    'The number of unique accounts that have seen this content, at least once.',
  ],
  likes: ['Likes', 'The number of likes on your post.'],
  comments: ['Comments', 'The number of comments on your post.'],
  shares: ['Shares', 'The number of shares of your post.'],
  saved: ['Saved', 'The number of saves of your post.'],
  total_interactions: [
    'Interactions',
    'The number of likes, saves, comments and shares on your post minus the number of unlikes, unsaves and deleted comments.',
  ],
  profile_visits: ['Profile visits', 'The number of times your profile was visited.'],
  follows: ['Follows', 'The number of accounts that started following you.'],
  replies: ['Replies', 'The number of replies to your story.'],
  navigation: ['Navigation', 'The total number of actions taken from your story.'],
};

export const instagramPlatform: PlatformModule = {
  platform: 'instagram',
  defaultLimits: (ctx) => ({
    app: { limit: 200 * Math.max(1, ctx.accounts('instagram').length), windowSeconds: 3600 },
    buc: { limit: 4800, windowSeconds: 86_400 },
  }),
  faults: {
    rateLimited: (req, _ctx, code) => rateError(req, code ?? 4),
    serverError: (req, status) =>
      graphError(req, status, {
        message: 'An unexpected error has occurred. Please retry your request later.',
        code: 2,
        is_transient: true,
      }),
    expiredToken: (req) => expiredToken(req, req.now - 60_000),
    usageCap: (req) => rateError(req, 80002),
  },
  routes: [
    {
      method: 'GET',
      pattern: '/:version/dialog/oauth',
      endpoint: 'GET /:version/dialog/oauth',
      handle(req, ctx) {
        const started = startAuthorization(req, ctx, {
          requirePkce: false,
          codeTtlSeconds: 600,
          scopeSeparator: ',',
        });
        if ('error' in started)
          return graphError(req, 400, {
            message: `Invalid redirect_uri or client: ${started.error}`,
            code: 191,
          });
        return redirectWithCode(started.redirectUri, { code: started.code, state: started.state });
      },
    },
    {
      method: 'GET',
      pattern: '/:version/oauth/access_token',
      handle(req, ctx) {
        const q = (name: string): string | undefined => req.query.get(name) ?? undefined;
        const client = ctx.client('instagram');
        if (q('client_id') !== client.clientId || q('client_secret') !== client.clientSecret)
          return graphError(req, 400, {
            message: 'Error validating client secret.',
            code: 1,
            error_subcode: 1,
          });
        const longTtl = ctx.tokenTtlSeconds('instagram', 'access');
        if (q('grant_type') === 'fb_exchange_token') {
          const check = ctx.checkToken(req, q('fb_exchange_token') ?? null, ['access']);
          if (!check.ok)
            return check.reason === 'expired' && check.record?.expiresAtMs != null
              ? expiredToken(req, check.record.expiresAtMs)
              : graphError(req, 400, {
                  message: 'Invalid OAuth access token - Cannot parse access token',
                  code: 190,
                });
          const token = ctx.tokens.issue({
            platform: 'instagram',
            kind: 'access',
            accountId: check.record.accountId,
            now: req.now,
            ttlSeconds: longTtl,
            scope: check.record.scope,
          });
          return json(200, {
            access_token: token.token,
            token_type: 'bearer',
            expires_in: longTtl ?? 5_183_944,
          });
        }
        const code = ctx.codes.find('instagram', q('code'));
        if (code === null)
          return graphError(req, 400, {
            message: 'Invalid verification code format.',
            code: 100,
            error_subcode: 36007,
          });
        if (code.used)
          return graphError(req, 400, {
            message: 'This authorization code has been used.',
            code: 100,
            error_subcode: 36009,
          });
        if (req.now >= code.expiresAtMs)
          return graphError(req, 400, {
            message: 'This authorization code has expired.',
            code: 100,
            error_subcode: 36007,
          });
        if (code.redirectUri !== q('redirect_uri'))
          return graphError(req, 400, {
            message:
              'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
            code: 100,
            error_subcode: 36008,
          });
        code.used = true;
        const shortTtl = Math.min(3600, longTtl ?? 3600);
        const token = ctx.tokens.issue({
          platform: 'instagram',
          kind: 'access',
          accountId: code.accountId,
          now: req.now,
          ttlSeconds: shortTtl,
          scope: code.scope,
        });
        return json(200, { access_token: token.token, token_type: 'bearer', expires_in: shortTtl });
      },
    },
    {
      // Facebook Login: the Pages the user granted, each with its linked Instagram account.
      method: 'GET',
      pattern: '/:version/me/accounts',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const token = req.query.get('access_token') ?? bearer(req);
        const accountId = token === null ? undefined : ctx.tokens.get(token)?.accountId;
        const account = ctx.accounts('instagram').find((a) => a.id === accountId);
        const data =
          account === undefined
            ? []
            : [
                {
                  id: `1${account.id.slice(-14)}`,
                  name: `${account.handle} (Page)`,
                  instagram_business_account: { id: account.id, username: account.handle },
                },
              ];
        return json(
          200,
          { data, paging: { cursors: { before: 'QVFI', after: 'QVFI' } } },
          access.headers,
        );
      },
    },
    {
      method: 'GET',
      pattern: '/:version/:id/media',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = ctx.accounts('instagram').find((a) => a.id === req.params.id);
        if (account === undefined) return unsupportedGet(req, req.params.id ?? '');
        const fields = requestedFields(req, mediaFields, 'IGMedia');
        if (!Array.isArray(fields))
          return graphError(req, 400, { message: fields.unknown, code: 100 }, access.headers);
        const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? '25') || 25));
        const posts = visiblePosts(account, req.now);
        const decode = (cursor: string | null): string | null =>
          cursor === null
            ? null
            : Buffer.from(cursor.replace(/^QVFI/, ''), 'base64url')
                .toString('utf8')
                .replace(/^c:/, '');
        const encode = (id: string): string => `QVFI${base64url(`c:${id}`)}`;
        const after = decode(req.query.get('after'));
        const before = decode(req.query.get('before'));
        let start = 0;
        if (after !== null) start = posts.findIndex((p) => p.id === after) + 1;
        else if (before !== null)
          start = Math.max(0, posts.findIndex((p) => p.id === before) - limit);
        if (start < 0) start = posts.length;
        const page = posts.slice(start, start + limit);
        const body: Record<string, unknown> = {
          data: page.map((p) => mediaObject(p, fields, ctx, req.now)),
        };
        if (page.length > 0) {
          const first = (page[0] as SimPost).id;
          const last = (page[page.length - 1] as SimPost).id;
          const link = (key: 'after' | 'before', cursor: string): string => {
            const url = new URL(`${req.base}${req.path}`);
            for (const [k, v] of req.query)
              if (k !== 'after' && k !== 'before') url.searchParams.set(k, v);
            url.searchParams.set('limit', String(limit));
            url.searchParams.set(key, cursor);
            return url.toString();
          };
          const paging: Record<string, unknown> = {
            cursors: { before: encode(first), after: encode(last) },
          };
          if (start + limit < posts.length) paging.next = link('after', encode(last));
          if (start > 0) paging.previous = link('before', encode(first));
          body.paging = paging;
        }
        return json(200, body, access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/:version/:id/stories',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const account = ctx.accounts('instagram').find((a) => a.id === req.params.id);
        if (account === undefined) return unsupportedGet(req, req.params.id ?? '');
        const fields = requestedFields(req, mediaFields, 'IGMedia');
        if (!Array.isArray(fields))
          return graphError(req, 400, { message: fields.unknown, code: 100 }, access.headers);
        const data = storiesAt(account, req.now).map((s) => {
          const all: Record<string, unknown> = {
            id: s.id,
            media_type: s.k % 3 === 0 ? 'VIDEO' : 'IMAGE',
            media_product_type: 'STORY',
            media_url: `https://scontent.cdninstagram.com/v/sim/story_${s.id}.jpg`,
            permalink: `https://instagram.com/stories/${account.handle}/${s.id}`,
            timestamp: igTime(s.createdAtMs),
            username: account.handle,
          };
          return Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]));
        });
        return json(200, { data }, access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/:version/:id/insights',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const id = req.params.id ?? '';
        const post = ctx.findPost('instagram', id);
        const story = post === undefined ? findStory(ctx, id) : undefined;
        if (
          (post === undefined || post.deleted || post.createdAtMs > req.now) &&
          story === undefined
        )
          return unsupportedGet(req, id);
        const metricRaw = req.query.get('metric');
        if (metricRaw === null || metricRaw === '')
          return graphError(
            req,
            400,
            { message: '(#100) The parameter metric is required', code: 100 },
            access.headers,
          );
        const metrics = metricRaw.split(',');
        const allowed =
          story !== undefined
            ? [
                'reach',
                'replies',
                'navigation',
                'shares',
                'total_interactions',
                'views',
                'follows',
                'profile_visits',
              ]
            : [
                'views',
                'reach',
                'likes',
                'comments',
                'shares',
                'saved',
                'total_interactions',
                'profile_visits',
                'follows',
              ];
        for (const [i, metric] of metrics.entries()) {
          if (metric === 'impressions' || metric === 'plays' || metric === 'video_views') {
            return graphError(
              req,
              400,
              {
                message: `(#100) Starting from version v22.0 and above, the ${metric} metric is no longer supported. Please use views instead.`,
                code: 100,
                error_user_title: 'Metric no longer supported',
              },
              access.headers,
            );
          }
          if (!allowed.includes(metric))
            return graphError(
              req,
              400,
              {
                message: `(#100) metric[${i}] must be one of the following values: ${allowed.join(', ')}`,
                code: 100,
              },
              access.headers,
            );
        }
        const source: SimPost | undefined = post ?? undefined;
        const m =
          source !== undefined
            ? metricsAt(source, req.now)
            : {
                views: 40 + ((story?.k ?? 0) % 50),
                likes: 0,
                comments: 0,
                shares: 1,
                quotes: 0,
                saves: 0,
                reach: 30,
              };
        const values: Record<string, number> = {
          views: m.views,
          reach: m.reach,
          likes: m.likes,
          comments: m.comments,
          shares: m.shares,
          saved: m.saves,
          total_interactions: m.likes + m.comments + m.shares + m.saves,
          profile_visits: Math.floor(m.reach / 50),
          follows: Math.floor(m.reach / 400),
          replies: Math.floor(m.views / 80),
          navigation: Math.floor(m.views * 0.7),
        };
        const legacy =
          post !== undefined &&
          hash32('legacy-insights', post.id) / 4_294_967_296 <
            ctx.options.instagramLegacyInsightsFraction;
        const data = metrics.map((name) => {
          const [title, description] = insightTitles[name] ?? [name, name];
          const value = values[name] ?? 0;
          const entry: Record<string, unknown> = {
            name,
            period: 'lifetime',
            values: [{ value }],
            title,
            description,
          };
          if (!legacy) entry.total_value = { value };
          entry.id = `${id}/insights/${name}/lifetime`;
          return entry;
        });
        return json(200, { data }, access.headers);
      },
    },
    {
      // Multiple-ID read (`GET /?ids=a,b&fields=…`): an object keyed by id, one media per id the
      // token can read; a deleted or unreadable id is left out, the others still answer.
      method: 'GET',
      pattern: '/:version/',
      endpoint: 'GET /:version/?ids',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const ids = (req.query.get('ids') ?? '').split(',').filter((id) => id !== '');
        if (ids.length === 0)
          return graphError(
            req,
            400,
            { message: '(#100) The parameter ids is required', code: 100 },
            access.headers,
          );
        if (ids.length > 50)
          return graphError(
            req,
            400,
            { message: '(#100) Too many IDs. Maximum: 50', code: 100 },
            access.headers,
          );
        const fields = requestedFields(req, mediaFields, 'IGMedia');
        if (!Array.isArray(fields))
          return graphError(req, 400, { message: fields.unknown, code: 100 }, access.headers);
        const body: Record<string, unknown> = {};
        for (const id of ids) {
          const post = ctx.findPost('instagram', id);
          if (post === undefined || post.deleted || post.createdAtMs > req.now) continue;
          body[id] = mediaObject(post, fields, ctx, req.now);
        }
        return json(200, body, access.headers);
      },
    },
    {
      method: 'GET',
      pattern: '/:version/:id',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx);
        if (!access.ok) return access.response;
        const id = req.params.id ?? '';
        const account = ctx.accounts('instagram').find((a) => a.id === id);
        if (account !== undefined) {
          const fields = requestedFields(req, userFields, 'IGUser');
          if (!Array.isArray(fields))
            return graphError(req, 400, { message: fields.unknown, code: 100 }, access.headers);
          return json(200, userObject(account, fields, req.now), access.headers);
        }
        const post = ctx.findPost('instagram', id);
        if (post === undefined || post.deleted || post.createdAtMs > req.now)
          return unsupportedGet(req, id);
        const fields = requestedFields(req, mediaFields, 'IGMedia');
        if (!Array.isArray(fields))
          return graphError(req, 400, { message: fields.unknown, code: 100 }, access.headers);
        return json(200, mediaObject(post, fields, ctx, req.now), access.headers);
      },
    },
  ],
};
