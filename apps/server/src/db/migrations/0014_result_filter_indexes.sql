-- Analysis results (issue 6): the filters of GET …/results page in post_id order, under row-level
-- security. Measured on one analysis of 100,000 results (bench/README, "Result filters"):
--  * label: the index on (analysis_id, sentiment_label) gave the matching rows unordered, so a
--    page read and sorted all of them (a label on 1,000 rows: ~60 ms a page); with post_id last it
--    reads one page's rows in order (~6 ms).
--  * topic: the filter compared lower(topic), and lower() is not leakproof, so PostgreSQL may not
--    use it in an index condition ahead of the row-level security policy: every page scanned the
--    analysis's 100,000 rows (~140 ms). A stored lower-case copy compared with = (leakproof) can.
-- Adding the generated column rewrites analysis_results once.
DROP INDEX analysis_results_label;
CREATE INDEX analysis_results_label ON analysis_results (analysis_id, sentiment_label, post_id);

ALTER TABLE analysis_results ADD COLUMN topic_key text GENERATED ALWAYS AS (lower(topic)) STORED;
DROP INDEX analysis_results_topic;
CREATE INDEX analysis_results_topic ON analysis_results (analysis_id, topic_key, post_id)
  WHERE topic_key IS NOT NULL;
