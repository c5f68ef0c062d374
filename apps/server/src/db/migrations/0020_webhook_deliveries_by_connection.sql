-- Collection (2026-11-25): a due posts sync is recorded as caused by a webhook when a processed
-- delivery named its connection after its last posts run; the scheduler asks for the latest such
-- delivery of the due connections at each pass (`listLatestWebhookDue`, `connections && $1`).
-- Deliveries are kept 7 days (purged by the scheduler tick), still thousands of rows on a busy
-- instance: the overlap is read through this index instead of scanning them all at every pass.
CREATE INDEX webhook_deliveries_connections ON webhook_deliveries USING gin (connections)
  WHERE status = 'processed';
