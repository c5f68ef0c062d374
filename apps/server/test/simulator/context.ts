/**
 * What a platform module sees of the simulator: accounts, tokens, codes, limits and faults, and
 * the shape it must export (routes plus its own answers to injected faults).
 */
import type { CodeStore, TokenRecord, TokenStore } from './auth.js';
import type { Limiter, LimitRule, LimitState, Platform, SimRequest, SimResponse } from './core.js';
import type { SimAccount, SimPost } from './data.js';

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path pattern below the platform prefix; `:name` matches one segment. */
  pattern: string;
  /** Overrides the endpoint id shown in stats (default `METHOD pattern`). */
  endpoint?: string;
  handle(req: SimRequest, ctx: SimContext): SimResponse | Promise<SimResponse>;
}

export interface PlatformModule {
  platform: Platform;
  routes: Route[];
  /** Default limits by bucket name. */
  defaultLimits(ctx: SimContext): Record<string, LimitRule>;
  /** The platform's own answers to injected faults. */
  faults: {
    rateLimited(req: SimRequest, ctx: SimContext, code?: number): SimResponse;
    serverError(req: SimRequest, status: number): SimResponse;
    expiredToken(req: SimRequest, ctx: SimContext): SimResponse;
    usageCap(req: SimRequest, ctx: SimContext): SimResponse;
  };
}

export interface SimContext {
  seed: number;
  now(): number;
  accounts(platform: Platform): SimAccount[];
  findAccount(platform: Platform, idOrHandle: string): SimAccount | undefined;
  findPost(platform: Platform, id: string): SimPost | undefined;
  /** Handles of other accounts (for mentions in generated texts). */
  otherHandles(platform: Platform): string[];
  tokens: TokenStore;
  codes: CodeStore;
  limiter: Limiter;
  limit(platform: Platform, bucket: string): LimitRule;
  /** Charges a bucket for a principal; when refused the caller answers with the platform's limit error. */
  charge(req: SimRequest, bucket: string, principal: string, cost?: number): LimitState;
  peek(req: SimRequest, bucket: string, principal: string): LimitState;
  tokenTtlSeconds(platform: Platform, kind: 'access' | 'refresh'): number | null;
  /** Client credentials of the simulated app registered on each platform. */
  client(platform: Platform): { clientId: string; clientSecret: string };
  /** The token a request carries, checked. */
  checkToken(
    req: SimRequest,
    token: string | null,
    kinds: readonly TokenRecord['kind'][],
  ): ReturnType<TokenStore['check']>;
  options: {
    instagramLegacyInsightsFraction: number;
    redditListingCap: number;
    xTimelineCap: number;
    xUsageCapPosts: number;
  };
  /** Counts resources served (X usage cap). */
  xPostsRead: { month: number; count: number };
}

/** The simulated user always consents: pick the account asked for (`sim_account`) or the first one. */
export function consentingAccount(req: SimRequest, ctx: SimContext): SimAccount | undefined {
  const asked = req.query.get('sim_account') ?? req.query.get('login_hint');
  const accounts = ctx.accounts(req.platform);
  return asked === null ? accounts[0] : ctx.findAccount(req.platform, asked);
}

/** 302 back to the client's redirect_uri with the code and state, as a consenting user would. */
export function redirectWithCode(
  redirectUri: string,
  params: Record<string, string | null>,
): SimResponse {
  const target = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null) target.searchParams.set(k, v);
  return {
    status: 302,
    headers: { location: target.toString(), 'content-type': 'text/html; charset=utf-8' },
    body: `<a href="${target.toString()}">Redirecting</a>`,
  };
}

/**
 * The common part of an authorize endpoint: checks the client and redirect_uri, then records a
 * code for the consenting account (with the PKCE challenge when one is sent). Returns an error
 * message for the platform to phrase, or the code.
 */
export function startAuthorization(
  req: SimRequest,
  ctx: SimContext,
  options: {
    clientParam?: string;
    requirePkce: boolean;
    codeTtlSeconds: number;
    scopeSeparator?: string;
  },
): { error: string } | { code: string; redirectUri: string; state: string | null } {
  const clientId = req.query.get(options.clientParam ?? 'client_id');
  const redirectUri = req.query.get('redirect_uri');
  if (clientId !== ctx.client(req.platform).clientId)
    return { error: `unknown client [${clientId ?? ''}]` };
  if (redirectUri === null || !/^https?:\/\//.test(redirectUri))
    return { error: 'Missing required parameter [redirect_uri].' };
  const challenge = req.query.get('code_challenge');
  const method = req.query.get('code_challenge_method');
  if (options.requirePkce && challenge === null)
    return { error: 'Missing required parameter [code_challenge].' };
  if (challenge !== null && method !== null && method !== 'S256' && method !== 'plain')
    return { error: 'Invalid code_challenge_method.' };
  const account = consentingAccount(req, ctx);
  if (account === undefined) return { error: 'no such simulated account' };
  const code = ctx.codes.create({
    platform: req.platform,
    clientId,
    redirectUri,
    accountId: account.id,
    scope: (req.query.get('scope') ?? '')
      .split(options.scopeSeparator ?? ' ')
      .filter((s) => s !== '')
      .join(' '),
    codeChallenge: challenge,
    codeChallengeMethod: challenge === null ? null : method === 'plain' ? 'plain' : 'S256',
    now: req.now,
    ttlSeconds: options.codeTtlSeconds,
  });
  return { code: code.code, redirectUri, state: req.query.get('state') };
}
