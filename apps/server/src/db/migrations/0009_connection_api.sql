-- Collection (issue 7): which of a platform's APIs a connection reads. TikTok has two with
-- different credentials and reach: the Display API (a creator's own videos, a user token from
-- the authorization-code flow) and the Research API (any public account's videos, a client
-- token of an approved research app). NULL is the platform's only (or default) API.
ALTER TABLE platform_connections ADD COLUMN api text CHECK (api IN ('display', 'research'));
