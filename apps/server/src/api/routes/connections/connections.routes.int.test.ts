import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionView, SyncRunView } from '@socialpulse/contracts';
import {
  buildCollectionTestApp,
  buildTestApp,
  callerFor,
  createWorkspaceAs,
  noRateLimitsAtAll,
  signUpUser,
  type Caller,
} from '../../../../test/support/app.js';
import { startSimulator, type Simulator } from '../../../../test/simulator/index.js';
import { findConnection } from '../../../db/repos/connections.repo.js';
import { withTenant } from '../../../db/tenant.js';
import { createSecretBox } from '../../../domain/auth/secret-box.js';
import {
  createConnectorProvider,
  type ConnectorProvider,
} from '../../../domain/collection/connectors.js';
import { syncConnection } from '../../../domain/collection/sync.service.js';
import { openCredentials } from '../../../domain/connections/credentials.js';
import { insertCollectionRowsFor } from '../../../../test/support/collection-rows.js';
import {
  createTestDatabase,
  databaseUnavailable,
  waitForLockWaiters,
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

describe.skipIf(databaseUnavailable() !== '')('connecting an account with a pasted token', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let app: ZodApp;
  let connectors: ConnectorProvider;
  let api: Caller;
  let workspaceId: string;
  const connectionsUrl = (): string => `/v1/workspaces/${workspaceId}/connections`;

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({ seed: 5, accounts: { x: 1 }, postsPerAccount: 3 });
    // The connector defaults (retries with backoff): a refusal the platform is never asked about
    // must not wait for them.
    connectors = createConnectorProvider({ baseUrls: sim.baseUrls });
    app = await buildCollectionTestApp(db, connectors);
    const owner = await signUpUser(app);
    api = callerFor(app, owner);
    workspaceId = await createWorkspaceAs(app, owner);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    await db?.drop();
  });

  it('two connects of the same account at once leave one connection whose credentials open', async () => {
    const account = sim.accounts.x[0];
    if (!account) throw new Error('no account');
    const payload = {
      platform: 'x',
      account: `@${account.handle}`,
      credentials: { access_token: account.accessToken },
    };
    // Both requests look the account up before either stores it: the table is locked until both
    // wait on it (a stand-in for two requests that arrive together), then released at once.
    const blocker = await db.adminPool.connect();
    let results: Awaited<ReturnType<Caller['inject']>>[];
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE platform_connections IN ACCESS EXCLUSIVE MODE');
      const requests = Promise.all(
        [1, 2].map(() => api.inject({ method: 'POST', url: connectionsUrl(), payload })),
      );
      await waitForLockWaiters(db, 2);
      await blocker.query('COMMIT');
      results = await requests;
    } finally {
      blocker.release();
    }
    expect(results.map((r) => r.statusCode).sort(), results.map((r) => r.body).join('\n')).toEqual([
      200, 201,
    ]);
    const [first, second] = results.map((r) => r.json<ConnectionView>());
    expect(first?.id).toBe(second?.id);
    const list = await api.inject({ url: connectionsUrl() });
    expect(list.json<{ data: ConnectionView[] }>().data.map((c) => c.id)).toEqual([first?.id]);

    const id = first?.id ?? '';
    const box = createSecretBox(db.secrets.encryptionKey);
    const stored = await withTenant(db.pool, { workspaceId, userId: null }, (c) =>
      findConnection(c, workspaceId, id),
    );
    expect(openCredentials(box, id, stored?.credentialsSealed ?? '').accessToken).toBe(
      account.accessToken,
    );
    const run = await syncConnection(
      { pool: db.pool, secretBox: box, connectors },
      { workspaceId, connectionId: id, kind: 'posts', trigger: 'manual' },
    );
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(run.postsCollected).toBe(sim.postIds('x', account.id).length);
  });

  it('trims blanks around a pasted token (a copy from a terminal ends in a newline) and connects', async () => {
    const account = sim.accounts.x[0];
    if (!account) throw new Error('no account');
    const res = await api.inject({
      method: 'POST',
      url: connectionsUrl(),
      payload: {
        platform: 'x',
        account: `@${account.handle}`,
        credentials: { access_token: `  ${account.accessToken}\r\n` },
      },
    });
    expect([200, 201], res.body).toContain(res.statusCode);
    const id = res.json<ConnectionView>().id;
    const stored = await withTenant(db.pool, { workspaceId, userId: null }, (c) =>
      findConnection(c, workspaceId, id),
    );
    const box = createSecretBox(db.secrets.encryptionKey);
    expect(openCredentials(box, id, stored?.credentialsSealed ?? '').accessToken).toBe(
      account.accessToken,
    );
  });

  it.each([
    ['access_token', { access_token: '\u201cabc\u201d' }],
    ['access_token', { access_token: 'abc\ndef' }],
    ['access_token', { access_token: 'abc def' }],
    ['refresh_token', { access_token: 'abc', refresh_token: 'r\u00e9fresh' }],
    ['api_key', { api_key: 'key\t1' }],
  ])(
    'a %s that cannot travel in an HTTP header is refused at once, naming the field and not echoing it',
    async (field, credentials) => {
      const requestsBefore = sim.stats.totalRequests;
      const res = await api.inject({
        method: 'POST',
        url: connectionsUrl(),
        payload: { platform: 'x', account: '@someone', credentials },
      });
      const error = expectError(res, 400, 'validation_failed');
      expect(JSON.stringify(error.details)).toContain(`credentials.${field}`);
      const secret = (credentials as Record<string, string>)[field] ?? '';
      expect(res.body).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(res.body).not.toContain(secret);
      // Refused by the contract: no request left for the platform, so none was retried either.
      expect(sim.stats.totalRequests).toBe(requestsBefore);
    },
  );
});
