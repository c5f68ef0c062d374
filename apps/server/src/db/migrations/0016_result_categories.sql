-- Analysis results (issue 6): the category filter of GET …/results under row-level security, and
-- one read less in every budgeted LLM chunk's start.
--
-- * The filter matched `category = $1 OR local -> 'categories' ? $1`. `?` (jsonb_exists) is not
--   leakproof, so PostgreSQL may not use it in an index condition ahead of the row-level security
--   policy (see 0014): every page scanned the analysis's results, 100,000 of them for a category
--   on 10 (40–70 ms a page; under 0.1 ms with this table: bench/README, "Result filters"). Each
--   result's categories are now also rows of a side table, one per distinct category (the LLM's,
--   and each workspace rule that matched), which the filter reads with `=` (texteq, leakproof) on
--   its key, in post_id order. A trigger fills it from the rows each chunk's results insert adds
--   (written once: ON CONFLICT DO NOTHING leaves only new rows in the transition table); results
--   are never updated. It costs a chunk's commit about 1.5 ms (~124 rows per 100 results).
-- * analysis_chunk_start read this month's traced cost for every chunk of a budgeted LLM
--   analysis; the worker's budget hold reads it again under its lock, and the worker used the
--   start's figure only when no hold was tried (an unpriced model), where it now reads it itself.

CREATE TABLE analysis_result_categories (
  analysis_id uuid NOT NULL,
  workspace_id uuid NOT NULL,
  category text NOT NULL,
  post_id bigint NOT NULL
);
ALTER TABLE analysis_result_categories ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analysis_result_categories
  USING (workspace_id = app_workspace_id()) WITH CHECK (workspace_id = app_workspace_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON analysis_result_categories TO socialpulse_app;

-- The categories a result matches, as `category = c OR categories ? c` would: the LLM's category,
-- and the strings of `local -> 'categories'` (an array of the workspace rules' ids; `?` also
-- matches an object's keys and a lone string, kept for the same answers on any stored value).
CREATE FUNCTION analysis_result_category_keys(p_category text, p_categories jsonb) RETURNS SETOF text
  LANGUAGE sql IMMUTABLE AS $$
  SELECT p_category WHERE p_category IS NOT NULL
  UNION
  SELECT e #>> '{}' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_categories) = 'array' THEN p_categories END) e
   WHERE jsonb_typeof(e) = 'string'
  UNION
  SELECT k FROM jsonb_object_keys(CASE WHEN jsonb_typeof(p_categories) = 'object' THEN p_categories END) k
  UNION
  SELECT p_categories #>> '{}' WHERE jsonb_typeof(p_categories) = 'string'
$$;

-- Runs as the inserting role: the rows it adds pass the same policy as the results they index.
CREATE FUNCTION analysis_result_categories_add() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analysis_result_categories (analysis_id, workspace_id, category, post_id)
  SELECT n.analysis_id, n.workspace_id, k.category, n.post_id
    FROM new_results n, analysis_result_category_keys(n.category, n.local -> 'categories') AS k(category);
  RETURN NULL;
END
$$;

-- The trigger first: it locks out result inserts until this migration commits, so the backfill
-- below sees every result written before it and the trigger every one written after.
CREATE TRIGGER analysis_result_categories_add AFTER INSERT ON analysis_results
  REFERENCING NEW TABLE AS new_results FOR EACH STATEMENT EXECUTE FUNCTION analysis_result_categories_add();

INSERT INTO analysis_result_categories (analysis_id, workspace_id, category, post_id)
SELECT r.analysis_id, r.workspace_id, k.category, r.post_id
  FROM analysis_results r, analysis_result_category_keys(r.category, r.local -> 'categories') AS k(category);

-- Keys after the backfill (one index build, one validating join). The key's index carries the
-- workspace, which the policy reads: a lookup is an index-only scan, cheap enough that with another
-- filter (a label on 1%, a category on 14%) the planner pages through both indexes in post_id
-- order instead of hashing all of the category's rows. The analysis's key as 0012's: a row's
-- workspace is its analysis's, and the rows go with it.
ALTER TABLE analysis_result_categories
  ADD CONSTRAINT analysis_result_categories_pkey PRIMARY KEY (analysis_id, category, post_id) INCLUDE (workspace_id),
  ADD CONSTRAINT analysis_result_categories_analysis_fkey FOREIGN KEY (analysis_id, workspace_id)
    REFERENCES analyses (id, workspace_id) ON DELETE CASCADE;

REVOKE ALL ON FUNCTION analysis_result_category_keys(text, jsonb), analysis_result_categories_add() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analysis_result_category_keys(text, jsonb), analysis_result_categories_add() TO socialpulse_app;

-- 0008's function, whole; one change: no 'month_to_date_cost_usd'.
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
        'llm_monthly_budget_usd', s.llm_monthly_budget_usd::text, 'updated_at', s.updated_at) END
  );
END
$$;
