import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  waitForLockWaiters,
  type TestDatabase,
} from '../../../../test/support/db.js';
import {
  buildTestApp,
  createWorkspaceAs,
  noRateLimitsAtAll,
  signUpUser,
  type TestUser,
} from '../../../../test/support/app.js';
import {
  importTestPosts,
  mixedTexts,
  startTestWorker,
  submitTestAnalysis,
  testQueueConfig,
  waitForAnalysis,
} from '../../../../test/support/analyses.js';
import type { ZodApp } from '../../types.js';

interface SettingsBody {
  llm: { base_url: string | null; model: string | null; api_key_set: boolean };
}

/**
 * The workspace's analysis settings through PATCH …/analysis-settings: its own LLM server (a
 * base URL on the instance's own network is refused unless the operator trusts its origin; the
 * stored key never follows the base URL to another server), text PostgreSQL cannot store, and
 * category rules that an analysis keeps from its submission.
 */
describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')(
  "analysis settings: the workspace's LLM server",
  () => {
    let db: TestDatabase;
    let app: ZodApp;
    let owner: TestUser;
    let ws: string;

    beforeAll(async () => {
      db = await createTestDatabase();
      app = await buildTestApp(db, {
        ...noRateLimitsAtAll,
        ...testQueueConfig,
        LLM_BASE_URL: 'http://127.0.0.1:11434/v1',
        LLM_MODEL: 'llama3',
        LLM_TRUSTED_ORIGINS: 'http://192.168.1.20:8000',
      });
      owner = await signUpUser(app);
      ws = await createWorkspaceAs(app, owner);
    });
    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    const patch = (llm: Record<string, unknown>) =>
      app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}/analysis-settings`,
        headers: owner.headers,
        payload: { llm },
      });
    async function settings(llm: Record<string, unknown>): Promise<SettingsBody['llm']> {
      const res = await patch(llm);
      expect(res.statusCode, res.body).toBe(200);
      return res.json<SettingsBody>().llm;
    }

    it('refuses a base URL on a private, loopback or link-local address, naming the field; takes the operator-trusted and public ones', async () => {
      for (const base_url of [
        'http://10.0.0.5:9200/x',
        'http://169.254.169.254/latest/meta-data',
        'http://localhost:5432',
        'http://[::1]:6379',
        'http://127.0.0.1:8080/v1',
      ]) {
        const res = await patch({ base_url });
        expect(res.statusCode, base_url).toBe(400);
        expect(res.json()).toMatchObject({
          error: {
            code: 'validation_failed',
            message: expect.stringMatching(
              /^body\.llm\.base_url: .*LLM_TRUSTED_ORIGINS$/,
            ) as string,
            details: { field: 'llm.base_url', reason: 'not_public' },
          },
        });
      }
      expect((await settings({})).base_url).toBeNull();
      expect((await settings({ base_url: 'http://192.168.1.20:8000/v1' })).base_url).toBe(
        'http://192.168.1.20:8000/v1',
      );
      expect((await settings({ base_url: 'http://127.0.0.1:11434/v2' })).base_url).toBe(
        'http://127.0.0.1:11434/v2',
      );
      expect((await settings({ base_url: 'https://api.openai.com/v1' })).base_url).toBe(
        'https://api.openai.com/v1',
      );
    });

    it('refuses text PostgreSQL cannot store (NUL) in a model or a category rule with a 400 naming the field', async () => {
      for (const [payload, field] of [
        [{ llm: { model: 'gpt\u0000' } }, 'llm.model'],
        [{ llm: { base_url: 'https://llm.example.com/v1/\u0000x' } }, 'llm.base_url'],
        [{ categories: [{ id: 'a\u0000b', keywords: ['x'] }] }, 'categories.0.id'],
        [{ categories: [{ id: 'ok', keywords: ['x', 'y\u0000'] }] }, 'categories.0.keywords.1'],
        [{ categories: [{ id: 'ok', hashtags: ['\u0000'] }] }, 'categories.0.hashtags.0'],
      ] as const) {
        const res = await app.inject({
          method: 'PATCH',
          url: `/v1/workspaces/${ws}/analysis-settings`,
          headers: owner.headers,
          payload,
        });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.body).toContain(field);
        expect(res.body).toContain('NUL');
      }
    });

    it('forgets the stored key when the base URL changes without a new key, and keeps it otherwise', async () => {
      const first = await settings({
        base_url: 'https://api.openai.com/v1',
        model: 'gpt-4o-mini',
        api_key: 'sk-workspace-key',
      });
      expect(first.api_key_set).toBe(true);
      // The same URL again, or other fields: the key stays.
      expect((await settings({ base_url: 'https://api.openai.com/v1' })).api_key_set).toBe(true);
      expect((await settings({ model: 'gpt-4o' })).api_key_set).toBe(true);
      // Another server and a key for it: the new key.
      expect(
        (await settings({ base_url: 'https://llm.example.com/v1', api_key: 'sk-other' }))
          .api_key_set,
      ).toBe(true);
      // Another server, no key: the key is not sent there.
      const moved = await settings({ base_url: 'https://attacker.example/v1' });
      expect(moved).toMatchObject({ base_url: 'https://attacker.example/v1', api_key_set: false });
      const sealed = await db.adminPool.query<{ k: string | null }>(
        'SELECT llm_api_key_sealed k FROM workspace_analysis_settings WHERE workspace_id = $1',
        [ws],
      );
      expect(sealed.rows[0]?.k).toBeNull();
      const audit = await db.adminPool.query<{ details: Record<string, unknown> }>(
        "SELECT details FROM audit_log WHERE workspace_id = $1 AND action = 'analysis_settings.updated' ORDER BY id DESC LIMIT 1",
        [ws],
      );
      expect(audit.rows[0]?.details).toMatchObject({
        fields: ['llm.base_url'],
        api_key_forgotten: 'the base URL changed',
      });
      // Back to the instance's server (null): no key follows there either.
      await settings({ base_url: 'https://llm.example.com/v1', api_key: 'sk-third' });
      expect((await settings({ base_url: null })).api_key_set).toBe(false);
    });

    it('forgets a key saved while a base-URL change waited to read the settings (changes to one workspace take turns)', async () => {
      const space = await createWorkspaceAs(app, owner);
      const url = `/v1/workspaces/${space}/analysis-settings`;
      const first = await app.inject({
        method: 'PATCH',
        url,
        headers: owner.headers,
        payload: { llm: { base_url: 'https://api.openai.com/v1' } },
      });
      expect(first.statusCode, first.body).toBe(200);
      // A change of the same workspace's settings is on its way: it holds their lock.
      const other = await db.adminPool.connect();
      let moved: Awaited<ReturnType<typeof app.inject>>;
      try {
        await other.query('BEGIN');
        await other.query(
          "SELECT pg_advisory_xact_lock(hashtextextended('analysis_settings:' || $1, 0))",
          [space],
        );
        const moving = app.inject({
          method: 'PATCH',
          url,
          headers: owner.headers,
          payload: { llm: { base_url: 'https://elsewhere.example/v1' } },
        });
        // It waits for that lock before it reads the settings.
        await waitForLockWaiters(db, 1, 'advisory');
        // That change stores a key for the first server, then commits.
        await other.query(
          "UPDATE workspace_analysis_settings SET llm_api_key_sealed = 'sealed-key' WHERE workspace_id = $1",
          [space],
        );
        await other.query('COMMIT');
        moved = await moving;
      } finally {
        other.release();
      }
      expect(moved.statusCode, moved.body).toBe(200);
      expect(moved.json<SettingsBody>().llm).toMatchObject({
        base_url: 'https://elsewhere.example/v1',
        api_key_set: false,
      });
    });

    it('applies a change sent with a revision only if the settings are still at it (409 naming the current one otherwise, nothing changed or audited)', async () => {
      const space = await createWorkspaceAs(app, owner);
      const url = `/v1/workspaces/${space}/analysis-settings`;
      const send = (payload: Record<string, unknown>) =>
        app.inject({ method: 'PATCH', url, headers: owner.headers, payload });
      const read = async (): Promise<{ revision: number; llm: { model: string | null } }> => {
        const res = await app.inject({ method: 'GET', url, headers: owner.headers });
        expect(res.statusCode, res.body).toBe(200);
        return res.json();
      };
      const audited = async (): Promise<number> =>
        (
          await db.adminPool.query<{ n: number }>(
            "SELECT count(*)::int n FROM audit_log WHERE workspace_id = $1 AND action = 'analysis_settings.updated'",
            [space],
          )
        ).rows[0]?.n ?? -1;

      expect((await read()).revision).toBe(0);
      // Nothing saved yet: only revision 0 may create them.
      const early = await send({ revision: 3, llm: { model: 'gpt-4o' } });
      expect(early.statusCode, early.body).toBe(409);
      expect(early.json()).toMatchObject({
        error: { code: 'conflict', details: { field: 'revision', value: 3, current_revision: 0 } },
      });
      const created = await send({ revision: 0, llm: { model: 'gpt-4o' } });
      expect(created.statusCode, created.body).toBe(200);
      expect(created.json()).toMatchObject({ revision: 1, llm: { model: 'gpt-4o' } });

      // Two editors read revision 1; the first to save wins, the second is told, not overwritten.
      const first = await send({
        revision: 1,
        categories: [{ id: 'Billing', keywords: ['invoice'] }],
      });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toMatchObject({ revision: 2 });
      const before = await audited();
      for (const stale of [{ revision: 1 }, { revision: 0 }]) {
        const second = await send({ ...stale, llm: { model: 'llama3' } });
        expect(second.statusCode, second.body).toBe(409);
        expect(second.json()).toMatchObject({
          error: { code: 'conflict', details: { field: 'revision', current_revision: 2 } },
        });
        expect(second.json<{ error: { message: string } }>().error.message).toContain('revision 2');
      }
      expect(await read()).toMatchObject({ revision: 2, llm: { model: 'gpt-4o' } });
      expect(await audited()).toBe(before);

      // From the current revision it applies; without one, whatever changed since.
      const third = await send({ revision: 2, llm: { model: 'llama3' } });
      expect(third.json()).toMatchObject({ revision: 3, llm: { model: 'llama3' } });
      const unconditional = await send({ llm: { model: 'mistral' } });
      expect(unconditional.json()).toMatchObject({ revision: 4, llm: { model: 'mistral' } });
      for (const bad of [-1, 1.5, '4', 2 ** 31]) {
        const res = await send({ revision: bad, llm: { model: 'x' } });
        expect(res.statusCode, `${String(bad)}: ${res.body}`).toBe(400);
        expect(res.body).toContain('revision');
      }
    });

    it('runs an analysis with the category rules of its submission, whatever they became before its chunks ran', async () => {
      const rules = async (categories: unknown): Promise<void> => {
        const res = await app.inject({
          method: 'PATCH',
          url: `/v1/workspaces/${ws}/analysis-settings`,
          headers: owner.headers,
          payload: { categories },
        });
        expect(res.statusCode, res.body).toBe(200);
      };
      // 3 posts of praise ("I love the new release…"), 3 complaints ("…broken and slow…").
      await importTestPosts(app, owner, ws, 6, mixedTexts);
      await rules([{ id: 'praise', keywords: ['love'] }]);
      // No worker yet: every chunk runs after the rules change.
      const submitted = await submitTestAnalysis(app, owner, ws, { engines: ['local'] });
      await rules([{ id: 'complaints', keywords: ['broken'] }]);
      const worker = await startTestWorker(db);
      try {
        const done = await waitForAnalysis(app, owner, submitted.id);
        expect(done.status).toBe('completed');
      } finally {
        await worker.stop();
      }
      const res = await app.inject({
        url: `/v1/workspaces/${ws}/analyses/${submitted.id}/results?limit=100`,
        headers: owner.headers,
      });
      const results = res.json<{ data: { text: string; local: { categories: string[] } }[] }>()
        .data;
      expect(results).toHaveLength(6);
      for (const r of results)
        expect(r.local.categories, r.text).toEqual(r.text.includes('love') ? ['praise'] : []);
    });
  },
);
