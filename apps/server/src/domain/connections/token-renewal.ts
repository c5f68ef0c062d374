import type { Platform } from '@socialpulse/contracts';
import type { Credential } from '../../connectors/connector.js';
import { ConnectorError, isConnectorError } from '../../connectors/errors.js';
import { AppError } from '../../errors.js';
import { clientCredentialsToken, renewTokens } from '../../connectors/oauth/oauth-client.js';
import { oauthEndpoints, oauthProviders } from '../../connectors/oauth/providers.js';
import type { Pool } from '../../db/pool.js';
import {
  findConnectionForUpdate,
  updateConnection,
  type Connection,
} from '../../db/repos/connections.repo.js';
import { withTenant } from '../../db/tenant.js';
import type { Logger } from '../../observability/logger.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { ConnectorProvider } from '../collection/connectors.js';
import {
  openCredentials,
  sealCredentials,
  storedCredentialsOf,
  type StoredCredentials,
} from './credentials.js';

export interface RenewalDeps {
  pool: Pool;
  secretBox: SecretBox;
  connectors: ConnectorProvider;
  logger?: Logger | undefined;
  now?: (() => Date) | undefined;
}

/** Renewal starts this long before expiry at the least (a sync run must not outlive its token). */
const MIN_LEAD_MS = 5 * 60_000;
/** Instagram's long-lived tokens can be re-exchanged only once they are a day old. */
const META_MIN_AGE_MS = 24 * 60 * 60_000;

/**
 * A connection's credential for the HTTP layer. Its id keys the rate-limit budgets and breakers:
 * a user's token is the connection's own, but the instance's client token (TikTok Research) is
 * one app credential whose limits every Research connection shares.
 */
export const credentialOf = (
  connection: Pick<Connection, 'id' | 'platform'>,
  stored: StoredCredentials,
): Credential => ({
  id: stored.via === 'client' ? `app:${connection.platform}` : connection.id,
  ...(stored.accessToken ? { accessToken: stored.accessToken } : {}),
  ...(stored.apiKey ? { apiKey: stored.apiKey } : {}),
});

/**
 * The instance's own client token for a platform (client credentials grant), as stored
 * credentials: TikTok's Research API is read with it. Needs the platform's OAuth client.
 */
export async function obtainClientToken(
  connectors: ConnectorProvider,
  platform: Platform,
  now: Date,
): Promise<StoredCredentials> {
  const provider = oauthProviders[platform];
  const client = connectors.oauthClient(platform);
  if (!provider || !client)
    throw new AppError(
      'oauth_not_configured',
      `No OAuth client is configured for ${platform}: the operator sets its client key and secret (TikTok: TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET of an approved Research API app)`,
      { details: { platform } },
    );
  const tokens = await clientCredentialsToken({
    http: connectors.http,
    provider,
    endpoints: oauthEndpoints(provider, connectors.baseUrl(platform)),
    client,
  });
  return { ...storedCredentialsOf(tokens, now), via: 'client' };
}

/** Whether SocialPulse can get a new access token for these credentials without the user. */
export function canRenew(platform: string, stored: StoredCredentials): boolean {
  const provider = oauthProviders[platform as Platform];
  if (!provider) return false;
  if (stored.via === 'client') return true;
  if (provider.renewal === 'none') return false;
  if (provider.renewal === 'exchange')
    return stored.accessToken !== undefined && stored.via === 'oauth';
  return stored.refreshToken !== undefined;
}

/**
 * Renew when a quarter of the token's life is left (so a 2-hour X token is renewed in its last
 * 30 minutes, a 60-day Meta token in its last 15 days), and never later than 5 minutes before.
 */
export function renewalDue(platform: string, stored: StoredCredentials, nowMs: number): boolean {
  if (stored.expiresAt === undefined || !canRenew(platform, stored)) return false;
  const expiresAt = Date.parse(stored.expiresAt);
  const obtainedAt = stored.obtainedAt !== undefined ? Date.parse(stored.obtainedAt) : null;
  const lead = Math.max(MIN_LEAD_MS, obtainedAt === null ? 0 : (expiresAt - obtainedAt) / 4);
  if (expiresAt - nowMs > lead) return false;
  if (
    oauthProviders[platform as Platform]?.renewal === 'exchange' &&
    obtainedAt !== null &&
    nowMs - obtainedAt < META_MIN_AGE_MS &&
    expiresAt > nowMs
  )
    return false;
  return true;
}

export type RenewalReason = 'expiring' | 'refused';

/**
 * The connection's credential, renewed first when its token is about to expire (`expiring`) or
 * the platform just refused it (`refused`). Renewal holds the connection's row lock, so two
 * processes never spend the same rotating refresh token: the second finds the token the first
 * stored and uses it. A refused grant (revoked, expired refresh token) marks the connection
 * `platform_auth_expired`; a platform outage leaves it active for the next run.
 */
export async function currentCredential(
  deps: RenewalDeps,
  connection: Connection,
  reason: RenewalReason | null,
  refusedToken?: string,
): Promise<Credential> {
  const now = (): Date => deps.now?.() ?? new Date();
  if (!connection.credentialsSealed)
    throw authExpired(connection.platform, 'no stored credentials');
  const stored = openCredentials(deps.secretBox, connection.id, connection.credentialsSealed);
  if (reason === null) {
    if (!renewalDue(connection.platform, stored, now().getTime()))
      return credentialOf(connection, stored);
    reason = 'expiring';
  }
  if (!canRenew(connection.platform, stored))
    throw authExpired(
      connection.platform,
      'the platform refused the token and it cannot be renewed; connect the account again',
    );
  const provider = oauthProviders[connection.platform as Platform];
  const client = deps.connectors.oauthClient(connection.platform);
  if (!provider || !client) {
    // Without the OAuth client the token cannot be renewed; use it while it lasts.
    if (
      reason === 'expiring' &&
      stored.expiresAt !== undefined &&
      Date.parse(stored.expiresAt) > now().getTime()
    )
      return credentialOf(connection, stored);
    throw authExpired(
      connection.platform,
      `the token ${reason === 'refused' ? 'was refused' : 'expired'} and no OAuth client is configured for ${connection.platform} to renew it`,
    );
  }

  return withTenant(deps.pool, { workspaceId: connection.workspaceId, userId: null }, async (c) => {
    const locked = await findConnectionForUpdate(c, connection.workspaceId, connection.id);
    if (!locked?.credentialsSealed)
      throw authExpired(connection.platform, 'the connection has no credentials any more');
    const latest = openCredentials(deps.secretBox, connection.id, locked.credentialsSealed);
    // Another process renewed while this one waited for the lock: its token is the one to use.
    const renewedMeanwhile =
      reason === 'refused'
        ? latest.accessToken !== (refusedToken ?? stored.accessToken)
        : !renewalDue(connection.platform, latest, now().getTime());
    if (renewedMeanwhile) return credentialOf(connection, latest);
    const started = now();
    try {
      if (latest.via === 'client') {
        const renewed = await obtainClientToken(
          deps.connectors,
          connection.platform as Platform,
          started,
        );
        await updateConnection(c, connection.workspaceId, connection.id, {
          credentialsSealed: sealCredentials(deps.secretBox, connection.id, renewed),
          tokenExpiresAt: renewed.expiresAt ? new Date(renewed.expiresAt) : null,
        });
        deps.logger?.info(
          {
            connectionId: connection.id,
            platform: connection.platform,
            reason,
            expiresAt: renewed.expiresAt ?? null,
          },
          'client token renewed',
        );
        return credentialOf(connection, renewed);
      }
      const tokens = await renewTokens(
        {
          http: deps.connectors.http,
          provider,
          endpoints: oauthEndpoints(provider, deps.connectors.baseUrl(connection.platform)),
          client,
        },
        { accessToken: latest.accessToken ?? null, refreshToken: latest.refreshToken ?? null },
      );
      // The old expiry never carries over (a new token without expires_in does not expire); the
      // refresh token's own expiry and the scope do when the platform does not repeat them.
      const { expiresAt: _old, ...kept } = latest;
      const renewed: StoredCredentials = { ...kept, ...storedCredentialsOf(tokens, started) };
      await updateConnection(c, connection.workspaceId, connection.id, {
        credentialsSealed: sealCredentials(deps.secretBox, connection.id, renewed),
        tokenExpiresAt: renewed.expiresAt ? new Date(renewed.expiresAt) : null,
      });
      deps.logger?.info(
        {
          connectionId: connection.id,
          platform: connection.platform,
          reason,
          expiresAt: renewed.expiresAt ?? null,
          rotated: tokens.refreshToken !== latest.refreshToken,
        },
        'platform token renewed',
      );
      return credentialOf(connection, renewed);
    } catch (error) {
      if (isConnectorError(error) && error.kind === 'auth_expired')
        throw authExpired(
          connection.platform,
          `renewing the token failed: ${error.message}`,
          error,
        );
      throw error;
    }
  });
}

export const authExpired = (platform: string, why: string, cause?: unknown): ConnectorError =>
  new ConnectorError('auth_expired', `${platform}: ${why}`, {
    platform: platform as Platform,
    platformCode: 'renewal_failed',
    ...(cause === undefined ? {} : { cause }),
  });

/** Whether a failure is the platform refusing the token (worth one renewal and one retry). */
export const isTokenRefusal = (error: unknown): error is ConnectorError =>
  isConnectorError(error) && error.kind === 'auth_expired';
