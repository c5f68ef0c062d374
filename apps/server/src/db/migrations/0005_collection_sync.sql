-- Scheduled sync (issue 7): when a connection may call its platform again after a limit, and
-- the scheduler's and the operator CLI's narrow cross-tenant steps (ids only).

-- A rate limit, quota or usage cap blocks both kinds of sync of a connection until it resets.
ALTER TABLE platform_connections ADD COLUMN blocked_until timestamptz;

-- Connections with work due: new posts (next_sync_at passed) and/or metric refreshes (planned
-- posts whose due_at passed). Rows are locked SKIP LOCKED, so two schedulers ticking at once
-- split the connections instead of both returning them; the queue's `stately` policy keyed on
-- the connection is what keeps a connection from syncing twice at once.
CREATE FUNCTION collection_due_connections(p_limit integer)
  RETURNS TABLE (connection_id uuid, workspace_id uuid, kind text)
  LANGUAGE sql SECURITY DEFINER SET search_path = public AS
  $$ SELECT c.id, c.workspace_id, k.kind
       FROM platform_connections c
       CROSS JOIN LATERAL (
         SELECT 'posts'::text AS kind WHERE c.next_sync_at IS NULL OR c.next_sync_at <= now()
         UNION ALL
         SELECT 'metrics'::text WHERE EXISTS (
           SELECT 1 FROM post_refresh_schedule s WHERE s.connection_id = c.id AND s.due_at <= now())
       ) k
      WHERE c.status = 'active' AND (c.blocked_until IS NULL OR c.blocked_until <= now())
      ORDER BY c.next_sync_at NULLS FIRST, c.id
      LIMIT p_limit
      FOR UPDATE OF c SKIP LOCKED $$;

-- The operator CLI (`socialpulse dlq list` without a workspace): open dead letters, ids only.
CREATE FUNCTION collection_open_dead_letters(p_limit integer)
  RETURNS TABLE (id bigint, workspace_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT d.id, d.workspace_id FROM dead_letters d WHERE d.status = 'open' ORDER BY d.id LIMIT p_limit $$;

-- `socialpulse dlq replay ID`: the workspace a dead letter belongs to.
CREATE FUNCTION collection_dead_letter_workspace(p_id bigint) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT d.workspace_id FROM dead_letters d WHERE d.id = p_id $$;

REVOKE ALL ON FUNCTION collection_due_connections(integer), collection_open_dead_letters(integer), collection_dead_letter_workspace(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION collection_due_connections(integer), collection_open_dead_letters(integer), collection_dead_letter_workspace(bigint) TO socialpulse_app;
