-- LLM budgets (issue 6): the chunks of one workspace run at once (one per requester), and each
-- checked the month's traced cost plus the most it may cost on its own, so together they could
-- spend past the budget. A chunk (or a job summary) now holds the most it may cost here, from
-- its check until its calls' traces are stored; the check counts the workspace's live holds and
-- runs under a per-workspace advisory lock. A hold outlives a crashed worker by at most its
-- expiry (the chunk job's own hard limit), during which it keeps counting: on the safe side.
CREATE TABLE llm_budget_holds (
  holder text PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  amount_usd numeric(20, 9) NOT NULL CHECK (amount_usd >= 0),
  expires_at timestamptz NOT NULL
);
CREATE INDEX llm_budget_holds_workspace ON llm_budget_holds (workspace_id, expires_at);
ALTER TABLE llm_budget_holds ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llm_budget_holds
  USING (workspace_id = app_workspace_id()) WITH CHECK (workspace_id = app_workspace_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON llm_budget_holds TO socialpulse_app;
