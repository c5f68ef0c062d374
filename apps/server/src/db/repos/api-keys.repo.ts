import type { Queryable } from '../pool.js';
import type { ApiKeyScope } from '../../domain/auth/permissions.js';

export interface ApiKeyRecord {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  /** The member who created the key, or the one behind the key that minted it. */
  createdBy: string | null;
  createdByEmail: string | null;
  /** The API key that minted this one, when a key (not a signed-in person) created it. */
  createdByKey: string | null;
  createdByKeyPrefix: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  created_by: string | null;
  created_by_email: string | null;
  created_by_key: string | null;
  created_by_key_prefix: string | null;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const toKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes,
  createdBy: r.created_by,
  createdByEmail: r.created_by_email,
  createdByKey: r.created_by_key,
  createdByKeyPrefix: r.created_by_key_prefix,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

/** A key with who created it: the person's email and the minting key's prefix (same workspace). */
const selectKeys = (source: string): string => `SELECT k.id, k.workspace_id, k.name, k.prefix,
       k.scopes, k.created_by, u.email AS created_by_email, k.created_by_key,
       p.prefix AS created_by_key_prefix, k.created_at, k.last_used_at, k.expires_at, k.revoked_at
  FROM ${source} k
  LEFT JOIN users u ON u.id = k.created_by
  LEFT JOIN api_keys p ON p.id = k.created_by_key AND p.workspace_id = k.workspace_id`;
const SELECT = selectKeys('api_keys');

export async function insertApiKey(
  db: Queryable,
  k: {
    workspaceId: string;
    name: string;
    prefix: string;
    keyHash: Buffer;
    scopes: ApiKeyScope[];
    createdBy: string | null;
    createdByKey: string | null;
    expiresAt: Date | null;
  },
): Promise<ApiKeyRecord> {
  const { rows } = await db.query<ApiKeyRow>(
    `WITH inserted AS (
       INSERT INTO api_keys (workspace_id, name, prefix, key_hash, scopes, created_by, created_by_key, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *)
     ${selectKeys('inserted')}`,
    [
      k.workspaceId,
      k.name,
      k.prefix,
      k.keyHash,
      k.scopes,
      k.createdBy,
      k.createdByKey,
      k.expiresAt,
    ],
  );
  return toKey(rows[0] as ApiKeyRow);
}

export async function listApiKeys(db: Queryable, workspaceId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `${SELECT} WHERE k.workspace_id = $1 ORDER BY k.created_at DESC`,
    [workspaceId],
  );
  return rows.map(toKey);
}

export async function findApiKeyByPrefixInWorkspace(
  db: Queryable,
  workspaceId: string,
  idOrPrefix: string,
): Promise<ApiKeyRecord | null> {
  const { rows } = await db.query<ApiKeyRow>(
    `${SELECT} WHERE k.workspace_id = $1 AND (k.prefix = $2 OR k.id::text = $2)`,
    [workspaceId, idOrPrefix],
  );
  return rows[0] ? toKey(rows[0]) : null;
}

/** Whether a key is still live (neither revoked nor expired), its row locked until the transaction ends. */
export async function lockLiveApiKey(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM api_keys
      WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
      FOR SHARE`,
    [workspaceId, id],
  );
  return rows.length > 0;
}

export async function revokeApiKey(db: Queryable, workspaceId: string, id: string): Promise<void> {
  await db.query(
    'UPDATE api_keys SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL',
    [workspaceId, id],
  );
}

export interface RevokedApiKey {
  id: string;
  prefix: string;
  scopes: ApiKeyScope[];
  /** The key that minted this one, when it was revoked as part of a lineage. */
  createdByKey: string | null;
}

/**
 * Revokes the open keys a member created in the scoped workspace, and the keys those keys minted
 * (at any depth): the person behind them is leaving or losing the role they were made under.
 * With `onlyScopes`, only keys holding one of those scopes (the ones the member's new role no
 * longer covers); their descendants are judged by their own scopes, as they record the same person.
 */
export async function revokeMemberApiKeys(
  db: Queryable,
  workspaceId: string,
  userId: string,
  onlyScopes: readonly ApiKeyScope[] | null = null,
): Promise<RevokedApiKey[]> {
  const { rows } = await db.query<{
    id: string;
    prefix: string;
    scopes: ApiKeyScope[];
    created_by_key: string | null;
  }>(
    `WITH RECURSIVE lineage AS (
       SELECT id FROM api_keys WHERE workspace_id = $1 AND created_by = $2
       UNION
       SELECT c.id FROM api_keys c JOIN lineage l ON c.created_by_key = l.id WHERE c.workspace_id = $1
     )
     UPDATE api_keys SET revoked_at = now()
      WHERE workspace_id = $1 AND id IN (SELECT id FROM lineage) AND revoked_at IS NULL
        AND ($3::text[] IS NULL OR scopes && $3::text[])
     RETURNING id, prefix, scopes, created_by_key`,
    [workspaceId, userId, onlyScopes],
  );
  return rows.map((r) => ({
    id: r.id,
    prefix: r.prefix,
    scopes: r.scopes,
    createdByKey: r.created_by_key,
  }));
}

export interface ApiKeyCredential {
  id: string;
  workspaceId: string;
  keyHash: Buffer;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** Authentication lookup before the workspace is known (SECURITY DEFINER function). */
export async function findApiKeyCredential(
  db: Queryable,
  prefix: string,
): Promise<ApiKeyCredential | null> {
  const { rows } = await db.query<{
    id: string;
    workspace_id: string;
    key_hash: Buffer;
    scopes: ApiKeyScope[];
    expires_at: Date | null;
    revoked_at: Date | null;
  }>('SELECT * FROM auth_api_key_by_prefix($1)', [prefix]);
  const r = rows[0];
  return r
    ? {
        id: r.id,
        workspaceId: r.workspace_id,
        keyHash: r.key_hash,
        scopes: r.scopes,
        expiresAt: r.expires_at,
        revokedAt: r.revoked_at,
      }
    : null;
}

export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query('SELECT auth_touch_api_key($1)', [id]);
}
