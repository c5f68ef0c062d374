import type { Queryable } from '../pool.js';

export interface SessionRecord {
  id: string;
  userId: string;
  mfaVerified: boolean;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  userAgent: string | null;
  ip: string | null;
}

interface SessionRow {
  id: string;
  user_id: string;
  mfa_verified: boolean;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
  ip: string | null;
}

const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  userId: r.user_id,
  mfaVerified: r.mfa_verified,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  userAgent: r.user_agent,
  ip: r.ip,
});

export async function insertSession(
  db: Queryable,
  s: {
    userId: string;
    mfaVerified: boolean;
    expiresAt: Date;
    userAgent: string | null;
    ip: string | null;
  },
): Promise<SessionRecord> {
  const { rows } = await db.query<SessionRow>(
    'INSERT INTO sessions (user_id, mfa_verified, expires_at, user_agent, ip) VALUES ($1, $2, $3, $4, $5) RETURNING *',
    [s.userId, s.mfaVerified, s.expiresAt, s.userAgent, s.ip],
  );
  return toSession(rows[0] as SessionRow);
}

export async function findSession(db: Queryable, id: string): Promise<SessionRecord | null> {
  const { rows } = await db.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id]);
  return rows[0] ? toSession(rows[0]) : null;
}

export async function revokeSession(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query(
    'UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL',
    [id, reason],
  );
}

export async function revokeUserSessions(
  db: Queryable,
  userId: string,
  reason: string,
  exceptSessionId: string | null = null,
): Promise<void> {
  await db.query(
    'UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3',
    [userId, reason, exceptSessionId],
  );
}

export async function insertRefreshToken(
  db: Queryable,
  sessionId: string,
  tokenHash: Buffer,
  expiresAt: Date,
): Promise<void> {
  await db.query(
    'INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)',
    [tokenHash, sessionId, expiresAt],
  );
}

export interface RefreshTokenRecord {
  sessionId: string;
  expiresAt: Date;
  /** How long ago it was rotated (null: not yet), by the database's clock, which stamped it. */
  rotatedMsAgo: number | null;
}

/**
 * Locks the token row: concurrent refreshes with one token run one after the other, and each
 * sees what the one before it did.
 */
export async function lockRefreshToken(
  db: Queryable,
  tokenHash: Buffer,
): Promise<RefreshTokenRecord | null> {
  const { rows } = await db.query<{
    session_id: string;
    expires_at: Date;
    rotated_ms_ago: number | null;
  }>(
    `SELECT session_id, expires_at,
            (extract(epoch FROM clock_timestamp() - rotated_at) * 1000)::float8 AS rotated_ms_ago
       FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
    [tokenHash],
  );
  const r = rows[0];
  return r
    ? {
        sessionId: r.session_id,
        expiresAt: r.expires_at,
        rotatedMsAgo: r.rotated_ms_ago,
      }
    : null;
}

export async function markRefreshTokenRotated(db: Queryable, tokenHash: Buffer): Promise<void> {
  await db.query('UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1', [tokenHash]);
}

export async function touchSession(
  db: Queryable,
  id: string,
  mfaVerified?: boolean,
): Promise<void> {
  await db.query(
    'UPDATE sessions SET last_used_at = now(), mfa_verified = coalesce($2, mfa_verified) WHERE id = $1',
    [id, mfaVerified ?? null],
  );
}

export async function insertResetToken(
  db: Queryable,
  userId: string,
  tokenHash: Buffer,
  expiresAt: Date,
): Promise<void> {
  await db.query(
    'INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)',
    [tokenHash, userId, expiresAt],
  );
}

/** Consumes a reset token once; returns its user when it was valid and unused. */
export async function consumeResetToken(db: Queryable, tokenHash: Buffer): Promise<string | null> {
  const { rows } = await db.query<{ user_id: string }>(
    'UPDATE password_reset_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id',
    [tokenHash],
  );
  return rows[0]?.user_id ?? null;
}

/**
 * Spends every reset link of a user that is still unused: after a reset or a password change, an
 * older link (a mailbox read later, a second request) must not set the password again.
 */
export async function spendUserResetTokens(db: Queryable, userId: string): Promise<number> {
  const { rowCount } = await db.query(
    'UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL',
    [userId],
  );
  return rowCount ?? 0;
}

export async function insertSetupToken(
  db: Queryable,
  tokenHash: Buffer,
  expiresAt: Date,
): Promise<void> {
  await db.query('INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, $2)', [
    tokenHash,
    expiresAt,
  ]);
}

export async function consumeSetupToken(db: Queryable, tokenHash: Buffer): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE setup_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()',
    [tokenHash],
  );
  return (rowCount ?? 0) > 0;
}
