-- Data model v1: workspaces, platform accounts, posts with metric time series, import runs,
-- audit log. Every tenant table carries workspace_id so row-level security can be added.

CREATE TABLE workspaces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workspaces_name_key ON workspaces (lower(name));

CREATE TABLE platform_accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  platform text NOT NULL,
  handle text NOT NULL,
  external_id text,
  display_name text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX platform_accounts_handle_key ON platform_accounts (workspace_id, platform, lower(handle));

CREATE TABLE posts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  platform text NOT NULL,
  external_id text NOT NULL,
  account_id bigint REFERENCES platform_accounts (id) ON DELETE SET NULL,
  author text,
  text text,
  language text,
  created_at timestamptz NOT NULL,
  url text,
  media_type text,
  likes bigint CHECK (likes >= 0),
  comments bigint CHECK (comments >= 0),
  shares bigint CHECK (shares >= 0),
  views bigint CHECK (views >= 0),
  saves bigint CHECK (saves >= 0),
  impressions bigint CHECK (impressions >= 0),
  metrics_captured_at timestamptz NOT NULL,
  raw jsonb,
  source text NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- 'simple' config: no stemming or stop words, so it works for every language.
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(text, '') || ' ' || coalesce(author, ''))) STORED
);
CREATE UNIQUE INDEX posts_external_key ON posts (workspace_id, platform, external_id);
-- The posts list: newest first with a stable tie-break; filters narrow by platform or account.
CREATE INDEX posts_workspace_created ON posts (workspace_id, created_at DESC, id DESC);
CREATE INDEX posts_workspace_platform_created ON posts (workspace_id, platform, created_at DESC, id DESC);
CREATE INDEX posts_account_created ON posts (account_id, created_at DESC, id DESC) WHERE account_id IS NOT NULL;
CREATE INDEX posts_search ON posts USING gin (search);

CREATE TABLE post_metric_snapshots (
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  captured_at timestamptz NOT NULL,
  likes bigint,
  comments bigint,
  shares bigint,
  views bigint,
  saves bigint,
  impressions bigint,
  PRIMARY KEY (post_id, captured_at)
);

CREATE TABLE imports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  source text NOT NULL,
  file_name text,
  format text NOT NULL,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  records_read bigint NOT NULL DEFAULT 0,
  inserted bigint NOT NULL DEFAULT 0,
  updated bigint NOT NULL DEFAULT 0,
  unchanged bigint NOT NULL DEFAULT 0,
  rejected bigint NOT NULL DEFAULT 0,
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX imports_workspace_started ON imports (workspace_id, started_at DESC);

CREATE TABLE import_rejects (
  import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  file_name text,
  line bigint NOT NULL,
  field text,
  reason text NOT NULL,
  value text,
  PRIMARY KEY (import_id, seq)
);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id uuid REFERENCES workspaces (id) ON DELETE CASCADE,
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip inet,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_workspace_created ON audit_log (workspace_id, created_at DESC);
