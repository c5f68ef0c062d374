import type { Queryable } from '../pool.js';

export interface NewDelivery {
  platform: string;
  deliveryKey: string;
  signedAt: Date | null;
  payload: unknown;
  raw: string | null;
  /** `failed` records a delivery refused on arrival (with its `error`); the worker skips it. */
  status?: 'received' | 'failed';
  error?: Record<string, unknown> | null;
}

/** Stores a delivery once; null when the same delivery was already received (a replay). */
export async function insertDelivery(db: Queryable, d: NewDelivery): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO webhook_deliveries (platform, delivery_key, signed_at, payload, raw, status, error, processed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $6 = 'received' THEN NULL ELSE now() END)
     ON CONFLICT (delivery_key) DO NOTHING RETURNING id`,
    [
      d.platform,
      d.deliveryKey,
      d.signedAt,
      d.payload === undefined ? null : JSON.stringify(d.payload),
      d.raw,
      d.status ?? 'received',
      d.error ?? null,
    ],
  );
  return rows[0]?.id ?? null;
}

export interface DeliveryRow {
  id: number;
  platform: string;
  payload: unknown;
  raw: string | null;
  status: string;
}

export async function findDelivery(db: Queryable, id: number): Promise<DeliveryRow | null> {
  const { rows } = await db.query<DeliveryRow>(
    'SELECT id, platform, payload, raw, status FROM webhook_deliveries WHERE id = $1',
    [id],
  );
  return rows[0] ?? null;
}

/** Marks the connections of these platform accounts due for a sync now; returns their ids. */
export async function markConnectionsDue(
  db: Queryable,
  platform: string,
  externalIds: readonly string[],
): Promise<string[]> {
  if (externalIds.length === 0) return [];
  const { rows } = await db.query<{ id: string }>('SELECT webhook_connections_due($1, $2) AS id', [
    platform,
    externalIds,
  ]);
  return rows.map((r) => r.id);
}

export async function settleDelivery(
  db: Queryable,
  id: number,
  status: 'processed' | 'ignored' | 'failed',
  connections: readonly string[],
  error: Record<string, unknown> | null,
): Promise<void> {
  await db.query(
    'UPDATE webhook_deliveries SET status = $2, connections = $3, error = $4, processed_at = now() WHERE id = $1',
    [id, status, connections, error],
  );
}

export async function hasConnection(
  db: Queryable,
  platform: string,
  externalId: string,
): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>('SELECT webhook_has_connection($1, $2) AS ok', [
    platform,
    externalId,
  ]);
  return rows[0]?.ok === true;
}

/**
 * When a processed delivery last made each of these connections due (cross-tenant: deliveries
 * belong to no workspace; ids only). Connections no delivery named are absent.
 */
export async function listLatestWebhookDue(
  db: Queryable,
  connectionIds: readonly string[],
): Promise<Map<string, Date>> {
  if (connectionIds.length === 0) return new Map();
  const { rows } = await db.query<{ connection_id: string; processed_at: Date }>(
    `SELECT c::text AS connection_id, max(d.processed_at) AS processed_at
       FROM webhook_deliveries d CROSS JOIN LATERAL unnest(d.connections) AS c
      WHERE d.status = 'processed' AND d.connections && $1::uuid[] AND c = ANY($1::uuid[])
      GROUP BY c`,
    [connectionIds],
  );
  return new Map(rows.map((r) => [r.connection_id, r.processed_at]));
}

/**
 * Deletes up to `limit` deliveries received more than `retentionMs` ago (by the database's clock,
 * which stamped them), oldest first; returns how many. Rows a delivery's processing holds are
 * skipped (SKIP LOCKED), not waited for: a purge never holds up the webhook worker, and what it
 * skipped goes at a later pass.
 */
export async function deleteDeliveriesOlderThan(
  db: Queryable,
  retentionMs: number,
  limit: number,
): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM webhook_deliveries WHERE id IN (
       SELECT id FROM webhook_deliveries
        WHERE received_at < now() - make_interval(secs => $1::float8 / 1000)
        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [retentionMs, limit],
  );
  return rowCount ?? 0;
}
