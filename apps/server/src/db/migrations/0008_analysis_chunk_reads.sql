-- Analysis jobs (issue 6): the two reads of a chunk's life that grew with the workspace.
-- Under row-level security every query on a tenant table also carries `workspace_id = ...`,
-- and with that the planner intersected the workspace's index (every post, every result of
-- the workspace) with the primary key: measured in a workspace of 100,000 posts, reading a
-- chunk's 100 posts took 6.3 ms instead of 0.6 ms, and an analysis's aggregates (eight reads
-- of its results) ~35 ms instead of ~8 ms, the latter inside the transaction of its last
-- chunk, holding a worker slot (the last seconds of the 100-user benchmark ran 7 of 10 chunks
-- at once). Same answers: the aggregates read the results once; the posts are looked up by
-- primary key, in the chunk's order.

CREATE OR REPLACE FUNCTION analysis_aggregates(p_analysis uuid) RETURNS jsonb
  LANGUAGE sql STABLE AS $$
  WITH r AS MATERIALIZED (
    SELECT sentiment_label, sentiment_score, llm_sentiment, llm_status, topic, category, local -> 'categories' AS categories,
           local -> 'keywords' AS keywords, (local ->> 'toxic')::boolean AS toxic
      FROM analysis_results WHERE analysis_id = p_analysis
  )
  SELECT jsonb_build_object(
    'sentiment', (SELECT coalesce(jsonb_object_agg(coalesce(sentiment_label, 'none'), n), '{}') FROM (SELECT sentiment_label, count(*) n FROM r GROUP BY 1) s),
    'llm_sentiment', (SELECT coalesce(jsonb_object_agg(llm_sentiment, n), '{}') FROM (SELECT llm_sentiment, count(*) n FROM r WHERE llm_sentiment IS NOT NULL GROUP BY 1) s),
    'mean_score', (SELECT round(avg(sentiment_score)::numeric, 4) FROM r),
    'top_topics', (SELECT coalesce(jsonb_agg(jsonb_build_object('topic', topic, 'count', n) ORDER BY n DESC, topic), '[]') FROM (SELECT lower(topic) topic, count(*) n FROM r WHERE topic IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) t),
    'categories', (SELECT coalesce(jsonb_object_agg(c, n), '{}') FROM (SELECT c, count(*) n FROM r,
        LATERAL (SELECT r.category AS c WHERE r.category IS NOT NULL UNION SELECT jsonb_array_elements_text(coalesce(r.categories, '[]'))) x
        GROUP BY 1) s),
    'top_keywords', (SELECT coalesce(jsonb_agg(jsonb_build_object('keyword', k, 'count', n) ORDER BY n DESC, k), '[]') FROM (SELECT k, count(*) n FROM r,
        LATERAL jsonb_array_elements_text(coalesce(r.keywords, '[]')) k GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) t),
    'toxic', (SELECT count(*) FROM r WHERE toxic),
    'unlabelled', (SELECT count(*) FROM r WHERE llm_status = 'unlabelled')
  ) $$;

CREATE OR REPLACE FUNCTION analysis_chunk_start(p_workspace uuid, p_analysis uuid, p_seq integer) RETURNS jsonb
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
    -- One primary-key lookup per post id: with `p.id = ANY (...)` the planner also read the
    -- workspace's index (all of its posts) and intersected the two.
    'posts', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'text', p.text, 'language', p.language) ORDER BY u.ord), '[]')
                FROM unnest(v_post_ids) WITH ORDINALITY AS u(id, ord) JOIN posts p ON p.id = u.id
               WHERE p.workspace_id = p_workspace),
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
