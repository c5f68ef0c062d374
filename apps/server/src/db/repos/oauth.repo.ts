import type { Queryable } from '../pool.js';

/** A started OAuth flow. The state itself is never stored, only its SHA-256. */
export interface OAuthFlow {
  workspaceId: string;
  userId: string | null;
  platform: string;
  codeVerifierSealed: string | null;
  redirectUri: string;
  instance: string | null;
  /** null: the flow named none (a reconnect keeps the account's interval, a new connection gets the default). */
  pollMinutes: number | null;
  returnTo: string | null;
  scopes: string | null;
}

export async function insertOAuthState(
  db: Queryable,
  stateHash: Buffer,
  flow: OAuthFlow,
  expiresAt: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO oauth_states (state_hash, workspace_id, user_id, platform, code_verifier_sealed, redirect_uri, instance, poll_minutes, return_to, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      stateHash,
      flow.workspaceId,
      flow.userId,
      flow.platform,
      flow.codeVerifierSealed,
      flow.redirectUri,
      flow.instance,
      flow.pollMinutes,
      flow.returnTo,
      flow.scopes,
      expiresAt,
    ],
  );
}

interface ConsumedRow {
  workspace_id: string;
  user_id: string | null;
  platform: string;
  code_verifier_sealed: string | null;
  redirect_uri: string;
  instance: string | null;
  poll_minutes: number | null;
  return_to: string | null;
  scopes: string | null;
  expired: boolean;
}

/**
 * Marks the flow used and returns it, once: a replayed or unknown state returns null. Runs
 * before the workspace is known (the callback carries only the state), hence the function.
 */
export async function consumeOAuthState(
  db: Queryable,
  stateHash: Buffer,
): Promise<(OAuthFlow & { expired: boolean }) | null> {
  const { rows } = await db.query<ConsumedRow>('SELECT * FROM oauth_consume_state($1)', [
    stateHash,
  ]);
  const r = rows[0];
  if (!r) return null;
  return {
    workspaceId: r.workspace_id,
    userId: r.user_id,
    platform: r.platform,
    codeVerifierSealed: r.code_verifier_sealed,
    redirectUri: r.redirect_uri,
    instance: r.instance,
    pollMinutes: r.poll_minutes,
    returnTo: r.return_to,
    scopes: r.scopes,
    expired: r.expired,
  };
}

export async function purgeOAuthStates(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT oauth_purge_states() AS n');
  return Number(rows[0]?.n ?? 0);
}

export interface RegisteredClient {
  clientId: string;
  clientSecretSealed: string;
}

export async function findRegisteredClient(
  db: Queryable,
  platform: string,
  instance: string,
  redirectUri: string,
): Promise<RegisteredClient | null> {
  const { rows } = await db.query<{ client_id: string; client_secret_sealed: string }>(
    'SELECT client_id, client_secret_sealed FROM oauth_clients WHERE platform = $1 AND instance = $2 AND redirect_uri = $3',
    [platform, instance, redirectUri],
  );
  const r = rows[0];
  return r ? { clientId: r.client_id, clientSecretSealed: r.client_secret_sealed } : null;
}

/** Every registration with an instance (one per redirect URI this SocialPulse has used), newest first. */
export async function findRegisteredClients(
  db: Queryable,
  platform: string,
  instance: string,
): Promise<RegisteredClient[]> {
  const { rows } = await db.query<{ client_id: string; client_secret_sealed: string }>(
    'SELECT client_id, client_secret_sealed FROM oauth_clients WHERE platform = $1 AND instance = $2 ORDER BY created_at DESC',
    [platform, instance],
  );
  return rows.map((r) => ({ clientId: r.client_id, clientSecretSealed: r.client_secret_sealed }));
}

/** Keeps the first registration when two flows registered at once (both are valid at the instance). */
export async function insertRegisteredClient(
  db: Queryable,
  platform: string,
  instance: string,
  redirectUri: string,
  client: RegisteredClient,
): Promise<RegisteredClient> {
  await db.query(
    `INSERT INTO oauth_clients (platform, instance, redirect_uri, client_id, client_secret_sealed) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (platform, instance, redirect_uri) DO NOTHING`,
    [platform, instance, redirectUri, client.clientId, client.clientSecretSealed],
  );
  return (await findRegisteredClient(db, platform, instance, redirectUri)) ?? client;
}
