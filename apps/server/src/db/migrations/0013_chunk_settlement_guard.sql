-- Analysis jobs (issue 6): a chunk's commit sends COMMIT in the same round trip as the job's
-- completion and the requester's next job, instead of after their answers. The worker can then no
-- longer refuse to commit when pg-boss reports the completion fenced off (the claim lapsed and
-- another attempt owns the job) or the next job not stored: it learns that only after COMMIT was
-- sent. This check, sent between them and COMMIT, makes PostgreSQL refuse instead: it raises,
-- the transaction is aborted, and COMMIT rolls back. It reads pg-boss's job rows (the `pgboss`
-- schema of db/job-queue.ts), where the two facts are recorded.
CREATE FUNCTION analysis_chunk_settled(p_queue text, p_job uuid, p_retry_count integer, p_next_job uuid)
  RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pgboss.job
                  WHERE name = p_queue AND id = p_job AND retry_count = p_retry_count AND state = 'completed') THEN
    RAISE EXCEPTION 'chunk job % was not completed by attempt % (its claim lapsed)', p_job, p_retry_count
      USING ERRCODE = 'SP001';
  END IF;
  IF p_next_job IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pgboss.job WHERE name = p_queue AND id = p_next_job) THEN
    RAISE EXCEPTION 'the next turn''s chunk job % was not stored', p_next_job USING ERRCODE = 'SP002';
  END IF;
END $$;
