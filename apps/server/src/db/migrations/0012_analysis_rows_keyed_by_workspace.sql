-- An analysis's rows (results, chunks, events, backlog) carry their workspace for row-level
-- security, and each referenced analyses(id) and workspaces(id) separately: two foreign-key
-- checks per row, and nothing made the two agree. One key on (analysis_id, workspace_id) does
-- both in one check: a row's workspace is its analysis's. The results' 100-row insert in every
-- chunk's commit spent about half its time in foreign-key checks (one of them to the posts, which
-- stays). Deleting a workspace still deletes these rows: workspace → analyses → rows, all
-- ON DELETE CASCADE.

ALTER TABLE analyses ADD CONSTRAINT analyses_id_workspace_key UNIQUE (id, workspace_id);

ALTER TABLE analysis_results
  DROP CONSTRAINT analysis_results_analysis_id_fkey,
  DROP CONSTRAINT analysis_results_workspace_id_fkey,
  ADD CONSTRAINT analysis_results_analysis_fkey FOREIGN KEY (analysis_id, workspace_id)
    REFERENCES analyses (id, workspace_id) ON DELETE CASCADE;

ALTER TABLE analysis_chunks
  DROP CONSTRAINT analysis_chunks_analysis_id_fkey,
  DROP CONSTRAINT analysis_chunks_workspace_id_fkey,
  ADD CONSTRAINT analysis_chunks_analysis_fkey FOREIGN KEY (analysis_id, workspace_id)
    REFERENCES analyses (id, workspace_id) ON DELETE CASCADE;

ALTER TABLE analysis_events
  DROP CONSTRAINT analysis_events_analysis_id_fkey,
  DROP CONSTRAINT analysis_events_workspace_id_fkey,
  ADD CONSTRAINT analysis_events_analysis_fkey FOREIGN KEY (analysis_id, workspace_id)
    REFERENCES analyses (id, workspace_id) ON DELETE CASCADE;

ALTER TABLE analysis_backlog
  DROP CONSTRAINT analysis_backlog_analysis_id_fkey,
  DROP CONSTRAINT analysis_backlog_workspace_id_fkey,
  ADD CONSTRAINT analysis_backlog_analysis_fkey FOREIGN KEY (analysis_id, workspace_id)
    REFERENCES analyses (id, workspace_id) ON DELETE CASCADE;
