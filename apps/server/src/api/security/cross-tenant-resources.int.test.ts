/**
 * Cross-tenant isolation of the resources cross-tenant.int.test.ts does not cover: analyses
 * (detail, results and their exports, cost, events, priority, cancel, retry), the posts
 * export, connections,
 * sync runs, dead letters, invitations and analysis settings. Each of two workspaces has one of
 * each; every route of one workspace given the other's id answers 404 and says nothing of the
 * other, changes nothing of it, and no list shows the other's rows.
 */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildTestApp,
  createWorkspaceAs,
  signUpUser,
  type TestUser,
  noRateLimitsAtAll,
} from '../../../test/support/app.js';
import { createApiKeyForTest, type Headers } from '../../../test/support/auth.js';
import { insertCollectionRowsFor } from '../../../test/support/collection-rows.js';
import { postRecord, toJsonl } from '../../../test/support/factories.js';

interface Side {
  name: 'A' | 'B';
  /** A word only this side's rows contain. */
  marker: string;
  workspaceId: string;
  owner: TestUser;
  adminKey: { id: string; key: string; headers: Headers };
  analysisId: string;
  connectionId: string;
  syncRunId: string;
  deadLetterId: string;
  invitationId: string;
  invitationEmail: string;
}

interface ErrorBody {
  error?: { code?: string };
}

describe.skipIf(databaseUnavailable() !== '')(
  'cross-tenant isolation of analyses, collection, invitations and settings',
  () => {
    let db: TestDatabase;
    let app: ZodApp;
    let a: Side;
    let b: Side;

    async function fill(name: 'A' | 'B', marker: string): Promise<Side> {
      const owner = await signUpUser(app);
      const workspaceId = await createWorkspaceAs(app, owner, `${marker} workspace`);
      const adminKey = await createApiKeyForTest(db, workspaceId, ['admin']);
      const ws = `/v1/workspaces/${workspaceId}`;
      const imported = await app.inject({
        method: 'POST',
        url: `${ws}/imports`,
        headers: { ...owner.headers, 'content-type': 'application/x-ndjson' },
        payload: toJsonl(
          [1, 2, 3].map((i) => postRecord({ text: `${marker} post ${i} is great` })),
        ),
      });
      expect(imported.statusCode, imported.body).toBe(201);
      // Local engines only (no LLM); no worker runs here, so it stays queued.
      const analysis = await app.inject({
        method: 'POST',
        url: `${ws}/analyses`,
        headers: owner.headers,
        payload: { engines: ['local'] },
      });
      expect(analysis.statusCode, analysis.body).toBe(202);
      expect(analysis.json()).toMatchObject({ status: 'queued', total_posts: 3 });
      const settings = await app.inject({
        method: 'PATCH',
        url: `${ws}/analysis-settings`,
        headers: owner.headers,
        payload: {
          categories: [{ id: `${marker}category`, keywords: [marker] }],
          llm: { base_url: `https://${marker}.example.com/v1`, model: `${marker}-model` },
        },
      });
      expect(settings.statusCode, settings.body).toBe(200);
      const invitationEmail = `${marker}-invitee@example.com`;
      const invited = await app.inject({
        method: 'POST',
        url: `${ws}/invitations`,
        headers: owner.headers,
        payload: { email: invitationEmail, role: 'viewer' },
      });
      expect(invited.statusCode, invited.body).toBe(201);
      const rows = await insertCollectionRowsFor(db, workspaceId, marker);
      return {
        name,
        marker,
        workspaceId,
        owner,
        adminKey,
        analysisId: analysis.json<{ id: string }>().id,
        ...rows,
        invitationId: invited.json<{ id: string }>().id,
        invitationEmail,
      };
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

    /** Needles of `s` a body of the other side must never contain (numeric dead-letter ids are too short to search). */
    const needlesOf = (s: Side): string[] => [
      s.marker,
      s.workspaceId,
      s.owner.email,
      s.analysisId,
      s.connectionId,
      s.syncRunId,
      s.invitationId,
      s.invitationEmail,
    ];
    function expectNothingOf(other: Side, body: string, context: string, askedFor = ''): void {
      // The id the caller sent may be echoed back ("analysis <id> was not found"): that tells nothing.
      const text = askedFor ? body.replaceAll(askedFor, '') : body;
      expect(
        needlesOf(other).filter((needle) => text.includes(needle)),
        context,
      ).toEqual([]);
    }

    /** What of `s` the probes could change, read as the database owner. */
    async function stateOf(s: Side): Promise<unknown> {
      const q = async (sql: string, params: unknown[]): Promise<unknown[]> =>
        (await db.adminPool.query<Record<string, unknown>>(sql, params)).rows;
      return {
        analysis: await q('SELECT status, priority FROM analyses WHERE id = $1', [s.analysisId]),
        connection: await q(
          'SELECT status, poll_minutes, next_sync_at FROM platform_connections WHERE id = $1',
          [s.connectionId],
        ),
        runs: await q('SELECT id, status FROM sync_runs WHERE workspace_id = $1 ORDER BY id', [
          s.workspaceId,
        ]),
        deadLetter: await q('SELECT status, replayed_at FROM dead_letters WHERE id = $1', [
          s.deadLetterId,
        ]),
        invitation: await q('SELECT revoked_at, accepted_at FROM invitations WHERE id = $1', [
          s.invitationId,
        ]),
        settings: await q('SELECT * FROM workspace_analysis_settings WHERE workspace_id = $1', [
          s.workspaceId,
        ]),
      };
    }

    it('both workspaces are really filled (the checks below are not vacuous)', async () => {
      for (const s of [a, b]) {
        const ws = `/v1/workspaces/${s.workspaceId}`;
        const h = s.owner.headers;
        const own = [
          `${ws}/analyses/${s.analysisId}`,
          `${ws}/analyses/${s.analysisId}/results`,
          `${ws}/analyses/${s.analysisId}/results?format=csv`,
          `${ws}/analyses/${s.analysisId}/results?format=jsonl`,
          `${ws}/analyses/${s.analysisId}/cost`,
          `/v1/analyses/${s.analysisId}`,
          `${ws}/connections/${s.connectionId}`,
          `${ws}/connections/${s.connectionId}/sync-runs`,
          `${ws}/sync-runs/${s.syncRunId}`,
          `${ws}/dead-letters/${s.deadLetterId}`,
        ];
        for (const url of own) {
          const res = await app.inject({ url, headers: h });
          expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
        }
        for (const format of ['csv', 'jsonl']) {
          const exported = await app.inject({
            url: `${ws}/posts/export?format=${format}`,
            headers: h,
          });
          expect(exported.body).toContain(`${s.marker} post 3`);
        }
        const settings = await app.inject({ url: `${ws}/analysis-settings`, headers: h });
        expect(settings.body).toContain(`${s.marker}category`);
        const invitations = await app.inject({ url: `${ws}/invitations`, headers: h });
        expect(invitations.body).toContain(s.invitationId);
        const letter = await app.inject({
          url: `${ws}/dead-letters/${s.deadLetterId}`,
          headers: h,
        });
        expect(letter.body).toContain(s.marker);
      }
      expect(a.deadLetterId).not.toBe(b.deadLetterId);
    });

    for (const [mine, theirs] of [
      ['A', 'B'],
      ['B', 'A'],
    ] as const) {
      const sides = (): { me: Side; other: Side } =>
        mine === 'A' ? { me: a, other: b } : { me: b, other: a };
      const callersOf = (s: Side): { name: string; headers: Headers }[] => [
        { name: `owner ${s.name}`, headers: s.owner.headers },
        { name: `admin key ${s.name}`, headers: s.adminKey.headers },
      ];

      it(`${mine}'s routes given ${theirs}'s ids answer 404, say nothing of ${theirs} and change nothing`, async () => {
        const { me, other } = sides();
        const before = await stateOf(other);
        const ws = `/v1/workspaces/${me.workspaceId}`;
        const probes: (InjectOptions & { url: string; askedFor: string })[] = [
          ...[
            '',
            '/results',
            '/results?format=csv',
            '/results?format=jsonl',
            '/cost',
            '/events',
          ].map((suffix) => ({
            method: 'GET' as const,
            url: `${ws}/analyses/${other.analysisId}${suffix}`,
            askedFor: other.analysisId,
          })),
          {
            method: 'PATCH',
            url: `${ws}/analyses/${other.analysisId}`,
            payload: { priority: 9 },
            askedFor: other.analysisId,
          },
          {
            method: 'POST',
            url: `${ws}/analyses/${other.analysisId}/cancel`,
            askedFor: other.analysisId,
          },
          {
            method: 'POST',
            url: `${ws}/analyses/${other.analysisId}/retry`,
            askedFor: other.analysisId,
          },
          {
            method: 'GET',
            url: `${ws}/connections/${other.connectionId}`,
            askedFor: other.connectionId,
          },
          {
            method: 'GET',
            url: `${ws}/connections/${other.connectionId}/sync-runs`,
            askedFor: other.connectionId,
          },
          {
            method: 'PATCH',
            url: `${ws}/connections/${other.connectionId}`,
            payload: { poll_minutes: 60 },
            askedFor: other.connectionId,
          },
          {
            method: 'POST',
            url: `${ws}/connections/${other.connectionId}/sync`,
            payload: { kind: 'posts' },
            askedFor: other.connectionId,
          },
          {
            method: 'DELETE',
            url: `${ws}/connections/${other.connectionId}`,
            askedFor: other.connectionId,
          },
          { method: 'GET', url: `${ws}/sync-runs/${other.syncRunId}`, askedFor: other.syncRunId },
          // Another workspace's export is another workspace's route: not a member, so not found.
          ...['csv', 'jsonl'].map((format) => ({
            method: 'GET' as const,
            url: `/v1/workspaces/${other.workspaceId}/posts/export?format=${format}`,
            askedFor: other.workspaceId,
          })),
          {
            method: 'GET',
            url: `${ws}/dead-letters/${other.deadLetterId}`,
            askedFor: other.deadLetterId,
          },
          {
            method: 'POST',
            url: `${ws}/dead-letters/${other.deadLetterId}/replay`,
            askedFor: other.deadLetterId,
          },
          {
            method: 'POST',
            url: `${ws}/dead-letters/${other.deadLetterId}/discard`,
            askedFor: other.deadLetterId,
          },
        ];
        // Invitations are managed by people who manage members, not by API keys (403 whatever the id).
        const peopleOnly = [
          {
            method: 'DELETE' as const,
            url: `${ws}/invitations/${other.invitationId}`,
            askedFor: other.invitationId,
          },
        ];
        const wrong: string[] = [];
        for (const caller of callersOf(me)) {
          for (const probe of [
            ...probes,
            ...(caller.headers === me.owner.headers ? peopleOnly : []),
            // Without a workspace in the path: the analysis's own workspace decides, and it is not mine.
            {
              method: 'GET' as const,
              url: `/v1/analyses/${other.analysisId}`,
              askedFor: other.analysisId,
            },
            {
              method: 'GET' as const,
              url: `/v1/analyses/${other.analysisId}/events`,
              askedFor: other.analysisId,
            },
          ]) {
            const { askedFor, ...options } = probe;
            const res: LightMyRequestResponse = await app.inject({
              ...options,
              headers: caller.headers,
            });
            const what = `${caller.name}: ${String(options.method)} ${options.url}`;
            if (res.statusCode !== 404 || res.json<ErrorBody>().error?.code !== 'not_found')
              wrong.push(`${what} → ${res.statusCode} ${res.body.slice(0, 200)}`);
            expectNothingOf(other, res.body, what, askedFor);
            // No export of the other's results by way of the headers either.
            expect(String(res.headers['content-disposition'] ?? ''), what).not.toContain(
              other.analysisId,
            );
          }
        }
        expect(wrong).toEqual([]);
        expect(await stateOf(other)).toEqual(before);
        // And the other side still works with its own rows.
        const still = await app.inject({
          url: `/v1/workspaces/${other.workspaceId}/dead-letters/${other.deadLetterId}`,
          headers: other.owner.headers,
        });
        expect(still.json()).toMatchObject({ status: 'open' });
      });

      it(`${mine}'s lists and settings show only ${mine}'s rows`, async () => {
        const { me, other } = sides();
        const ws = `/v1/workspaces/${me.workspaceId}`;
        for (const caller of callersOf(me)) {
          const get = async (url: string): Promise<LightMyRequestResponse> => {
            const res = await app.inject({ url, headers: caller.headers });
            expect({ caller: caller.name, url, status: res.statusCode }).toEqual({
              caller: caller.name,
              url,
              status: 200,
            });
            expectNothingOf(other, res.body, `${caller.name} GET ${url}`);
            return res;
          };
          const ids = (res: LightMyRequestResponse): string[] =>
            res.json<{ data: { id: string }[] }>().data.map((row) => String(row.id));
          expect(ids(await get(`${ws}/analyses?limit=100`))).toEqual([me.analysisId]);
          expect(ids(await get(`${ws}/connections`))).toEqual([me.connectionId]);
          expect(ids(await get(`${ws}/connections/${me.connectionId}/sync-runs`))).toEqual([
            me.syncRunId,
          ]);
          expect(ids(await get(`${ws}/dead-letters`))).toEqual([me.deadLetterId]);
          expect(ids(await get(`${ws}/dead-letters?status=open`))).toEqual([me.deadLetterId]);
          const settings = await get(`${ws}/analysis-settings`);
          expect(settings.body).toContain(`${me.marker}category`);
          expect(settings.body).toContain(`${me.marker}-model`);
          // Results of my analysis (none yet: it has not run) hold nothing of the other's posts.
          await get(`${ws}/analyses/${me.analysisId}/results?format=jsonl`);
          await get(`${ws}/analyses/${me.analysisId}/results?format=csv`);
          await get(`${ws}/analyses/${me.analysisId}/cost`);
          for (const format of ['csv', 'jsonl'])
            expect((await get(`${ws}/posts/export?format=${format}`)).body).toContain(me.marker);
        }
        // Invitations are for managers of members: the owner reads them (API keys cannot).
        const invitations = await app.inject({
          url: `${ws}/invitations`,
          headers: me.owner.headers,
        });
        expect(invitations.statusCode).toBe(200);
        expect(invitations.json<{ data: { id: string }[] }>().data.map((i) => i.id)).toEqual([
          me.invitationId,
        ]);
        expectNothingOf(other, invitations.body, 'invitations');
      });

      it(`changing ${mine}'s analysis settings leaves ${theirs}'s as they were`, async () => {
        const { me, other } = sides();
        const before = await stateOf(other);
        const budget = mine === 'A' ? '12.25' : '34.75';
        const res = await app.inject({
          method: 'PATCH',
          url: `/v1/workspaces/${me.workspaceId}/analysis-settings`,
          headers: me.adminKey.headers,
          payload: {
            categories: [{ id: `${me.marker}category`, keywords: [me.marker, 'again'] }],
            llm: { api_key: `${me.marker}-secret-key`, monthly_budget_usd: budget },
          },
        });
        expect(res.statusCode, res.body).toBe(200);
        expectNothingOf(other, res.body, 'PATCH analysis-settings');
        expect(res.body).not.toContain(`${me.marker}-secret-key`);
        expect(await stateOf(other)).toEqual(before);
        const theirs = await app.inject({
          url: `/v1/workspaces/${other.workspaceId}/analysis-settings`,
          headers: other.owner.headers,
        });
        expect(theirs.body).not.toContain(budget);
        expect(theirs.body).not.toContain(me.marker);
      });
    }
  },
);
