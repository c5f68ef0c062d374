import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random opaque token (refresh, reset, setup) in base64url. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Tokens with 256 bits of entropy need no slow hash; SHA-256 makes a stored copy useless. */
export const hashToken = (token: string): Buffer =>
  createHash('sha256').update(token, 'utf8').digest();

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export const API_KEY_PREFIX = 'sp';

/** `sp_<8-char id>_<secret>`: the id part is shown in lists; the whole key only once. */
export function createApiKeySecret(): { key: string; prefix: string } {
  const id = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 8);
  const key = `${API_KEY_PREFIX}_${id}_${randomToken(24)}`;
  return { key, prefix: `${API_KEY_PREFIX}_${id}` };
}

export function parseApiKey(presented: string): { prefix: string } | null {
  const match = /^(sp_[A-Za-z0-9]{8})_[A-Za-z0-9_-]{32}$/.exec(presented);
  return match?.[1] ? { prefix: match[1] } : null;
}

/** One-time recovery codes: 10 groups like `k3f9-x2pq-7h4m`. */
export function createRecoveryCodes(count = 10): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(12);
    const chars = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
  });
}

export const normalizeRecoveryCode = (code: string): string =>
  code.trim().toLowerCase().replace(/\s+/g, '');
