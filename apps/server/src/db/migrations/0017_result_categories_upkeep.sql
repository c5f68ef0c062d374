-- Analysis results' category side table (0016), two mends:
--
-- * The trigger called analysis_result_category_keys (four set-returning branches) for every
--   inserted result, though most results have no category at all (local engines without rules).
--   Results with no LLM category and no (or an empty) `categories` array are now skipped before
--   the call; the rows added are the same (the function yields nothing for them). A real chunk's
--   100-row insert without categories: 2.18–2.46 ms against 2.40–2.79 ms (bench/README, "Result
--   filters").
-- * The application role held UPDATE and DELETE on the side table, which nothing needs: its rows
--   are added by the trigger and leave with their analysis (ON DELETE CASCADE, run as the owner).

-- 0016's function, whole; one change: the WHERE.
CREATE OR REPLACE FUNCTION analysis_result_categories_add() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analysis_result_categories (analysis_id, workspace_id, category, post_id)
  SELECT n.analysis_id, n.workspace_id, k.category, n.post_id
    FROM new_results n, analysis_result_category_keys(n.category, n.local -> 'categories') AS k(category)
   WHERE n.category IS NOT NULL OR coalesce(n.local -> 'categories', '[]'::jsonb) <> '[]'::jsonb;
  RETURN NULL;
END
$$;

REVOKE UPDATE, DELETE ON analysis_result_categories FROM socialpulse_app;
