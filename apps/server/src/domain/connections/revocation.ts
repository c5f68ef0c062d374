import type { Platform } from '@socialpulse/contracts';
import {
  renewTokens,
  revokeToken,
  type OAuthClientCredentials,
} from '../../connectors/oauth/oauth-client.js';
import { oauthEndpoints, oauthProviders } from '../../connectors/oauth/providers.js';
import type { Pool } from '../../db/pool.js';
import type { Connection } from '../../db/repos/connections.repo.js';
import { findRegisteredClients } from '../../db/repos/oauth.repo.js';
import { withTenant } from '../../db/tenant.js';
import type { SecretBox } from '../auth/secret-box.js';
import { mastodonInstance, type ConnectorProvider } from '../collection/connectors.js';
import { openCredentials } from './credentials.js';

export interface RevocationDeps {
  pool: Pool;
  secretBox: SecretBox;
  connectors: ConnectorProvider;
}

/**
 * What happened to the platform grant when a connection was removed:
 * `revoked` — the platform ended it; `not_ours` — the token was pasted (issued to another app) or
 * is this instance's own client token, so there is no user grant of ours to end; `not_supported`
 * — the platform has no revocation for these tokens (Meta: the user removes the app in Facebook
 * settings); `no_client` — the OAuth client that was granted is no longer configured; `failed` —
 * the platform did not answer or refused (the credentials are wiped here all the same).
 */
export type RevocationOutcome = 'revoked' | 'not_ours' | 'not_supported' | 'no_client' | 'failed';

const REVOCATION_TIMEOUT_MS = 10_000;

/** Mastodon tokens belong to the client SocialPulse registered with that instance. */
async function clientsFor(
  deps: RevocationDeps,
  connection: Connection,
  platform: Platform,
  instance: string | null,
): Promise<OAuthClientCredentials[]> {
  if (platform !== 'mastodon') {
    const client = deps.connectors.oauthClient(platform);
    return client ? [client] : [];
  }
  if (instance === null) return [];
  const registered = await withTenant(
    deps.pool,
    { workspaceId: connection.workspaceId, userId: null },
    (c) => findRegisteredClients(c, platform, instance),
  );
  return registered.map((r) => ({
    clientId: r.clientId,
    clientSecret: deps.secretBox.decrypt(
      r.clientSecretSealed,
      `oauth_client:${platform}:${instance}`,
    ),
  }));
}

/**
 * Ends the connection's OAuth grant at the platform, given the credentials it had (the caller
 * has already wiped them under the connection's row lock, so no sync can renew the grant
 * meanwhile). Sends the tokens the platform's revocation endpoint takes, in its order (the
 * refresh token first where it ends the whole grant); an access token the platform refuses
 * (TikTok's last a day) is renewed once when only it can be revoked. Best
 * effort: never throws (a failure is the outcome `failed` with its reason); `revoked` when the
 * platform confirmed at least one token.
 */
export async function revokeGrant(
  deps: RevocationDeps,
  connection: Connection,
): Promise<{ outcome: RevocationOutcome; detail?: string }> {
  if (!connection.credentialsSealed) return { outcome: 'not_ours' };
  const platform = connection.platform as Platform;
  try {
    const stored = openCredentials(deps.secretBox, connection.id, connection.credentialsSealed);
    if (stored.via !== 'oauth' || stored.accessToken === undefined) return { outcome: 'not_ours' };
    const provider = oauthProviders[platform];
    if (!provider?.revoke) return { outcome: 'not_supported' };
    const instance =
      platform === 'mastodon'
        ? mastodonInstance(deps.connectors.baseUrl(platform), connection.handle)
        : null;
    const clients = await clientsFor(deps, connection, platform, instance);
    if (clients.length === 0) return { outcome: 'no_client' };
    const endpoints = oauthEndpoints(provider, instance ?? deps.connectors.baseUrl(platform));
    // The user waits on this (DELETE answers after it): a platform that hangs gets 10 s in all.
    const signal = AbortSignal.timeout(REVOCATION_TIMEOUT_MS);
    let lastError: unknown = null;
    for (const client of clients) {
      const t = { http: deps.connectors.http, provider, endpoints, client, signal };
      try {
        const { accessToken, refreshToken } = stored;
        // Where only the access token is revocable (TikTok), one the platform refuses (expired:
        // TikTok's last a day) is renewed once, and the new one, of the same grant, revoked.
        const renewable =
          !provider.revoke.tokens.includes('refresh_token') &&
          refreshToken !== undefined &&
          provider.renewal === 'refresh_token';
        let confirmed = 0;
        for (const hint of provider.revoke.tokens) {
          const token = hint === 'refresh_token' ? refreshToken : accessToken;
          if (token === undefined) continue;
          try {
            if (await revokeToken(t, token, hint)) confirmed += 1;
          } catch (error) {
            lastError = error;
            if (hint !== 'access_token' || !renewable) continue;
            const renewed = await renewTokens(t, { accessToken, refreshToken });
            if (await revokeToken(t, renewed.accessToken, hint)) confirmed += 1;
          }
        }
        if (confirmed > 0) return { outcome: 'revoked' };
      } catch (error) {
        lastError = error;
      }
    }
    return {
      outcome: 'failed',
      detail: lastError === null ? 'the platform confirmed no revocation' : messageOf(lastError),
    };
  } catch (error) {
    return { outcome: 'failed', detail: messageOf(error) };
  }
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
