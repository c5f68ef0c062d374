-- Authentication and tenancy (issue 4), second pass: invitations to join a workspace with a
-- role, row-level security on the two tenant tables that lacked it, and the instance-level
-- audit entries readable by instance admins.

-- An invitation: a single-use, expiring token mailed to an address; whoever holds it and signs
-- in (or signs up) with that address joins the workspace with the role. Only its hash is kept.
CREATE TABLE invitations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer')),
  token_hash bytea NOT NULL UNIQUE,
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  revoked_at timestamptz
);
CREATE INDEX invitations_workspace ON invitations (workspace_id, created_at DESC);
-- One open invitation per address and workspace: a new one replaces the old (the caller revokes it first).
CREATE UNIQUE INDEX invitations_open_email ON invitations (workspace_id, lower(email)) WHERE accepted_at IS NULL AND revoked_at IS NULL;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations USING (workspace_id = app_workspace_id()) WITH CHECK (workspace_id = app_workspace_id());

-- The invitee does not know the workspace yet: the token is the only key, so this lookup crosses
-- tenants, narrowly (one row by the token's hash, with the workspace's name for the invitee).
CREATE FUNCTION invitation_by_token(p_token_hash bytea)
  RETURNS TABLE (id uuid, workspace_id uuid, workspace_name text, email text, role text, expires_at timestamptz, accepted_at timestamptz, revoked_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT i.id, i.workspace_id, w.name, i.email, i.role, i.expires_at, i.accepted_at, i.revoked_at
       FROM invitations i JOIN workspaces w ON w.id = i.workspace_id WHERE i.token_hash = p_token_hash $$;

-- The backlog was readable across tenants (its rows name other workspaces' analyses). The one
-- reader that must span a requester's workspaces, the turn hand-over, runs as the owner.
ALTER TABLE analysis_backlog ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analysis_backlog USING (workspace_id = app_workspace_id()) WITH CHECK (workspace_id = app_workspace_id());
ALTER FUNCTION analysis_turn_advance(text, uuid) SECURITY DEFINER SET search_path = public;

-- A partition is a table of its own: the parent's policies do not apply to a query that names it.
-- The application reaches AI traces only through ai_traces, so it gets no rights on partitions,
-- now or when the monthly function creates them.
DO $$
DECLARE part regclass;
BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'ai_traces'::regclass LOOP
    EXECUTE format('REVOKE ALL ON %s FROM socialpulse_app', part);
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION ai_traces_ensure_partitions(from_month date, months integer) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  m date;
  part text;
BEGIN
  FOR i IN 0 .. months - 1 LOOP
    m := (date_trunc('month', from_month) + make_interval(months => i))::date;
    part := format('ai_traces_%s', to_char(m, 'YYYYMM'));
    IF to_regclass(part) IS NULL THEN
      -- A month with rows already in the default partition cannot be attached: skip it.
      IF NOT EXISTS (SELECT 1 FROM ai_traces_default WHERE started_at >= m AND started_at < m + interval '1 month') THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF ai_traces FOR VALUES FROM (%L) TO (%L)', part, m, (m + interval '1 month')::date);
        -- The schema's default privileges granted it to the application: only the parent is for it.
        EXECUTE format('REVOKE ALL ON %I FROM socialpulse_app', part);
      END IF;
    END IF;
  END LOOP;
END
$$;

-- Instance-level entries (sign-ins, MFA, password and account changes: workspace_id NULL), for
-- instance admins; the caller checks the admin flag. Newest first, keyset-paginated by id.
CREATE FUNCTION audit_instance_entries(p_before bigint, p_limit integer, p_user uuid)
  RETURNS SETOF audit_log
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT * FROM audit_log WHERE workspace_id IS NULL AND (p_before IS NULL OR id < p_before) AND (p_user IS NULL OR user_id = p_user)
       ORDER BY id DESC LIMIT p_limit $$;

REVOKE ALL ON FUNCTION invitation_by_token(bytea), audit_instance_entries(bigint, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invitation_by_token(bytea), audit_instance_entries(bigint, integer, uuid) TO socialpulse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON invitations TO socialpulse_app;
