import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import type { ConnectionCreate, ConnectionPatch } from '@socialpulse/contracts';
import type { AccountRef, ResolvedAccount } from '../../connectors/connector.js';
import { isConnectorError } from '../../connectors/errors.js';
import { AppError, conflict, notFound } from '../../errors.js';
import type { PoolClient } from '../../db/pool.js';
import {
  findConnection,
  findConnectionByAccount,
  lockConnectionAccount,
  updateConnection,
  upsertConnection,
  type Connection,
} from '../../db/repos/connections.repo.js';
import {
  findDeadLetter,
  markDeadLetterDiscarded,
  type DeadLetter,
} from '../../db/repos/dead-letters.repo.js';
import type { SyncKind, SyncRun } from '../../db/repos/sync-runs.repo.js';
import type { SecretBox } from '../auth/secret-box.js';
import { sealCredentials, type StoredCredentials } from '../connections/credentials.js';
import { obtainClientToken } from '../connections/token-renewal.js';
import type { ConnectorProvider } from './connectors.js';
import { enqueueSync } from './sync-queue.js';

/** `@name`, `name`, `user@instance` are handles; digits, DIDs and platform ids (UC…, open ids) are ids. */
export function accountRefOf(platform: string, account: string): AccountRef {
  const value = account.trim();
  if (value.startsWith('@')) return { handle: value };
  if (
    /^\d+$/.test(value) ||
    value.startsWith('did:') ||
    (platform === 'youtube' && /^UC[\w-]{22}$/.test(value))
  )
    return { id: value };
  return { handle: value };
}

export interface ResolvedConnection {
  account: ResolvedAccount;
  credentials: StoredCredentials;
}

/**
 * Resolves the account through the platform's connector with the pasted credentials. A refusal
 * by the platform becomes a clear 400 (the token, the account), a platform outage stays a 5xx.
 */
export async function resolveConnection(
  connectors: ConnectorProvider,
  input: ConnectionCreate,
  now: Date = new Date(),
): Promise<ResolvedConnection> {
  const given = input.credentials;
  // A TikTok Research connection without a pasted token reads with the instance's client token.
  let credentials: StoredCredentials;
  try {
    credentials = given
      ? {
          ...(given.access_token ? { accessToken: given.access_token } : {}),
          ...(given.refresh_token ? { refreshToken: given.refresh_token } : {}),
          ...(given.expires_at ? { expiresAt: given.expires_at } : {}),
          ...(given.api_key ? { apiKey: given.api_key } : {}),
        }
      : await obtainClientToken(connectors, input.platform, now);
  } catch (error) {
    // The platform refusing the operator's app is a configuration problem, not an outage.
    if (isConnectorError(error) && !error.retryable)
      throw new AppError(
        'oauth_not_configured',
        `${input.platform} refused this instance's client credentials (${error.message}): the app must be approved for the Research API`,
        { details: { platform: input.platform, platform_error: error.toJSON() }, cause: error },
      );
    throw error;
  }
  const connector = connectors.create(input.platform, undefined, {
    handle: input.account,
    ...(input.api ? { tiktokApi: input.api } : {}),
  });
  const ref = accountRefOf(input.platform, input.account);
  try {
    const account = await connector.resolveAccount(ref, {
      // Not stored yet: a throwaway credential id keeps this call out of stored budgets' keys.
      credential: {
        id: `resolve:${randomUUID()}`,
        ...(credentials.accessToken ? { accessToken: credentials.accessToken } : {}),
        ...(credentials.apiKey ? { apiKey: credentials.apiKey } : {}),
      },
    });
    return { account, credentials };
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    if (error.platformCode === 'non_public_address')
      throw new AppError(
        'validation_failed',
        `Cannot connect ${input.account}: its server is not a public internet address, and SocialPulse calls only public servers`,
        { details: { field: 'account', platform_error: error.toJSON() }, cause: error },
      );
    const reasons: Partial<Record<string, string>> = {
      auth_expired: `${input.platform} refused the credentials (expired, revoked or not a valid token)`,
      forbidden: `the credentials are not allowed to read ${input.account} on ${input.platform}`,
      not_found: `${input.platform} has no account ${input.account}`,
      bad_request: `${input.platform} could not resolve ${input.account} with these credentials: ${error.message}`,
    };
    const reason = reasons[error.kind];
    if (reason === undefined) throw error;
    throw new AppError('validation_failed', `Cannot connect ${input.account}: ${reason}`, {
      details: {
        field:
          error.kind === 'auth_expired' || error.kind === 'forbidden' ? 'credentials' : 'account',
        platform_error: error.toJSON(),
      },
      cause: error,
    });
  }
}

/** The stored handle; a Mastodon handle keeps its instance (syncs call that instance). */
function handleOf(
  input: Pick<ConnectionCreate, 'platform' | 'account'>,
  account: ResolvedAccount,
): string | null {
  const handle = account.handle?.replace(/^@/, '') ?? null;
  if (input.platform !== 'mastodon' || handle === null || handle.includes('@')) return handle;
  const instance = input.account.replace(/^@/, '').split('@')[1];
  return instance ? `${handle}@${instance}` : handle;
}

/** A new connection's poll interval when its flow named none (the API's and the table's default). */
export const DEFAULT_POLL_MINUTES = 30;

/** What storeConnection needs; `poll_minutes` left out keeps a reconnected account's interval. */
export type StoreConnectionInput = Omit<ConnectionCreate, 'poll_minutes'> & {
  poll_minutes?: number | undefined;
};

/** Stores the connection (sealed credentials bound to its id), due for its first sync now. */
export async function storeConnection(
  c: PoolClient,
  box: SecretBox,
  workspaceId: string,
  userId: string | null,
  input: StoreConnectionInput,
  resolved: ResolvedConnection,
): Promise<{ connection: Connection; created: boolean }> {
  const externalId = resolved.account.externalId;
  // Two connects of one account at once would otherwise both find no row and pick two ids: the
  // second upsert would then give the first's row credentials sealed for an id it does not have.
  await lockConnectionAccount(c, workspaceId, input.platform, externalId);
  const existing = await findConnectionByAccount(c, workspaceId, input.platform, externalId);
  const id = existing?.id ?? randomUUID();
  const stored = await upsertConnection(c, {
    id,
    workspaceId,
    platform: input.platform,
    externalAccountId: externalId,
    handle: handleOf(input, resolved.account),
    // Display is TikTok's default: stored as null, like a connection made through OAuth.
    api: input.api === 'research' ? 'research' : null,
    credentialsSealed: sealCredentials(box, id, resolved.credentials),
    tokenExpiresAt: resolved.credentials.expiresAt ?? null,
    // A reconnect (new credentials for an account already connected) is not a change of schedule:
    // the interval chosen before stays unless this flow asked for one.
    pollMinutes: input.poll_minutes ?? existing?.pollMinutes ?? DEFAULT_POLL_MINUTES,
    createdBy: userId,
  });
  // Credentials sealed for another id could never be opened: fail this connect, not every sync.
  if (stored.connection.id !== id)
    throw new AppError(
      'internal_error',
      'the connection was stored under another id than its credentials were sealed for',
      { details: { connection_id: stored.connection.id } },
    );
  return stored;
}

export async function getConnection(
  c: PoolClient,
  workspaceId: string,
  id: string,
): Promise<Connection> {
  const connection = await findConnection(c, workspaceId, id);
  if (!connection) throw notFound('connection', id);
  return connection;
}

export async function patchConnection(
  c: PoolClient,
  workspaceId: string,
  id: string,
  patch: ConnectionPatch,
): Promise<Connection> {
  const connection = await getConnection(c, workspaceId, id);
  if (connection.status === 'disconnected')
    throw conflict('the connection is disconnected; connect the account again');
  let status: Connection['status'] | undefined;
  if (patch.paused === true && connection.status === 'active') status = 'paused';
  if (patch.paused === false && connection.status === 'paused') status = 'active';
  if (patch.paused === false && connection.status === 'platform_auth_expired')
    throw conflict('the platform refused the token: connect the account again with a new one');
  const updated = await updateConnection(c, workspaceId, id, {
    ...(patch.poll_minutes !== undefined ? { pollMinutes: patch.poll_minutes } : {}),
    ...(status ? { status } : {}),
    ...(status === 'active' ? { nextSyncAt: new Date() } : {}),
  });
  return updated ?? connection;
}

/** Disconnects: no more syncs, credentials wiped; collected posts and runs stay. */
export async function disconnectConnection(
  c: PoolClient,
  workspaceId: string,
  id: string,
): Promise<Connection> {
  await getConnection(c, workspaceId, id);
  const updated = await updateConnection(c, workspaceId, id, {
    status: 'disconnected',
    credentialsSealed: null,
    tokenExpiresAt: null,
    nextSyncAt: null,
  });
  if (!updated) throw notFound('connection', id);
  return updated;
}

/** Queues a sync now (a manual trigger); joins the run already waiting if there is one. */
export async function triggerSync(
  c: PoolClient,
  boss: PgBoss,
  workspaceId: string,
  id: string,
  kind: SyncKind,
): Promise<{ run: SyncRun; queued: boolean }> {
  const connection = await getConnection(c, workspaceId, id);
  if (connection.status !== 'active')
    throw conflict(`the connection is ${connection.status}; only an active connection syncs`, {
      status: connection.status,
    });
  const result = await enqueueSync(c, boss, {
    workspaceId,
    connectionId: id,
    kind,
    trigger: 'manual',
  });
  // Joined a metrics refresh already waiting, which reads no new posts: the request is kept as the
  // connection being due, for the scheduler to queue once that run has started (and, should a
  // run be going by then, for the follow-up queued when it ends).
  if (!result.queued && kind === 'posts' && result.run.kind !== 'posts')
    await updateConnection(c, workspaceId, id, { nextSyncAt: new Date() });
  return result;
}

/** Queues the replay of a dead letter's operation (a sync run with trigger `replay`). */
export async function replayDeadLetter(
  c: PoolClient,
  boss: PgBoss,
  workspaceId: string,
  id: string,
): Promise<{ deadLetter: DeadLetter; run: SyncRun; queued: boolean }> {
  const deadLetter = await findDeadLetter(c, workspaceId, id);
  if (!deadLetter) throw notFound('dead letter', id);
  if (deadLetter.status !== 'open')
    throw conflict(`dead letter ${id} is ${deadLetter.status}`, { status: deadLetter.status });
  if (!deadLetter.connectionId)
    throw conflict(`dead letter ${id} has no connection left to replay it with`);
  const connection = await getConnection(c, workspaceId, deadLetter.connectionId);
  if (connection.status !== 'active')
    throw conflict(
      `the connection is ${connection.status}; reconnect or resume it before replaying`,
      { status: connection.status },
    );
  const kind: SyncKind = deadLetter.operation === 'refresh_metrics' ? 'metrics' : 'posts';
  const { run, queued } = await enqueueSync(c, boss, {
    workspaceId,
    connectionId: connection.id,
    kind,
    trigger: 'replay',
    deadLetterId: id,
  });
  if (!queued)
    throw conflict('a sync of this connection is already waiting; replay once it has run', {
      run_id: run.id,
    });
  return { deadLetter, run, queued };
}

/** Gives up on an open dead letter (the operator decided it is not worth replaying). */
export async function discardDeadLetter(
  c: PoolClient,
  workspaceId: string,
  id: string,
): Promise<DeadLetter> {
  const deadLetter = await findDeadLetter(c, workspaceId, id);
  if (!deadLetter) throw notFound('dead letter', id);
  if (deadLetter.status !== 'open')
    throw conflict(`dead letter ${id} is ${deadLetter.status}; only an open one is discarded`, {
      status: deadLetter.status,
    });
  return (await markDeadLetterDiscarded(c, workspaceId, id)) ?? deadLetter;
}
