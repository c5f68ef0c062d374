/**
 * The AI interaction traces of LLM chunks and job summaries through the real chunk path (the
 * real client against the fake OpenAI-compatible server), and what the monthly budget makes of
 * them: attempts whose outcome is unknown are counted at their estimated input cost, the local
 * engines' run is traced when the LLM call of the same attempt fails, and the job summary is
 * refused before it would spend beyond the budget.
 */
import Big from 'big.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '@socialpulse/contracts';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { buildTestApp, noRateLimitsAtAll, type TestUser } from '../../../test/support/app.js';
import {
  fakeLlmConfig,
  freshTestTenant,
  patchLlmSettings,
  startTestWorker,
  submitTestAnalysis,
  summarised,
  testQueueConfig,
  waitForAnalysis,
} from '../../../test/support/analyses.js';
import { startFakeLlmServer, type FakeLlmServer } from '../../../test/support/fake-llm-server.js';
import { costOf } from '../../ai/index.js';
import type { ZodApp } from '../../api/types.js';
import { loadConfig } from '../../config.js';
import { createLlmResolver, type LlmRuntime } from './llm-runtime.js';

interface TraceRow {
  chunk_seq: number | null;
  operation: string;
  status: string;
  error_type: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: string | null;
  priced: boolean;
  started_at: Date;
}

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')('LLM traces', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let llm: FakeLlmServer;
  const llmConfig = (): Record<string, string> => fakeLlmConfig(llm);

  beforeAll(async () => {
    db = await createTestDatabase();
    llm = await startFakeLlmServer();
    app = await buildTestApp(db, { ...noRateLimitsAtAll, ...testQueueConfig, ...llmConfig() });
  });

  afterAll(async () => {
    await app?.close();
    await llm?.close();
    await db?.drop();
  });

  const freshTenant = (posts: number, llmSettings?: Record<string, unknown>) =>
    freshTestTenant(app, posts, llmSettings);

  async function traces(analysisId: string): Promise<TraceRow[]> {
    const { rows } = await db.adminPool.query<TraceRow>(
      `SELECT chunk_seq, operation, status, error_type, input_tokens, output_tokens, cost_usd::text, priced, started_at
         FROM ai_traces WHERE analysis_id = $1 ORDER BY started_at, operation`,
      [analysisId],
    );
    return rows;
  }

  /** The progress stream's events (it ends after the job summary's event). */
  async function events(user: TestUser, analysisId: string): Promise<[string, unknown][]> {
    const body = (
      await app.inject({ url: `/v1/analyses/${analysisId}/events`, headers: user.headers })
    ).body;
    return [...body.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => [
      m[1] ?? '',
      JSON.parse(m[2] ?? 'null') as unknown,
    ]);
  }

  it('counts an attempt that timed out at the cost of its estimated input tokens, in the trace and in the month spend', async () => {
    llm.reset();
    // The first request is never answered: the client's 1 s timeout fires after it was sent,
    // and its retry is answered.
    llm.setBehaviour({ faults: { 1: { kind: 'hang' } } });
    const { user, ws } = await freshTenant(10, { timeout_ms: 1000, monthly_budget_usd: '10' });
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submitTestAnalysis(app, user, ws, { engines: ['llm'] });
      // Under the budget, the job summary is made.
      const done = await waitForAnalysis(app, user, a.id, summarised);
      expect(done.posts_processed).toBe(10);
      expect(llm.requests.map((r) => r.fault?.kind ?? null).slice(0, 2)).toEqual(['hang', null]);

      const rows = await traces(a.id);
      const labels = rows.filter((t) => t.operation === 'label_posts');
      expect(labels.map((t) => [t.status, t.error_type])).toEqual([
        ['error', 'llm_timeout'],
        ['ok', null],
      ]);
      const [timedOut, answered] = labels as [TraceRow, TraceRow];
      // Our count of the prompt (the same body as the answered retry's, which the provider
      // counted); the output is unknown.
      expect(timedOut.input_tokens).toBeGreaterThan(0);
      expect(
        Math.abs((timedOut.input_tokens ?? 0) - (answered.input_tokens ?? 0)),
      ).toBeLessThanOrEqual((answered.input_tokens ?? 0) * 0.1);
      expect(timedOut.output_tokens).toBeNull();
      expect(timedOut.priced).toBe(true);
      const estimated = costOf('gpt-4o-mini', {
        inputTokens: timedOut.input_tokens ?? 0,
        outputTokens: 0,
      });
      expect(estimated.priced).toBe(true);
      expect(new Big(timedOut.cost_usd ?? '0').gt(0)).toBe(true);
      expect(new Big(timedOut.cost_usd ?? '0').eq(estimated.priced ? estimated.costUsd : -1)).toBe(
        true,
      );
      // The analysis's own cost includes it.
      expect(new Big(done.usage.cost_usd).gte(timedOut.cost_usd ?? '0')).toBe(true);

      // The budget's check reads it: the next analysis, over a budget lowered below what was
      // spent, pauses with a month's spend that is every trace's cost, the timed-out one's too.
      await patchLlmSettings(app, user, ws, { monthly_budget_usd: '0.0001' });
      const next = await submitTestAnalysis(app, user, ws, { engines: ['llm'] });
      const paused = await waitForAnalysis(app, user, next.id);
      expect(paused.status).toBe('paused_budget');
      const spent = (paused.error as { spent_usd: string }).spent_usd;
      const others = (await traces(a.id))
        .filter((t) => t.error_type !== 'llm_timeout')
        .reduce((sum, t) => sum.plus(t.cost_usd ?? '0'), new Big(0));
      expect(new Big(spent).minus(others).eq(timedOut.cost_usd ?? '-1')).toBe(true);
      const month = (
        await app.inject({ url: `/v1/workspaces/${ws}/analysis-settings`, headers: user.headers })
      ).json<{ llm: { month_to_date_cost_usd: string } }>();
      expect(new Big(month.llm.month_to_date_cost_usd).eq(spent)).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it("keeps the local engines' trace of an attempt whose LLM call failed", async () => {
    llm.reset();
    // The provider fails the first request through the client's three tries: the chunk attempt
    // fails after the local engines ran; the chunk's next attempt is answered. (A refused key
    // would fail the analysis at once: no retry can fix it.)
    llm.setBehaviour({
      faults: {
        1: { kind: 'server_error' },
        2: { kind: 'server_error' },
        3: { kind: 'server_error' },
      },
    });
    const { user, ws } = await freshTenant(10);
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submitTestAnalysis(app, user, ws, { engines: ['local', 'llm'] });
      const done: Analysis = await waitForAnalysis(app, user, a.id);
      expect(done).toMatchObject({ status: 'completed', posts_processed: 10 });
      const chunk = await db.adminPool.query<{ attempts: number }>(
        'SELECT attempts FROM analysis_chunks WHERE analysis_id = $1 AND seq = 0',
        [a.id],
      );
      expect(chunk.rows[0]?.attempts).toBe(2);
      // Each attempt's calls once: the failed attempt's local run and its three failed tries,
      // then the second attempt's.
      await expect
        .poll(async () => (await traces(a.id)).filter((t) => t.chunk_seq === 0).length, {
          timeout: 10_000,
        })
        .toBe(6);
      const rows = (await traces(a.id)).filter((t) => t.chunk_seq === 0);
      expect(rows.map((t) => [t.operation, t.status, t.error_type])).toEqual([
        ['analyze', 'ok', null],
        ['label_posts', 'error', 'llm_unavailable'],
        ['label_posts', 'error', 'llm_unavailable'],
        ['label_posts', 'error', 'llm_unavailable'],
        ['analyze', 'ok', null],
        ['label_posts', 'ok', null],
      ]);
      // A failed request is not billed.
      expect(rows[1]).toMatchObject({ cost_usd: '0.000000000', priced: true, input_tokens: null });
    } finally {
      await worker.stop();
    }
  });

  it('skips the job summary, saying why, when it could exceed the monthly budget', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(10, { monthly_budget_usd: '0.0001' });
    // The chunk is let through its own budget check (its bound is taken as $0), so that the
    // analysis completes and its summary is the call that would go beyond the budget.
    const resolve = createLlmResolver(
      loadConfig({ DATABASE_URL: db.url, ...llmConfig() }, {}).llm,
      () => {
        throw new Error('this test uses the instance key');
      },
    );
    const worker = await startTestWorker(db, llmConfig(), {
      llmFor: (workspaceId, settings): LlmRuntime | null => {
        const runtime = resolve(workspaceId, settings);
        if (!runtime || workspaceId !== ws) return runtime;
        return { ...runtime, maxCostUsd: () => Promise.resolve('0') };
      },
    });
    try {
      const a = await submitTestAnalysis(app, user, ws, { engines: ['llm'] });
      const done = await waitForAnalysis(app, user, a.id);
      expect(done.status).toBe('completed');
      const stream = await events(user, a.id);
      expect(stream.map(([type]) => type).slice(-2)).toEqual(['completed', 'summary']);
      expect(stream.at(-1)?.[1]).toMatchObject({
        summary: null,
        reason: 'llm_budget_exceeded',
        error: { code: 'llm_budget_exceeded', budget_usd: '0.0001' },
      });
      const needed = (stream.at(-1)?.[1] as { error: { needed_usd: string } }).error.needed_usd;
      expect(new Big(needed).gt(0)).toBe(true);
      // Nothing was spent on it.
      expect(
        llm.requests.filter(
          (r) =>
            (r.body as { response_format?: { json_schema?: { name?: string } } }).response_format
              ?.json_schema?.name === 'job_summary',
        ),
      ).toEqual([]);
      expect((await traces(a.id)).filter((t) => t.operation === 'summarize')).toEqual([]);
      expect((await waitForAnalysis(app, user, a.id)).summary).toBeNull();
    } finally {
      await worker.stop();
    }
  });

  /** The workspace's live budget holds: holder and expiry. */
  async function holds(ws: string): Promise<{ holder: string; expires_at: Date }[]> {
    const { rows } = await db.adminPool.query<{ holder: string; expires_at: Date }>(
      'SELECT holder, expires_at FROM llm_budget_holds WHERE workspace_id = $1 ORDER BY holder',
      [ws],
    );
    return rows;
  }

  it("keeps a budget hold whose calls' traces could not be stored, and stores them once the database takes them", async () => {
    llm.reset();
    // The provider fails the first request through the client's three tries: the attempt
    // fails, and its traces go to the batched writer, which the database refuses while the
    // trigger below exists.
    llm.setBehaviour({
      faults: {
        1: { kind: 'server_error' },
        2: { kind: 'server_error' },
        3: { kind: 'server_error' },
      },
    });
    const { user, ws } = await freshTenant(10, { monthly_budget_usd: '10' });
    // A transient refusal (serialization failure) of this workspace's failed-call traces only:
    // the chunk's commit and the summary's own traces are not concerned.
    await db.adminPool.query(
      `CREATE FUNCTION test_refuse_error_traces() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.workspace_id = '${ws}' AND NEW.status = 'error' THEN
           RAISE EXCEPTION 'refused by the test' USING ERRCODE = '40001';
         END IF;
         RETURN NEW;
       END $$`,
    );
    const dropTrigger = async (): Promise<void> => {
      await db.adminPool.query('DROP TRIGGER IF EXISTS test_refuse_error_traces ON ai_traces');
      await db.adminPool.query('DROP FUNCTION IF EXISTS test_refuse_error_traces()');
    };
    await db.adminPool.query(
      'CREATE TRIGGER test_refuse_error_traces BEFORE INSERT ON ai_traces FOR EACH ROW EXECUTE FUNCTION test_refuse_error_traces()',
    );
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submitTestAnalysis(app, user, ws, { engines: ['llm'] });
      const done = await waitForAnalysis(app, user, a.id, summarised);
      expect(done.posts_processed).toBe(10);
      expect((await traces(a.id)).filter((t) => t.status === 'error')).toEqual([]);
      // The failed attempt's hold (attempt 0) was not given back: its call's cost is not in the
      // month yet, so the hold keeps counting it until it lapses.
      const kept = (await holds(ws)).filter((h) => /^chunk:.+:0$/.test(h.holder));
      expect(kept).toHaveLength(1);
      expect(kept[0]?.expires_at.getTime()).toBeGreaterThan(Date.now());

      // The database takes them again: the writer's timer stores the kept trace, once.
      await dropTrigger();
      await expect
        .poll(
          async () =>
            (await traces(a.id))
              .filter((t) => t.status === 'error')
              .map((t) => [t.operation, t.error_type]),
          { timeout: 10_000 },
        )
        .toEqual([
          ['label_posts', 'llm_unavailable'],
          ['label_posts', 'llm_unavailable'],
          ['label_posts', 'llm_unavailable'],
        ]);
    } finally {
      await dropTrigger();
      await worker.stop();
    }
  });

  it("renews the job summary's budget hold while its call runs, and gives it back when it ends", async () => {
    llm.reset();
    const { user, ws } = await freshTenant(10, { monthly_budget_usd: '10' });
    const worker = await startTestWorker(db, llmConfig());
    let answer = llm.hold();
    try {
      const a = await submitTestAnalysis(app, user, ws, { engines: ['llm'] });
      // The chunk's call is answered; the summary's, which follows, is held.
      await expect.poll(() => llm.requests.length, { timeout: 20_000 }).toBe(1);
      answer();
      answer = llm.hold();
      await expect.poll(() => llm.requests.length, { timeout: 20_000 }).toBe(2);
      const summaryHold = async (): Promise<Date | null> =>
        (await holds(ws)).find((h) => h.holder.startsWith('summary:'))?.expires_at ?? null;
      await expect.poll(summaryHold, { timeout: 10_000 }).not.toBeNull();
      const first = (await summaryHold())?.getTime() ?? 0;
      // Renewed on the chunk heartbeat's interval (a third of the lease) while the call runs.
      await expect
        .poll(async () => (await summaryHold())?.getTime() ?? 0, { timeout: 15_000 })
        .toBeGreaterThan(first);
      answer();
      const done = await waitForAnalysis(app, user, a.id, summarised);
      expect(done.summary).not.toBeNull();
      // Its traces stored, the hold is given back.
      await expect.poll(async () => (await holds(ws)).length, { timeout: 10_000 }).toBe(0);
    } finally {
      answer();
      await worker.stop();
    }
  });
});
