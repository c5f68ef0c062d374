import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../errors.js';

/**
 * Encrypts secrets at rest (platform tokens, TOTP secrets) with AES-256-GCM. Each ciphertext
 * names its key by id, so keys can rotate: encrypt with the current key, decrypt with any key
 * still configured (ENCRYPTION_KEY plus ENCRYPTION_KEYS_PREVIOUS).
 * Format: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts).
 */
export interface SecretBox {
  readonly currentKeyId: string;
  encrypt(plaintext: string, context?: string): string;
  decrypt(sealed: string, context?: string): string;
  /** Whether a ciphertext was sealed with an older key and should be re-encrypted. */
  needsRotation(sealed: string): boolean;
}

export const keyIdOf = (key: Buffer): string =>
  createHash('sha256').update(key).digest('hex').slice(0, 8);

export function createSecretBox(
  currentKeyBase64: string,
  previousKeysBase64: readonly string[] = [],
): SecretBox {
  const keys = new Map<string, Buffer>();
  const current = Buffer.from(currentKeyBase64, 'base64');
  if (current.length !== 32)
    throw new AppError('config_invalid', 'ENCRYPTION_KEY must be 32 bytes (base64)');
  const currentKeyId = keyIdOf(current);
  keys.set(currentKeyId, current);
  for (const k of previousKeysBase64) {
    const key = Buffer.from(k, 'base64');
    if (key.length !== 32)
      throw new AppError(
        'config_invalid',
        'each ENCRYPTION_KEYS_PREVIOUS entry must be 32 bytes (base64)',
      );
    keys.set(keyIdOf(key), key);
  }
  // The context (e.g. "user:<id>:totp") is authenticated, so a ciphertext cannot be moved to another row.
  const aad = (context: string | undefined): Buffer => Buffer.from(context ?? '', 'utf8');

  return {
    currentKeyId,
    encrypt(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [
        'v1',
        currentKeyId,
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        body.toString('base64url'),
      ].join('.');
    },
    decrypt(sealed, context) {
      const [version, keyId, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !keyId || !iv || !tag || body === undefined)
        throw new AppError('internal_error', 'malformed encrypted secret');
      const key = keys.get(keyId);
      if (!key)
        throw new AppError(
          'internal_error',
          `secret was encrypted with key ${keyId}, which is not configured (ENCRYPTION_KEYS_PREVIOUS)`,
        );
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(aad(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        return Buffer.concat([
          decipher.update(Buffer.from(body, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
      } catch (error) {
        throw new AppError(
          'internal_error',
          'encrypted secret failed authentication (tampered, or wrong context)',
          { cause: error },
        );
      }
    },
    needsRotation(sealed) {
      return sealed.split('.')[1] !== currentKeyId;
    },
  };
}
