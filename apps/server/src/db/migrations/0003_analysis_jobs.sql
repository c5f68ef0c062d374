-- Analysis jobs (issue 6): analyses split into chunks, per-post results, progress events,
-- the fairness backlog the scheduler reads, per-workspace LLM settings and AI call traces.
-- The queue itself (claims, leases, retries, dead letters) lives in pg-boss's own schema,
-- installed at start by db/job-queue.ts.

CREATE TABLE analyses (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  requested_by uuid REFERENCES users (id) ON DELETE SET NULL,
  api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
  -- Whose turn it is: one chunk at a time per key ('user:<id>' or 'key:<id>').
  fairness_key text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'paused_budget', 'completed', 'completed_with_errors', 'failed', 'cancelled')),
  engines text[] NOT NULL,
  selection jsonb NOT NULL,
  options jsonb NOT NULL,
  priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10),
  chunk_size integer NOT NULL CHECK (chunk_size > 0),
  total_posts integer NOT NULL CHECK (total_posts >= 0),
  chunk_count integer NOT NULL CHECK (chunk_count >= 0),
  chunks_done integer NOT NULL DEFAULT 0,
  chunks_failed integer NOT NULL DEFAULT 0,
  posts_processed integer NOT NULL DEFAULT 0,
  posts_failed integer NOT NULL DEFAULT 0,
  -- Sum of the chunks' work, for estimates of the time left.
  work_ms bigint NOT NULL DEFAULT 0,
  aggregates jsonb,
  summary text,
  error jsonb,
  input_tokens bigint NOT NULL DEFAULT 0,
  output_tokens bigint NOT NULL DEFAULT 0,
  cost_usd numeric(20, 9) NOT NULL DEFAULT 0,
  unpriced_calls integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analyses_workspace_created ON analyses (workspace_id, created_at DESC, id DESC);

CREATE TABLE analysis_chunks (
  analysis_id uuid NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  seq integer NOT NULL CHECK (seq >= 0),
  post_ids bigint[] NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'queued', 'done', 'dead', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  error jsonb,
  work_ms integer,
  -- The LLM's summary of this chunk, input to the job's summary.
  summary text,
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (analysis_id, seq)
);
CREATE INDEX analysis_chunks_pending ON analysis_chunks (analysis_id, seq) WHERE status = 'pending';

CREATE TABLE analysis_results (
  analysis_id uuid NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  chunk_seq integer NOT NULL,
  language text,
  sentiment_label text CHECK (sentiment_label IN ('negative', 'neutral', 'positive')),
  sentiment_score real,
  sentiment jsonb,
  local jsonb,
  llm_status text CHECK (llm_status IN ('labelled', 'unlabelled')),
  topic text,
  category text,
  llm_sentiment text CHECK (llm_sentiment IN ('negative', 'neutral', 'positive')),
  rationale text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (analysis_id, post_id)
);
CREATE INDEX analysis_results_label ON analysis_results (analysis_id, sentiment_label);
CREATE INDEX analysis_results_topic ON analysis_results (analysis_id, topic) WHERE topic IS NOT NULL;
CREATE INDEX analysis_results_post ON analysis_results (workspace_id, post_id);

-- Progress events: the SSE/WebSocket stream replays from here after Last-Event-ID.
CREATE TABLE analysis_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  analysis_id uuid NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analysis_events_analysis ON analysis_events (analysis_id, id);

-- The scheduler's backlog: analyses with chunks still to run, per fairness key. Holds ids only
-- (no tenant data), so the scheduler reads it across workspaces without row-level security.
CREATE TABLE analysis_backlog (
  analysis_id uuid PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  fairness_key text NOT NULL,
  priority integer NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX analysis_backlog_key ON analysis_backlog (fairness_key, priority DESC, created_at, analysis_id);

-- One row per fairness key: locked while deciding that key's next chunk, so a submission and a
-- finishing chunk never both (or neither) hand the key its next turn.
CREATE TABLE analysis_turns (
  fairness_key text PRIMARY KEY,
  -- The chunk job this key has in the queue (queued, active or retrying), if any.
  job_id uuid,
  analysis_id uuid,
  seq integer,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Lanes: an instance admin may move a user or a workspace to a faster lane.
ALTER TABLE workspaces ADD COLUMN analysis_priority integer NOT NULL DEFAULT 0 CHECK (analysis_priority BETWEEN 0 AND 10);
ALTER TABLE users ADD COLUMN analysis_priority integer NOT NULL DEFAULT 0 CHECK (analysis_priority BETWEEN 0 AND 10);

-- Per-workspace analysis settings: category rules (local matcher and LLM taxonomy) and the LLM.
CREATE TABLE workspace_analysis_settings (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
  -- [{"id": "billing", "keywords": ["invoice"], "hashtags": ["billing"]}]
  categories jsonb NOT NULL DEFAULT '[]',
  llm_base_url text,
  llm_model text,
  -- AES-256-GCM sealed by the secret box (key id inside); never returned by the API.
  llm_api_key_sealed text,
  llm_timeout_ms integer CHECK (llm_timeout_ms BETWEEN 1000 AND 600000),
  llm_max_concurrency integer CHECK (llm_max_concurrency BETWEEN 1 AND 64),
  -- NULL: no limit. Checked before every LLM call against this month's traced cost.
  llm_monthly_budget_usd numeric(14, 4) CHECK (llm_monthly_budget_usd >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every model call, local engine or LLM. Written in batches; partitioned by month so that usage
-- analytics scan only the months asked and old months are dropped whole. Attribute names follow
-- the OpenTelemetry GenAI conventions (gen_ai.*) in the column comments.
CREATE TABLE ai_traces (
  id bigint GENERATED ALWAYS AS IDENTITY,
  started_at timestamptz NOT NULL,
  workspace_id uuid NOT NULL,
  user_id uuid,
  analysis_id uuid,
  chunk_seq integer,
  operation text NOT NULL,
  provider text NOT NULL,
  request_model text NOT NULL,
  response_model text,
  engine_version text,
  items integer NOT NULL DEFAULT 0,
  input_tokens integer,
  output_tokens integer,
  cached_input_tokens integer,
  cost_usd numeric(20, 9),
  priced boolean NOT NULL,
  price_version text,
  duration_ms integer NOT NULL,
  status text NOT NULL CHECK (status IN ('ok', 'error')),
  error_type text,
  PRIMARY KEY (started_at, id)
) PARTITION BY RANGE (started_at);
COMMENT ON COLUMN ai_traces.operation IS 'gen_ai.operation.name';
COMMENT ON COLUMN ai_traces.provider IS 'gen_ai.provider.name';
COMMENT ON COLUMN ai_traces.request_model IS 'gen_ai.request.model';
COMMENT ON COLUMN ai_traces.response_model IS 'gen_ai.response.model';
COMMENT ON COLUMN ai_traces.input_tokens IS 'gen_ai.usage.input_tokens';
COMMENT ON COLUMN ai_traces.output_tokens IS 'gen_ai.usage.output_tokens';
COMMENT ON COLUMN ai_traces.cached_input_tokens IS 'gen_ai.usage.cache_read.input_tokens';
COMMENT ON COLUMN ai_traces.error_type IS 'error.type';
CREATE INDEX ai_traces_workspace ON ai_traces (workspace_id, started_at);
CREATE INDEX ai_traces_analysis ON ai_traces (analysis_id) WHERE analysis_id IS NOT NULL;
-- Rows outside every monthly partition land here rather than failing the batch.
CREATE TABLE ai_traces_default PARTITION OF ai_traces DEFAULT;

-- Creates the monthly partitions from `from_month` for `months` months (idempotent). The worker
-- calls it at start and daily, so the coming months exist before they are written.
CREATE FUNCTION ai_traces_ensure_partitions(from_month date, months integer) RETURNS void
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
      END IF;
    END IF;
  END LOOP;
END
$$;
SELECT ai_traces_ensure_partitions((now() - interval '1 month')::date, 4);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['analyses', 'analysis_chunks', 'analysis_results', 'analysis_events', 'workspace_analysis_settings', 'ai_traces'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (workspace_id = app_workspace_id()) WITH CHECK (workspace_id = app_workspace_id())', t);
  END LOOP;
END
$$;

-- The scheduler's cross-tenant reads, narrow and id-only.
CREATE FUNCTION analysis_workspace_id(analysis uuid) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT workspace_id FROM analyses WHERE id = analysis $$;

-- The lane of a requester: the faster of the user's and the workspace's.
CREATE FUNCTION analysis_lane(ws uuid, requester uuid) RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
  $$ SELECT greatest(coalesce((SELECT analysis_priority FROM workspaces WHERE id = ws), 0),
                     coalesce((SELECT analysis_priority FROM users WHERE id = requester), 0)) $$;

-- Takes the first free slot of `slots` session advisory locks of class `lock_class`, trying from
-- `start`; NULL when all are held. One lock at most, in one round trip (see db/job-queue.ts).
CREATE FUNCTION analysis_slot_acquire(lock_class integer, slots integer, start integer) RETURNS integer
  LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  FOR i IN 0 .. slots - 1 LOOP
    IF pg_try_advisory_lock(lock_class, (start + i) % slots) THEN
      RETURN (start + i) % slots;
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION ai_traces_ensure_partitions(date, integer), analysis_workspace_id(uuid), analysis_lane(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ai_traces_ensure_partitions(date, integer), analysis_workspace_id(uuid), analysis_lane(uuid, uuid) TO socialpulse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO socialpulse_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM socialpulse_app;
