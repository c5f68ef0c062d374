/**
 * The analysis job engine end to end, on the real PostgreSQL: the scheduling rules across
 * worker loops and processes, retries and dead letters, the LLM (the real client against the
 * fake OpenAI-compatible server), budgets, traces, and a worker killed with SIGKILL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, AnalysisResult } from '@socialpulse/contracts';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  addMember,
  buildTestApp,
  createWorkspaceAs,
  noRateLimitsAtAll,
  signUpUser,
  type TestUser,
} from '../../../test/support/app.js';
import {
  fakeLlmConfig,
  freshTestTenant,
  importTestPosts,
  mixedTexts,
  startTestWorker,
  submitTestAnalysis,
  summarised,
  testQueueConfig,
  waitForAnalysis,
} from '../../../test/support/analyses.js';
import { startFakeLlmServer, type FakeLlmServer } from '../../../test/support/fake-llm-server.js';
import { startWorkerProcess } from '../../../test/support/server-process.js';
import type { RunningWorker } from '../../services/worker.js';
import type { ZodApp } from '../../api/types.js';
import type { ChunkJobData } from '../../db/job-queue.js';
import { loadConfig } from '../../config.js';
import { createLlmResolver, type LlmRuntime } from './llm-runtime.js';

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')('analysis jobs', () => {
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

  const submit = (user: TestUser, ws: string, body: Record<string, unknown>): Promise<Analysis> =>
    submitTestAnalysis(app, user, ws, body);

  const freshTenant = (posts: number, llmSettings?: Record<string, unknown>) =>
    freshTestTenant(app, posts, llmSettings);

  /**
   * What pg-boss records when a chunk's claim lapses and another worker claims its job: a new
   * attempt of the analysis's active job (exactly one).
   */
  async function claimElsewhere(analysisId: string): Promise<void> {
    const claimed = await db.adminPool.query(
      "UPDATE pgboss.job SET retry_count = retry_count + 1 WHERE name = 'analysis-chunk' AND state = 'active' AND data ->> 'analysisId' = $1",
      [analysisId],
    );
    expect(claimed.rowCount).toBe(1);
  }

  /** The `chunk_failed` events clients were told of. */
  async function chunkFailedEvents(analysisId: string): Promise<number | null> {
    const failures = await db.adminPool.query(
      "SELECT 1 FROM analysis_events WHERE analysis_id = $1 AND type = 'chunk_failed'",
      [analysisId],
    );
    return failures.rowCount;
  }

  /** The labelling calls traced for an analysis (each was made, whether its chunk committed or not). */
  async function labelCalls(analysisId: string): Promise<number | undefined> {
    const { rows } = await db.adminPool.query<{ n: number }>(
      "SELECT count(*)::int n FROM ai_traces WHERE analysis_id = $1 AND operation = 'label_posts'",
      [analysisId],
    );
    return rows[0]?.n;
  }

  /**
   * The real runtime over the fake provider, with a circuit that half-opens after
   * `halfOpenAfterMs` (30 s in production) so that outages fit in a test.
   */
  const tunedLlm = (
    halfOpenAfterMs: number,
  ): ((
    workspaceId: string,
    settings: Parameters<ReturnType<typeof createLlmResolver>>[1],
  ) => LlmRuntime | null) =>
    createLlmResolver(
      loadConfig({ DATABASE_URL: db.url, ...llmConfig() }, {}).llm,
      () => {
        throw new Error('these tests use the instance key');
      },
      { circuitBreaker: { halfOpenAfterMs } },
    );

  /** The `chunk_failed` events of some analyses, oldest first. */
  async function failures(
    analysisIds: string[],
  ): Promise<{ seq: number; counted?: boolean; error: { code: string } }[]> {
    const { rows } = await db.adminPool.query<{
      data: { seq: number; counted?: boolean; error: { code: string } };
    }>(
      "SELECT data FROM analysis_events WHERE analysis_id = ANY($1::uuid[]) AND type = 'chunk_failed' ORDER BY id",
      [analysisIds],
    );
    return rows.map((r) => r.data);
  }

  it('keeps one chunk per requester, at most N at once, chunks in order, and takes turns between requesters', async () => {
    llm.reset();
    llm.setBehaviour({ latencyMs: 40 });
    const users = await Promise.all(Array.from({ length: 6 }, () => signUpUser(app)));
    const spaces = await Promise.all(users.map((u) => createWorkspaceAs(app, u)));
    for (const [i, u] of users.entries())
      await importTestPosts(app, u, spaces[i] ?? '', 50, mixedTexts);
    const starts: { key: string; analysisId: string; seq: number; at: number }[] = [];
    let running = 0;
    let maxRunning = 0;
    const runningByKey = new Map<string, number>();
    let maxPerKey = 0;
    const onChunk = (e: { type: 'start' | 'end'; data: ChunkJobData; at: number }): void => {
      const k = e.data.fairnessKey;
      if (e.type === 'start') {
        starts.push({ key: k, analysisId: e.data.analysisId, seq: e.data.seq, at: e.at });
        running += 1;
        runningByKey.set(k, (runningByKey.get(k) ?? 0) + 1);
      } else {
        running -= 1;
        runningByKey.set(k, (runningByKey.get(k) ?? 0) - 1);
      }
      maxRunning = Math.max(maxRunning, running);
      maxPerKey = Math.max(maxPerKey, ...runningByKey.values());
    };
    // Two workers with four loops each compete for two global slots.
    const config = { ...llmConfig(), ANALYSIS_SLOTS: '2', ANALYSIS_WORKER_CONCURRENCY: '4' };
    // Everyone submits before the workers start, as when 6 users ask at the same moment.
    const analyses: Analysis[] = [];
    for (const [i, u] of users.entries())
      analyses.push(
        await submit(u, spaces[i] ?? '', {
          engines: ['local', 'llm'],
          options: { chunk_size: 10 },
        }),
      );
    // Before any worker runs, the last requester's first chunk has the other five ahead of it.
    const waiting = (
      await app.inject({
        url: `/v1/analyses/${analyses[5]?.id ?? ''}`,
        headers: users[5]?.headers ?? {},
      })
    ).json<Analysis>();
    expect(waiting).toMatchObject({
      status: 'queued',
      queue_position: 5,
      estimated_seconds_left: null,
      progress: 0,
    });
    const workers: RunningWorker[] = [
      await startTestWorker(db, config, { onChunk }),
      await startTestWorker(db, config, { onChunk }),
    ];
    try {
      const finished = await Promise.all(
        analyses.map((a, i) => waitForAnalysis(app, users[i] as TestUser, a.id)),
      );
      for (const f of finished)
        expect(f).toMatchObject({
          status: 'completed',
          chunk_count: 5,
          chunks_done: 5,
          posts_processed: 50,
        });

      expect(maxPerKey).toBe(1);
      expect(maxRunning).toBeLessThanOrEqual(2);
      expect(maxRunning).toBe(2);
      // Chunks of an analysis ran once each, in order.
      for (const a of analyses)
        expect(starts.filter((s) => s.analysisId === a.id).map((s) => s.seq)).toEqual([
          0, 1, 2, 3, 4,
        ]);
      // Round-robin: every requester's first chunk was claimed before anyone's second. Read in
      // the claims' order as the database dated them: a chunk claimed ahead, while its slot's
      // last chunk committed, reports its start only when that commit returns, so the order of
      // the start callbacks across slots also depends on how long each commit took.
      const claims = await db.adminPool.query<{ seq: number }>(
        `SELECT (data ->> 'seq')::int AS seq FROM pgboss.job
          WHERE name = 'analysis-chunk' AND data ->> 'analysisId' = ANY($1::text[])
          ORDER BY started_on`,
        [analyses.map((a) => a.id)],
      );
      const claimOrder = claims.rows.map((r) => r.seq);
      expect(claimOrder).toHaveLength(30);
      expect(claimOrder.lastIndexOf(0)).toBeLessThan(claimOrder.indexOf(1));

      // Every post has exactly one result, with the LLM's labels.
      const { rows } = await db.adminPool.query<{ n: number; posts: number; labelled: number }>(
        "SELECT count(*)::int n, count(DISTINCT (analysis_id, post_id))::int posts, count(*) FILTER (WHERE llm_status = 'labelled')::int labelled FROM analysis_results WHERE analysis_id = ANY($1)",
        [analyses.map((a) => a.id)],
      );
      expect(rows[0]).toEqual({ n: 300, posts: 300, labelled: 300 });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });

  it('runs a faster lane first: a workspace marked by the operator overtakes the ones queued before it', async () => {
    const users = await Promise.all([signUpUser(app), signUpUser(app), signUpUser(app)]);
    const spaces = await Promise.all(users.map((u) => createWorkspaceAs(app, u)));
    for (const [i, u] of users.entries())
      await importTestPosts(app, u, spaces[i] ?? '', 20, mixedTexts);
    await db.adminPool.query('UPDATE workspaces SET analysis_priority = 5 WHERE id = $1', [
      spaces[2],
    ]);
    const analyses: Analysis[] = [];
    for (const [i, u] of users.entries())
      analyses.push(await submit(u, spaces[i] ?? '', { options: { chunk_size: 10 } }));
    expect(analyses.map((a) => a.priority)).toEqual([0, 0, 5]);
    const starts: string[] = [];
    const worker = await startTestWorker(
      db,
      { ANALYSIS_SLOTS: '1' },
      { onChunk: (e) => e.type === 'start' && starts.push(`${e.data.analysisId}:${e.data.seq}`) },
    );
    try {
      await Promise.all(analyses.map((a, i) => waitForAnalysis(app, users[i] as TestUser, a.id)));
      const fast = analyses[2]?.id ?? '';
      expect(starts.slice(0, 2)).toEqual([`${fast}:0`, `${fast}:1`]);
      // One slot: however the next chunk is claimed, no chunk starts before the last one ended.
      const { rows } = await db.adminPool.query<{ started: Date; finished: Date }>(
        'SELECT started_at AS started, finished_at AS finished FROM analysis_chunks WHERE analysis_id = ANY($1) ORDER BY started_at',
        [analyses.map((a) => a.id)],
      );
      expect(rows).toHaveLength(6);
      for (let i = 1; i < rows.length; i++)
        expect(rows[i]?.started.getTime()).toBeGreaterThanOrEqual(
          rows[i - 1]?.finished.getTime() ?? Infinity,
        );
    } finally {
      await worker.stop();
    }
  });

  it('labels posts with the LLM, summarises the job and accounts for every call in exact cost', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(30);
    await app.inject({
      method: 'PATCH',
      url: `/v1/workspaces/${ws}/analysis-settings`,
      headers: user.headers,
      payload: {
        categories: [
          { id: 'bugs', keywords: ['broken'] },
          { id: 'praise', keywords: ['love'] },
        ],
      },
    });
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, { engines: ['llm'], options: { chunk_size: 10 } });
      const done = await waitForAnalysis(app, user, a.id, summarised);
      expect(done.summary).toEqual(expect.any(String));
      // The progress stream carries the summary, after the final event, and then ends.
      const stream = (
        await app.inject({ url: `/v1/analyses/${a.id}/events`, headers: user.headers })
      ).body;
      expect([...stream.matchAll(/event: (\w+)\n/g)].map((m) => m[1]).slice(-2)).toEqual([
        'completed',
        'summary',
      ]);
      expect(stream).toContain(JSON.stringify(done.summary).slice(0, 20));
      expect(done.usage.input_tokens).toBeGreaterThan(0);
      expect(Number(done.usage.cost_usd)).toBeGreaterThan(0);
      expect(done.usage.unpriced_calls).toBe(0);
      const results = (
        await app.inject({
          url: `/v1/workspaces/${ws}/analyses/${a.id}/results?llm_sentiment=negative&limit=100`,
          headers: user.headers,
        })
      ).json<{ data: AnalysisResult[] }>().data;
      expect(results).toHaveLength(15);
      expect(results.every((r) => r.llm?.status === 'labelled' && r.text?.includes('broken'))).toBe(
        true,
      );
      // The aggregates merged from the chunks' partials read as the stored results do.
      const full = await db.adminPool.query<{ aggregates: Record<string, unknown> }>(
        'SELECT analysis_aggregates_from_results($1) AS aggregates',
        [a.id],
      );
      expect(done.aggregates).toEqual(full.rows[0]?.aggregates);
      expect(done.aggregates).toMatchObject({ llm_sentiment: { negative: 15 } });
      expect(done.aggregates?.top_topics).not.toEqual([]);
      // The topic filter ignores case, and finds what the aggregates count.
      const top = (done.aggregates?.top_topics as { topic: string; count: number }[])[0];
      const byTopic = (
        await app.inject({
          url: `/v1/workspaces/${ws}/analyses/${a.id}/results?topic=${encodeURIComponent(top?.topic.toUpperCase() ?? '')}&limit=100`,
          headers: user.headers,
        })
      ).json<{ data: AnalysisResult[] }>().data;
      expect(byTopic).toHaveLength(top?.count ?? -1);
      expect(byTopic.every((r) => r.llm?.topic?.toLowerCase() === top?.topic)).toBe(true);
      // A chunk committed before partials existed: the analysis is read from its results.
      await db.adminPool.query(
        'UPDATE analysis_chunks SET aggregates = NULL WHERE analysis_id = $1 AND seq = 0',
        [a.id],
      );
      const fallback = await db.adminPool.query<{ aggregates: Record<string, unknown> }>(
        'SELECT analysis_aggregates($1) AS aggregates',
        [a.id],
      );
      expect(fallback.rows[0]?.aggregates).toEqual(full.rows[0]?.aggregates);
      // Every request the fake server saw is a trace, with its tokens, and the cost adds up exactly.
      await expect
        .poll(
          async () =>
            (
              await app.inject({
                url: `/v1/workspaces/${ws}/analyses/${a.id}/cost`,
                headers: user.headers,
              })
            ).json<{ calls: number }>().calls,
          { timeout: 10_000 },
        )
        .toBe(llm.requests.length);
      const cost = (
        await app.inject({
          url: `/v1/workspaces/${ws}/analyses/${a.id}/cost`,
          headers: user.headers,
        })
      ).json<{ cost_usd: string; input_tokens: number; by_model: { model: string }[] }>();
      const { rows } = await db.adminPool.query<{ sum: string; chunk_cost: string }>(
        'SELECT (SELECT sum(cost_usd)::text FROM ai_traces WHERE analysis_id = $1) AS sum, (SELECT sum(cost_usd)::text FROM ai_traces WHERE analysis_id = $1 AND chunk_seq IS NOT NULL) AS chunk_cost',
        [a.id],
      );
      expect(cost.cost_usd).toBe(rows[0]?.sum);
      // The analysis's own counters cover the chunks' calls (the job summary is traced on its own).
      expect(Number(done.usage.cost_usd)).toBeCloseTo(Number(rows[0]?.chunk_cost), 9);
      expect(cost.by_model.map((m) => m.model)).toEqual(['gpt-4o-mini']);
      const trace = await db.adminPool.query(
        'SELECT operation, provider, request_model, input_tokens, output_tokens, priced, price_version, status FROM ai_traces WHERE analysis_id = $1 ORDER BY started_at LIMIT 1',
        [a.id],
      );
      expect(trace.rows[0]).toMatchObject({
        operation: 'label_posts',
        request_model: 'gpt-4o-mini',
        priced: true,
        status: 'ok',
      });
      // The key went to the provider and nowhere else.
      expect(llm.requests[0]?.headers.authorization).toBe('Bearer sk-test-secret');
    } finally {
      await worker.stop();
    }
  });

  it('retries a failing chunk with back-off, dead-letters it after 3 attempts, and runs it again on retry', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(20);
    const worker = await startTestWorker(db, llmConfig(), { llmFor: tunedLlm(2_000) });
    try {
      // The first chunk's request succeeds; every later one fails with 500.
      llm.setBehaviour({
        faults: Object.fromEntries(
          Array.from({ length: 60 }, (_, i) => [i + 2, { kind: 'server_error' as const }]),
        ),
      });
      const a = await submit(user, ws, { engines: ['llm'], options: { chunk_size: 10 } });
      const partial = await waitForAnalysis(app, user, a.id);
      // The provider stayed down through the chunk's attempts: every later chunk would fail the
      // same way, so the analysis fails rather than going on (here it was the last chunk).
      expect(partial).toMatchObject({
        status: 'failed',
        chunks_done: 1,
        chunks_failed: 1,
        posts_processed: 10,
        posts_failed: 10,
        error: { policy: 'provider_failure' },
      });
      expect((partial.error as { resume?: string }).resume).toContain(`/analyses/${a.id}/retry`);
      const events = (
        await app.inject({ url: `/v1/analyses/${a.id}/events`, headers: user.headers })
      ).body;
      // Attempts refused by the open circuit before sending are not counted (nor may there be any).
      expect((await failures([a.id])).filter((f) => f.counted !== false)).toHaveLength(3);
      expect(events).toContain('event: chunk_dead');
      const chunk = await db.adminPool.query<{
        status: string;
        attempts: number;
        error: { attempts: number };
      }>('SELECT status, attempts, error FROM analysis_chunks WHERE analysis_id = $1 AND seq = 1', [
        a.id,
      ]);
      expect(chunk.rows[0]).toMatchObject({ status: 'dead' });
      expect(chunk.rows[0]?.attempts).toBe(chunk.rows[0]?.error.attempts);
      expect(chunk.rows[0]?.attempts).toBeGreaterThanOrEqual(3);
      // Every request the provider received is traced, the failed attempts' included (the
      // budget reads traces); calls refused by the open circuit never reached it.
      const traced = async (): Promise<number | undefined> =>
        (
          await db.adminPool.query<{ n: number }>(
            "SELECT count(*)::int n FROM ai_traces WHERE analysis_id = $1 AND operation = 'label_posts' AND error_type IS DISTINCT FROM 'llm_circuit_open'",
            [a.id],
          )
        ).rows[0]?.n;
      expect(llm.requests.length).toBeGreaterThan(1);
      await expect.poll(traced, { timeout: 10_000 }).toBe(llm.requests.length);

      // The provider recovers. A new timeout gives the workspace a fresh client (the old one's
      // circuit may still be open after these failures), then the dead chunk runs again.
      llm.setBehaviour({ faults: {} });
      await app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}/analysis-settings`,
        headers: user.headers,
        payload: { llm: { timeout_ms: 30_000 } },
      });
      const retry = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${a.id}/retry`,
        headers: user.headers,
      });
      expect(retry.statusCode, retry.body).toBe(202);
      // The first run's aggregates and summary go: the rerun makes its own.
      expect(retry.json<Analysis>()).toMatchObject({ aggregates: null, summary: null });
      const done = await waitForAnalysis(app, user, a.id, (x) => x.status === 'completed');
      expect(done).toMatchObject({
        chunks_done: 2,
        chunks_failed: 0,
        posts_processed: 20,
        posts_failed: 0,
      });
      const count = await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int n FROM analysis_results WHERE analysis_id = $1',
        [a.id],
      );
      expect(count.rows[0]?.n).toBe(20);
    } finally {
      await worker.stop();
    }
  });

  it('rides out a short provider outage: retries wait for the circuit to half-open, and claims it refused unsent use no attempt', async () => {
    llm.reset();
    // Two requesters on the instance's provider share one client, and so one circuit.
    const tenants = [await freshTenant(30), await freshTenant(30)];
    llm.setBehaviour({
      latencyMs: 200,
      faults: Object.fromEntries(
        Array.from({ length: 500 }, (_, i) => [i + 1, { kind: 'server_error' as const }]),
      ),
    });
    const worker = await startTestWorker(db, llmConfig(), { llmFor: tunedLlm(3_000) });
    try {
      const analyses = await Promise.all(
        tenants.map(({ user, ws }) =>
          submit(user, ws, { engines: ['local', 'llm'], options: { chunk_size: 10 } }),
        ),
      );
      const ids = analyses.map((a) => a.id);
      // Down until a claim was refused by the open circuit without sending: then it recovers.
      await expect
        .poll(async () => (await failures(ids)).some((f) => f.counted === false), {
          timeout: 40_000,
          interval: 50,
        })
        .toBe(true);
      llm.setBehaviour({ faults: {} });
      for (const [i, { user }] of tenants.entries()) {
        const done = await waitForAnalysis(app, user, ids[i] ?? '');
        expect(done).toMatchObject({
          status: 'completed',
          chunks_done: 3,
          chunks_failed: 0,
          posts_processed: 30,
        });
      }
      const seen = await failures(ids);
      expect(seen.some((f) => f.error.code === 'llm_circuit_open')).toBe(true);
      // What each chunk spent of its 3 attempts: at most 2 failed ones, refused claims aside.
      const { rows } = await db.adminPool.query<{ attempts: number }>(
        'SELECT attempts FROM analysis_chunks WHERE analysis_id = ANY($1::uuid[])',
        [ids],
      );
      expect(rows.every((r) => r.attempts <= 3)).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it('dead-letters a chunk the provider refuses for good at once, and fails the analysis instead of sending every chunk', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(30);
    llm.setBehaviour({
      faults: Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => [i + 1, { kind: 'unauthorized' as const }]),
      ),
    });
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, { engines: ['llm'], options: { chunk_size: 10 } });
      const failed = await waitForAnalysis(app, user, a.id);
      expect(failed).toMatchObject({
        status: 'failed',
        chunks_done: 0,
        chunks_failed: 1,
        error: { code: 'llm_auth_failed', attempts: 1 },
      });
      expect((failed.error as { resume?: string }).resume).toContain('analysis-settings');
      // One request: a 401 is not retried, neither by the client nor by the job queue.
      expect(llm.requests).toHaveLength(1);
      expect(await failures([a.id])).toMatchObject([
        { seq: 0, will_retry: false, error: { code: 'llm_auth_failed', retryable: false } },
      ]);
      const { rows } = await db.adminPool.query<{ seq: number; status: string; attempts: number }>(
        'SELECT seq, status, attempts FROM analysis_chunks WHERE analysis_id = $1 ORDER BY seq',
        [a.id],
      );
      expect(rows).toEqual([
        { seq: 0, status: 'dead', attempts: 1 },
        { seq: 1, status: 'cancelled', attempts: 0 },
        { seq: 2, status: 'cancelled', attempts: 0 },
      ]);
    } finally {
      await worker.stop();
    }
  });

  it('refuses an LLM chunk larger than one answer of the model can label, naming chunk_size and the size that fits', async () => {
    const { user, ws } = await freshTenant(3);
    const refused = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: user.headers,
      payload: { engines: ['local', 'llm'], options: { chunk_size: 1000 } },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json()).toMatchObject({
      error: {
        code: 'validation_failed',
        details: { problems: [{ field: 'options.chunk_size', value: 1000 }], max_chunk_size: 134 },
      },
    });
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(/chunk_size.*134/);
    // The largest that fits, and any size without the LLM, are accepted (and withdrawn: no
    // worker of this test runs them, and a later test's must not).
    for (const body of [
      { engines: ['llm'], options: { chunk_size: 134 } },
      { engines: ['local'], options: { chunk_size: 1000 } },
    ]) {
      const accepted = await submit(user, ws, body);
      const cancel = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${accepted.id}/cancel`,
        headers: user.headers,
      });
      // (409: a worker left running elsewhere already finished it; withdrawn either way.)
      expect([200, 409], cancel.body).toContain(cancel.statusCode);
    }
    // A model whose answer holds fewer posts than the usual 100: the default is lowered to
    // what fits (the dashboard's form sends none), an explicit larger size is refused.
    const model = await app.inject({
      method: 'PATCH',
      url: `/v1/workspaces/${ws}/analysis-settings`,
      headers: user.headers,
      payload: { llm: { model: 'gpt-4o-2024-05-13' } },
    });
    expect(model.statusCode, model.body).toBe(200);
    const lowered = await submit(user, ws, { engines: ['llm'] });
    expect(lowered.chunk_size).toBe(31);
    await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses/${lowered.id}/cancel`,
      headers: user.headers,
    });
    const explicit = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: user.headers,
      payload: { engines: ['llm'], options: { chunk_size: 100 } },
    });
    expect(explicit.statusCode, explicit.body).toBe(400);
    expect(explicit.json()).toMatchObject({ error: { details: { max_chunk_size: 31 } } });
  });

  it('ends the progress stream of an LLM analysis whose workspace lost its model mid-run with a summary event saying so', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(20);
    const settings = async (llmSettings: Record<string, unknown>): Promise<void> => {
      const res = await app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}/analysis-settings`,
        headers: user.headers,
        payload: { llm: llmSettings },
      });
      expect(res.statusCode, res.body).toBe(200);
    };
    // The workspace's own model; the worker's instance has none. The fake is on loopback: a
    // workspace may use it because the operator trusts its origin.
    await settings({ base_url: llm.url, model: 'gpt-4o-mini', api_key: 'sk-workspace-key' });
    const answer = llm.hold();
    const worker = await startTestWorker(db, { LLM_TRUSTED_ORIGINS: llm.url });
    try {
      const a = await submit(user, ws, { engines: ['llm'], options: { chunk_size: 10 } });
      // The model goes while the first chunk's call is in flight: the second chunk finds none.
      await expect.poll(() => llm.requests.length, { timeout: 10_000 }).toBe(1);
      await settings({ base_url: null, model: null, api_key: null });
      answer();
      const done = await waitForAnalysis(app, user, a.id);
      expect(done).toMatchObject({ status: 'completed_with_errors', chunks_done: 1 });
      const stream = (
        await app.inject({ url: `/v1/analyses/${a.id}/events`, headers: user.headers })
      ).body;
      const events = [...stream.matchAll(/event: (\w+)\ndata: (.*)\n/g)];
      expect(events.map((m) => m[1]).slice(-2)).toEqual(['completed_with_errors', 'summary']);
      expect(JSON.parse(events.at(-1)?.[2] ?? '{}')).toMatchObject({
        summary: null,
        reason: 'llm_not_configured',
      });
      expect(llm.requests).toHaveLength(1);
    } finally {
      answer();
      await worker.stop();
    }
  });

  it('leaves an analysis cancelled while its chunk was counted against the budget cancelled', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(10, { monthly_budget_usd: '0.0001' });
    // The real runtime, whose budget count is where the cancel lands (the window between the
    // chunk's start and its pause).
    const resolve = createLlmResolver(
      loadConfig({ DATABASE_URL: db.url, ...llmConfig() }, {}).llm,
      () => {
        throw new Error('this test uses the instance key');
      },
    );
    let analysisId = '';
    const cancel = async (): Promise<void> => {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${analysisId}/cancel`,
        headers: user.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
    };
    const worker = await startTestWorker(db, llmConfig(), {
      llmFor: (workspaceId, settings): LlmRuntime | null => {
        const runtime = resolve(workspaceId, settings);
        if (!runtime || workspaceId !== ws) return runtime;
        return {
          ...runtime,
          maxCostUsd: async (posts, categories) => {
            await cancel();
            return runtime.maxCostUsd(posts, categories);
          },
        };
      },
    });
    try {
      const a = await submit(user, ws, { engines: ['llm'] });
      analysisId = a.id;
      await expect
        .poll(
          async () =>
            (
              await db.adminPool.query<{ state: string }>(
                "SELECT state FROM pgboss.job WHERE name = 'analysis-chunk' AND data ->> 'analysisId' = $1",
                [a.id],
              )
            ).rows[0]?.state,
          { timeout: 20_000 },
        )
        .toBe('completed');
      const after = await waitForAnalysis(app, user, a.id);
      expect(after).toMatchObject({ status: 'cancelled', error: null });
      const chunk = await db.adminPool.query<{ status: string }>(
        'SELECT status FROM analysis_chunks WHERE analysis_id = $1',
        [a.id],
      );
      expect(chunk.rows).toEqual([{ status: 'cancelled' }]);
      const events = (
        await app.inject({ url: `/v1/analyses/${a.id}/events`, headers: user.headers })
      ).body;
      expect([...events.matchAll(/event: (\w+)\n/g)].map((m) => m[1])).not.toContain('paused');
      expect(llm.requests).toHaveLength(0);
    } finally {
      await worker.stop();
    }
  });

  it('pauses instead of spending beyond the monthly budget, and resumes when it is raised', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(10, { monthly_budget_usd: '0.0001' });
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, { engines: ['llm'] });
      const paused = await waitForAnalysis(app, user, a.id);
      expect(paused.status).toBe('paused_budget');
      expect(paused.error).toMatchObject({ code: 'llm_budget_exceeded', budget_usd: '0.0001' });
      expect((paused.error as { resume?: string }).resume).toContain(
        `/v1/workspaces/${ws}/analyses/${a.id}/retry`,
      );
      expect(llm.requests).toHaveLength(0);
      const settings = await app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}/analysis-settings`,
        headers: user.headers,
        payload: { llm: { monthly_budget_usd: '10' } },
      });
      expect(settings.json()).toMatchObject({
        llm: { monthly_budget_usd: '10.0000', api_key_set: false },
      });
      await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${a.id}/retry`,
        headers: user.headers,
      });
      const done = await waitForAnalysis(app, user, a.id, (x) => x.status === 'completed');
      expect(done.posts_processed).toBe(10);
      const month = (
        await app.inject({ url: `/v1/workspaces/${ws}/analysis-settings`, headers: user.headers })
      ).json<{ llm: { month_to_date_cost_usd: string } }>();
      await expect
        .poll(
          async () =>
            Number(
              (
                await app.inject({
                  url: `/v1/workspaces/${ws}/analysis-settings`,
                  headers: user.headers,
                })
              ).json<{ llm: { month_to_date_cost_usd: string } }>().llm.month_to_date_cost_usd,
            ),
          { timeout: 10_000 },
        )
        .toBeGreaterThan(0);
      expect(month.llm.month_to_date_cost_usd).toMatch(/^\d+(\.\d+)?$/);
    } finally {
      await worker.stop();
    }
  });

  it("holds a running chunk's bound against the budget, so two requesters cannot both spend its last part", async () => {
    llm.reset();
    const { user, ws } = await freshTenant(10, { monthly_budget_usd: '0' });
    const member = await signUpUser(app);
    await addMember(app, user, ws, member, 'analyst');
    const body = { engines: ['llm'], options: { chunk_size: 10 } };
    const worker = await startTestWorker(db, llmConfig());
    let answer = (): void => undefined;
    try {
      // A budget of 0 says what one chunk of these posts may cost at most.
      const probe = await waitForAnalysis(app, user, (await submit(user, ws, body)).id);
      const needed = Number((probe.error as { needed_usd: string }).needed_usd);
      const budget = (Math.ceil(needed * 1.5 * 10_000) / 10_000).toFixed(4);
      expect(Number(budget)).toBeGreaterThanOrEqual(needed);
      expect(Number(budget)).toBeLessThan(2 * needed);
      await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${probe.id}/cancel`,
        headers: user.headers,
      });
      const raised = await app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}/analysis-settings`,
        headers: user.headers,
        payload: { llm: { monthly_budget_usd: budget } },
      });
      expect(raised.statusCode, raised.body).toBe(200);
      answer = llm.hold();
      // Two requesters, one chunk each, run at once: the budget covers one of them.
      const first = await submit(user, ws, body);
      const second = await submit(member, ws, body);
      const state = async (id: string): Promise<Analysis> =>
        (await app.inject({ url: `/v1/analyses/${id}`, headers: user.headers })).json<Analysis>();
      await expect
        .poll(
          async () => [(await state(first.id)).status, (await state(second.id)).status].sort(),
          {
            timeout: 20_000,
          },
        )
        .toEqual(['paused_budget', 'running']);
      await expect.poll(() => llm.requests.length, { timeout: 10_000 }).toBe(1);
      const paused = [await state(first.id), await state(second.id)].find(
        (a) => a.status === 'paused_budget',
      );
      expect(paused?.error).toMatchObject({ code: 'llm_budget_exceeded', budget_usd: budget });
      expect(Number((paused?.error as { held_usd: string }).held_usd)).toBeCloseTo(needed, 9);
      answer();
      const ran = paused?.id === first.id ? second : first;
      expect((await waitForAnalysis(app, user, ran.id)).status).toBe('completed');
      // Its hold is given back once its traces are stored.
      await expect
        .poll(
          async () =>
            (
              await db.adminPool.query('SELECT 1 FROM llm_budget_holds WHERE workspace_id = $1', [
                ws,
              ])
            ).rowCount,
          { timeout: 10_000 },
        )
        .toBe(0);
    } finally {
      answer();
      await worker.stop();
    }
  });

  it('keeps the traces of a chunk cancelled while its LLM call runs, writes nothing else, and hands the turn on', async () => {
    llm.reset();
    const answer = llm.hold();
    const { user, ws } = await freshTenant(10);
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, { engines: ['llm'] });
      await expect.poll(() => llm.requests.length, { timeout: 20_000 }).toBeGreaterThan(0);
      const cancel = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${a.id}/cancel`,
        headers: user.headers,
      });
      expect(cancel.statusCode, cancel.body).toBe(200);
      answer();
      // The chunk's commit finds it cancelled: its calls are traced (they were made and paid
      // for), in the same transaction that hands the requester's turn on.
      await expect.poll(() => labelCalls(a.id), { timeout: 20_000 }).toBe(llm.requests.length);
      const state = await db.adminPool.query<{
        results: number;
        chunk: string;
        turn: string | null;
      }>(
        `SELECT (SELECT count(*)::int FROM analysis_results WHERE analysis_id = $1) AS results,
                (SELECT status FROM analysis_chunks WHERE analysis_id = $1 AND seq = 0) AS chunk,
                (SELECT t.job_id::text FROM analysis_turns t JOIN analyses x ON x.fairness_key = t.fairness_key WHERE x.id = $1) AS turn`,
        [a.id],
      );
      expect(state.rows[0]).toEqual({ results: 0, chunk: 'cancelled', turn: null });
      // The requester's next analysis runs: the turn was handed on, not left with the cancelled chunk.
      const next = await submit(user, ws, { engines: ['llm'] });
      expect((await waitForAnalysis(app, user, next.id)).status).toBe('completed');
    } finally {
      answer();
      await worker.stop();
    }
  });

  it('cancels an analysis midway and keeps the aggregates of the chunks that ran', async () => {
    llm.reset();
    let answer = llm.hold();
    const { user, ws } = await freshTenant(10);
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, {
        engines: ['local', 'llm'],
        options: { chunk_size: 5 },
      });
      await expect.poll(() => llm.requests.length, { timeout: 20_000 }).toBe(1);
      // The first chunk's call answers; the second chunk's waits.
      answer();
      answer = llm.hold();
      await expect.poll(() => llm.requests.length, { timeout: 20_000 }).toBe(2);
      const cancel = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${a.id}/cancel`,
        headers: user.headers,
      });
      expect(cancel.statusCode, cancel.body).toBe(200);
      const cancelled = cancel.json<Analysis>();
      expect(cancelled).toMatchObject({ status: 'cancelled', chunks_done: 1 });
      const sentiment = cancelled.aggregates?.sentiment as Record<string, number> | undefined;
      expect(Object.values(sentiment ?? {}).reduce((x, y) => x + y, 0)).toBe(5);
    } finally {
      answer();
      await worker.stop();
    }
  });

  it("withdraws a cancelled analysis's waiting chunk job and hands the turn to the requester's next analysis at once", async () => {
    const { user, ws } = await freshTenant(10);
    // No worker yet: both analyses wait, the first holding the requester's turn.
    const first = await submit(user, ws, { engines: ['local'] });
    const second = await submit(user, ws, { engines: ['local'] });
    // What pg-boss records for a chunk waiting out a retry's back-off: it would hold the turn
    // for an hour if the cancel left it in the queue.
    const waiting = await db.adminPool.query<{ id: string }>(
      `UPDATE pgboss.job SET state = 'retry', retry_count = 1, start_after = now() + interval '1 hour'
        WHERE name = 'analysis-chunk' AND data ->> 'analysisId' = $1 RETURNING id`,
      [first.id],
    );
    expect(waiting.rowCount).toBe(1);
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses/${first.id}/cancel`,
      headers: user.headers,
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const job = await db.adminPool.query<{ state: string }>(
      'SELECT state FROM pgboss.job WHERE id = $1',
      [waiting.rows[0]?.id],
    );
    expect(job.rows[0]?.state).toBe('cancelled');
    const worker = await startTestWorker(db);
    try {
      expect((await waitForAnalysis(app, user, second.id)).status).toBe('completed');
    } finally {
      await worker.stop();
    }
  });

  it('rolls back the commit of a chunk whose claim lapsed while it ran, and runs it again', async () => {
    llm.reset();
    const answer = llm.hold();
    const { user, ws } = await freshTenant(10);
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, { engines: ['llm'] });
      await expect.poll(() => llm.requests.length, { timeout: 20_000 }).toBe(1);
      // What pg-boss records when a claim lapses and another worker claims the job: a new
      // attempt. This worker's commit, sent with its COMMIT, must not land.
      await claimElsewhere(a.id);
      answer();
      await expect.poll(() => labelCalls(a.id), { timeout: 20_000 }).toBe(1);
      // Rolled back: its call is traced (it was made), and nothing else of it is stored.
      const after = await db.adminPool.query<{ results: number; chunk: string }>(
        `SELECT (SELECT count(*)::int FROM analysis_results WHERE analysis_id = $1) AS results,
                (SELECT status FROM analysis_chunks WHERE analysis_id = $1 AND seq = 0) AS chunk`,
        [a.id],
      );
      expect(after.rows[0]?.results).toBe(0);
      expect(after.rows[0]?.chunk).not.toBe('done');
      // A lost claim, not a failed attempt: the attempt that holds the chunk now is not told failed.
      expect(await chunkFailedEvents(a.id)).toBe(0);
      // The other attempt's claim lapses in turn (10 s); the chunk runs again and commits once.
      const done = await waitForAnalysis(app, user, a.id);
      expect(done).toMatchObject({ status: 'completed', posts_processed: 10, chunks_done: 1 });
      expect(await labelCalls(a.id)).toBe(2);
      const results = await db.adminPool.query<{ n: number; d: number }>(
        'SELECT count(*)::int n, count(DISTINCT post_id)::int d FROM analysis_results WHERE analysis_id = $1',
        [a.id],
      );
      expect(results.rows[0]).toEqual({ n: 10, d: 10 });
    } finally {
      answer();
      await worker.stop();
    }
  });

  it('records no failed attempt for a chunk whose claim lapsed before its call failed', async () => {
    llm.reset();
    // The provider refuses the key (not retried), answering only once the claim has moved.
    llm.setBehaviour({ faults: { 1: { kind: 'unauthorized' } } });
    const answer = llm.hold();
    const { user, ws } = await freshTenant(10);
    let ended!: () => void;
    const chunkEnded = new Promise<void>((resolve) => (ended = resolve));
    const worker = await startTestWorker(db, llmConfig(), {
      onChunk: (event) => {
        if (event.type === 'end') ended();
      },
    });
    try {
      const a = await submit(user, ws, { engines: ['llm'] });
      await expect.poll(() => llm.requests.length, { timeout: 20_000 }).toBe(1);
      // Another worker's claim of the job, as pg-boss records it: a new attempt.
      await claimElsewhere(a.id);
      answer();
      await chunkEnded;
      // The failure was this worker's lost attempt, not the chunk's: the attempt that holds the
      // chunk now is neither failed nor counted, and no client is told of a failure.
      const state = await db.adminPool.query<{ job: string; retries: number; attempts: number }>(
        `SELECT j.state AS job, j.retry_count AS retries,
                (SELECT attempts FROM analysis_chunks WHERE analysis_id = $1::uuid AND seq = 0) AS attempts
           FROM pgboss.job j WHERE j.name = 'analysis-chunk' AND j.data ->> 'analysisId' = $1::text`,
        [a.id],
      );
      expect(state.rows).toEqual([{ job: 'active', retries: 1, attempts: 0 }]);
      expect(await chunkFailedEvents(a.id)).toBe(0);
      // Its call is traced all the same: it was made.
      await expect.poll(() => labelCalls(a.id), { timeout: 10_000 }).toBe(1);
    } finally {
      answer();
      await worker.stop();
    }
  });

  it('flags an unpriced model instead of calling it free', async () => {
    llm.reset();
    const { user, ws } = await freshTenant(5, { model: 'house-model-7b' });
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, { engines: ['llm'] });
      const done = await waitForAnalysis(app, user, a.id, (x) => x.status === 'completed');
      expect(done.usage.unpriced_calls).toBeGreaterThan(0);
      const { rows } = await db.adminPool.query<{ priced: boolean; cost_usd: string | null }>(
        "SELECT priced, cost_usd FROM ai_traces WHERE analysis_id = $1 AND operation = 'label_posts'",
        [a.id],
      );
      expect(rows.every((r) => !r.priced && r.cost_usd === null)).toBe(true);
      // Its cost breakdown says it has no price, rather than $0.
      const cost = (
        await app.inject({
          url: `/v1/workspaces/${ws}/analyses/${a.id}/cost`,
          headers: user.headers,
        })
      ).json<{
        by_model: {
          model: string;
          calls: number;
          cost_usd: string | null;
          unpriced_calls: number;
        }[];
      }>();
      const house = cost.by_model.find((m) => m.model === 'house-model-7b');
      expect(house).toMatchObject({ cost_usd: null });
      expect(house?.unpriced_calls).toBe(house?.calls);
    } finally {
      await worker.stop();
    }
  });

  it("pauses an unpriced model under a budget, saying what the month's calls already cost", async () => {
    llm.reset();
    const { user, ws } = await freshTenant(5, {
      model: 'house-model-7b',
      monthly_budget_usd: '10',
    });
    // This month's spend so far (the worker reads it itself: no hold is tried without a price).
    await db.adminPool.query(
      `INSERT INTO ai_traces (started_at, workspace_id, operation, provider, request_model, items, cost_usd, priced, duration_ms, status)
       VALUES (now(), $1, 'label_posts', 'openai', 'gpt-4o-mini', 1, 0.25, true, 10, 'ok')`,
      [ws],
    );
    const worker = await startTestWorker(db, llmConfig());
    try {
      const a = await submit(user, ws, { engines: ['llm'] });
      const paused = await waitForAnalysis(app, user, a.id);
      expect(paused.status).toBe('paused_budget');
      // Its own cause, and the fixes that work: neither a larger budget nor a new month would.
      expect(paused.error).toMatchObject({
        code: 'llm_budget_unpriced_model',
        budget_usd: '10.0000',
        spent_usd: '0.250000000',
        model: 'house-model-7b',
      });
      const { message, resume } = paused.error as { message: string; resume: string };
      expect(message).toContain('house-model-7b has no price');
      expect(message).not.toMatch(/would be exceeded|unknown/);
      expect(resume).toContain('"monthly_budget_usd":null');
      expect(resume).toContain('choose a model the price table lists');
      expect(resume).not.toMatch(/raise|next month/);
      expect(resume).toContain(`/analyses/${a.id}/retry`);
      // (Read from the table: a paused analysis's stream stays open.)
      const pauseEvents = await db.adminPool.query<{ data: { error: { code: string } } }>(
        "SELECT data FROM analysis_events WHERE analysis_id = $1 AND type = 'paused'",
        [a.id],
      );
      expect(pauseEvents.rows.map((r) => r.data.error.code)).toEqual(['llm_budget_unpriced_model']);
      expect(llm.requests).toHaveLength(0);
    } finally {
      await worker.stop();
    }
  });

  it('loses nothing when a worker process is killed with SIGKILL mid-run', async () => {
    llm.reset();
    llm.setBehaviour({ latencyMs: 150 });
    const { user, ws } = await freshTenant(200);
    const others = await Promise.all([signUpUser(app), signUpUser(app)]);
    const otherSpaces = await Promise.all(others.map((u) => createWorkspaceAs(app, u)));
    for (const [i, u] of others.entries())
      await importTestPosts(app, u, otherSpaces[i] ?? '', 100, mixedTexts);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sp-worker-'));
    const env = {
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      ENCRYPTION_KEY: db.secrets.encryptionKey,
      ...testQueueConfig,
      ...llmConfig(),
      ANALYSIS_SLOTS: '4',
      ANALYSIS_WORKER_CONCURRENCY: '2',
    };
    const [w1, w2] = await Promise.all([startWorkerProcess(env), startWorkerProcess(env)]);
    try {
      const analyses = [
        await submit(user, ws, { engines: ['local', 'llm'], options: { chunk_size: 10 } }),
      ];
      for (const [i, u] of others.entries())
        analyses.push(
          await submit(u, otherSpaces[i] ?? '', {
            engines: ['local', 'llm'],
            options: { chunk_size: 10 },
          }),
        );
      // Kill one worker once a few chunks have committed (it is then running others).
      await waitForAnalysis(app, user, analyses[0]?.id ?? '', (x) => x.chunks_done >= 3);
      await w1?.stop('SIGKILL');
      const owners = [user, ...others];
      const finished = await Promise.all(
        analyses.map((a, i) =>
          waitForAnalysis(app, owners[i] as TestUser, a.id, undefined, 80_000),
        ),
      );
      for (const f of finished) expect(f.status).toBe('completed');
      const { rows } = await db.adminPool.query<{ n: number; distinct_posts: number }>(
        'SELECT count(*)::int n, count(DISTINCT (analysis_id, post_id))::int distinct_posts FROM analysis_results WHERE analysis_id = ANY($1)',
        [analyses.map((a) => a.id)],
      );
      expect(rows[0]).toEqual({ n: 400, distinct_posts: 400 });
      const chunks = await db.adminPool.query<{ n: number }>(
        "SELECT count(*)::int n FROM analysis_chunks WHERE analysis_id = ANY($1) AND status = 'done'",
        [analyses.map((a) => a.id)],
      );
      expect(chunks.rows[0]?.n).toBe(40);
    } finally {
      await w1?.stop('SIGKILL').catch(() => undefined);
      await w2?.stop('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
