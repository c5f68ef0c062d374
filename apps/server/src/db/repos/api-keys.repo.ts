import type { Queryable } from '../pool.js';
import type { ApiKeyScope } from '../../domain/auth/permissions.js';

export interface ApiKeyRecord {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdBy: string | null;
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
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

const COLUMNS =
  'id, workspace_id, name, prefix, scopes, created_by, created_at, last_used_at, expires_at, revoked_at';

export async function insertApiKey(
  db: Queryable,
  k: {
    workspaceId: string;
    name: string;
    prefix: string;
    keyHash: Buffer;
    scopes: ApiKeyScope[];
    createdBy: string | null;
    expiresAt: Date | null;
  },
): Promise<ApiKeyRecord> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (workspace_id, name, prefix, key_hash, scopes, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [k.workspaceId, k.name, k.prefix, k.keyHash, k.scopes, k.createdBy, k.expiresAt],
  );
  return toKey(rows[0] as ApiKeyRow);
}

export async function listApiKeys(db: Queryable, workspaceId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${COLUMNS} FROM api_keys WHERE workspace_id = $1 ORDER BY created_at DESC`,
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
    `SELECT ${COLUMNS} FROM api_keys WHERE workspace_id = $1 AND (prefix = $2 OR id::text = $2)`,
    [workspaceId, idOrPrefix],
  );
  return rows[0] ? toKey(rows[0]) : null;
}

export async function revokeApiKey(db: Queryable, workspaceId: string, id: string): Promise<void> {
  await db.query(
    'UPDATE api_keys SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL',
    [workspaceId, id],
  );
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
