import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRunView } from '@socialpulse/contracts';
import {
  buildTestApp,
  callerFor,
  createWorkspaceAs,
  noRateLimitsAtAll,
  signUpUser,
  type Caller,
} from '../../../../test/support/app.js';
import { insertCollectionRowsFor } from '../../../../test/support/collection-rows.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import { expectError } from '../../../../test/support/http.js';
import type { ZodApp } from '../../types.js';

const cursorOf = (at: string, id: string): string =>
  Buffer.from(`${at}|${id}`).toString('base64url');

describe.skipIf(databaseUnavailable() !== '')('sync runs API', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let api: Caller;
  let runsUrl: string;
  let runIds: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, noRateLimitsAtAll);
    const owner = await signUpUser(app);
    api = callerFor(app, owner);
    const workspaceId = await createWorkspaceAs(app, owner);
    const rows = await insertCollectionRowsFor(db, workspaceId, 'runs');
    // A second, older run: two runs make two pages of one.
    const older = await db.adminPool.query<{ id: string }>(
      `INSERT INTO sync_runs (workspace_id, connection_id, kind, trigger, status, queued_at)
       VALUES ($1, $2, 'posts', 'schedule', 'completed', now() - interval '1 hour') RETURNING id`,
      [workspaceId, rows.connectionId],
    );
    runIds = [rows.syncRunId, older.rows[0]?.id ?? ''];
    runsUrl = `/v1/workspaces/${workspaceId}/connections/${rows.connectionId}/sync-runs`;
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const page = async (cursor: string) => {
    const res = await api.inject({ url: `${runsUrl}?limit=1&cursor=${cursor}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ data: SyncRunView[]; next_cursor: string | null }>();
  };

  it('pages the runs, newest first, with the cursor it returns', async () => {
    const first = await api.inject({ url: `${runsUrl}?limit=1` });
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json<{ data: SyncRunView[]; next_cursor: string | null }>();
    expect(body.data.map((r) => r.id)).toEqual([runIds[0]]);
    expect(body.next_cursor).not.toBeNull();
    const second = await page(body.next_cursor ?? '');
    expect(second).toEqual({
      data: [expect.objectContaining({ id: runIds[1] })],
      next_cursor: null,
    });
  });

  it('refuses a cursor PostgreSQL cannot read as it refuses any other malformed cursor', async () => {
    const malformed = expectError(
      await api.inject({ url: `${runsUrl}?cursor=not-a-cursor` }),
      400,
      'invalid_cursor',
    );
    for (const cursor of [
      // Before 4714 BC: JavaScript parses it, PostgreSQL's timestamptz cannot hold it.
      cursorOf('-005000-01-01T00:00:00Z', runIds[0] ?? ''),
      cursorOf('-271821-04-20T00:00:00Z', runIds[0] ?? ''),
      // Shaped like a uuid, but no uuid PostgreSQL can read.
      cursorOf('2026-01-01T00:00:00Z', '-'.repeat(36)),
    ]) {
      const error = expectError(
        await api.inject({ url: `${runsUrl}?cursor=${cursor}` }),
        400,
        'invalid_cursor',
      );
      expect(error).toEqual(malformed);
    }
  });

  it('accepts a cursor at the earliest instants PostgreSQL holds and at the latest JavaScript does', async () => {
    // A minute past PostgreSQL's first instant: the driver writes dates in local time, and a
    // zone's historical offset may round by seconds.
    expect(await page(cursorOf('-004713-11-24T00:01:00Z', runIds[0] ?? ''))).toEqual({
      data: [],
      next_cursor: null,
    });
    const latest = await page(cursorOf('+275760-09-13T00:00:00Z', runIds[0] ?? ''));
    expect(latest.data.map((r) => r.id)).toEqual([runIds[0]]);
  });
});
