import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, AnalysisResult } from '@socialpulse/contracts';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import {
  buildTestApp,
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
  type TestUser,
} from '../../../../test/support/app.js';
import {
  importTestPosts,
  startTestWorker,
  testQueueConfig,
  waitForAnalysis,
} from '../../../../test/support/analyses.js';
import type { RunningWorker } from '../../../services/worker.js';
import type { ZodApp } from '../../types.js';

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')('analyses API', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let worker: RunningWorker;
  let owner: TestUser;
  let ws: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, { ...noRateLimits, ...testQueueConfig, ANALYSIS_SLOTS: '3' });
    owner = await signUpUser(app);
    ws = await createWorkspaceAs(app, owner);
    await importTestPosts(app, owner, ws, 250, (i) =>
      i % 3 === 0
        ? `I love this #launch ${i} :)`
        : i % 3 === 1
          ? `This is terrible and broken ${i}`
          : `Meeting at noon ${i}`,
    );
    worker = await startTestWorker(db, { ANALYSIS_SLOTS: '3' });
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await db?.drop();
  });

  it('runs an analysis of every post in chunks and stores one result per post', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { options: { chunk_size: 100 } },
    });
    expect(res.statusCode, res.body).toBe(202);
    const created = res.json<Analysis>();
    expect(created).toMatchObject({ total_posts: 250, chunk_count: 3, status: 'queued' });
    const done = await waitForAnalysis(app, owner, created.id);
    expect(done).toMatchObject({
      status: 'completed',
      chunks_done: 3,
      chunks_failed: 0,
      posts_processed: 250,
      posts_failed: 0,
      progress: 1,
    });
    const sentiment = done.aggregates?.sentiment as Record<string, number>;
    expect(Object.values(sentiment).reduce((a, b) => a + b, 0)).toBe(250);
    expect(sentiment.positive).toBeGreaterThan(0);
    expect(sentiment.negative).toBeGreaterThan(0);

    // Every aggregate, against an independent reading of the stored results (one query per figure).
    const reference = await db.adminPool.query<{ aggregates: unknown }>(
      `SELECT jsonb_build_object(
         'sentiment', (SELECT coalesce(jsonb_object_agg(coalesce(sentiment_label, 'none'), n), '{}') FROM (SELECT sentiment_label, count(*) n FROM analysis_results WHERE analysis_id = $1 GROUP BY 1) s),
         'llm_sentiment', (SELECT coalesce(jsonb_object_agg(llm_sentiment, n), '{}') FROM (SELECT llm_sentiment, count(*) n FROM analysis_results WHERE analysis_id = $1 AND llm_sentiment IS NOT NULL GROUP BY 1) s),
         'mean_score', (SELECT round(avg(sentiment_score)::numeric, 4) FROM analysis_results WHERE analysis_id = $1),
         'top_topics', (SELECT coalesce(jsonb_agg(jsonb_build_object('topic', topic, 'count', n) ORDER BY n DESC, topic), '[]') FROM (SELECT lower(topic) topic, count(*) n FROM analysis_results WHERE analysis_id = $1 AND topic IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) t),
         'categories', (SELECT coalesce(jsonb_object_agg(c, n), '{}') FROM (SELECT c, count(*) n FROM analysis_results r,
             LATERAL (SELECT r.category AS c WHERE r.category IS NOT NULL UNION SELECT jsonb_array_elements_text(coalesce(r.local -> 'categories', '[]'))) x
             WHERE analysis_id = $1 GROUP BY 1) s),
         'top_keywords', (SELECT coalesce(jsonb_agg(jsonb_build_object('keyword', k, 'count', n) ORDER BY n DESC, k), '[]') FROM (SELECT k, count(*) n FROM analysis_results r,
             LATERAL jsonb_array_elements_text(coalesce(r.local -> 'keywords', '[]')) k WHERE analysis_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) t),
         'toxic', (SELECT count(*) FROM analysis_results WHERE analysis_id = $1 AND (local ->> 'toxic')::boolean),
         'unlabelled', (SELECT count(*) FROM analysis_results WHERE analysis_id = $1 AND llm_status = 'unlabelled')) AS aggregates`,
      [created.id],
    );
    expect(done.aggregates).toEqual(reference.rows[0]?.aggregates);
    expect((done.aggregates?.top_keywords as unknown[]).length).toBeGreaterThan(0);

    const rows = await db.adminPool.query<{ n: number; distinct_posts: number }>(
      'SELECT count(*)::int n, count(DISTINCT post_id)::int distinct_posts FROM analysis_results WHERE analysis_id = $1',
      [created.id],
    );
    expect(rows.rows[0]).toEqual({ n: 250, distinct_posts: 250 });

    const negatives = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws}/analyses/${created.id}/results?label=negative&limit=1000`,
      headers: owner.headers,
    });
    expect(negatives.statusCode).toBe(200);
    const data = negatives.json<{ data: AnalysisResult[] }>().data;
    expect(data.length).toBe(sentiment.negative);
    expect(data.every((r) => r.sentiment?.label === 'negative')).toBe(true);
    expect(data.filter((r) => r.text?.includes('terrible')).length).toBeGreaterThan(
      data.length / 2,
    );

    // Traces are written in batches: the cost endpoint is exact once the last batch is stored.
    await expect
      .poll(
        async () =>
          (
            await app.inject({
              method: 'GET',
              url: `/v1/workspaces/${ws}/analyses/${created.id}/cost`,
              headers: owner.headers,
            })
          ).json<{ calls: number }>(),
        { timeout: 10_000 },
      )
      .toMatchObject({
        calls: 3,
        cost_usd: '0.000000000',
        unpriced_calls: 0,
        by_model: [{ provider: 'local', calls: 3 }],
      });
    expect(done.usage).toEqual({
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: '0.000000000',
      unpriced_calls: 0,
    });

    const csv = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws}/analyses/${created.id}/results?format=csv`,
      headers: owner.headers,
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.body.trim().split('\n')).toHaveLength(251);
  });

  it('streams progress as Server-Sent Events and resumes after Last-Event-ID', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { limit: 60 }, options: { chunk_size: 20 } },
    });
    const { id } = res.json<Analysis>();
    await waitForAnalysis(app, owner, id);
    const all = await app.inject({
      method: 'GET',
      url: `/v1/analyses/${id}/events`,
      headers: owner.headers,
    });
    expect(all.headers['content-type']).toContain('text/event-stream');
    const events = [...all.body.matchAll(/id: (\d+)\nevent: (\w+)\n/g)].map((m) => ({
      id: Number(m[1]),
      type: m[2],
    }));
    expect(events.map((e) => e.type)).toEqual([
      'queued',
      'started',
      'chunk_completed',
      'chunk_completed',
      'chunk_completed',
      'completed',
    ]);
    const resumed = await app.inject({
      method: 'GET',
      url: `/v1/analyses/${id}/events`,
      headers: { ...owner.headers, 'last-event-id': String(events[3]?.id) },
    });
    expect([...resumed.body.matchAll(/event: (\w+)\n/g)].map((m) => m[1])).toEqual([
      'chunk_completed',
      'completed',
    ]);
    // Resuming after the end: nothing to wait for, and 204 tells EventSource to stop retrying.
    const over = await app.inject({
      method: 'GET',
      url: `/v1/analyses/${id}/events`,
      headers: { ...owner.headers, 'last-event-id': String(events.at(-1)?.id) },
    });
    expect(over.statusCode).toBe(204);
  });

  it('sends the same events over a WebSocket on the events URL, resumable with ?after=', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { limit: 40 }, options: { chunk_size: 20 } },
    });
    const { id } = res.json<Analysis>();
    const receive = async (url: string): Promise<{ id: number; type: string }[]> => {
      const socket = await app.injectWS(url, { headers: owner.headers });
      const messages: { id: number; type: string }[] = [];
      await new Promise<void>((resolve) => {
        socket.on('message', (data: Buffer) =>
          messages.push(JSON.parse(data.toString()) as { id: number; type: string }),
        );
        socket.on('close', () => resolve());
      });
      return messages;
    };
    const all = await receive(`/v1/analyses/${id}/events`);
    expect(all.map((m) => m.type)).toEqual([
      'queued',
      'started',
      'chunk_completed',
      'chunk_completed',
      'completed',
    ]);
    const rest = await receive(`/v1/analyses/${id}/events?after=${all[2]?.id ?? 0}`);
    expect(rest.map((m) => m.type)).toEqual(['chunk_completed', 'completed']);
    // After the end the socket closes at once, as it does for an analysis it cannot see.
    expect(await receive(`/v1/analyses/${id}/events?after=${all.at(-1)?.id ?? 0}`)).toEqual([]);
    const unknown = await app.injectWS(
      `/v1/workspaces/${ws}/analyses/00000000-0000-4000-8000-00000000abcd/events`,
      { headers: owner.headers },
    );
    const code = await new Promise<number>((resolve) => unknown.on('close', resolve));
    expect(code).toBe(4404);
    const stranger = await signUpUser(app);
    await expect(
      app.injectWS(`/v1/analyses/${id}/events`, { headers: stranger.headers }),
    ).rejects.toThrow();
  });

  it('hides analyses from other workspaces and refuses viewers to start one', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { limit: 5 } },
    });
    const { id } = res.json<Analysis>();
    const stranger = await signUpUser(app);
    await createWorkspaceAs(app, stranger);
    for (const url of [
      `/v1/analyses/${id}`,
      `/v1/analyses/${id}/events`,
      `/v1/workspaces/${ws}/analyses/${id}/results`,
    ]) {
      const r = await app.inject({ method: 'GET', url, headers: stranger.headers });
      expect(r.statusCode, url).toBe(404);
    }
    const unknown = await app.inject({
      method: 'GET',
      url: `/v1/analyses/00000000-0000-4000-8000-000000000000`,
      headers: owner.headers,
    });
    expect(unknown.statusCode).toBe(404);
    // A stranger's 404 is the same as for an unknown id: it names neither the workspace nor more.
    const foreign = await app.inject({
      method: 'GET',
      url: `/v1/analyses/${id}`,
      headers: stranger.headers,
    });
    expect(foreign.json()).toEqual({
      error: {
        code: 'not_found',
        message: `analysis ${id} was not found`,
        details: { resource: 'analysis', id },
      },
    });
    const anonymousKnown = await app.inject({ method: 'GET', url: `/v1/analyses/${id}` });
    const anonymousUnknown = await app.inject({
      method: 'GET',
      url: `/v1/analyses/00000000-0000-4000-8000-000000000000`,
    });
    expect([anonymousKnown.statusCode, anonymousUnknown.statusCode]).toEqual([401, 401]);
    await waitForAnalysis(app, owner, id);
  });

  it('rejects bad bodies with the field and value', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { engines: ['gpt'], options: { chunk_size: 0 } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('engines');
    const missing = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { ids: ['999999999'] } },
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain('999999999');
  });

  it('cancels an analysis: pending chunks never run', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { options: { chunk_size: 1 }, posts: { limit: 200 } },
    });
    const { id } = res.json<Analysis>();
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses/${id}/cancel`,
      headers: owner.headers,
    });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json<Analysis>().status).toBe('cancelled');
    // The turn is handed on: a later analysis of the same user completes.
    const next = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { limit: 10 } },
    });
    const after = await waitForAnalysis(app, owner, next.json<Analysis>().id);
    expect(after.status).toBe('completed');
    const ran = await db.adminPool.query<{ n: number }>(
      "SELECT count(*)::int n FROM analysis_chunks WHERE analysis_id = $1 AND status = 'done'",
      [id],
    );
    expect(ran.rows[0]?.n ?? 0).toBeLessThan(200);
    const again = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses/${id}/cancel`,
      headers: owner.headers,
    });
    expect(again.statusCode).toBe(409);
  });

  it("filters results by a workspace rule's category, as the aggregates count them, and estimates a queued analysis", async () => {
    const settings = await app.inject({
      method: 'PATCH',
      url: `/v1/workspaces/${ws}/analysis-settings`,
      headers: owner.headers,
      payload: { categories: [{ id: 'complaints', keywords: ['terrible'] }] },
    });
    expect(settings.statusCode, settings.body).toBe(200);
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { limit: 60 } },
    });
    const first = await waitForAnalysis(app, owner, res.json<Analysis>().id);
    const counted = (first.aggregates?.categories as Record<string, number>).complaints ?? 0;
    expect(counted).toBeGreaterThan(0);
    const filtered = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws}/analyses/${first.id}/results?category=complaints&limit=1000`,
      headers: owner.headers,
    });
    const data = filtered.json<{ data: AnalysisResult[] }>().data;
    expect(data).toHaveLength(counted);
    expect(data.every((r) => r.text?.includes('terrible'))).toBe(true);

    // A queued analysis (no worker running) is estimated from the finished ones with its engines.
    await worker.stop();
    const next = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { limit: 60 } },
    });
    const state = await app.inject({
      method: 'GET',
      url: `/v1/analyses/${next.json<Analysis>().id}`,
      headers: owner.headers,
    });
    expect(state.json<Analysis>()).toMatchObject({ status: 'queued', chunks_done: 0 });
    expect(state.json<Analysis>().estimated_seconds_left).not.toBeNull();
    worker = await startTestWorker(db, { ANALYSIS_SLOTS: '3' });
    await waitForAnalysis(app, owner, next.json<Analysis>().id);
  });
});
