-- A workspace's analysis settings get a revision, raised by every change, so that a change can be
-- made conditional on the settings its author read (PATCH …/analysis-settings with `revision`):
-- two admins editing at once no longer overwrite each other's change unseen. Rows saved before
-- this migration start at revision 1; a workspace with no row is at revision 0.
ALTER TABLE workspace_analysis_settings ADD COLUMN revision integer NOT NULL DEFAULT 1 CHECK (revision > 0);
