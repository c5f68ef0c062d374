/**
 * TikTok: Display API (user info, video list with a millisecond cursor, video query), Research
 * API (video query with search_id + cursor, int64 ids as bare JSON numbers as the real API sends
 * them), the `{data, error: {code, message, log_id}}` envelope, and OAuth v2 with rotating
 * refresh tokens. Shapes follow fixtures/tiktok.
 */
import {
  RawInt,
  formBody,
  hexOf,
  json,
  bearer,
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

export const tiktokIds = {
  openId: (rnd: () => number): string => {
    const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  },
  /** TikTok video ids carry the creation second in their high 32 bits. */
  video: (createdAtMs: number, rnd: () => number): string =>
    (
      (BigInt(Math.floor(createdAtMs / 1000)) << 32n) |
      BigInt(Math.floor(rnd() * 0xffffffff))
    ).toString(),
};

function logId(req: SimRequest): string {
  const d = new Date(req.now)
    .toISOString()
    .replace(/[-:TZ.]/g, '')
    .slice(0, 14);
  return `${d}${hexOf('log', req.now, req.path, req.rawBody).slice(0, 20).toUpperCase()}`;
}

function envelope(
  req: SimRequest,
  status: number,
  data: unknown,
  code = 'ok',
  message = '',
): SimResponse {
  const body: Record<string, unknown> = {};
  if (data !== undefined) body.data = data;
  body.error = { code, message, log_id: logId(req) };
  return json(status, body, { 'x-tt-logid': logId(req) });
}

const tokenInvalid = (req: SimRequest): SimResponse =>
  envelope(
    req,
    401,
    undefined,
    'access_token_invalid',
    'The access token is invalid or not found in the request.',
  );
const invalidParams = (req: SimRequest, message: string): SimResponse =>
  envelope(req, 400, undefined, 'invalid_params', message);
const rateLimited = (req: SimRequest): SimResponse =>
  envelope(
    req,
    429,
    undefined,
    'rate_limit_exceeded',
    'The API rate limit was exceeded. Please try again later.',
  );

type Access =
  { ok: true; accountId: string | null; principal: string } | { ok: false; response: SimResponse };

function authAndLimit(
  req: SimRequest,
  ctx: SimContext,
  kinds: ('access' | 'client')[],
  bucket: string,
): Access {
  const check = ctx.checkToken(req, bearer(req), kinds);
  if (!check.ok) return { ok: false, response: tokenInvalid(req) };
  const state = ctx.charge(req, bucket, check.record.principal);
  if (!state.allowed)
    return {
      ok: false,
      response: { ...rateLimited(req), overLimit: bucket === 'research' ? 'quota' : 'rate' },
    };
  return { ok: true, accountId: check.record.accountId, principal: check.record.principal };
}

const displayFields = [
  'id',
  'create_time',
  'cover_image_url',
  'share_url',
  'video_description',
  'duration',
  'height',
  'width',
  'title',
  'embed_html',
  'embed_link',
  'like_count',
  'comment_count',
  'share_count',
  'view_count',
];
const researchFields = [
  'id',
  'video_description',
  'create_time',
  'region_code',
  'share_count',
  'view_count',
  'like_count',
  'comment_count',
  'music_id',
  'hashtag_names',
  'username',
  'effect_ids',
  'playlist_id',
  'voice_to_text',
  'is_stem_verified',
  'video_duration',
  // Documented by TikTok's Research API (Query Videos) since 2024; absent from the 2024 recordings.
  'favorites_count',
];

function fieldsOf(req: SimRequest, allowed: readonly string[]): string[] | { error: string } {
  const raw = req.query.get('fields');
  if (raw === null || raw === '') return { error: 'fields is required' };
  const fields = raw
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  const bad = fields.filter((f) => !allowed.includes(f));
  return bad.length > 0 ? { error: `Invalid fields: ${bad.join(',')}` } : fields;
}

function videoObject(
  post: SimPost,
  fields: readonly string[],
  ctx: SimContext,
  now: number,
  research: boolean,
): Record<string, unknown> {
  const m = metricsAt(post, now);
  const t = postText(post, ctx.otherHandles('tiktok'));
  const seconds = 8 + (post.seed % 170);
  const all: Record<string, unknown> = {
    id: research ? new RawInt(post.id) : post.id,
    create_time: Math.floor(post.createdAtMs / 1000),
    cover_image_url: `https://p16-sign.tiktokcdn-us.com/sim/${post.id}~tplv-noop.image`,
    share_url: `https://www.tiktok.com/@${post.account.handle}/video/${post.id}`,
    video_description: t.text,
    title: Array.from(t.text).slice(0, 150).join(''),
    duration: seconds,
    video_duration: seconds,
    height: 1024,
    width: 576,
    embed_html: `<blockquote class="tiktok-embed" cite="https://www.tiktok.com/@${post.account.handle}/video/${post.id}" data-video-id="${post.id}"></blockquote>`,
    embed_link: `https://www.tiktok.com/player/v1/${post.id}`,
    like_count: m.likes,
    comment_count: m.comments,
    share_count: m.shares,
    view_count: m.views,
    region_code: ['US', 'GB', 'DE', 'BR', 'NG'][post.account.index % 5],
    music_id: new RawInt(((BigInt(post.seed) << 30n) + 6_800_000_000_000_000_000n).toString()),
    hashtag_names: t.hashtags,
    username: post.account.handle,
    effect_ids: [],
    playlist_id: 0,
    voice_to_text: '',
    is_stem_verified: false,
    ...(research ? { favorites_count: m.saves } : {}),
  };
  return Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]));
}

interface Search {
  ids: string[];
}
const searches = new WeakMap<SimContext, Map<string, Search>>();

function objectBody(req: SimRequest): Record<string, unknown> {
  return req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)
    ? (req.body as Record<string, unknown>)
    : {};
}

function ymd(value: unknown): number | null {
  if (typeof value !== 'string' || !/^\d{8}$/.test(value)) return null;
  return Date.UTC(
    Number(value.slice(0, 4)),
    Number(value.slice(4, 6)) - 1,
    Number(value.slice(6, 8)),
  );
}

/** A profile's public fields, as both user-info endpoints (Display and Research) answer them. */
function publicProfile(account: SimAccount, now: number): Record<string, unknown> {
  const posts = visiblePosts(account, now);
  return {
    display_name: account.displayName,
    bio_description: account.bio,
    avatar_url: `https://p16-sign.tiktokcdn-us.com/sim/avatar_${account.index}.jpeg`,
    is_verified: false,
    follower_count: account.followers,
    following_count: account.following,
    likes_count: posts.reduce((sum, p) => sum + metricsAt(p, now).likes, 0),
    video_count: posts.length,
  };
}

/** The `fields` a request asks for (default `fallback`), or TikTok's error naming unknown ones. */
function pickFields(
  req: SimRequest,
  fallback: string,
  all: Record<string, unknown>,
): { fields: Record<string, unknown> } | { error: SimResponse } {
  const raw = (req.query.get('fields') ?? fallback).split(',');
  const bad = raw.filter((f) => !(f in all));
  if (bad.length > 0) return { error: invalidParams(req, `Invalid fields: ${bad.join(',')}`) };
  return { fields: Object.fromEntries(raw.map((f) => [f, all[f]])) };
}

function usernamesOf(query: unknown): string[] {
  return valuesOf(query, 'username');
}

/** The values an IN condition on `field` names anywhere in a Research query (and/or nested). */
function valuesOf(query: unknown, field: string): string[] {
  const out: string[] = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.field_name === field && Array.isArray(n.field_values))
      for (const v of n.field_values)
        if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
    for (const key of ['and', 'or'])
      if (Array.isArray(n[key])) (n[key] as unknown[]).forEach(visit);
  };
  visit(query);
  return out;
}

export const tiktokPlatform: PlatformModule = {
  platform: 'tiktok',
  defaultLimits: () => ({
    'GET /v2/user/info/': { limit: 600, windowSeconds: 60 },
    'POST /v2/video/list/': { limit: 600, windowSeconds: 60 },
    'POST /v2/video/query/': { limit: 600, windowSeconds: 60 },
    research: { limit: 1000, windowSeconds: 86_400 },
  }),
  faults: {
    rateLimited: (req) => rateLimited(req),
    serverError: (req, status) =>
      envelope(
        req,
        status,
        undefined,
        'internal_error',
        'Something went wrong. Please try again later.',
      ),
    expiredToken: (req) => tokenInvalid(req),
    usageCap: (req) =>
      envelope(req, 429, undefined, 'rate_limit_exceeded', 'Daily quota limit exceeded.'),
  },
  routes: [
    {
      method: 'GET',
      pattern: '/v2/auth/authorize/',
      handle(req, ctx) {
        const started = startAuthorization(req, ctx, {
          clientParam: 'client_key',
          requirePkce: false,
          codeTtlSeconds: 600,
          scopeSeparator: ',',
        });
        if ('error' in started)
          return json(400, { error: 'invalid_request', error_description: started.error });
        return redirectWithCode(started.redirectUri, {
          code: started.code,
          scopes: req.query.get('scope'),
          state: started.state,
        });
      },
    },
    {
      method: 'POST',
      pattern: '/v2/oauth/revoke/',
      handle(req, ctx) {
        const form = formBody(req);
        const client = ctx.client('tiktok');
        if (form.client_key !== client.clientId || form.client_secret !== client.clientSecret)
          return json(401, {
            error: 'invalid_client',
            error_description: 'Client key or secret is incorrect.',
            log_id: logId(req),
          });
        // Documented to take the user's access token (a refresh token is not revocable here).
        const record = ctx.tokens.get(form.token ?? '');
        if (record !== undefined && record.kind !== 'access')
          return json(400, {
            error: 'invalid_request',
            error_description: 'The token is not an access token.',
            log_id: logId(req),
          });
        if (record !== undefined && record.expiresAtMs !== null && req.now >= record.expiresAtMs)
          return json(401, {
            error: 'access_token_invalid',
            error_description: 'The access token is expired.',
            log_id: logId(req),
          });
        ctx.tokens.revokeGrantOf('tiktok', form.token ?? '');
        return json(200, {});
      },
    },
    {
      method: 'POST',
      pattern: '/v2/oauth/token/',
      handle(req, ctx) {
        const form = formBody(req);
        const client = ctx.client('tiktok');
        const fail = (error: string, description: string, status = 400): SimResponse =>
          json(status, { error, error_description: description, log_id: logId(req) });
        if (form.client_key !== client.clientId || form.client_secret !== client.clientSecret)
          return fail('invalid_client', 'Client key or secret is incorrect.', 401);
        if (form.grant_type === 'client_credentials') {
          const token = ctx.tokens.issue({
            platform: 'tiktok',
            kind: 'client',
            accountId: null,
            now: req.now,
            ttlSeconds: 7200,
          });
          return json(200, { access_token: token.token, expires_in: 7200, token_type: 'Bearer' });
        }
        let accountId: string;
        let scope: string;
        if (form.grant_type === 'authorization_code') {
          const code = ctx.codes.find('tiktok', form.code);
          if (code === null || code.used)
            return fail('invalid_grant', 'Authorization code is invalid or has been used.');
          if (req.now >= code.expiresAtMs)
            return fail('invalid_grant', 'Authorization code is expired.');
          if (code.redirectUri !== form.redirect_uri)
            return fail('invalid_request', 'Redirect URI does not match.');
          if (!pkceMatches(code, form.code_verifier))
            return fail('invalid_grant', 'Code verifier is invalid.');
          code.used = true;
          accountId = code.accountId;
          scope = code.scope.replace(/ /g, ',');
        } else if (form.grant_type === 'refresh_token') {
          const check = ctx.tokens.check(
            'tiktok',
            form.refresh_token ?? null,
            ['refresh'],
            req.now,
          );
          if (!check.ok || check.record.accountId === null)
            return fail('invalid_grant', 'Refresh token is invalid or expired.');
          ctx.tokens.revoke(check.record.token); // rotated: only the newest refresh token works
          accountId = check.record.accountId;
          scope = check.record.scope;
        } else return fail('invalid_request', `Unsupported grant_type: ${form.grant_type ?? ''}`);
        const accessTtl = ctx.tokenTtlSeconds('tiktok', 'access') ?? 86_400;
        const refreshTtl = ctx.tokenTtlSeconds('tiktok', 'refresh') ?? 31_536_000;
        const access = ctx.tokens.issue({
          platform: 'tiktok',
          kind: 'access',
          accountId,
          now: req.now,
          ttlSeconds: accessTtl,
          scope,
        });
        const refresh = ctx.tokens.issue({
          platform: 'tiktok',
          kind: 'refresh',
          accountId,
          now: req.now,
          ttlSeconds: refreshTtl,
          scope,
        });
        return json(200, {
          access_token: access.token,
          expires_in: accessTtl,
          open_id: accountId,
          refresh_expires_in: refreshTtl,
          refresh_token: refresh.token,
          scope,
          token_type: 'Bearer',
        });
      },
    },
    {
      method: 'GET',
      pattern: '/v2/user/info/',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx, ['access'], req.endpoint);
        if (!access.ok) return access.response;
        const account = ctx.accounts('tiktok').find((a) => a.id === access.accountId);
        if (account === undefined) return tokenInvalid(req);
        const picked = pickFields(req, 'open_id', {
          open_id: account.id,
          union_id: hexOf('union', account.id).slice(0, 36),
          username: account.handle,
          profile_deep_link: `https://vm.tiktok.com/sim${account.index}/`,
          ...publicProfile(account, req.now),
        });
        return 'error' in picked ? picked.error : envelope(req, 200, { user: picked.fields });
      },
    },
    {
      method: 'POST',
      pattern: '/v2/video/list/',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx, ['access'], req.endpoint);
        if (!access.ok) return access.response;
        const fields = fieldsOf(req, displayFields);
        if ('error' in fields) return invalidParams(req, fields.error);
        const body = objectBody(req);
        const max = body.max_count ?? 10;
        if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 20)
          return invalidParams(req, 'Invalid max_count: must be between 1 and 20');
        const cursor = body.cursor;
        if (cursor !== undefined && (typeof cursor !== 'number' || !Number.isFinite(cursor)))
          return invalidParams(req, 'Invalid cursor');
        const account = ctx.accounts('tiktok').find((a) => a.id === access.accountId);
        if (account === undefined) return tokenInvalid(req);
        const posts = visiblePosts(account, req.now).filter(
          (p) => cursor === undefined || p.createdAtMs < cursor,
        );
        const page = posts.slice(0, max);
        const last = page[page.length - 1];
        return envelope(req, 200, {
          videos: page.map((p) => videoObject(p, fields, ctx, req.now, false)),
          cursor: last === undefined ? (typeof cursor === 'number' ? cursor : 0) : last.createdAtMs,
          has_more: posts.length > page.length,
        });
      },
    },
    {
      method: 'POST',
      pattern: '/v2/video/query/',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx, ['access'], req.endpoint);
        if (!access.ok) return access.response;
        const fields = fieldsOf(req, displayFields);
        if ('error' in fields) return invalidParams(req, fields.error);
        const filters = objectBody(req).filters as { video_ids?: unknown } | undefined;
        const ids = Array.isArray(filters?.video_ids) ? filters.video_ids.map(String) : [];
        if (ids.length === 0 || ids.length > 20)
          return invalidParams(req, 'video_ids must contain between 1 and 20 ids');
        const videos = ids.flatMap((id) => {
          const post = ctx.findPost('tiktok', id);
          return post === undefined ||
            post.deleted ||
            post.createdAtMs > req.now ||
            post.account.id !== access.accountId
            ? []
            : [videoObject(post, fields, ctx, req.now, false)];
        });
        return envelope(req, 200, { videos, cursor: 0, has_more: false });
      },
    },
    {
      // Research API "query user info": a public account by username, with the client token; the
      // fields are the public profile's (no ids). No recorded answer for an unknown username:
      // answered as invalid_params.
      method: 'POST',
      pattern: '/v2/research/user/info/',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx, ['client'], 'research');
        if (!access.ok) return access.response;
        const username = objectBody(req).username;
        if (typeof username !== 'string' || username === '')
          return invalidParams(req, 'username is required');
        const account = ctx
          .accounts('tiktok')
          .find((a) => a.handle.toLowerCase() === username.toLowerCase());
        if (account === undefined)
          return invalidParams(req, `The user ${username} does not exist or is not public`);
        const picked = pickFields(req, 'display_name', publicProfile(account, req.now));
        return 'error' in picked ? picked.error : envelope(req, 200, picked.fields);
      },
    },
    {
      method: 'POST',
      pattern: '/v2/research/video/query/',
      handle(req, ctx) {
        const access = authAndLimit(req, ctx, ['client'], 'research');
        if (!access.ok) return access.response;
        const fields = fieldsOf(req, researchFields);
        if ('error' in fields) return invalidParams(req, fields.error);
        const body = objectBody(req);
        const max = body.max_count ?? 20;
        if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100)
          return invalidParams(req, 'Invalid count or cursor');
        const start = ymd(body.start_date);
        const end = ymd(body.end_date);
        if (start === null || end === null || end < start)
          return invalidParams(req, 'Invalid start_date or end_date');
        if (end - start > 30 * 86_400_000)
          return invalidParams(
            req,
            'The time range between start_date and end_date must be within 30 days',
          );
        let store = searches.get(ctx);
        if (store === undefined) {
          store = new Map();
          searches.set(ctx, store);
        }
        const cursor = body.cursor ?? 0;
        if (typeof cursor !== 'number' || !Number.isInteger(cursor) || cursor < 0)
          return invalidParams(req, 'Invalid count or cursor');
        let searchId =
          typeof body.search_id === 'string' && body.search_id !== '' ? body.search_id : null;
        let search: Search | undefined;
        if (searchId !== null) {
          search = store.get(searchId);
          if (search === undefined)
            return invalidParams(req, `Search Id ${searchId} is invalid or expired`);
        } else {
          const usernames = new Set(usernamesOf(body.query).map((u) => u.toLowerCase()));
          const videoIds = new Set(valuesOf(body.query, 'video_id'));
          const ids = ctx
            .accounts('tiktok')
            .filter((a) => usernames.size === 0 || usernames.has(a.handle.toLowerCase()))
            .flatMap((a) => visiblePosts(a, req.now))
            .filter((p) => videoIds.size === 0 || videoIds.has(p.id))
            .filter((p) => p.createdAtMs >= start && p.createdAtMs < end + 86_400_000)
            .sort((a, b) => b.createdAtMs - a.createdAtMs)
            .map((p) => p.id);
          searchId = (7_354_367_454_467_855_403n + BigInt(store.size + 1) * 1_000_003n).toString();
          search = { ids };
          store.set(searchId, search);
        }
        const page = search.ids.slice(cursor, cursor + max).flatMap((id) => {
          const post = ctx.findPost('tiktok', id);
          return post === undefined || post.deleted
            ? []
            : [videoObject(post, fields, ctx, req.now, true)];
        });
        const next = Math.min(search.ids.length, cursor + max);
        return envelope(req, 200, {
          cursor: next,
          has_more: next < search.ids.length,
          search_id: searchId,
          videos: page,
        });
      },
    },
  ],
};
