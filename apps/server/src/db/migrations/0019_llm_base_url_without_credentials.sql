-- A workspace's LLM base URL may no longer hold a user name or password (2026-11-25; the API and
-- LLM_BASE_URL refuse them): the LLM client's HTTP library never sent them, while they were
-- stored in plain text and shown to every member, viewers included, with the settings. Those
-- saved before are removed here; the URL calls the same server as it always did (without them),
-- and a key belongs in the sealed `api_key`. As any change, it raises the settings' revision.
UPDATE workspace_analysis_settings
   SET llm_base_url = regexp_replace(llm_base_url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@', '\1'),
       revision = revision + 1,
       updated_at = now()
 WHERE llm_base_url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*@';
