-- Collection (issue 7): connected platform accounts and their credentials, sync runs with what
-- could not be collected, the metric-refresh plan, failed operations (dead letters) and
-- webhook deliveries.

CREATE TABLE platform_connections (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  platform text NOT NULL,
  account_id bigint REFERENCES platform_accounts (id) ON DELETE SET NULL,
  external_account_id text,
  handle text,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'platform_auth_expired', 'paused', 'error', 'disconnected')),
  -- AES-256-GCM sealed JSON {access_token, refresh_token, token_type, scope}; never returned by the API.
  credentials_sealed text,
  token_expires_at timestamptz,
  scopes text[] NOT NULL DEFAULT '{}',
  -- The connector's incremental cursor (opaque to everything else).
  cursor jsonb,
  poll_minutes integer NOT NULL DEFAULT 30 CHECK (poll_minutes BETWEEN 5 AND 1440),
  next_sync_at timestamptz,
  last_sync_at timestamptz,
  last_error jsonb,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX platform_connections_account ON platform_connections (workspace_id, platform, external_account_id) WHERE external_account_id IS NOT NULL;
CREATE INDEX platform_connections_due ON platform_connections (next_sync_at) WHERE status = 'active';
CREATE INDEX platform_connections_external ON platform_connections (platform, external_account_id);

-- OAuth authorization-code flows in progress: single use, short-lived; the state is stored hashed.
CREATE TABLE oauth_states (
  state_hash bytea PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  platform text NOT NULL,
  code_verifier_sealed text,
  redirect_uri text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

CREATE TABLE sync_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  connection_id uuid NOT NULL REFERENCES platform_connections (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('posts', 'metrics')),
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'webhook', 'replay')),
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'partial', 'failed')),
  requests integer NOT NULL DEFAULT 0,
  posts_collected integer NOT NULL DEFAULT 0,
  snapshots integer NOT NULL DEFAULT 0,
  skipped integer NOT NULL DEFAULT 0,
  -- What could not be collected and why: [{"what", "reason", "detail", "count"}].
  gaps jsonb NOT NULL DEFAULT '[]',
  error jsonb,
  queued_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, queued_at DESC);

-- When each collected post's metrics are next refreshed: at ages 1 h, 6 h, 24 h, 7 d, then daily.
CREATE TABLE post_refresh_schedule (
  post_id bigint PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  connection_id uuid NOT NULL REFERENCES platform_connections (id) ON DELETE CASCADE,
  stage smallint NOT NULL DEFAULT 0,
  due_at timestamptz NOT NULL
);
CREATE INDEX post_refresh_due ON post_refresh_schedule (connection_id, due_at);

-- Operations that failed for good: replayable (`socialpulse dlq list|replay`). No secrets inside.
CREATE TABLE dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  connection_id uuid REFERENCES platform_connections (id) ON DELETE CASCADE,
  operation text NOT NULL,
  request jsonb NOT NULL,
  error jsonb NOT NULL,
  attempts integer NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'discarded')),
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz
);
CREATE INDEX dead_letters_open ON dead_letters (workspace_id, status, id);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['platform_connections', 'oauth_states', 'sync_runs', 'post_refresh_schedule', 'dead_letters'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (workspace_id = app_workspace_id()) WITH CHECK (workspace_id = app_workspace_id())', t);
  END LOOP;
END
$$;

-- Webhook deliveries arrive before anyone knows the workspace: a system table the receivers
-- append to (deduplicated by a hash of what was signed) and the worker processes.
CREATE TABLE webhook_deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  platform text NOT NULL,
  delivery_key text NOT NULL UNIQUE,
  signed_at timestamptz,
  received_at timestamptz NOT NULL DEFAULT now(),
  payload jsonb,
  raw text,
  status text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
  -- Connections whose sync the delivery triggered.
  connections uuid[] NOT NULL DEFAULT '{}',
  processed_at timestamptz,
  error jsonb
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (id) WHERE status = 'received';

-- The webhook processor's cross-tenant step: which connections an event concerns, and marking
-- them due now. Ids only.
CREATE FUNCTION webhook_connections_due(p_platform text, p_external_ids text[]) RETURNS SETOF uuid
  LANGUAGE sql SECURITY DEFINER SET search_path = public AS
  $$ UPDATE platform_connections SET next_sync_at = now(), updated_at = now()
      WHERE platform = p_platform AND external_account_id = ANY(p_external_ids) AND status = 'active'
      RETURNING id $$;
-- A WebSub (YouTube) subscription check: do we collect this channel at all?
CREATE FUNCTION webhook_has_connection(p_platform text, p_external_id text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT EXISTS (SELECT 1 FROM platform_connections WHERE platform = p_platform AND external_account_id = p_external_id AND status <> 'disconnected') $$;
REVOKE ALL ON FUNCTION webhook_connections_due(text, text[]), webhook_has_connection(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_connections_due(text, text[]), webhook_has_connection(text, text) TO socialpulse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO socialpulse_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM socialpulse_app;
