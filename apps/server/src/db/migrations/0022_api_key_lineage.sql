-- Auth (2026-11-25): removing a member revokes the API keys they created, and the keys those keys
-- minted in turn. A key minted by a key had no creator at all (created_by NULL: no person was
-- signed in), so nothing tied it to the member behind its parent. It now records the key that
-- minted it (created_by_key) and, in created_by, the person behind that key; removal and
-- demotion walk both. SET NULL: a parent's row is never deleted today (revocation keeps it),
-- but a lineage must not stop a workspace's keys from being purged one day.
-- api_keys keeps its tenant policy and the application's table grants (0002); the new column
-- is covered by them.
ALTER TABLE api_keys ADD COLUMN created_by_key uuid REFERENCES api_keys (id) ON DELETE SET NULL;

CREATE INDEX api_keys_created_by ON api_keys (workspace_id, created_by) WHERE created_by IS NOT NULL;
CREATE INDEX api_keys_created_by_key ON api_keys (created_by_key) WHERE created_by_key IS NOT NULL;

-- Keys minted by keys before this migration: the audit entry of their creation names the
-- minting key as its actor ('api_key:<id>'). Restore the link, then the person behind each chain.
UPDATE api_keys k
   SET created_by_key = p.id
  FROM audit_log a
  JOIN api_keys p ON p.id::text = substr(a.actor, length('api_key:') + 1)
 WHERE a.action = 'api_key.created'
   AND a.actor LIKE 'api_key:%'
   AND a.workspace_id = k.workspace_id
   AND a.target = k.prefix
   AND p.workspace_id = k.workspace_id
   AND p.id <> k.id
   AND k.created_by IS NULL
   AND k.created_by_key IS NULL;

WITH RECURSIVE lineage AS (
  SELECT id, created_by AS person FROM api_keys WHERE created_by_key IS NULL
  UNION ALL
  SELECT k.id, l.person FROM api_keys k JOIN lineage l ON k.created_by_key = l.id
)
UPDATE api_keys k
   SET created_by = l.person
  FROM lineage l
 WHERE k.id = l.id AND k.created_by IS NULL AND l.person IS NOT NULL;

-- What the routes now do at a removal or demotion, for the members removed or demoted before
-- this migration: their keys would otherwise stay live. A key whose person is no longer a member
-- of its workspace, or whose scopes their role no longer covers (permissions.ts
-- scopesBeyondRole: an analyst grants no admin, a viewer no write), is revoked. Keys made by the
-- operator's CLI have no person and are left as they are.
UPDATE api_keys k
   SET revoked_at = now()
 WHERE k.revoked_at IS NULL
   AND k.created_by IS NOT NULL
   AND NOT EXISTS (
     SELECT 1 FROM memberships m
      WHERE m.workspace_id = k.workspace_id
        AND m.user_id = k.created_by
        AND (m.role IN ('owner', 'admin')
             OR (m.role = 'analyst' AND NOT k.scopes && ARRAY['admin'])
             OR (m.role = 'viewer' AND NOT k.scopes && ARRAY['admin', 'write']))
   );
