import { z } from 'zod';
import type { TokenSet } from '../../connectors/oauth/oauth-client.js';
import type { SecretBox } from '../auth/secret-box.js';

/**
 * A connection's platform credentials, sealed with the secret box (AES-256-GCM, key id inside)
 * and bound to the connection id, so a sealed value copied to another row does not open.
 */
export const storedCredentialsSchema = z
  .object({
    accessToken: z.string().min(1).optional(),
    refreshToken: z.string().min(1).optional(),
    tokenType: z.string().optional(),
    scope: z.string().optional(),
    /** ISO 8601; absent when the token does not expire (app bearer tokens, API keys). */
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    /** YouTube Data API key (read-only public data). */
    apiKey: z.string().min(1).optional(),
    /** ISO 8601: when the refresh token dies (TikTok says; others do not). */
    refreshExpiresAt: z.iso.datetime({ offset: true }).optional(),
    /** ISO 8601: when the access token was granted, so renewal can start a quarter of its life early. */
    obtainedAt: z.iso.datetime({ offset: true }).optional(),
    /**
     * How the credentials were obtained: pasted by the user, granted through an OAuth flow, or
     * the instance's own client token (client credentials grant: TikTok's Research API).
     */
    via: z.enum(['token', 'oauth', 'client']).optional(),
  })
  .strict();
export type StoredCredentials = z.infer<typeof storedCredentialsSchema>;

const contextOf = (connectionId: string): string => `platform_connection:${connectionId}`;

export function sealCredentials(
  box: SecretBox,
  connectionId: string,
  credentials: StoredCredentials,
): string {
  return box.encrypt(
    JSON.stringify(storedCredentialsSchema.parse(credentials)),
    contextOf(connectionId),
  );
}

export function openCredentials(
  box: SecretBox,
  connectionId: string,
  sealed: string,
): StoredCredentials {
  return storedCredentialsSchema.parse(JSON.parse(box.decrypt(sealed, contextOf(connectionId))));
}

/** What an OAuth grant stores: the tokens, their lifetimes and when they were obtained. */
export function storedCredentialsOf(tokens: TokenSet, obtainedAt: Date): StoredCredentials {
  return {
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken !== null ? { refreshToken: tokens.refreshToken } : {}),
    ...(tokens.tokenType !== null ? { tokenType: tokens.tokenType } : {}),
    ...(tokens.scope !== null ? { scope: tokens.scope } : {}),
    ...(tokens.expiresAt !== null ? { expiresAt: tokens.expiresAt } : {}),
    ...(tokens.refreshExpiresAt !== null ? { refreshExpiresAt: tokens.refreshExpiresAt } : {}),
    obtainedAt: obtainedAt.toISOString(),
    via: 'oauth',
  };
}
