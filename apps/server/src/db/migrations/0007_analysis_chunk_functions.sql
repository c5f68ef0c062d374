-- Analysis jobs (issue 6, ADR 0006): a chunk's database work in a few round trips.
-- The worker used to spend ~24 statements and 2 commits per chunk (claim, posts, settings,
-- results, counters, event, completion, next turn, each its own round trip). These functions
-- keep every rule of 0003 and ADR 0006 (lock order analysis → chunk → turn, one turn per
-- requester, a chunk's results written once) and do each step's statements server-side.
-- All run as the caller (SECURITY INVOKER): row-level security applies as before.
--
-- Channel names are shared with the TypeScript side: 'socialpulse_analysis_events'
-- (ANALYSIS_EVENTS_CHANNEL in db/repos/analyses.repo.ts) and 'socialpulse_chunk_ready'
-- (CHUNK_READY_CHANNEL in db/job-queue.ts).

-- The progress figures every event carries (progressOf in domain/analyses/analyses.service.ts).
CREATE FUNCTION analysis_progress(a analyses) RETURNS jsonb
  LANGUAGE sql IMMUTABLE AS
  $$ SELECT jsonb_build_object('status', a.status, 'chunk_count', a.chunk_count, 'chunks_done', a.chunks_done, 'chunks_failed', a.chunks_failed,
                               'posts_processed', a.posts_processed, 'posts_failed', a.posts_failed, 'total_posts', a.total_posts) $$;

-- Appends a progress event and announces it to every process (delivered at commit).
CREATE FUNCTION analysis_event_append(p_analysis uuid, p_workspace uuid, p_type text, p_data jsonb) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO analysis_events (analysis_id, workspace_id, type, data) VALUES (p_analysis, p_workspace, p_type, p_data) RETURNING id INTO v_id;
  PERFORM pg_notify('socialpulse_analysis_events', p_analysis::text || ':' || v_id::text);
  RETURN v_id;
END
$$;

-- Distribution, top topics, categories, keywords and mean score of an analysis's results.
CREATE FUNCTION analysis_aggregates(p_analysis uuid) RETURNS jsonb
  LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'sentiment', (SELECT coalesce(jsonb_object_agg(coalesce(sentiment_label, 'none'), n), '{}') FROM (SELECT sentiment_label, count(*) n FROM analysis_results WHERE analysis_id = p_analysis GROUP BY 1) s),
    'llm_sentiment', (SELECT coalesce(jsonb_object_agg(llm_sentiment, n), '{}') FROM (SELECT llm_sentiment, count(*) n FROM analysis_results WHERE analysis_id = p_analysis AND llm_sentiment IS NOT NULL GROUP BY 1) s),
    'mean_score', (SELECT round(avg(sentiment_score)::numeric, 4) FROM analysis_results WHERE analysis_id = p_analysis),
    'top_topics', (SELECT coalesce(jsonb_agg(jsonb_build_object('topic', topic, 'count', n) ORDER BY n DESC, topic), '[]') FROM (SELECT lower(topic) topic, count(*) n FROM analysis_results WHERE analysis_id = p_analysis AND topic IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) t),
    'categories', (SELECT coalesce(jsonb_object_agg(c, n), '{}') FROM (SELECT c, count(*) n FROM analysis_results r,
        LATERAL (SELECT r.category AS c WHERE r.category IS NOT NULL UNION SELECT jsonb_array_elements_text(coalesce(r.local -> 'categories', '[]'))) x
        WHERE analysis_id = p_analysis GROUP BY 1) s),
    'top_keywords', (SELECT coalesce(jsonb_agg(jsonb_build_object('keyword', k, 'count', n) ORDER BY n DESC, k), '[]') FROM (SELECT k, count(*) n FROM analysis_results r,
        LATERAL jsonb_array_elements_text(coalesce(r.local -> 'keywords', '[]')) k WHERE analysis_id = p_analysis GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) t),
    'toxic', (SELECT count(*) FROM analysis_results WHERE analysis_id = p_analysis AND (local ->> 'toxic')::boolean),
    'unlabelled', (SELECT count(*) FROM analysis_results WHERE analysis_id = p_analysis AND llm_status = 'unlabelled')
  ) $$;

-- Marks the analysis finished once every chunk is done or dead, with its aggregates and a final
-- event; returns the final status, or NULL while chunks remain (or when it was cancelled). The
-- caller holds the analysis's row lock.
CREATE FUNCTION analysis_finalize_if_done(p_analysis uuid) RETURNS text
  LANGUAGE plpgsql AS $$
DECLARE
  a analyses;
  v_aggregates jsonb;
  v_status text;
BEGIN
  SELECT * INTO a FROM analyses WHERE id = p_analysis;
  IF NOT FOUND OR a.status = 'cancelled' OR a.chunks_done + a.chunks_failed < a.chunk_count THEN
    RETURN NULL;
  END IF;
  v_aggregates := analysis_aggregates(p_analysis);
  v_status := CASE WHEN a.chunks_failed = 0 THEN 'completed' WHEN a.chunks_done = 0 THEN 'failed' ELSE 'completed_with_errors' END;
  UPDATE analyses SET status = v_status, updated_at = now(), finished_at = now(), aggregates = v_aggregates,
      error = CASE WHEN a.chunks_failed > 0 THEN jsonb_build_object('code', 'chunks_dead',
        'message', format('%s of %s chunk(s) failed after every retry', a.chunks_failed, a.chunk_count), 'chunks_failed', a.chunks_failed) END
    WHERE id = p_analysis RETURNING * INTO a;
  PERFORM analysis_event_append(a.id, a.workspace_id, v_status, analysis_progress(a) || jsonb_build_object('aggregates', v_aggregates));
  RETURN v_status;
END
$$;

-- A requester's turn (scheduler.ts): locks the turn row, and unless another job holds the turn,
-- marks the requester's next chunk queued (faster lane first, then oldest analysis, chunks in
-- order) and records the job id the caller must send to pg-boss in the same transaction.
-- p_finishing_job: the job handing the turn on (NULL for a submission, retry or cancel, which
-- hand out a turn only when the requester has none). Returns {job_id, queued} and, when a new
-- job is to be sent, the chunk it is for.
CREATE FUNCTION analysis_turn_advance(p_key text, p_finishing_job uuid) RETURNS jsonb
  LANGUAGE plpgsql AS $$
DECLARE
  t analysis_turns;
  b analysis_backlog;
  v_seq integer;
  v_job uuid;
  -- The backlog spans the requester's workspaces; each chunk is claimed in its own scope.
  v_scope text := coalesce(current_setting('app.workspace_id', true), '');
BEGIN
  -- ON CONFLICT DO UPDATE locks the existing row like SELECT ... FOR UPDATE would.
  INSERT INTO analysis_turns (fairness_key) VALUES (p_key)
    ON CONFLICT (fairness_key) DO UPDATE SET fairness_key = EXCLUDED.fairness_key
    RETURNING * INTO t;
  -- A submission while a turn is out (the finishing chunk will pick the new work up), or a
  -- stale finisher whose job was replaced: not its call.
  IF t.job_id IS NOT NULL AND (p_finishing_job IS NULL OR t.job_id <> p_finishing_job) THEN
    RETURN jsonb_build_object('job_id', t.job_id, 'queued', false);
  END IF;
  LOOP
    SELECT * INTO b FROM analysis_backlog WHERE fairness_key = p_key ORDER BY priority DESC, created_at, analysis_id LIMIT 1;
    IF NOT FOUND THEN
      UPDATE analysis_turns SET job_id = NULL, analysis_id = NULL, seq = NULL, updated_at = now() WHERE fairness_key = p_key;
      RETURN jsonb_build_object('job_id', NULL, 'queued', false);
    END IF;
    PERFORM set_config('app.workspace_id', b.workspace_id::text, true);
    UPDATE analysis_chunks c SET status = 'queued'
      WHERE (c.analysis_id, c.seq) = (SELECT analysis_id, seq FROM analysis_chunks WHERE analysis_id = b.analysis_id AND status = 'pending' ORDER BY seq LIMIT 1)
      RETURNING c.seq INTO v_seq;
    PERFORM set_config('app.workspace_id', v_scope, true);
    EXIT WHEN v_seq IS NOT NULL;
    DELETE FROM analysis_backlog WHERE analysis_id = b.analysis_id;
  END LOOP;
  v_job := gen_random_uuid();
  UPDATE analysis_turns SET job_id = v_job, analysis_id = b.analysis_id, seq = v_seq, updated_at = now() WHERE fairness_key = p_key;
  -- Wakes idle workers at commit, when the job the caller sends is visible.
  PERFORM pg_notify('socialpulse_chunk_ready', '');
  RETURN jsonb_build_object('job_id', v_job, 'queued', true, 'analysis_id', b.analysis_id, 'workspace_id', b.workspace_id, 'seq', v_seq, 'priority', b.priority);
END
$$;

-- What a worker needs to run a claimed chunk, in one round trip and without a transaction of
-- its own: sets the tenant scope for this statement's implicit transaction, checks that the
-- chunk is still queued and its analysis still runs (NULL otherwise), and returns the analysis,
-- the chunk's post ids and texts, the workspace's analysis settings and, when an LLM budget is
-- set, this month's traced cost. It writes only for an analysis's first chunk (queued →
-- running, the 'started' event); the attempt itself is recorded when it commits or fails.
CREATE FUNCTION analysis_chunk_start(p_workspace uuid, p_analysis uuid, p_seq integer) RETURNS jsonb
  LANGUAGE plpgsql AS $$
DECLARE
  a analyses;
  s workspace_analysis_settings;
  v_post_ids bigint[];
BEGIN
  PERFORM set_config('app.workspace_id', p_workspace::text, true), set_config('app.user_id', '', true);
  SELECT c.post_ids INTO v_post_ids FROM analysis_chunks c WHERE c.analysis_id = p_analysis AND c.seq = p_seq AND c.status = 'queued';
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT * INTO a FROM analyses WHERE id = p_analysis AND status IN ('queued', 'running');
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF a.status = 'queued' THEN
    -- Re-checked under the row lock: a cancel may have won the race.
    UPDATE analyses SET status = 'running', started_at = coalesce(started_at, now()), updated_at = now()
      WHERE id = p_analysis AND status = 'queued' RETURNING * INTO a;
    IF NOT FOUND THEN
      SELECT * INTO a FROM analyses WHERE id = p_analysis AND status IN ('queued', 'running');
      IF NOT FOUND THEN
        RETURN NULL;
      END IF;
    ELSE
      PERFORM analysis_event_append(a.id, a.workspace_id, 'started', analysis_progress(a));
    END IF;
  END IF;
  SELECT * INTO s FROM workspace_analysis_settings WHERE workspace_id = p_workspace;
  RETURN jsonb_build_object(
    'analysis', jsonb_build_object('id', a.id, 'workspace_id', a.workspace_id, 'requested_by', a.requested_by, 'status', a.status,
                                   'engines', to_jsonb(a.engines), 'options', a.options),
    'post_ids', to_jsonb(v_post_ids),
    'posts', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'text', p.text, 'language', p.language)), '[]')
                FROM posts p WHERE p.workspace_id = p_workspace AND p.id = ANY (v_post_ids)),
    -- Money as text: a JSON number would reach JavaScript as a float.
    'settings', CASE WHEN s.workspace_id IS NOT NULL THEN jsonb_build_object(
        'workspace_id', s.workspace_id, 'categories', s.categories, 'llm_base_url', s.llm_base_url, 'llm_model', s.llm_model,
        'llm_api_key_sealed', s.llm_api_key_sealed, 'llm_timeout_ms', s.llm_timeout_ms, 'llm_max_concurrency', s.llm_max_concurrency,
        'llm_monthly_budget_usd', s.llm_monthly_budget_usd::text, 'updated_at', s.updated_at) END,
    'month_to_date_cost_usd', CASE WHEN s.llm_monthly_budget_usd IS NOT NULL AND 'llm' = ANY (a.engines) THEN (
        SELECT coalesce(sum(cost_usd), 0)::text FROM ai_traces
         WHERE workspace_id = p_workspace AND started_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') END
  );
END
$$;

-- Commits a chunk's outcome in the caller's transaction (scoped to the chunk's workspace): the
-- calls' traces, the results (a post already written for this analysis is left alone), the
-- chunk's end and attempt, the analysis's counters, the progress event, the analysis's end if
-- this was its last chunk, and the requester's next turn. If the chunk is no longer queued
-- (cancelled while running, or committed by another worker after a lapsed lease) only the
-- traces are written and the turn is handed on. The caller then completes the pg-boss job
-- (fenced to its attempt; no job completed means the whole transaction rolls back) and sends
-- the next turn's job.
--   p_outcome: {processed, failed, work_ms, summary, error, input_tokens, output_tokens,
--               cost_usd (decimal string), unpriced_calls}
--   p_results: [{postId, language, sentimentLabel, ...}] (ResultRow in analyses.repo.ts)
--   p_traces:  [{startedAt, workspaceId, ...}] (TraceRecord in traces.repo.ts)
CREATE FUNCTION analysis_chunk_commit(p_analysis uuid, p_seq integer, p_fairness_key text, p_job uuid, p_attempt integer, p_started_at timestamptz,
    p_outcome jsonb, p_results jsonb, p_traces jsonb) RETURNS jsonb
  LANGUAGE plpgsql AS $$
DECLARE
  a analyses;
  v_workspace uuid;
  v_chunk_status text;
  v_finished text;
BEGIN
  IF jsonb_array_length(p_traces) > 0 THEN
    INSERT INTO ai_traces (started_at, workspace_id, user_id, analysis_id, chunk_seq, operation, provider, request_model, response_model, engine_version,
        items, input_tokens, output_tokens, cached_input_tokens, cost_usd, priced, price_version, duration_ms, status, error_type)
    SELECT t."startedAt", t."workspaceId", t."userId", t."analysisId", t."chunkSeq", t.operation, t.provider, t."requestModel", t."responseModel",
        t."engineVersion", t.items, t."inputTokens", t."outputTokens", t."cachedInputTokens", t."costUsd", t.priced, t."priceVersion",
        round(t."durationMs")::int, t.status, t."errorType"
      FROM jsonb_to_recordset(p_traces) AS t("startedAt" timestamptz, "workspaceId" uuid, "userId" uuid, "analysisId" uuid, "chunkSeq" int,
        operation text, provider text, "requestModel" text, "responseModel" text, "engineVersion" text, items int, "inputTokens" int,
        "outputTokens" int, "cachedInputTokens" int, "costUsd" numeric, priced boolean, "priceVersion" text, "durationMs" float8,
        status text, "errorType" text);
  END IF;
  -- Lock order everywhere: analysis, then chunk, then the requester's turn.
  SELECT workspace_id INTO v_workspace FROM analyses WHERE id = p_analysis FOR UPDATE;
  SELECT status INTO v_chunk_status FROM analysis_chunks WHERE analysis_id = p_analysis AND seq = p_seq FOR UPDATE;
  IF v_chunk_status IS DISTINCT FROM 'queued' THEN
    RETURN jsonb_build_object('committed', false, 'chunk_status', coalesce(v_chunk_status, 'missing'),
                              'turn', analysis_turn_advance(p_fairness_key, p_job));
  END IF;
  INSERT INTO analysis_results (analysis_id, workspace_id, post_id, chunk_seq, language, sentiment_label, sentiment_score, sentiment, local,
      llm_status, topic, category, llm_sentiment, rationale, error)
  SELECT p_analysis, v_workspace, r."postId", p_seq, r.language, r."sentimentLabel", r."sentimentScore", r.sentiment, r.local,
      r."llmStatus", r.topic, r.category, r."llmSentiment", r.rationale, r.error
    FROM jsonb_to_recordset(p_results) AS r("postId" bigint, language text, "sentimentLabel" text, "sentimentScore" real, sentiment jsonb, local jsonb,
      "llmStatus" text, topic text, category text, "llmSentiment" text, rationale text, error text)
  ON CONFLICT (analysis_id, post_id) DO NOTHING;
  UPDATE analysis_chunks SET status = 'done', finished_at = now(), work_ms = (p_outcome ->> 'work_ms')::int, summary = p_outcome ->> 'summary',
      error = CASE WHEN jsonb_typeof(p_outcome -> 'error') = 'object' THEN p_outcome -> 'error' END,
      attempts = greatest(attempts, p_attempt), started_at = coalesce(started_at, p_started_at, now())
    WHERE analysis_id = p_analysis AND seq = p_seq;
  UPDATE analyses SET
      chunks_done = chunks_done + 1,
      posts_processed = posts_processed + (p_outcome ->> 'processed')::int, posts_failed = posts_failed + (p_outcome ->> 'failed')::int,
      work_ms = work_ms + (p_outcome ->> 'work_ms')::int,
      input_tokens = input_tokens + (p_outcome ->> 'input_tokens')::bigint, output_tokens = output_tokens + (p_outcome ->> 'output_tokens')::bigint,
      cost_usd = cost_usd + (p_outcome ->> 'cost_usd')::numeric, unpriced_calls = unpriced_calls + (p_outcome ->> 'unpriced_calls')::int,
      started_at = coalesce(started_at, now()), updated_at = now()
    WHERE id = p_analysis RETURNING * INTO a;
  PERFORM analysis_event_append(a.id, a.workspace_id, 'chunk_completed',
    analysis_progress(a) || jsonb_build_object('seq', p_seq, 'work_ms', (p_outcome ->> 'work_ms')::int));
  v_finished := analysis_finalize_if_done(p_analysis);
  RETURN jsonb_build_object('committed', true, 'finished_status', v_finished, 'turn', analysis_turn_advance(p_fairness_key, p_job));
END
$$;

REVOKE ALL ON FUNCTION analysis_progress(analyses), analysis_event_append(uuid, uuid, text, jsonb), analysis_aggregates(uuid), analysis_finalize_if_done(uuid),
  analysis_turn_advance(text, uuid), analysis_chunk_start(uuid, uuid, integer),
  analysis_chunk_commit(uuid, integer, text, uuid, integer, timestamptz, jsonb, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analysis_progress(analyses), analysis_event_append(uuid, uuid, text, jsonb), analysis_aggregates(uuid), analysis_finalize_if_done(uuid),
  analysis_turn_advance(text, uuid), analysis_chunk_start(uuid, uuid, integer),
  analysis_chunk_commit(uuid, integer, text, uuid, integer, timestamptz, jsonb, jsonb, jsonb) TO socialpulse_app;
