/**
 * Two full workspaces with different owners: nothing of one reaches the other, through any
 * list, detail, search, cursor, export or import, and the database refuses it even when the
 * application forgets its filter (row-level security).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { buildTestApp, signUpUser, noRateLimitsAtAll } from '../../../test/support/app.js';
import { postRecord, toJsonl } from '../../../test/support/factories.js';
import {
  asKey,
  asUser,
  createTenant,
  userIdOf,
  type Caller,
  type Headers,
  type Tenant,
} from '../../../test/support/auth.js';
import { tenantRunner, withTenant } from '../../db/tenant.js';
import { exportPosts } from '../../domain/posts/export.service.js';
import { toFilter } from '../../domain/posts/posts.service.js';

interface Side {
  name: 'A' | 'B';
  tenant: Tenant;
  /** A word only this side's posts contain (search must never find it elsewhere). */
  marker: string;
  importIds: string[];
  postIds: string[];
  texts: string[];
  memberIds: string[];
  keyIds: string[];
  keyPrefixes: string[];
  auditIds: string[];
}

const TENANT_TABLES = [
  'posts',
  'imports',
  'import_rejects',
  'platform_accounts',
  'post_metric_snapshots',
  'api_keys',
  'audit_log',
  'invitations',
] as const;

describe.skipIf(databaseUnavailable() !== '')('cross-tenant isolation', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let a: Side;
  let b: Side;

  async function importAs(
    headers: Headers,
    workspaceId: string,
    records: Record<string, unknown>[],
  ): Promise<string> {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/imports?file_name=${workspaceId}.jsonl`,
      headers: { ...headers, 'content-type': 'application/x-ndjson' },
      payload: toJsonl(records),
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  /** Fills a workspace; both sides use the same external ids so an import keyed without the workspace would collide. */
  async function fill(name: 'A' | 'B', marker: string): Promise<Side> {
    const tenant = await createTenant(app, db);
    const ws = tenant.workspaceId;
    const records = (version: number) =>
      [1, 2, 3].map((i) =>
        postRecord({
          external_id: `shared-${i}`,
          account_handle: 'sharedhandle',
          text: `${marker} post ${i} v${version}`,
          likes: version * 10 + i,
        }),
      );
    const first = await importAs(tenant.owner.headers, ws, [
      ...records(1),
      { platform: 'x', text: `${marker} rejected` },
    ]);
    const second = await importAs(tenant.keys.write.headers, ws, records(2));
    const posts = await app.inject({
      url: `/v1/workspaces/${ws}/posts?limit=1000`,
      headers: tenant.owner.headers,
    });
    const data = posts.json<{ data: { id: string; text: string }[] }>().data;
    const members = await app.inject({
      url: `/v1/workspaces/${ws}/members`,
      headers: tenant.owner.headers,
    });
    const keys = await app.inject({
      url: `/v1/workspaces/${ws}/api-keys`,
      headers: tenant.owner.headers,
    });
    const invited = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/invitations`,
      headers: tenant.owner.headers,
      payload: { email: `invitee-${marker}@example.com`, role: 'viewer' },
    });
    expect(invited.statusCode, invited.body).toBe(201);
    const { rows: audit } = await db.adminPool.query<{ id: string }>(
      'SELECT id::text FROM audit_log WHERE workspace_id = $1',
      [ws],
    );
    return {
      name,
      tenant,
      marker,
      importIds: [first, second],
      postIds: data.map((p) => p.id),
      texts: data.map((p) => p.text),
      memberIds: members.json<{ data: { user_id: string }[] }>().data.map((m) => m.user_id),
      keyIds: keys.json<{ data: { id: string }[] }>().data.map((k) => k.id),
      keyPrefixes: keys.json<{ data: { prefix: string }[] }>().data.map((k) => k.prefix),
      auditIds: audit.map((r) => r.id),
    };
  }

  const callersOf = (s: Side): Caller[] => [
    asUser(`owner ${s.name}`, s.tenant.owner),
    asUser(`viewer ${s.name}`, s.tenant.viewer),
    asKey(`admin key ${s.name}`, s.tenant.keys.admin),
    asKey(`read key ${s.name}`, s.tenant.keys.read),
  ];

  /** Asserts that a response body mentions none of `other`'s identifiers or texts. */
  function expectNothingOf(other: Side, body: string, context: string): void {
    const leaked = [
      other.marker,
      other.tenant.workspaceId,
      ...other.importIds,
      ...other.keyIds,
      ...other.keyPrefixes,
      ...other.memberIds,
    ].filter((needle) => body.includes(needle));
    expect(leaked, context).toEqual([]);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, noRateLimitsAtAll);
    await signUpUser(app); // the instance admin owns nothing below
    a = await fill('A', 'alphamarker');
    b = await fill('B', 'bravomarker');
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('both workspaces are really filled (the checks below are not vacuous)', () => {
    for (const s of [a, b]) {
      expect(s.postIds).toHaveLength(3);
      expect(s.texts.every((t) => t.includes(s.marker) && t.endsWith('v2'))).toBe(true);
      expect(s.memberIds).toHaveLength(4);
      expect(s.keyIds.length).toBeGreaterThanOrEqual(5);
      expect(s.auditIds.length).toBeGreaterThan(5);
    }
    // The two sides share no ids (post ids are a global sequence; member users differ).
    expect(a.postIds.filter((id) => b.postIds.includes(id))).toEqual([]);
    expect(a.memberIds.filter((id) => b.memberIds.includes(id))).toEqual([]);
  });

  it("an import into one workspace never touches the other's posts with the same external ids", async () => {
    const { rows } = await db.adminPool.query<{ workspace_id: string; text: string }>(
      "SELECT workspace_id, text FROM posts WHERE external_id LIKE 'shared-%'",
    );
    expect(rows).toHaveLength(6);
    for (const row of rows)
      expect(row.text).toContain(row.workspace_id === a.tenant.workspaceId ? a.marker : b.marker);
    const { rows: snaps } = await db.adminPool.query<{ workspace_id: string; n: string }>(
      'SELECT workspace_id, count(*) AS n FROM post_metric_snapshots GROUP BY workspace_id',
    );
    expect(snaps.map((s) => Number(s.n))).toEqual([6, 6]);
  });

  for (const [mine, theirs] of [
    ['A', 'B'],
    ['B', 'A'],
  ] as const) {
    const sides = (): { me: Side; other: Side } =>
      mine === 'A' ? { me: a, other: b } : { me: b, other: a };

    it(`${mine}'s callers cannot reach ${theirs}'s workspace routes at all (404)`, async () => {
      const { me, other } = sides();
      const ows = `/v1/workspaces/${other.tenant.workspaceId}`;
      const urls = [
        ows,
        `${ows}/posts`,
        `${ows}/posts?q=${other.marker}`,
        `${ows}/posts/${other.postIds[0] ?? ''}`,
        `${ows}/posts/${other.postIds[0] ?? ''}/snapshots`,
        `${ows}/imports`,
        `${ows}/imports/${other.importIds[0] ?? ''}`,
        `${ows}/imports/${other.importIds[0] ?? ''}/rejects`,
        `${ows}/members`,
        `${ows}/api-keys`,
        `${ows}/audit-log`,
      ];
      for (const caller of callersOf(me)) {
        for (const url of urls) {
          const res = await app.inject({ url, headers: caller.headers });
          expect({ caller: caller.name, url, status: res.statusCode }).toEqual({
            caller: caller.name,
            url,
            status: 404,
          });
          expectNothingOf(
            other,
            res.body.replaceAll(other.tenant.workspaceId, ''),
            `${caller.name} GET ${url}`,
          );
        }
        const writes = [
          {
            method: 'POST' as const,
            url: `${ows}/imports`,
            headers: { 'content-type': 'application/x-ndjson' },
            payload: toJsonl([postRecord({ text: 'intruder' })]),
          },
          { method: 'PATCH' as const, url: ows, payload: { name: 'taken over' } },
          {
            method: 'POST' as const,
            url: `${ows}/api-keys`,
            payload: { name: 'intruder', scopes: ['admin'] },
          },
          {
            method: 'POST' as const,
            url: `${ows}/members`,
            payload: { email: me.tenant.owner.email, role: 'owner' },
          },
          { method: 'DELETE' as const, url: `${ows}/api-keys/${other.tenant.keys.read.id}` },
          {
            method: 'PATCH' as const,
            url: `${ows}/members/${userIdOf(other.tenant.viewer)}`,
            payload: { role: 'owner' },
          },
          { method: 'DELETE' as const, url: `${ows}/members/${userIdOf(other.tenant.viewer)}` },
        ];
        for (const w of writes) {
          const res = await app.inject({
            ...w,
            headers: { ...caller.headers, ...(w.headers ?? {}) },
          });
          expect({
            caller: caller.name,
            op: `${w.method} ${w.url}`,
            status: res.statusCode,
          }).toEqual({ caller: caller.name, op: `${w.method} ${w.url}`, status: 404 });
        }
      }
      // Nothing of those writes landed.
      const { rows } = await db.adminPool.query(
        "SELECT 1 FROM posts WHERE text = 'intruder' UNION ALL SELECT 1 FROM api_keys WHERE name = 'intruder'",
      );
      expect(rows).toEqual([]);
      expect(
        (await app.inject({ url: `${ows}/posts`, headers: other.tenant.keys.read.headers }))
          .statusCode,
      ).toBe(200);
    });

    it(`${mine}'s own routes, given ${theirs}'s ids, show nothing of ${theirs}`, async () => {
      const { me, other } = sides();
      const ws = `/v1/workspaces/${me.tenant.workspaceId}`;
      for (const caller of callersOf(me)) {
        const h = caller.headers;
        // Details of the other's rows through my workspace: not found.
        for (const url of [
          `${ws}/posts/${other.postIds[0] ?? ''}`,
          `${ws}/posts/${other.postIds[1] ?? ''}/snapshots`,
          `${ws}/imports/${other.importIds[0] ?? ''}`,
          `${ws}/imports/${other.importIds[0] ?? ''}/rejects`,
        ]) {
          const res = await app.inject({ url, headers: h });
          expect({ caller: caller.name, url, status: res.statusCode }).toEqual({
            caller: caller.name,
            url,
            status: 404,
          });
        }
        // Lists and search: only mine.
        const list = await app.inject({ url: `${ws}/posts?limit=1000`, headers: h });
        expect(list.statusCode).toBe(200);
        expect(
          list
            .json<{ data: { id: string }[] }>()
            .data.map((p) => p.id)
            .sort(),
        ).toEqual([...me.postIds].sort());
        expectNothingOf(other, list.body, `${caller.name} list posts`);
        const search = await app.inject({ url: `${ws}/posts?q=${other.marker}`, headers: h });
        expect(search.json<{ data: unknown[] }>().data).toEqual([]);
        const byAccount = await app.inject({
          url: `${ws}/posts?account=sharedhandle&limit=1000`,
          headers: h,
        });
        expect(
          byAccount
            .json<{ data: { id: string }[] }>()
            .data.map((p) => p.id)
            .sort(),
        ).toEqual([...me.postIds].sort());
        const imports = await app.inject({ url: `${ws}/imports`, headers: h });
        expect(
          imports
            .json<{ data: { id: string }[] }>()
            .data.map((i) => i.id)
            .sort(),
        ).toEqual([...me.importIds].sort());
        const rejects = await app.inject({
          url: `${ws}/imports/${me.importIds[0] ?? ''}/rejects?after=0`,
          headers: h,
        });
        expect(rejects.statusCode).toBe(200);
        expectNothingOf(other, rejects.body, `${caller.name} rejects`);
        expect(rejects.body).toContain(`${me.tenant.workspaceId}.jsonl`);
        const members = await app.inject({ url: `${ws}/members`, headers: h });
        expect(
          members
            .json<{ data: { user_id: string }[] }>()
            .data.map((m) => m.user_id)
            .sort(),
        ).toEqual([...me.memberIds].sort());
        const workspaces = await app.inject({ url: '/v1/workspaces', headers: h });
        expect(workspaces.json<{ data: { id: string }[] }>().data.map((w) => w.id)).toEqual([
          me.tenant.workspaceId,
        ]);
      }
      // Admin-only lists, read by the owner and the admin key.
      for (const h of [me.tenant.owner.headers, me.tenant.keys.admin.headers]) {
        const keys = await app.inject({ url: `${ws}/api-keys`, headers: h });
        expect(keys.statusCode).toBe(200);
        expectNothingOf(other, keys.body, 'api keys');
        const audit = await app.inject({ url: `${ws}/audit-log?limit=500`, headers: h });
        const ids = audit.json<{ data: { id: string }[] }>().data.map((e) => e.id);
        expect(ids.length).toBeGreaterThan(0);
        expect(ids.filter((id) => other.auditIds.includes(id))).toEqual([]);
        expectNothingOf(other, audit.body, 'audit log');
        // Paging the audit log from past the other's newest entry still shows only mine.
        const beyond = String(
          Math.max(...other.auditIds.map(Number), ...me.auditIds.map(Number)) + 1,
        );
        const paged = await app.inject({
          url: `${ws}/audit-log?before=${beyond}&limit=500`,
          headers: h,
        });
        expect(
          paged
            .json<{ data: { id: string }[] }>()
            .data.filter((e) => other.auditIds.includes(e.id)),
        ).toEqual([]);
      }
      // Revoking the other's key through my workspace: not found, and that key still works.
      const revoke = await app.inject({
        method: 'DELETE',
        url: `${ws}/api-keys/${other.tenant.keys.read.id}`,
        headers: me.tenant.owner.headers,
      });
      expect(revoke.statusCode).toBe(404);
      const patch = await app.inject({
        method: 'PATCH',
        url: `${ws}/members/${userIdOf(other.tenant.viewer)}`,
        headers: me.tenant.owner.headers,
        payload: { role: 'admin' },
      });
      expect(patch.statusCode).toBe(404);
      const remove = await app.inject({
        method: 'DELETE',
        url: `${ws}/members/${userIdOf(other.tenant.owner)}`,
        headers: me.tenant.owner.headers,
      });
      expect(remove.statusCode).toBe(404);
      expect(
        (
          await app.inject({
            url: `/v1/workspaces/${other.tenant.workspaceId}/posts`,
            headers: other.tenant.keys.read.headers,
          })
        ).statusCode,
      ).toBe(200);
    });

    it(`a cursor from ${theirs} does not page ${mine}'s posts into ${theirs}'s`, async () => {
      const { me, other } = sides();
      const first = await app.inject({
        url: `/v1/workspaces/${other.tenant.workspaceId}/posts?limit=1`,
        headers: other.tenant.owner.headers,
      });
      const cursor = first.json<{ next_cursor: string | null }>().next_cursor;
      expect(cursor).not.toBeNull();
      for (const caller of callersOf(me)) {
        const res = await app.inject({
          url: `/v1/workspaces/${me.tenant.workspaceId}/posts?limit=1&cursor=${encodeURIComponent(cursor ?? '')}`,
          headers: caller.headers,
        });
        expect(res.statusCode).toBeLessThan(500);
        expectNothingOf(other, res.body, `${caller.name} with the other's cursor`);
        if (res.statusCode === 200)
          expect(
            res.json<{ data: { id: string }[] }>().data.every((p) => me.postIds.includes(p.id)),
          ).toBe(true);
        else expect(res.json()).toMatchObject({ error: { code: 'invalid_cursor' } });
      }
    });

    it(`an export scoped to ${mine} holds only ${mine}'s posts, even when the filter names ${theirs}`, async () => {
      const { me, other } = sides();
      const collect = async (scopeWs: string, filterWs: string): Promise<string> => {
        let out = '';
        for await (const chunk of exportPosts(
          tenantRunner(db.pool, { workspaceId: scopeWs, userId: null }),
          toFilter(filterWs, {}),
          'jsonl',
        ))
          out += chunk;
        return out;
      };
      const own = await collect(me.tenant.workspaceId, me.tenant.workspaceId);
      expect(own.trim().split('\n')).toHaveLength(3);
      expect(own).toContain(me.marker);
      expectNothingOf(other, own, 'own export');
      // The forgotten-WHERE case: the query asks for the other workspace, RLS answers nothing.
      expect(await collect(me.tenant.workspaceId, other.tenant.workspaceId)).toBe('');
    });
  }

  describe('database level: the application role under row-level security', () => {
    it('guards every table that holds a workspace id: row-level security, or no right at all for the application', async () => {
      // Catalog-driven, so a table added later without a policy fails here rather than leaking.
      const { rows } = await db.adminPool.query<{
        table: string;
        rls: boolean;
        policies: number;
        app_can_read: boolean;
      }>(
        `SELECT c.oid::regclass::text AS table, c.relrowsecurity AS rls,
                (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
                has_table_privilege('socialpulse_app', c.oid, 'SELECT') AS app_can_read
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped)`,
      );
      expect(rows.length).toBeGreaterThan(10);
      const unguarded = rows
        .filter((r) => r.app_can_read && !(r.rls && r.policies > 0))
        .map((r) => r.table);
      expect(unguarded).toEqual([]);
      // The traces' partitions in particular: reachable only through ai_traces and its policy.
      const partitions = rows.filter((r) => r.table.startsWith('ai_traces_'));
      expect(partitions.length).toBeGreaterThan(1);
      await expect(db.pool.query('SELECT * FROM ai_traces_default')).rejects.toMatchObject({
        code: '42501',
      });
    });

    it.each(TENANT_TABLES)(
      '%s: nothing without a scope, only the scoped workspace with one',
      async (table) => {
        const total = await db.adminPool.query<{ workspace_id: string; n: string }>(
          `SELECT workspace_id, count(*) AS n FROM ${table} WHERE workspace_id IS NOT NULL GROUP BY workspace_id`,
        );
        const countFor = (ws: string): number =>
          Number(total.rows.find((r) => r.workspace_id === ws)?.n ?? 0);
        expect(countFor(a.tenant.workspaceId)).toBeGreaterThan(0);
        expect(countFor(b.tenant.workspaceId)).toBeGreaterThan(0);

        // No scope at all: a plain query as the app role (no transaction settings) sees nothing.
        expect((await db.pool.query(`SELECT * FROM ${table}`)).rowCount).toBe(0);
        // An explicit empty scope in a transaction: nothing either.
        expect(
          await withTenant(
            db.pool,
            { workspaceId: null, userId: null },
            async (c) => (await c.query(`SELECT * FROM ${table}`)).rowCount,
          ),
        ).toBe(0);

        for (const s of [a, b]) {
          const rows = await withTenant(
            db.pool,
            { workspaceId: s.tenant.workspaceId, userId: null },
            async (c) =>
              (await c.query<{ workspace_id: string }>(`SELECT workspace_id FROM ${table}`)).rows,
          );
          expect(rows.length).toBe(countFor(s.tenant.workspaceId));
          expect(new Set(rows.map((r) => r.workspace_id))).toEqual(new Set([s.tenant.workspaceId]));
        }
      },
    );

    it.each(TENANT_TABLES)(
      "%s: an INSERT or UPDATE carrying B's workspace while scoped to A is refused",
      async (table) => {
        // Copy one of B's rows (as the owner sees it) and try to write it as the app role scoped to A.
        const { rows: cols } = await db.adminPool.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER' AND coalesce(identity_generation, '') <> 'ALWAYS' ORDER BY ordinal_position",
          [table],
        );
        const list = cols.map((c) => `"${c.column_name}"`).join(', ');
        const { rows } = await db.adminPool.query<{ row: Record<string, unknown> }>(
          `SELECT to_jsonb(t) AS row FROM ${table} t WHERE workspace_id = $1 LIMIT 1`,
          [b.tenant.workspaceId],
        );
        expect(rows).toHaveLength(1);
        const insert = withTenant(
          db.pool,
          { workspaceId: a.tenant.workspaceId, userId: null },
          (c) =>
            c.query(
              `INSERT INTO ${table} (${list}) SELECT ${list} FROM jsonb_populate_record(null::${table}, $1)`,
              [rows[0]?.row],
            ),
        );
        await expect(insert).rejects.toMatchObject({
          code: '42501',
          message: expect.stringContaining('row-level security') as unknown,
        });

        // Moving one of A's own rows to B: refused as well.
        const move = withTenant(db.pool, { workspaceId: a.tenant.workspaceId, userId: null }, (c) =>
          c.query(`UPDATE ${table} SET workspace_id = $1 WHERE workspace_id = $2`, [
            b.tenant.workspaceId,
            a.tenant.workspaceId,
          ]),
        );
        await expect(move).rejects.toMatchObject({ code: '42501' });
        // And B's rows cannot be changed or deleted from A's scope (they are invisible: 0 rows).
        const del = await withTenant(
          db.pool,
          { workspaceId: a.tenant.workspaceId, userId: null },
          (c) => c.query(`DELETE FROM ${table} WHERE workspace_id = $1`, [b.tenant.workspaceId]),
        );
        expect(del.rowCount).toBe(0);
      },
    );
  });
});
