import type pg from 'pg';
import type { SecretBox } from './secret-box.js';

/**
 * Every secret SocialPulse seals, where it lives and the context it was sealed with (the context
 * is authenticated: it must be the same on re-encryption). Keep in step with the callers of
 * SecretBox.encrypt; key-rotation.int.test.ts seals one of each.
 */
const SEALED: { table: string; column: string; /** The row's key as text. */ key: string; context: string }[] = [
  { table: 'users', column: 'mfa_secret_enc', key: 'id::text', context: "'user:' || id || ':totp'" },
  { table: 'users', column: 'mfa_pending_secret_enc', key: 'id::text', context: "'user:' || id || ':totp'" },
  { table: 'platform_connections', column: 'credentials_sealed', key: 'id::text', context: "'platform_connection:' || id" },
  { table: 'workspace_analysis_settings', column: 'llm_api_key_sealed', key: 'workspace_id::text', context: "'llm_api_key:' || workspace_id" },
  { table: 'oauth_clients', column: 'client_secret_sealed', key: "platform || ' ' || instance || ' ' || redirect_uri", context: "'oauth_client:' || platform || ':' || instance" },
  { table: 'oauth_states', column: 'code_verifier_sealed', key: "encode(state_hash, 'hex')", context: "'oauth_state:' || encode(state_hash, 'hex')" },
];

export interface RotationReport {
  /** Secrets re-sealed with the current key, by `table.column`. */
  rotated: Record<string, number>;
  /** Secrets already under the current key. */
  current: number;
}

/**
 * Re-seals every secret under the current ENCRYPTION_KEY, in one transaction, on the owner's
 * connection (it crosses tenants). Afterwards the previous keys can be dropped from
 * ENCRYPTION_KEYS_PREVIOUS. A secret no configured key opens aborts the whole run (nothing is
 * half-rotated) with the table and row named.
 */
export async function reencryptSecrets(owner: pg.ClientBase, box: SecretBox): Promise<RotationReport> {
  const report: RotationReport = { rotated: {}, current: 0 };
  await owner.query('BEGIN');
  try {
    for (const s of SEALED) {
      const { rows } = await owner.query<{ k: string; sealed: string; context: string }>(
        `SELECT ${s.key} AS k, ${s.column} AS sealed, ${s.context} AS context FROM ${s.table} WHERE ${s.column} IS NOT NULL FOR UPDATE`,
      );
      let rotated = 0;
      for (const row of rows) {
        if (!box.needsRotation(row.sealed)) {
          report.current += 1;
          continue;
        }
        let plaintext: string;
        try {
          plaintext = box.decrypt(row.sealed, row.context);
        } catch (error) {
          throw new Error(`${s.table}.${s.column} of row ${row.k}: ${(error as Error).message}`, { cause: error });
        }
        await owner.query(`UPDATE ${s.table} SET ${s.column} = $1 WHERE ${s.key} = $2`, [box.encrypt(plaintext, row.context), row.k]);
        rotated += 1;
      }
      if (rotated > 0) report.rotated[`${s.table}.${s.column}`] = rotated;
    }
    await owner.query('COMMIT');
  } catch (error) {
    await owner.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return report;
}
