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
