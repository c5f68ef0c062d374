-- OAuth 2.0 authorization-code flows (issue 7, credentials).
--
-- A flow starts in a workspace (an authenticated API call) and ends at the platform's redirect
-- to the callback, which carries only `code` and `state`: the callback cannot know the workspace
-- before it has consumed the state, so consuming it is a narrow SECURITY DEFINER function that
-- returns the flow's row once (single use, unexpired) and nothing else.

ALTER TABLE oauth_states
  ADD COLUMN instance text,
  ADD COLUMN poll_minutes integer NOT NULL DEFAULT 30 CHECK (poll_minutes BETWEEN 5 AND 1440),
  ADD COLUMN return_to text,
  ADD COLUMN scopes text;

CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);

CREATE FUNCTION oauth_consume_state(presented_hash bytea)
  RETURNS TABLE (workspace_id uuid, user_id uuid, platform text, code_verifier_sealed text, redirect_uri text,
                 instance text, poll_minutes integer, return_to text, scopes text, expired boolean)
  LANGUAGE sql SECURITY DEFINER SET search_path = public AS
  $$ UPDATE oauth_states s SET used_at = now()
       WHERE s.state_hash = presented_hash AND s.used_at IS NULL
       RETURNING s.workspace_id, s.user_id, s.platform, s.code_verifier_sealed, s.redirect_uri,
                 s.instance, s.poll_minutes, s.return_to, s.scopes, s.expires_at <= now() $$;

-- Flows nobody finished: kept a day for the audit trail of a failed connection, then dropped.
CREATE FUNCTION oauth_purge_states() RETURNS bigint
  LANGUAGE sql SECURITY DEFINER SET search_path = public AS
  $$ WITH gone AS (DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day' RETURNING 1) SELECT count(*) FROM gone $$;

-- OAuth clients registered dynamically with a platform instance (Mastodon's POST /api/v1/apps):
-- one per instance and redirect URI, shared by every workspace of this SocialPulse.
CREATE TABLE oauth_clients (
  platform text NOT NULL,
  instance text NOT NULL,
  redirect_uri text NOT NULL,
  client_id text NOT NULL,
  client_secret_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (platform, instance, redirect_uri)
);

REVOKE ALL ON FUNCTION oauth_consume_state(bytea), oauth_purge_states() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oauth_consume_state(bytea), oauth_purge_states() TO socialpulse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_clients TO socialpulse_app;
