-- Analysis jobs (issue 6): an analysis's aggregates are merged from partials its chunks store
-- when they commit (the worker counts them from the results it is writing), instead of read from
-- every result when the last chunk commits. That read ran inside the last chunk's transaction,
-- holding a worker slot: about 8 ms per 1,000 results on an idle machine, 58 ms under the
-- 100-user benchmark's load, and every analysis of that benchmark finishes in its last seconds;
-- a 100,000-post analysis read 100,000 rows there. Merging reads one small object per chunk.
-- Same answers (an integration test compares them with an independent reading of the results).

ALTER TABLE analysis_chunks ADD COLUMN aggregates jsonb;

-- The full reading, kept for analyses with chunks committed before this migration (no partial).
ALTER FUNCTION analysis_aggregates(uuid) RENAME TO analysis_aggregates_from_results;

CREATE FUNCTION analysis_aggregates(p_analysis uuid) RETURNS jsonb
  LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN EXISTS (SELECT 1 FROM analysis_chunks WHERE analysis_id = p_analysis AND status = 'done' AND aggregates IS NULL)
    THEN analysis_aggregates_from_results(p_analysis)
    ELSE (
      WITH p AS MATERIALIZED (SELECT aggregates AS a FROM analysis_chunks WHERE analysis_id = p_analysis AND status = 'done'),
      -- Every count map of the partials, summed in one pass (topics lower-cased, as they always were).
      counts AS MATERIALIZED (
        SELECT f.field, CASE WHEN f.field = 'topics' THEN lower(e.k) ELSE e.k END AS k, sum(e.v::bigint) AS n
          FROM p, unnest(ARRAY['sentiment', 'llm_sentiment', 'topics', 'categories', 'keywords']) AS f(field),
               jsonb_each_text(p.a -> f.field) AS e(k, v)
         GROUP BY 1, 2)
      SELECT jsonb_build_object(
        'sentiment', (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM counts WHERE field = 'sentiment'),
        'llm_sentiment', (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM counts WHERE field = 'llm_sentiment'),
        'mean_score', (SELECT round((sum((p.a ->> 'score_sum')::float8) / nullif(sum((p.a ->> 'score_n')::bigint), 0))::numeric, 4) FROM p),
        'top_topics', (SELECT coalesce(jsonb_agg(jsonb_build_object('topic', k, 'count', n) ORDER BY n DESC, k), '[]') FROM (
            SELECT k, n FROM counts WHERE field = 'topics' ORDER BY n DESC, k LIMIT 10) t),
        'categories', (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM counts WHERE field = 'categories'),
        'top_keywords', (SELECT coalesce(jsonb_agg(jsonb_build_object('keyword', k, 'count', n) ORDER BY n DESC, k), '[]') FROM (
            SELECT k, n FROM counts WHERE field = 'keywords' ORDER BY n DESC, k LIMIT 20) t),
        'toxic', (SELECT coalesce(sum((p.a ->> 'toxic')::bigint), 0) FROM p),
        'unlabelled', (SELECT coalesce(sum((p.a ->> 'unlabelled')::bigint), 0) FROM p)
      ))
  END $$;

-- 0007's function, whole (a function is replaced, not patched); one change: the chunk's row
-- also stores `p_outcome -> 'aggregates'`.
CREATE OR REPLACE FUNCTION analysis_chunk_commit(p_analysis uuid, p_seq integer, p_fairness_key text, p_job uuid, p_attempt integer, p_started_at timestamptz,
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
      attempts = greatest(attempts, p_attempt), started_at = coalesce(started_at, p_started_at, now()),
      aggregates = p_outcome -> 'aggregates'
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

REVOKE ALL ON FUNCTION analysis_aggregates(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analysis_aggregates(uuid) TO socialpulse_app;
