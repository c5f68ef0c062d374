import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from '../../errors.js';

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const MFA_TOKEN_TTL_S = 5 * 60;

export interface AccessClaims {
  userId: string;
  sessionId: string;
  mfa: boolean;
}

const ISSUER = 'socialpulse';
const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

export async function signAccessToken(
  secret: string,
  claims: AccessClaims,
  now = Date.now(),
): Promise<string> {
  return new SignJWT({ sid: claims.sessionId, mfa: claims.mfa, typ: 'access' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + ACCESS_TOKEN_TTL_S)
    .sign(key(secret));
}

/** A short-lived token proving the password step of a sign-in that still needs its MFA code. */
export async function signMfaToken(
  secret: string,
  userId: string,
  now = Date.now(),
): Promise<string> {
  return new SignJWT({ typ: 'mfa' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + MFA_TOKEN_TTL_S)
    .sign(key(secret));
}

async function verify(
  secret: string,
  token: string,
  type: 'access' | 'mfa',
): Promise<Record<string, unknown> & { sub?: string }> {
  try {
    const { payload } = await jwtVerify(token, key(secret), {
      issuer: ISSUER,
      algorithms: ['HS256'],
    });
    if (payload.typ !== type || typeof payload.sub !== 'string')
      throw new AppError('unauthorized', 'Invalid token');
    return payload;
  } catch (error) {
    if (error instanceof AppError) throw error;
    const expired = error instanceof joseErrors.JWTExpired;
    throw new AppError(
      'unauthorized',
      expired ? 'The access token has expired; refresh it' : 'Invalid token',
      { details: { reason: expired ? 'token_expired' : 'token_invalid' } },
    );
  }
}

export async function verifyAccessToken(secret: string, token: string): Promise<AccessClaims> {
  const payload = await verify(secret, token, 'access');
  if (typeof payload.sid !== 'string') throw new AppError('unauthorized', 'Invalid token');
  return { userId: payload.sub as string, sessionId: payload.sid, mfa: payload.mfa === true };
}

export async function verifyMfaToken(secret: string, token: string): Promise<string> {
  return (await verify(secret, token, 'mfa')).sub as string;
}
