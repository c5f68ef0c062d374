-- Users, sessions, API keys, MFA, and tenant isolation enforced by row-level security.
-- The application runs every query as role socialpulse_app (set at connection start), which
-- is not the tables' owner and has no BYPASSRLS: a query that forgets its workspace filter sees
-- only the current workspace (app.workspace_id, set per transaction) or nothing at all. RLS is
-- not FORCEd: the owner (migrations, the SECURITY DEFINER functions below) sees every row.

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  display_name text,
  password_hash text NOT NULL,
  is_instance_admin boolean NOT NULL DEFAULT false,
  mfa_secret_enc text,
  mfa_pending_secret_enc text,
  mfa_enabled_at timestamptz,
  -- Last TOTP time step accepted: a code is never accepted twice.
  mfa_last_step bigint,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE recovery_codes (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash bytea NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- Names were unique per instance, which let anyone probe other tenants' workspace names.
DROP INDEX workspaces_name_key;
CREATE INDEX workspaces_name ON workspaces (lower(name));

ALTER TABLE workspaces
  ADD COLUMN require_mfa boolean NOT NULL DEFAULT false,
  ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE SET NULL;

CREATE TABLE memberships (
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- A session is one sign-in; its refresh tokens rotate, and reusing a rotated one revokes it.
CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  mfa_verified boolean NOT NULL DEFAULT false,
  user_agent text,
  ip inet,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE password_reset_tokens (
  token_hash bytea PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix text NOT NULL UNIQUE,
  key_hash bytea NOT NULL,
  scopes text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'admin'] AND cardinality(scopes) > 0),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

-- One-time link printed at first start to create the first (admin) account.
CREATE TABLE setup_tokens (
  token_hash bytea PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

ALTER TABLE audit_log ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX audit_log_user_created ON audit_log (user_id, created_at DESC);

-- The role the application runs as. Roles are per cluster: create it once.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'socialpulse_app') THEN
    CREATE ROLE socialpulse_app NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'socialpulse_app', 'MEMBER') THEN
    EXECUTE format('GRANT socialpulse_app TO %I', current_user);
  END IF;
END
$$;
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO socialpulse_app', current_schema());
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO socialpulse_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO socialpulse_app;
-- The app may read where the schema stands (doctor, migrate) but never change it.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM socialpulse_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO socialpulse_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO socialpulse_app;

-- The current tenant of the transaction; NULL when none is set (then tenant rows are invisible).
CREATE FUNCTION app_workspace_id() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('app.workspace_id', true), '')::uuid $$;
CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

-- Tenant tables: visible and writable only inside the current workspace.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['posts', 'platform_accounts', 'post_metric_snapshots', 'imports', 'import_rejects', 'api_keys'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (workspace_id = app_workspace_id()) WITH CHECK (workspace_id = app_workspace_id())', t);
  END LOOP;
END
$$;

-- Memberships: a workspace's members, or a user's own memberships (to list their workspaces).
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY member_visibility ON memberships
  USING (workspace_id = app_workspace_id() OR user_id = app_user_id())
  WITH CHECK (workspace_id = app_workspace_id());

-- Workspaces: the current one, or those the current user belongs to.
ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_visibility ON workspaces
  USING (id = app_workspace_id() OR id IN (SELECT m.workspace_id FROM memberships m WHERE m.user_id = app_user_id()))
  WITH CHECK (id = app_workspace_id());

-- Audit entries of the current workspace, or instance-level entries about the current user.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_visibility ON audit_log
  USING (workspace_id = app_workspace_id() OR (workspace_id IS NULL AND user_id = app_user_id()))
  WITH CHECK (workspace_id IS NULL OR workspace_id = app_workspace_id());

-- The few lookups that must cross tenants, as narrow SECURITY DEFINER functions owned by the
-- migrating role: authenticating an API key (before its workspace is known) and the
-- operator's CLI finding a workspace by name.
CREATE FUNCTION auth_api_key_by_prefix(key_prefix text)
  RETURNS TABLE (id uuid, workspace_id uuid, key_hash bytea, scopes text[], expires_at timestamptz, revoked_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT id, workspace_id, key_hash, scopes, expires_at, revoked_at FROM api_keys WHERE prefix = key_prefix $$;

CREATE FUNCTION auth_touch_api_key(key_id uuid) RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = public AS
  $$ UPDATE api_keys SET last_used_at = now() WHERE id = key_id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') $$;

-- Names may repeat across tenants: returns every match (the CLI refuses an ambiguous name).
CREATE FUNCTION system_workspace_by_name(workspace_name text) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT id FROM workspaces WHERE lower(name) = lower(workspace_name) OR id::text = lower(workspace_name) ORDER BY created_at $$;

-- Post counts for the workspace list, only for workspaces the current user belongs to.
CREATE FUNCTION workspace_post_count(ws uuid) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT count(*) FROM posts WHERE workspace_id = ws
       AND (ws = app_workspace_id() OR EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = ws AND m.user_id = app_user_id())) $$;

-- Workspaces nobody owns (created by the operator's CLI or the demo seed before any account).
CREATE FUNCTION system_unowned_workspaces() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT w.id FROM workspaces w WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = w.id AND m.role = 'owner') $$;

CREATE FUNCTION system_workspace_count() RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT count(*) FROM workspaces $$;

REVOKE ALL ON FUNCTION auth_api_key_by_prefix(text), auth_touch_api_key(uuid), system_workspace_by_name(text), workspace_post_count(uuid),
  system_unowned_workspaces(), system_workspace_count() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_api_key_by_prefix(text), auth_touch_api_key(uuid), system_workspace_by_name(text), workspace_post_count(uuid),
  system_unowned_workspaces(), system_workspace_count() TO socialpulse_app;
