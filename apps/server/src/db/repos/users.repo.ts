import type { Queryable } from '../pool.js';
import { AppError, notFound } from '../../errors.js';

export interface UserRecord {
  id: string;
  email: string;
  displayName: string | null;
  passwordHash: string;
  isInstanceAdmin: boolean;
  mfaSecretEnc: string | null;
  mfaPendingSecretEnc: string | null;
  mfaEnabledAt: Date | null;
  mfaLastStep: number | null;
  passwordChangedAt: Date;
  disabledAt: Date | null;
  createdAt: Date;
}

interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  password_hash: string;
  is_instance_admin: boolean;
  mfa_secret_enc: string | null;
  mfa_pending_secret_enc: string | null;
  mfa_enabled_at: Date | null;
  mfa_last_step: number | null;
  password_changed_at: Date;
  disabled_at: Date | null;
  created_at: Date;
}

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  email: r.email,
  displayName: r.display_name,
  passwordHash: r.password_hash,
  isInstanceAdmin: r.is_instance_admin,
  mfaSecretEnc: r.mfa_secret_enc,
  mfaPendingSecretEnc: r.mfa_pending_secret_enc,
  mfaEnabledAt: r.mfa_enabled_at,
  mfaLastStep: r.mfa_last_step,
  passwordChangedAt: r.password_changed_at,
  disabledAt: r.disabled_at,
  createdAt: r.created_at,
});

export async function insertUser(
  db: Queryable,
  user: {
    email: string;
    displayName: string | null;
    passwordHash: string;
    isInstanceAdmin: boolean;
  },
): Promise<UserRecord> {
  try {
    const { rows } = await db.query<UserRow>(
      'INSERT INTO users (email, display_name, password_hash, is_instance_admin) VALUES ($1, $2, $3, $4) RETURNING *',
      [user.email, user.displayName, user.passwordHash, user.isInstanceAdmin],
    );
    return toUser(rows[0] as UserRow);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new AppError('conflict', 'An account with this email already exists', {
        details: { field: 'email' },
      });
    }
    throw error;
  }
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [
    email,
  ]);
  return rows[0] ? toUser(rows[0]) : null;
}

export async function findUser(db: Queryable, id: string): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
  return rows[0] ? toUser(rows[0]) : null;
}

export async function getUser(db: Queryable, id: string): Promise<UserRecord> {
  const user = await findUser(db, id);
  if (!user) throw notFound('user', id);
  return user;
}

export async function listUsers(db: Queryable): Promise<UserRecord[]> {
  const { rows } = await db.query<UserRow>('SELECT * FROM users ORDER BY created_at, email');
  return rows.map(toUser);
}

export async function countUsers(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  return rows[0]?.n ?? 0;
}

export async function updatePassword(
  db: Queryable,
  id: string,
  passwordHash: string,
): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1', [
    id,
    passwordHash,
  ]);
}

export async function updateMfa(
  db: Queryable,
  id: string,
  mfa: {
    secretEnc?: string | null;
    pendingSecretEnc?: string | null;
    enabled?: boolean;
    lastStep?: number | null;
  },
): Promise<void> {
  await db.query(
    `UPDATE users SET
       mfa_secret_enc = CASE WHEN $2 THEN $3 ELSE mfa_secret_enc END,
       mfa_pending_secret_enc = CASE WHEN $4 THEN $5 ELSE mfa_pending_secret_enc END,
       mfa_enabled_at = CASE WHEN $6::boolean IS NULL THEN mfa_enabled_at WHEN $6 THEN now() ELSE NULL END,
       mfa_last_step = CASE WHEN $7 THEN $8::bigint ELSE mfa_last_step END
     WHERE id = $1`,
    [
      id,
      mfa.secretEnc !== undefined,
      mfa.secretEnc ?? null,
      mfa.pendingSecretEnc !== undefined,
      mfa.pendingSecretEnc ?? null,
      mfa.enabled ?? null,
      mfa.lastStep !== undefined,
      mfa.lastStep ?? null,
    ],
  );
}

/** Accepts a TOTP step only if it is newer than the last one (atomic: no replay across requests). */
export async function claimTotpStep(db: Queryable, id: string, step: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND (mfa_last_step IS NULL OR mfa_last_step < $2)',
    [id, step],
  );
  return (rowCount ?? 0) > 0;
}

export async function replaceRecoveryCodes(
  db: Queryable,
  userId: string,
  hashes: readonly Buffer[],
): Promise<void> {
  await db.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
  await db.query('INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])', [
    userId,
    hashes,
  ]);
}

/** Marks a recovery code used; false when it is unknown or was used already. */
export async function useRecoveryCode(
  db: Queryable,
  userId: string,
  hash: Buffer,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL',
    [userId, hash],
  );
  return (rowCount ?? 0) > 0;
}

export async function deleteRecoveryCodes(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
}

export async function findFirstInstanceAdmin(db: Queryable): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRow>(
    'SELECT * FROM users WHERE is_instance_admin AND disabled_at IS NULL ORDER BY created_at LIMIT 1',
  );
  return rows[0] ? toUser(rows[0]) : null;
}
