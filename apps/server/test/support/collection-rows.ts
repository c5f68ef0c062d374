/**
 * Collection rows written directly as the database owner (no platform is called): a connection,
 * a completed sync run of it and an open dead letter, for tests that need them to exist.
 */
import type { TestDatabase } from './db.js';

export interface CollectionRows {
  connectionId: string;
  syncRunId: string;
  /** A bigint id, as text. */
  deadLetterId: string;
}

/** `marker` goes into the connection's handle and the dead letter's request and error. */
export async function insertCollectionRowsFor(
  db: TestDatabase,
  workspaceId: string,
  marker: string,
): Promise<CollectionRows> {
  const { rows: connections } = await db.adminPool.query<{ id: string }>(
    `INSERT INTO platform_connections (workspace_id, platform, external_account_id, handle, status, next_sync_at)
     VALUES ($1, 'x', $2, $3, 'active', now() + interval '1 day') RETURNING id`,
    [workspaceId, `ext-${marker}`, `${marker}_handle`],
  );
  const connectionId = connections[0]?.id ?? '';
  const { rows: runs } = await db.adminPool.query<{ id: string }>(
    `INSERT INTO sync_runs (workspace_id, connection_id, kind, trigger, status, gaps)
     VALUES ($1, $2, 'posts', 'manual', 'completed', $3) RETURNING id`,
    [
      workspaceId,
      connectionId,
      JSON.stringify([
        { what: 'posts', reason: 'rate_limited', detail: `${marker} gap`, count: 1 },
      ]),
    ],
  );
  const { rows: letters } = await db.adminPool.query<{ id: string }>(
    `INSERT INTO dead_letters (workspace_id, connection_id, operation, request, error, attempts)
     VALUES ($1, $2, 'list_posts', $3, $4, 4) RETURNING id::text AS id`,
    [
      workspaceId,
      connectionId,
      JSON.stringify({ account: `${marker}_handle` }),
      JSON.stringify({ code: 'platform_error', message: `${marker} failed` }),
    ],
  );
  return { connectionId, syncRunId: runs[0]?.id ?? '', deadLetterId: letters[0]?.id ?? '' };
}
