/**
 * YouTube Data API v3: channels, playlistItems (uploads) and videos, a daily unit quota per
 * project reset at midnight Pacific time (no rate headers), Google's error bodies and OAuth.
 * Shapes follow fixtures/youtube/bodies and issue_transcripts.
 */
import {
  base64url,
  bearer,
  formBody,
  hexOf,
  json,
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

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function randomId(rnd: () => number, length: number): string {
  return Array.from({ length }, () => ALPHABET[Math.floor(rnd() * 64)] ?? 'A').join('');
}

export const youtubeIds = {
  channel: (rnd: () => number): string => `UC${randomId(rnd, 22)}`,
  video: (rnd: () => number): string => randomId(rnd, 11),
};

const JSON_UTF8 = {
  'content-type': 'application/json; charset=UTF-8',
  vary: 'Origin,X-Origin,Referer',
};

function googleError(
  code: number,
  message: string,
  errors: Record<string, string>[],
  status?: string,
): SimResponse {
  return json(
    code,
    { error: { code, message, errors, ...(status === undefined ? {} : { status }) } },
    JSON_UTF8,
  );
}

const quotaMessage =
  'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.';
const quotaExceeded = (): SimResponse =>
  googleError(403, quotaMessage, [
    { message: quotaMessage, domain: 'youtube.quota', reason: 'quotaExceeded' },
  ]);
const keyInvalid = (): SimResponse =>
  googleError(400, 'Bad Request', [
    { domain: 'usageLimits', reason: 'keyInvalid', message: 'Bad Request' },
  ]);
const authError = (): SimResponse =>
  googleError(
    401,
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    [
      {
        message: 'Invalid Credentials',
        domain: 'global',
        reason: 'authError',
        location: 'Authorization',
        locationType: 'header',
      },
    ],
    'UNAUTHENTICATED',
  );
const invalidParameter = (location: string, message: string): SimResponse =>
  googleError(400, message, [
    {
      message,
      domain: 'youtube.parameter',
      reason: 'invalidParameter',
      location,
      locationType: 'parameter',
    },
  ]);

const etag = (...parts: (string | number)[]): string =>
  base64url(Buffer.from(hexOf('etag', ...parts).slice(0, 40), 'hex')).slice(0, 27);

type Access = { ok: true; accountId: string | null } | { ok: false; response: SimResponse };

/** API key or OAuth token, then one quota unit charged to the project. */
function authAndQuota(req: SimRequest, ctx: SimContext, cost = 1): Access {
  // Google takes the key as `?key=` or as the `x-goog-api-key` header (what the product sends).
  const key = req.query.get('key') ?? req.headers['x-goog-api-key'] ?? null;
  const token = bearer(req);
  let accountId: string | null = null;
  if (token !== null) {
    const check = ctx.checkToken(req, token, ['access']);
    if (!check.ok) return { ok: false, response: authError() };
    accountId = check.record.accountId;
  } else if (key !== null) {
    if (!ctx.checkToken(req, key, ['api_key']).ok) return { ok: false, response: keyInvalid() };
  } else {
    const message = 'The request is missing a valid API key.';
    return {
      ok: false,
      response: googleError(
        403,
        message,
        [{ message, domain: 'global', reason: 'forbidden' }],
        'PERMISSION_DENIED',
      ),
    };
  }
  const quota = ctx.charge(req, 'units', 'project', cost);
  if (!quota.allowed) return { ok: false, response: { ...quotaExceeded(), overLimit: 'quota' } };
  return { ok: true, accountId };
}

function thumbnails(id: string, kind: 'video' | 'channel'): Record<string, unknown> {
  if (kind === 'channel') {
    const sized = (size: number): Record<string, unknown> => ({
      url: `https://yt3.ggpht.com/sim/${id}=s${size}-c-k-c0x00ffffff-no-rj`,
      width: size,
      height: size,
    });
    return { default: sized(88), medium: sized(240), high: sized(800) };
  }
  return {
    default: { url: `https://i.ytimg.com/vi/${id}/default.jpg`, width: 120, height: 90 },
    medium: { url: `https://i.ytimg.com/vi/${id}/mqdefault.jpg`, width: 320, height: 180 },
    high: { url: `https://i.ytimg.com/vi/${id}/hqdefault.jpg`, width: 480, height: 360 },
  };
}

function videoTitle(
  post: SimPost,
  ctx: SimContext,
): { title: string; description: string; tags: string[]; lang: string } {
  const t = postText(post, ctx.otherHandles('youtube'));
  const title = Array.from(t.text).slice(0, 70).join('');
  return {
    title,
    description: `${t.text}\n\nSubscribe for more → https://www.youtube.com/${post.account.handle}`,
    tags: t.hashtags,
    lang: t.lang,
  };
}

function uploadsOf(account: SimAccount): string {
  return `UU${account.id.slice(2)}`;
}

function channelResource(
  account: SimAccount,
  parts: Set<string>,
  now: number,
): Record<string, unknown> {
  const item: Record<string, unknown> = {
    kind: 'youtube#channel',
    etag: etag(account.id, now),
    id: account.id,
  };
  if (parts.has('snippet')) {
    item.snippet = {
      title: account.displayName,
      description: account.bio,
      customUrl: account.handle.toLowerCase(),
      publishedAt: new Date(account.createdAtMs).toISOString(),
      thumbnails: thumbnails(account.id, 'channel'),
      localized: { title: account.displayName, description: account.bio },
      country: 'US',
    };
  }
  if (parts.has('contentDetails'))
    item.contentDetails = { relatedPlaylists: { likes: '', uploads: uploadsOf(account) } };
  if (parts.has('statistics')) {
    const posts = visiblePosts(account, now);
    const views = posts.reduce((sum, p) => sum + metricsAt(p, now).views, 0);
    item.statistics = {
      viewCount: String(views),
      subscriberCount: String(account.followers),
      hiddenSubscriberCount: false,
      videoCount: String(posts.length),
    };
  }
  return item;
}

function videoResource(
  post: SimPost,
  parts: Set<string>,
  ctx: SimContext,
  now: number,
): Record<string, unknown> {
  const item: Record<string, unknown> = {
    kind: 'youtube#video',
    etag: etag(post.id, now),
    id: post.id,
  };
  const meta = videoTitle(post, ctx);
  if (parts.has('snippet')) {
    item.snippet = {
      publishedAt: new Date(post.createdAtMs).toISOString(),
      channelId: post.account.id,
      title: meta.title,
      description: meta.description,
      thumbnails: thumbnails(post.id, 'video'),
      channelTitle: post.account.displayName,
      tags: meta.tags,
      categoryId: '22',
      liveBroadcastContent: 'none',
      defaultAudioLanguage: meta.lang,
      localized: { title: meta.title, description: meta.description },
    };
  }
  if (parts.has('contentDetails')) {
    const seconds = 15 + (post.seed % 1800);
    const duration = `PT${seconds >= 3600 ? `${Math.floor(seconds / 3600)}H` : ''}${Math.floor((seconds % 3600) / 60) > 0 ? `${Math.floor((seconds % 3600) / 60)}M` : ''}${seconds % 60}S`;
    item.contentDetails = {
      duration,
      dimension: '2d',
      definition: 'hd',
      caption: 'false',
      licensedContent: false,
      contentRating: {},
      projection: 'rectangular',
    };
  }
  if (parts.has('statistics')) {
    const m = metricsAt(post, now);
    item.statistics = {
      viewCount: String(m.views),
      likeCount: String(m.likes),
      favoriteCount: '0',
      commentCount: String(m.comments),
    };
  }
  return item;
}

function partsOf(req: SimRequest): Set<string> | null {
  const part = req.query.get('part');
  if (part === null || part === '') return null;
  return new Set(part.split(',').map((p) => p.trim()));
}

const missingPart = (): SimResponse => {
  const message = 'No filter selected. Expected one of: part';
  return googleError(400, "'part' is required", [
    { message, domain: 'global', reason: 'required', location: 'part', locationType: 'parameter' },
  ]);
};

/** YouTube page tokens are protobuf varints in base64 ("CAoQAA" = offset 10, forward). */
function pageToken(offset: number, backward: boolean): string {
  const bytes = [0x08];
  let v = offset;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v > 0) b |= 0x80;
    bytes.push(b);
  } while (v > 0);
  bytes.push(0x10, backward ? 1 : 0);
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}
function readPageToken(token: string): number | null {
  const bytes = Buffer.from(token, 'base64');
  if (bytes[0] !== 0x08) return null;
  let value = 0;
  let shift = 0;
  for (let i = 1; i < bytes.length; i++) {
    const b = bytes[i] as number;
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return value;
    shift += 7;
  }
  return null;
}

export const youtubePlatform: PlatformModule = {
  platform: 'youtube',
  defaultLimits: () => ({ units: { limit: 10_000, windowSeconds: 86_400, align: 'pacific-day' } }),
  faults: {
    rateLimited: () =>
      googleError(403, 'The request cannot be completed because you have exceeded your quota.', [
        { message: 'Rate Limit Exceeded', domain: 'usageLimits', reason: 'rateLimitExceeded' },
      ]),
    serverError: (_req, status) =>
      googleError(
        status,
        status === 503 ? 'The service is currently unavailable.' : 'Internal error encountered.',
        [{ message: 'Internal error encountered.', domain: 'global', reason: 'backendError' }],
        status === 503 ? 'UNAVAILABLE' : 'INTERNAL',
      ),
    expiredToken: () => authError(),
    usageCap: () => quotaExceeded(),
  },
  routes: [
    {
      method: 'GET',
      pattern: '/youtube/v3/channels',
      handle(req, ctx) {
        const access = authAndQuota(req, ctx);
        if (!access.ok) return access.response;
        const parts = partsOf(req);
        if (parts === null) return missingPart();
        const ids = req.query.get('id');
        const handle = req.query.get('forHandle');
        const mine = req.query.get('mine') === 'true';
        let found: SimAccount[];
        if (ids !== null)
          found = ids
            .split(',')
            .flatMap((id) => ctx.accounts('youtube').filter((a) => a.id === id));
        else if (handle !== null) {
          const wanted = (handle.startsWith('@') ? handle : `@${handle}`).toLowerCase();
          found = ctx.accounts('youtube').filter((a) => a.handle.toLowerCase() === wanted);
        } else if (mine) {
          if (access.accountId === null) return authError();
          found = ctx.accounts('youtube').filter((a) => a.id === access.accountId);
        } else {
          const message =
            'No filter selected. Expected one of: mine, forUsername, id, managedByMe, categoryId, forHandle';
          return googleError(400, message, [
            {
              message,
              domain: 'youtube.parameter',
              reason: 'missingRequiredParameter',
              location: 'parameters.',
              locationType: 'other',
            },
          ]);
        }
        const body: Record<string, unknown> = {
          kind: 'youtube#channelListResponse',
          etag: etag('channels', req.rawBody, req.now),
          pageInfo: { totalResults: found.length, resultsPerPage: Math.max(found.length, 5) },
        };
        if (found.length > 0) body.items = found.map((a) => channelResource(a, parts, req.now));
        return json(200, body, JSON_UTF8);
      },
    },
    {
      method: 'GET',
      pattern: '/youtube/v3/playlistItems',
      handle(req, ctx) {
        const access = authAndQuota(req, ctx);
        if (!access.ok) return access.response;
        const parts = partsOf(req);
        if (parts === null) return missingPart();
        const playlistId = req.query.get('playlistId') ?? '';
        const max = Number(req.query.get('maxResults') ?? '5');
        if (!Number.isInteger(max) || max < 0 || max > 50)
          return invalidParameter(
            'maxResults',
            `Invalid value '${req.query.get('maxResults') ?? ''}'. Values must be within the range: [0, 50]`,
          );
        const account = ctx.accounts('youtube').find((a) => uploadsOf(a) === playlistId);
        if (account === undefined) {
          const message =
            "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.";
          return googleError(404, message, [
            {
              message,
              domain: 'youtube.playlistItem',
              reason: 'playlistNotFound',
              location: 'playlistId',
              locationType: 'parameter',
            },
          ]);
        }
        const posts = visiblePosts(account, req.now);
        const tokenRaw = req.query.get('pageToken');
        const offset = tokenRaw === null ? 0 : readPageToken(tokenRaw);
        if (offset === null)
          return invalidParameter('pageToken', `The request specifies an invalid page token.`);
        const page = posts.slice(offset, offset + max);
        const body: Record<string, unknown> = {
          kind: 'youtube#playlistItemListResponse',
          etag: etag('pl', playlistId, offset, req.now),
        };
        if (offset + max < posts.length) body.nextPageToken = pageToken(offset + max, false);
        if (offset > 0) body.prevPageToken = pageToken(Math.max(0, offset - max), true);
        body.items = page.map((post, i) => {
          const item: Record<string, unknown> = {
            kind: 'youtube#playlistItem',
            etag: etag('pli', post.id, req.now),
            id: base64url(`${playlistId}.${post.id}`),
          };
          if (parts.has('snippet')) {
            const meta = videoTitle(post, ctx);
            item.snippet = {
              publishedAt: new Date(post.createdAtMs).toISOString(),
              channelId: account.id,
              title: meta.title,
              description: meta.description,
              thumbnails: thumbnails(post.id, 'video'),
              channelTitle: account.displayName,
              playlistId,
              position: offset + i,
              resourceId: { kind: 'youtube#video', videoId: post.id },
              videoOwnerChannelTitle: account.displayName,
              videoOwnerChannelId: account.id,
            };
          }
          if (parts.has('contentDetails'))
            item.contentDetails = {
              videoId: post.id,
              videoPublishedAt: new Date(post.createdAtMs).toISOString(),
            };
          return item;
        });
        body.pageInfo = { totalResults: posts.length, resultsPerPage: max };
        return json(200, body, JSON_UTF8);
      },
    },
    {
      method: 'GET',
      pattern: '/youtube/v3/videos',
      handle(req, ctx) {
        const access = authAndQuota(req, ctx);
        if (!access.ok) return access.response;
        const parts = partsOf(req);
        if (parts === null) return missingPart();
        const ids = (req.query.get('id') ?? '').split(',').filter((s) => s !== '');
        if (ids.length > 50) {
          const message = 'The request specifies an invalid filter parameter.';
          return googleError(400, message, [
            {
              message,
              domain: 'youtube.parameter',
              reason: 'invalidFilters',
              location: 'parameters.',
              locationType: 'other',
            },
          ]);
        }
        const items = ids.flatMap((id) => {
          const post = ctx.findPost('youtube', id);
          return post === undefined || post.deleted || post.createdAtMs > req.now
            ? []
            : [videoResource(post, parts, ctx, req.now)];
        });
        return json(
          200,
          {
            kind: 'youtube#videoListResponse',
            etag: etag('videos', ids.join(','), req.now),
            items,
            pageInfo: { totalResults: items.length, resultsPerPage: items.length },
          },
          JSON_UTF8,
        );
      },
    },
    {
      method: 'GET',
      pattern: '/o/oauth2/v2/auth',
      handle(req, ctx) {
        const started = startAuthorization(req, ctx, { requirePkce: false, codeTtlSeconds: 600 });
        if ('error' in started)
          return json(400, { error: 'invalid_request', error_description: started.error });
        return redirectWithCode(started.redirectUri, {
          state: started.state,
          code: started.code,
          scope: req.query.get('scope'),
        });
      },
    },
    {
      // Google: https://oauth2.googleapis.com/revoke, the token in the form, no client auth;
      // revoking either token of a grant ends the grant.
      method: 'POST',
      pattern: '/revoke',
      handle(req, ctx) {
        const token = formBody(req).token ?? req.query.get('token') ?? '';
        if (!ctx.tokens.revokeGrantOf('youtube', token))
          return json(400, {
            error: 'invalid_token',
            error_description: 'Token expired or revoked',
          });
        return json(200, {});
      },
    },
    {
      method: 'POST',
      pattern: '/token',
      handle(req, ctx) {
        const form = formBody(req);
        const client = ctx.client('youtube');
        if (form.client_id !== client.clientId || form.client_secret !== client.clientSecret)
          return json(401, {
            error: 'invalid_client',
            error_description: 'The OAuth client was not found.',
          });
        const ttl = ctx.tokenTtlSeconds('youtube', 'access');
        if (form.grant_type === 'authorization_code') {
          const code = ctx.codes.find('youtube', form.code);
          if (
            code === null ||
            code.used ||
            req.now >= code.expiresAtMs ||
            code.redirectUri !== form.redirect_uri ||
            !pkceMatches(code, form.code_verifier)
          ) {
            return json(400, { error: 'invalid_grant', error_description: 'Bad Request' });
          }
          code.used = true;
          const access = ctx.tokens.issue({
            platform: 'youtube',
            kind: 'access',
            accountId: code.accountId,
            now: req.now,
            ttlSeconds: ttl,
            scope: code.scope,
          });
          const refresh = ctx.tokens.issue({
            platform: 'youtube',
            kind: 'refresh',
            accountId: code.accountId,
            now: req.now,
            ttlSeconds: ctx.tokenTtlSeconds('youtube', 'refresh'),
            scope: code.scope,
          });
          return json(200, {
            access_token: access.token,
            expires_in: ttl ?? 3599,
            refresh_token: refresh.token,
            scope: code.scope,
            token_type: 'Bearer',
          });
        }
        if (form.grant_type === 'refresh_token') {
          const check = ctx.tokens.check(
            'youtube',
            form.refresh_token ?? null,
            ['refresh'],
            req.now,
          );
          if (!check.ok)
            return json(400, {
              error: 'invalid_grant',
              error_description: 'Token has been expired or revoked.',
            });
          const access = ctx.tokens.issue({
            platform: 'youtube',
            kind: 'access',
            accountId: check.record.accountId,
            now: req.now,
            ttlSeconds: ttl,
            scope: check.record.scope,
          });
          return json(200, {
            access_token: access.token,
            expires_in: ttl ?? 3599,
            scope: check.record.scope,
            token_type: 'Bearer',
          });
        }
        return json(400, {
          error: 'unsupported_grant_type',
          error_description: `Invalid grant_type: ${form.grant_type ?? ''}`,
        });
      },
    },
  ],
};
