-- Collection (2026-11-25): an OAuth flow that names no poll interval stores none (NULL), so that
-- its callback can tell "keep the interval of the account connected before" from "30": the
-- column's default of 30 made every reconnect through OAuth reset a chosen interval. A new
-- connection without one still gets 30 (storeConnection's default). The CHECK lets NULL through.
ALTER TABLE oauth_states
  ALTER COLUMN poll_minutes DROP NOT NULL,
  ALTER COLUMN poll_minutes DROP DEFAULT;
