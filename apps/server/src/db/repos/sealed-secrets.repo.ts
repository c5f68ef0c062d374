import type { Queryable } from '../pool.js';

/**
 * Every secret SocialPulse seals, where it lives and the context it was sealed with (the context
 * is authenticated: re-sealing must use the same). Keep in step with the callers of
 * SecretBox.encrypt; key-rotation.int.test.ts seals one of each.
 */
export const SEALED_SECRETS = [
  {
    table: 'users',
    column: 'mfa_secret_enc',
    key: 'id::text',
    context: "'user:' || id || ':totp'",
  },
  {
    table: 'users',
    column: 'mfa_pending_secret_enc',
    key: 'id::text',
    context: "'user:' || id || ':totp'",
  },
  {
    table: 'platform_connections',
    column: 'credentials_sealed',
    key: 'id::text',
    context: "'platform_connection:' || id",
  },
  {
    table: 'workspace_analysis_settings',
    column: 'llm_api_key_sealed',
    key: 'workspace_id::text',
    context: "'llm_api_key:' || workspace_id",
  },
  {
    table: 'oauth_clients',
    column: 'client_secret_sealed',
    key: "platform || ' ' || instance || ' ' || redirect_uri",
    context: "'oauth_client:' || platform || ':' || instance",
  },
  {
    table: 'oauth_states',
    column: 'code_verifier_sealed',
    key: "encode(state_hash, 'hex')",
    context: "'oauth_state:' || encode(state_hash, 'hex')",
  },
] as const;

export type SealedSecretKind = (typeof SEALED_SECRETS)[number];

export interface SealedSecret {
  /** The row's key, as text. */
  key: string;
  sealed: string;
  context: string;
}

/** Every stored secret of one kind, locked for the caller's transaction (owner connection: all tenants). */
export async function lockSealedSecrets(
  db: Queryable,
  kind: SealedSecretKind,
): Promise<SealedSecret[]> {
  const { rows } = await db.query<SealedSecret>(
    `SELECT ${kind.key} AS key, ${kind.column} AS sealed, ${kind.context} AS context FROM ${kind.table} WHERE ${kind.column} IS NOT NULL FOR UPDATE`,
  );
  return rows;
}

export async function replaceSealedSecret(
  db: Queryable,
  kind: SealedSecretKind,
  key: string,
  sealed: string,
): Promise<void> {
  await db.query(`UPDATE ${kind.table} SET ${kind.column} = $1 WHERE ${kind.key} = $2`, [
    sealed,
    key,
  ]);
}
