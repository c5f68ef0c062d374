/**
 * Credentials of the simulated platforms: access/refresh tokens with expiry and rotation, OAuth
 * 2.0 authorization codes with PKCE, and app-level keys. Token strings are deterministic from
 * the seed and a counter, so `npm run simulate` prints the same tokens on every start.
 */
import { createHash } from 'node:crypto';
import { base64url, hexOf, type Platform } from './core.js';

export type TokenKind = 'access' | 'refresh' | 'app' | 'api_key' | 'client';

export interface TokenRecord {
  token: string;
  platform: Platform;
  kind: TokenKind;
  /** The account the token acts for; null for app tokens and keys. */
  accountId: string | null;
  /** Who is charged for rate limits: `account:<id>` or `app`. */
  principal: string;
  issuedAtMs: number;
  expiresAtMs: number | null;
  revoked: boolean;
  scope: string;
  clientId: string;
}

export type TokenCheck =
  | { ok: true; record: TokenRecord }
  | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'revoked'; record?: TokenRecord };

const prefixes: Record<Platform, Partial<Record<TokenKind, string>>> = {
  x: { access: 'sim-x-', refresh: 'sim-x-rt-', app: 'AAAAAAAAAAAAAAAAAAAAA' },
  youtube: { access: 'ya29.sim-', refresh: '1//0sim-', api_key: 'AIzaSySim' },
  instagram: { access: 'EAAGsim', app: 'sim-app|' },
  tiktok: { access: 'act.sim', refresh: 'rft.sim', client: 'clt.sim' },
  bluesky: { access: '', refresh: '' },
  mastodon: { access: 'sim-md-' },
  reddit: { access: 'sim-rd-', refresh: 'sim-rd-rt-' },
};

export class TokenStore {
  private readonly byToken = new Map<string, TokenRecord>();
  private counter = 0;

  constructor(private readonly seed: number) {}

  issue(input: {
    platform: Platform;
    kind: TokenKind;
    accountId: string | null;
    now: number;
    ttlSeconds: number | null;
    scope?: string;
    clientId?: string;
    jwt?: { did: string; scope: string };
  }): TokenRecord {
    this.counter += 1;
    const secret = hexOf(this.seed, input.platform, input.kind, this.counter);
    const expiresAtMs = input.ttlSeconds === null ? null : input.now + input.ttlSeconds * 1000;
    let token: string;
    if (input.jwt !== undefined) {
      // Bluesky sessions are JWTs whose exp clients may read.
      const header = base64url(
        JSON.stringify({ typ: input.kind === 'refresh' ? 'refresh+jwt' : 'at+jwt', alg: 'ES256K' }),
      );
      const payload = base64url(
        JSON.stringify({
          scope: input.jwt.scope,
          sub: input.jwt.did,
          iat: Math.floor(input.now / 1000),
          exp: expiresAtMs === null ? undefined : Math.floor(expiresAtMs / 1000),
          aud: 'did:web:sim.bsky.local',
          jti: secret.slice(0, 16),
        }),
      );
      token = `${header}.${payload}.${base64url(Buffer.from(secret, 'hex'))}`;
    } else {
      token = `${prefixes[input.platform][input.kind] ?? 'sim-'}${base64url(Buffer.from(secret, 'hex')).slice(0, input.kind === 'api_key' ? 30 : 40)}`;
    }
    const record: TokenRecord = {
      token,
      platform: input.platform,
      kind: input.kind,
      accountId: input.accountId,
      principal: input.accountId === null ? 'app' : `account:${input.accountId}`,
      issuedAtMs: input.now,
      expiresAtMs,
      revoked: false,
      scope: input.scope ?? '',
      clientId: input.clientId ?? `sim-${input.platform}-client`,
    };
    this.byToken.set(token, record);
    return record;
  }

  /** Checks a presented token of the given kinds. */
  check(
    platform: Platform,
    token: string | null,
    kinds: readonly TokenKind[],
    now: number,
  ): TokenCheck {
    if (token === null || token === '') return { ok: false, reason: 'missing' };
    const record = this.byToken.get(token);
    if (record === undefined || record.platform !== platform || !kinds.includes(record.kind))
      return { ok: false, reason: 'invalid' };
    if (record.revoked) return { ok: false, reason: 'revoked', record };
    if (record.expiresAtMs !== null && now >= record.expiresAtMs)
      return { ok: false, reason: 'expired', record };
    return { ok: true, record };
  }

  get(token: string): TokenRecord | undefined {
    return this.byToken.get(token);
  }

  revoke(token: string): void {
    const record = this.byToken.get(token);
    if (record !== undefined) record.revoked = true;
  }

  /**
   * Token revocation (RFC 7009): the presented token and the rest of its grant (every access and
   * refresh token of the same account and client). False when the token is unknown.
   */
  revokeGrantOf(platform: Platform, token: string): boolean {
    const record = this.byToken.get(token);
    if (record === undefined || record.platform !== platform) return false;
    for (const other of this.byToken.values())
      if (
        other.platform === platform &&
        other.accountId === record.accountId &&
        other.clientId === record.clientId &&
        (other.kind === 'access' || other.kind === 'refresh')
      )
        other.revoked = true;
    record.revoked = true;
    return true;
  }

  /** Revokes every user grant of the platform: access and refresh tokens (the user removed the app). */
  revokeGrants(platform: Platform): void {
    for (const record of this.byToken.values())
      if (record.platform === platform && (record.kind === 'access' || record.kind === 'refresh'))
        record.revoked = true;
  }

  /** Makes every access token of the platform expired now (a fault that outlives one request). */
  expireAll(platform: Platform, now: number): void {
    for (const record of this.byToken.values())
      if (record.platform === platform && record.kind === 'access')
        record.expiresAtMs = Math.min(record.expiresAtMs ?? now, now);
  }
}

export interface AuthCode {
  code: string;
  platform: Platform;
  clientId: string;
  redirectUri: string;
  accountId: string;
  scope: string;
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | 'plain' | null;
  expiresAtMs: number;
  used: boolean;
}

export function pkceMatches(code: AuthCode, verifier: string | undefined): boolean {
  if (code.codeChallenge === null) return true;
  if (verifier === undefined || verifier === '') return false;
  if (code.codeChallengeMethod === 'plain') return verifier === code.codeChallenge;
  return createHash('sha256').update(verifier).digest('base64url') === code.codeChallenge;
}

/** Authorization codes: the simulated user always consents. */
export class CodeStore {
  private readonly codes = new Map<string, AuthCode>();
  private counter = 0;

  constructor(private readonly seed: number) {}

  create(
    input: Omit<AuthCode, 'code' | 'used' | 'expiresAtMs'> & { now: number; ttlSeconds: number },
  ): AuthCode {
    this.counter += 1;
    const code = base64url(
      Buffer.from(hexOf(this.seed, 'code', input.platform, this.counter), 'hex'),
    ).slice(0, 32);
    const record: AuthCode = {
      code,
      platform: input.platform,
      clientId: input.clientId,
      redirectUri: input.redirectUri,
      accountId: input.accountId,
      scope: input.scope,
      codeChallenge: input.codeChallenge,
      codeChallengeMethod: input.codeChallengeMethod,
      expiresAtMs: input.now + input.ttlSeconds * 1000,
      used: false,
    };
    this.codes.set(code, record);
    return record;
  }

  /** The code if it exists for this platform, whatever its state; the caller decides the error. */
  find(platform: Platform, code: string | undefined): AuthCode | null {
    if (code === undefined) return null;
    const record = this.codes.get(code);
    return record !== undefined && record.platform === platform ? record : null;
  }
}
