import type { Queryable } from '../../db/pool.js';
import {
  lockSealedSecrets,
  replaceSealedSecret,
  SEALED_SECRETS,
} from '../../db/repos/sealed-secrets.repo.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import type { SecretBox } from './secret-box.js';

export interface RotationReport {
  /** Secrets re-sealed with the current key, by `table.column`. */
  rotated: Record<string, number>;
  /** Secrets already under the current key. */
  current: number;
}

/**
 * Re-seals every stored secret under the current ENCRYPTION_KEY, in one transaction on an owner
 * connection (it crosses tenants). Afterwards the previous keys can leave
 * ENCRYPTION_KEYS_PREVIOUS. A secret no configured key opens aborts the whole run, with its row
 * named: nothing is half-rotated.
 */
export async function reencryptSecrets(owner: Queryable, box: SecretBox): Promise<RotationReport> {
  const report: RotationReport = { rotated: {}, current: 0 };
  await owner.query('BEGIN');
  try {
    for (const kind of SEALED_SECRETS) {
      let rotated = 0;
      for (const secret of await lockSealedSecrets(owner, kind)) {
        if (!box.needsRotation(secret.sealed)) {
          report.current += 1;
          continue;
        }
        let plaintext: string;
        try {
          plaintext = box.decrypt(secret.sealed, secret.context);
        } catch (error) {
          throw new Error(
            `${kind.table}.${kind.column} of row ${secret.key}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        await replaceSealedSecret(owner, kind, secret.key, box.encrypt(plaintext, secret.context));
        rotated += 1;
      }
      if (rotated > 0) report.rotated[`${kind.table}.${kind.column}`] = rotated;
    }
    await insertAuditEntry(owner, {
      workspaceId: null,
      actor: 'cli',
      action: 'secrets.rotated',
      target: box.currentKeyId,
      details: { rotated: report.rotated },
    });
    await owner.query('COMMIT');
  } catch (error) {
    await owner.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return report;
}
