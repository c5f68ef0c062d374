import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '@socialpulse/contracts';
import {
  buildTestApp,
  callerFor,
  signUpUser,
  userIdOf,
  type Caller,
} from '../../../../test/support/app.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import { postRecord } from '../../../../test/support/factories.js';
import { createInspector, type Inspector } from '../../../../test/support/inspect.js';
import { createWorkspace, expectError, importRecords } from '../../../../test/support/http.js';
import type { ZodApp } from '../../types.js';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe.skipIf(databaseUnavailable() !== '')('workspaces API', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let inspect: Inspector;
  /** The signed-in user every test acts as (it owns the workspaces it creates), and its id. */
  let api: Caller;
  let userId: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    inspect = createInspector(db);
    app = await buildTestApp(db);
    const owner = await signUpUser(app);
    api = callerFor(app, owner);
    userId = await userIdOf(app, owner);
  });
  afterAll(async () => {
    await app?.close();
    await inspect?.close();
    await db?.drop();
  });

  const auditRows = (workspaceId: string) =>
    inspect.rows<{
      action: string;
      actor: string;
      user_id: string | null;
      target: string;
      request_id: string;
      ip: string;
    }>(
      'SELECT action, actor, user_id, target, request_id, host(ip) AS ip FROM audit_log WHERE workspace_id = $1 ORDER BY id',
      [workspaceId],
    );
  const auditCount = (): Promise<number> => inspect.count('SELECT count(*) FROM audit_log');

  it('lists no workspaces for a new user, and answers 401 to a caller without credentials', async () => {
    const res = await api.inject({ url: '/v1/workspaces' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: [] });
    const anonymous = expectError(await app.inject({ url: '/v1/workspaces' }), 401, 'unauthorized');
    expect(anonymous.details).toEqual({ reason: 'missing_credentials' });
  });

  it('refuses to create a workspace without credentials: 401, nothing written', async () => {
    const auditBefore = await auditCount();
    expectError(
      await app.inject({ method: 'POST', url: '/v1/workspaces', payload: { name: 'Anonymous' } }),
      401,
      'unauthorized',
    );
    expect(await auditCount()).toBe(auditBefore);
    expect(await inspect.count("SELECT count(*) FROM workspaces WHERE name = 'Anonymous'")).toBe(0);
  });

  it('creates a workspace: 201, Location, the trimmed name, the creator as owner, and an audit row with the request id', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/v1/workspaces',
      payload: { name: '  Marketing  ' },
      headers: { 'x-request-id': 'create-ws-1' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json<Workspace>();
    expect(Object.keys(body).sort()).toEqual([
      'created_at',
      'id',
      'name',
      'post_count',
      'require_mfa',
      'role',
    ]);
    expect(body).toMatchObject({
      name: 'Marketing',
      post_count: 0,
      require_mfa: false,
      role: 'owner',
    });
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    expect(res.headers.location).toBe(`/v1/workspaces/${body.id}`);

    expect(await auditRows(body.id)).toEqual([
      {
        action: 'workspace.created',
        actor: userId,
        user_id: userId,
        target: body.id,
        request_id: 'create-ws-1',
        ip: '127.0.0.1',
      },
    ]);
    expect(
      await inspect.rows('SELECT user_id::text, role FROM memberships WHERE workspace_id = $1', [
        body.id,
      ]),
    ).toEqual([{ user_id: userId, role: 'owner' }]);

    // The Location answers with the same workspace, to its owner only.
    const again = await api.inject({ url: res.headers.location });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(body);
    expectError(await app.inject({ url: res.headers.location }), 401, 'unauthorized');
  });

  it("does not reveal other tenants' workspace names: names are not unique across the instance", async () => {
    const first = await createWorkspace(api, 'Sales');
    const stranger = callerFor(app, await signUpUser(app));
    for (const name of ['Sales', 'sales', ' SALES ']) {
      const res = await stranger.inject({
        method: 'POST',
        url: '/v1/workspaces',
        payload: { name },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json<Workspace>().id).not.toBe(first.id);
    }
    // Each caller sees only their own "Sales".
    const mine = (await api.inject({ url: '/v1/workspaces' }))
      .json<{ data: Workspace[] }>()
      .data.filter((w) => w.name.toLowerCase() === 'sales');
    expect(mine).toEqual([first]);
    const theirs = (await stranger.inject({ url: '/v1/workspaces' }))
      .json<{ data: Workspace[] }>()
      .data.filter((w) => w.name.toLowerCase() === 'sales');
    expect(theirs).toHaveLength(3);
  });

  it.each([
    ['an unknown field', { name: 'Extra', color: 'blue' }],
    ['a missing name', {}],
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a name over 100 characters', { name: 'n'.repeat(101) }],
    ['a name that is not a string', { name: 42 }],
  ])('refuses %s with 400 validation_failed', async (_what, payload) => {
    const before = (await api.inject({ url: '/v1/workspaces' })).json<{ data: Workspace[] }>().data
      .length;
    const res = await api.inject({ method: 'POST', url: '/v1/workspaces', payload });
    const error = expectError(res, 400, 'validation_failed');
    expect(error.details).toMatchObject({ problems: expect.any(Array) as unknown });
    expect(
      (await api.inject({ url: '/v1/workspaces' })).json<{ data: Workspace[] }>().data.length,
    ).toBe(before);
  });

  it('names the unknown field in a strict-schema rejection', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/v1/workspaces',
      payload: { name: 'Extra', color: 'blue' },
    });
    const error = expectError(res, 400, 'validation_failed');
    expect(JSON.stringify(error)).toContain('color');
  });

  it('accepts a name of exactly 100 characters', async () => {
    const ws = await createWorkspace(api, 'n'.repeat(100));
    expect(ws.name).toHaveLength(100);
  });

  it('refuses a body that is not JSON or not an object', async () => {
    expectError(
      await api.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: { 'content-type': 'application/json' },
        payload: '{"name":',
      }),
      400,
      'validation_failed',
    );
    expectError(
      await api.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: { 'content-type': 'application/json' },
        payload: '["x"]',
      }),
      400,
      'validation_failed',
    );
    expectError(
      await api.inject({ method: 'POST', url: '/v1/workspaces' }),
      400,
      'validation_failed',
    );
  });

  it('lists workspaces oldest first with their post counts', async () => {
    const a = await createWorkspace(api, 'List A');
    const b = await createWorkspace(api, 'List B');
    await importRecords(api, b.id, [postRecord(), postRecord(), postRecord()]);
    const res = await api.inject({ url: '/v1/workspaces' });
    expect(res.statusCode).toBe(200);
    const data = res.json<{ data: Workspace[] }>().data;
    const ids = data.map((w) => w.id);
    expect(ids.indexOf(a.id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id));
    expect(data.find((w) => w.id === a.id)).toEqual(a);
    expect(data.find((w) => w.id === b.id)).toEqual({ ...b, post_count: 3 });
    const created = data.map((w) => Date.parse(w.created_at));
    expect(created).toEqual([...created].sort((x, y) => x - y));
  });

  it('gets a workspace by id with its post count', async () => {
    const ws = await createWorkspace(api, 'Get me');
    await importRecords(api, ws.id, [postRecord(), postRecord()]);
    const res = await api.inject({ url: `/v1/workspaces/${ws.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...ws, post_count: 2 });
  });

  it('answers 404 not_found for an unknown workspace id', async () => {
    const error = expectError(
      await api.inject({ url: `/v1/workspaces/${UNKNOWN_ID}` }),
      404,
      'not_found',
    );
    expect(error.details).toEqual({ resource: 'workspace', id: UNKNOWN_ID });
  });

  it("answers 404 like an unknown id for another user's workspace, and never lists it", async () => {
    const ws = await createWorkspace(api, 'Not yours');
    const stranger = callerFor(app, await signUpUser(app));
    const error = expectError(
      await stranger.inject({ url: `/v1/workspaces/${ws.id}` }),
      404,
      'not_found',
    );
    expect(error.details).toEqual({ resource: 'workspace', id: ws.id });
    expect((await stranger.inject({ url: '/v1/workspaces' })).json()).toEqual({ data: [] });
  });

  it.each(['not-a-uuid', '123', `${UNKNOWN_ID}x`, "1' OR '1'='1"])(
    'answers 400 validation_failed for the non-uuid id %j',
    async (id) => {
      const error = expectError(
        await api.inject({ url: `/v1/workspaces/${encodeURIComponent(id)}` }),
        400,
        'validation_failed',
      );
      expect(error.details).toMatchObject({
        problems: [expect.objectContaining({ in: 'params', field: 'workspaceId' })],
      });
    },
  );
});
