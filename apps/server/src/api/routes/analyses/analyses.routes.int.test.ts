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
  noRateLimitsAtAll,
  signUpUser,
  type TestUser,
  userIdOf,
} from '../../../../test/support/app.js';
import {
  importTestPosts,
  startTestWorker,
  submitTestAnalysis,
  testQueueConfig,
  waitForAnalysis,
} from '../../../../test/support/analyses.js';
import type { RunningWorker } from '../../../services/worker.js';
import type { ZodApp } from '../../types.js';
import { encodeCursor, filterFingerprint } from '../../../domain/posts/cursor.js';
import { splitCsvRecord } from '../../../domain/imports/csv-parser.js';

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')('analyses API', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let worker: RunningWorker;
  let owner: TestUser;
  let ws: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, { ...noRateLimitsAtAll, ...testQueueConfig, ANALYSIS_SLOTS: '3' });
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

  it('refuses an LLM analysis where neither the workspace nor the instance has an LLM, creating nothing', async () => {
    const bare = await createWorkspaceAs(app, owner);
    await importTestPosts(app, owner, bare, 3, (i) => `A post ${i}`);
    const submit = () =>
      app.inject({
        method: 'POST',
        url: `/v1/workspaces/${bare}/analyses`,
        headers: owner.headers,
        payload: { engines: ['local', 'llm'] },
      });
    const refused = await submit();
    expect(refused.statusCode, refused.body).toBe(409);
    const error = refused.json<{ error: { code: string; message: string; details: unknown } }>()
      .error;
    expect(error).toMatchObject({ code: 'llm_not_configured', details: { missing: 'base_url' } });
    expect(error.message).toContain('this workspace has no LLM server');
    // A server without a model is no LLM either.
    const patched = await app.inject({
      method: 'PATCH',
      url: `/v1/workspaces/${bare}/analysis-settings`,
      headers: owner.headers,
      payload: { llm: { base_url: 'https://llm.example.com/v1' } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const noModel = await submit();
    expect(noModel.statusCode, noModel.body).toBe(409);
    expect(noModel.json()).toMatchObject({
      error: { code: 'llm_not_configured', details: { missing: 'model' } },
    });
    const list = await app.inject({
      url: `/v1/workspaces/${bare}/analyses`,
      headers: owner.headers,
    });
    expect(list.json<{ data: unknown[] }>().data).toEqual([]);
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
    // An export is every result: a page's bounds are refused rather than ignored.
    const bounded = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws}/analyses/${created.id}/results?format=csv&limit=10&cursor=5`,
      headers: owner.headers,
    });
    expect(bounded.statusCode, bounded.body).toBe(400);
    expect(bounded.body).toContain('limit');
    expect(bounded.body).toContain('cursor');
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

    const posts = await app.inject({
      url: `/v1/workspaces/${ws}/posts?limit=3`,
      headers: owner.headers,
    });
    const ids = posts.json<{ data: { id: string }[] }>().data.map((p) => p.id);
    expect(ids).toHaveLength(3);
    // More ids than the limit: the limit is named, not the ids it cut off as "not found".
    const cut = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { ids, limit: 2 } },
    });
    expect(cut.statusCode, cut.body).toBe(400);
    expect(cut.json()).toMatchObject({
      error: { details: { problems: [{ field: 'posts.limit', value: 2 }] } },
    });
    // The same post written twice, once with leading zeros, is one post.
    const padded = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses`,
      headers: owner.headers,
      payload: { posts: { ids: [...ids, `00${ids[0]}`] } },
    });
    expect(padded.statusCode, padded.body).toBe(202);
    expect(padded.json<Analysis>().total_posts).toBe(3);
  });

  it('refuses a posts filter PostgreSQL cannot take with the posts list’s 400, not a 500', async () => {
    const filters: Record<string, string>[] = [
      // zod's ISO check accepts these; PostgreSQL does not.
      { since: '0000-01-01T00:00:00Z' },
      { until: '2026-03-05T00:00:00+16:00' },
      { q: 'a\u0000b' },
      { account: 'ac\u0000me' },
      { since: '2026-03-05T00:00:00Z', until: '2026-03-05T00:00:00Z' },
    ];
    for (const filter of filters) {
      const submitted = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses`,
        headers: owner.headers,
        payload: { posts: { filter } },
      });
      expect({ filter, status: submitted.statusCode, body: submitted.body }).toMatchObject({
        status: 400,
      });
      const listed = await app.inject({
        url: `/v1/workspaces/${ws}/posts?${new URLSearchParams(filter).toString()}`,
        headers: owner.headers,
      });
      expect(listed.statusCode, listed.body).toBe(400);
      const error = submitted.json<{ error: { code: string; details: { field: string } } }>().error;
      expect(error).toEqual(listed.json<{ error: unknown }>().error);
      expect(error.code).toBe('validation_failed');
      expect(Object.keys(filter)).toContain(error.details.field);
    }
  });

  it('refuses a results topic or category holding a NUL with 400 naming the field', async () => {
    const { id } = await submitTestAnalysis(app, owner, ws, { posts: { limit: 1 } });
    for (const field of ['topic', 'category']) {
      for (const format of ['json', 'csv']) {
        const res = await app.inject({
          url: `/v1/workspaces/${ws}/analyses/${id}/results?${field}=a%00b&format=${format}`,
          headers: owner.headers,
        });
        expect({ field, format, status: res.statusCode, body: res.body }).toMatchObject({
          status: 400,
        });
        expect(res.json()).toMatchObject({
          error: {
            code: 'validation_failed',
            details: { problems: [{ in: 'querystring', field, value: 'a\u0000b' }] },
          },
        });
      }
    }
    await waitForAnalysis(app, owner, id);
  });

  it('refuses category rules that can never match, naming the rule, the term and why', async () => {
    const patch = (categories: unknown) =>
      app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}/analysis-settings`,
        headers: owner.headers,
        payload: { categories },
      });
    const bad = await patch([
      { id: 'fine', keywords: ['refund'] },
      {
        id: 'pizza',
        keywords: ['the best pizza in new york', 'see https://example.com', ':)'],
        hashtags: ['customer service'],
      },
    ]);
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json()).toMatchObject({
      error: {
        code: 'validation_failed',
        message:
          'body.categories.1.keywords.0: category "pizza": keyword "the best pizza in new york" has 6 words, and phrases match up to 5',
        details: {
          problems: [
            { field: 'categories.1.keywords.0', value: 'the best pizza in new york' },
            { field: 'categories.1.keywords.1', value: 'see https://example.com' },
            { field: 'categories.1.keywords.2', value: ':)' },
            {
              field: 'categories.1.hashtags.0',
              value: 'customer service',
              message: expect.stringContaining('contains a space') as string,
            },
          ],
        },
      },
    });
    const settings = await app.inject({
      url: `/v1/workspaces/${ws}/analysis-settings`,
      headers: owner.headers,
    });
    expect(JSON.stringify(settings.json())).not.toContain('pizza');
    const good = await patch([{ id: 'pizza', keywords: ['best pizza in new york'] }]);
    expect(good.statusCode, good.body).toBe(200);
    expect((await patch([])).statusCode).toBe(200);
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
    const resumed = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses/${id}/retry`,
      headers: owner.headers,
    });
    expect(resumed.statusCode, resumed.body).toBe(202);
    const stopped = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/analyses/${id}/cancel`,
      headers: owner.headers,
    });
    expect(stopped.statusCode, stopped.body).toBe(200);
    // Who started, resumed and stopped it: an analysis may spend money. The refused cancel is not audited.
    const audited = await db.adminPool.query<{
      action: string;
      user_id: string | null;
      details: Record<string, unknown>;
    }>('SELECT action, user_id, details FROM audit_log WHERE target = $1 ORDER BY id', [id]);
    const ownerId = await userIdOf(app, owner);
    expect(audited.rows).toEqual([
      {
        action: 'analysis.started',
        user_id: ownerId,
        details: { engines: ['local'], posts: 200, chunk_size: 1, priority: 0 },
      },
      { action: 'analysis.cancelled', user_id: ownerId, details: {} },
      { action: 'analysis.retried', user_id: ownerId, details: { status: 'queued' } },
      { action: 'analysis.cancelled', user_id: ownerId, details: {} },
    ]);
  });

  it('refuses to retry an analysis that has nothing to retry, and names an unknown one', async () => {
    const post = (path: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws}/analyses/${path}`,
        headers: owner.headers,
      });
    const done = await waitForAnalysis(
      app,
      owner,
      (await submitTestAnalysis(app, owner, ws, { posts: { limit: 5 } })).id,
    );
    expect(done.status).toBe('completed');
    const completed = await post(`${done.id}/retry`);
    expect(completed.statusCode).toBe(409);
    expect(completed.json()).toMatchObject({
      error: { code: 'conflict', details: { status: 'completed' } },
    });
    await worker.stop();
    try {
      const queued = (await submitTestAnalysis(app, owner, ws, { posts: { limit: 5 } })).id;
      const refused = await post(`${queued}/retry`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({
        error: { code: 'conflict', details: { status: 'queued' } },
      });
      expect((await post(`${queued}/cancel`)).statusCode).toBe(200);
    } finally {
      worker = await startTestWorker(db, { ANALYSIS_SLOTS: '3' });
    }
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const verb of ['retry', 'cancel']) {
      const missing = await post(`${unknown}/${verb}`);
      expect(missing.statusCode, verb).toBe(404);
      expect(missing.json(), verb).toMatchObject({ error: { code: 'not_found' } });
      expect(missing.body, verb).toContain(unknown);
    }
  });

  it('pages the analyses list without skipping analyses created in the same millisecond', async () => {
    const tenant = await signUpUser(app);
    const space = await createWorkspaceAs(app, tenant);
    await importTestPosts(app, tenant, space, 3, (i) => `post ${i}`);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${space}/analyses`,
        headers: tenant.headers,
        payload: { posts: { limit: 3 } },
      });
      ids.push(res.json<Analysis>().id);
    }
    // Three analyses within one millisecond, as concurrent submissions make them.
    await db.adminPool.query(
      "UPDATE analyses SET created_at = timestamptz '2026-01-01T00:00:00Z' + (array_position($1::uuid[], id) * interval '100 microseconds') WHERE id = ANY($1::uuid[])",
      [ids],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/workspaces/${space}/analyses?limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await app.inject({ method: 'GET', url, headers: tenant.headers });
      expect(page.statusCode, page.body).toBe(200);
      const body = page.json<{ data: Analysis[]; next_cursor: string | null }>();
      seen.push(...body.data.map((a) => a.id));
      cursor = body.next_cursor;
    } while (cursor && seen.length < 10);
    expect(seen).toEqual([...ids].reverse());

    // A cursor that was not made by the API is a 400, never a database error; nor does a
    // cursor of one list page another.
    const fingerprint = filterFingerprint({ status: undefined });
    const uuid = '00000000-0000-4000-8000-000000000000';
    const first = await app.inject({
      url: `/v1/workspaces/${space}/analyses?limit=1`,
      headers: tenant.headers,
    });
    const issued = first.json<{ next_cursor: string }>().next_cursor;
    for (const [forged, query] of [
      [Buffer.from(`1|${uuid}`).toString('base64url'), ''],
      [Buffer.from('x').toString('base64url'), ''],
      [encodeCursor({ createdAtMicros: '99999999999999999999', id: uuid }, fingerprint), ''],
      [encodeCursor({ createdAtMicros: '1', id: '123' }, fingerprint), ''],
      [issued, '&status=queued'],
    ] as const) {
      const res = await app.inject({
        method: 'GET',
        url: `/v1/workspaces/${space}/analyses?cursor=${forged}${query}`,
        headers: tenant.headers,
      });
      expect(res.statusCode, `${forged}${query}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'invalid_cursor' } });
    }
  });

  it("estimates an analysis queued behind its requester's other analysis from both", async () => {
    const tenant = await signUpUser(app);
    const space = await createWorkspaceAs(app, tenant);
    await importTestPosts(app, tenant, space, 20, (i) => `post ${i}`);
    const submit = async (limit: number): Promise<string> =>
      (
        await submitTestAnalysis(app, tenant, space, {
          posts: { limit },
          options: { chunk_size: 5 },
        })
      ).id;
    const state = async (id: string): Promise<Analysis> =>
      (await app.inject({ url: `/v1/analyses/${id}`, headers: tenant.headers })).json<Analysis>();
    // A finished analysis whose chunks took 1 s each, claim to commit: the estimate's unit.
    const past = await submit(5);
    await waitForAnalysis(app, tenant, past);
    await db.adminPool.query(
      "UPDATE analysis_chunks SET started_at = finished_at - interval '1 second' WHERE analysis_id = $1",
      [past],
    );
    await worker.stop();
    try {
      const big = await submit(20);
      const small = await submit(5);
      const [first, second] = [await state(big), await state(small)];
      expect(first).toMatchObject({ status: 'queued', chunk_count: 4 });
      expect(second).toMatchObject({ status: 'queued', chunk_count: 1, queue_position: null });
      // The small one runs after the big one's 4 chunks: 5 turns against 4.
      const bigEta = first.estimated_seconds_left ?? 0;
      expect(bigEta).toBeGreaterThanOrEqual(4);
      expect(second.estimated_seconds_left).toBeCloseTo((bigEta * 5) / 4, 0);
      for (const id of [big, small])
        await app.inject({
          method: 'POST',
          url: `/v1/workspaces/${space}/analyses/${id}/cancel`,
          headers: tenant.headers,
        });
      // Before its first chunk, an analysis is estimated from earlier ones' time per post: one
      // chunk of 20 posts at 200 ms a post, not one of their 5-post chunks.
      const wide = await submitTestAnalysis(app, tenant, space, {
        posts: { limit: 20 },
        options: { chunk_size: 20 },
      });
      expect((await state(wide.id)).estimated_seconds_left).toBeGreaterThanOrEqual(4);
      // Cancel and retry answer with the state GET would show.
      const act = (verb: 'cancel' | 'retry') =>
        app.inject({
          method: 'POST',
          url: `/v1/workspaces/${space}/analyses/${wide.id}/${verb}`,
          headers: tenant.headers,
        });
      const cancelled = await act('cancel');
      expect(cancelled.json<Analysis>()).toMatchObject({
        status: 'cancelled',
        queue_position: null,
        estimated_seconds_left: 0,
      });
      const retried = await act('retry');
      expect(retried.statusCode, retried.body).toBe(202);
      expect(retried.json<Analysis>()).toMatchObject({ status: 'queued' });
      expect(retried.json<Analysis>().queue_position).toEqual(expect.any(Number));
      expect(retried.json<Analysis>().estimated_seconds_left).toBeGreaterThanOrEqual(4);
      expect((await act('cancel')).statusCode).toBe(200);
    } finally {
      worker = await startTestWorker(db, { ANALYSIS_SLOTS: '3' });
    }
  });

  it('estimates a running analysis from the pace of its own chunks, one pause not counting for every chunk left', async () => {
    const tenant = await signUpUser(app);
    const space = await createWorkspaceAs(app, tenant);
    await importTestPosts(app, tenant, space, 30, (i) => `post ${i}`);
    await worker.stop();
    try {
      const { id } = await submitTestAnalysis(app, tenant, space, {
        options: { chunk_size: 5 },
      });
      // Four of its six chunks done, their commits 2 s apart but for one 60 s pause.
      await db.adminPool.query(
        `UPDATE analysis_chunks SET status = 'done',
                finished_at = now() - make_interval(secs => ($2::int[])[seq + 1]),
                started_at = now() - make_interval(secs => ($2::int[])[seq + 1] + 1)
          WHERE analysis_id = $1 AND seq < 4`,
        [id, [64, 62, 60, 0]],
      );
      await db.adminPool.query(
        "UPDATE analyses SET status = 'running', chunks_done = 4, started_at = now() - interval '65 seconds' WHERE id = $1",
        [id],
      );
      const state = (
        await app.inject({ url: `/v1/analyses/${id}`, headers: tenant.headers })
      ).json<Analysis>();
      // Two chunks left at the usual 2 s each; not the 1 s a chunk took from claim to commit,
      // nor the 21 s the mean interval would give.
      expect(state).toMatchObject({ chunks_done: 4, estimated_seconds_left: 4 });
      await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${space}/analyses/${id}/cancel`,
        headers: tenant.headers,
      });
    } finally {
      worker = await startTestWorker(db, { ANALYSIS_SLOTS: '3' });
    }
  });

  it('lets a workspace move an analysis only within the lane an operator gave it, and not once it is finished', async () => {
    // Not the instance's first user, who is its admin.
    const tenant = await signUpUser(app);
    const space = await createWorkspaceAs(app, tenant);
    await importTestPosts(app, tenant, space, 5, (i) => `post ${i}`);
    const submit = async (user: TestUser, workspace: string): Promise<string> =>
      (await submitTestAnalysis(app, user, workspace, { posts: { limit: 5 } })).id;
    // No worker: the analyses stay queued while their priority changes.
    await worker.stop();
    try {
      // Another requester's chunk, queued first, is ahead of this one's in the normal lane.
      const other = await signUpUser(app);
      const otherSpace = await createWorkspaceAs(app, other);
      await importTestPosts(app, other, otherSpace, 5, (i) => `other ${i}`);
      const ahead = await submit(other, otherSpace);
      const id = await submit(tenant, space);
      const position = async (): Promise<number | null> =>
        (await app.inject({ url: `/v1/analyses/${id}`, headers: tenant.headers })).json<Analysis>()
          .queue_position;
      const before = await position();
      expect(before).toBeGreaterThanOrEqual(1);
      const patch = (priority: number) =>
        app.inject({
          method: 'PATCH',
          url: `/v1/workspaces/${space}/analyses/${id}`,
          headers: tenant.headers,
          payload: { priority },
        });
      // The chunk queue is the whole instance's: above its lane, an analysis would pass other tenants'.
      const above = await patch(3);
      expect(above.statusCode, above.body).toBe(403);
      expect(above.json()).toMatchObject({
        error: {
          code: 'forbidden',
          details: {
            reason: 'above_lane',
            lane: 0,
            problems: [{ field: 'priority', value: 3 }],
          },
        },
      });
      // Lanes are granted by an instance admin (the owner here), not by the workspace itself.
      const lane = (who: TestUser, url: string, priority: number) =>
        app.inject({
          method: 'PUT',
          url: `/v1/admin/analysis-lanes/${url}`,
          headers: who.headers,
          payload: { priority },
        });
      expect((await lane(tenant, `workspaces/${space}`, 4)).statusCode).toBe(403);
      const tooFast = await lane(owner, `workspaces/${space}`, 11);
      expect(tooFast.statusCode).toBe(400);
      expect(tooFast.body).toContain('priority');
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await lane(owner, `workspaces/${unknown}`, 4)).statusCode).toBe(404);
      expect((await lane(owner, `users/${unknown}`, 4)).statusCode).toBe(404);
      const granted = await lane(owner, `workspaces/${space}`, 4);
      expect(granted.statusCode, granted.body).toBe(200);
      expect(granted.json()).toEqual({ workspace_id: space, priority: 4 });
      const audited = await db.adminPool.query<{ details: { priority: number } }>(
        "SELECT details FROM audit_log WHERE action = 'analysis.lane_set' AND target = $1",
        [space],
      );
      expect(audited.rows.map((r) => r.details.priority)).toEqual([4]);
      // A user's lane follows them into every workspace.
      const userLane = await lane(owner, `users/${await userIdOf(app, other)}`, 2);
      expect(userLane.statusCode, userLane.body).toBe(200);
      const lanes = await db.adminPool.query<{ p: number }>(
        'SELECT analysis_priority AS p FROM users WHERE id = $1',
        [await userIdOf(app, other)],
      );
      expect(lanes.rows[0]?.p).toBe(2);
      const within = await patch(4);
      expect(within.statusCode, within.body).toBe(200);
      expect(within.json<Analysis>().priority).toBe(4);
      const moved = await db.adminPool.query<{ details: { priority: number } }>(
        "SELECT details FROM audit_log WHERE action = 'analysis.priority_changed' AND target = $1",
        [within.json<Analysis>().id],
      );
      expect(moved.rows.map((r) => r.details.priority)).toEqual([4]);
      // Its chunk, already queued, moved to the faster lane: first in line.
      expect(within.json<Analysis>().queue_position).toBe(0);
      expect((await patch(5)).statusCode).toBe(403);
      expect((await patch(0)).statusCode).toBe(200);
      expect(await position()).toBe(before);
      await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${space}/analyses/${id}/cancel`,
        headers: tenant.headers,
      });
      const finished = await patch(0);
      expect(finished.statusCode, finished.body).toBe(409);
      await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${otherSpace}/analyses/${ahead}/cancel`,
        headers: other.headers,
      });
      // An instance admin is the operator: any priority.
      const own = await submit(owner, ws);
      const operator = await app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${ws}/analyses/${own}`,
        headers: owner.headers,
        payload: { priority: 7 },
      });
      expect(operator.statusCode, operator.body).toBe(200);
      expect(operator.json<Analysis>().priority).toBe(7);
    } finally {
      worker = await startTestWorker(db, { ANALYSIS_SLOTS: '3' });
    }
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

  describe('results of an analysis whose category ids hold spaces', () => {
    let tenant: TestUser;
    let space: string;
    let analysisId: string;
    type Page = { data: AnalysisResult[]; next_cursor: string | null };
    const base = (): string => `/v1/workspaces/${space}/analyses/${analysisId}/results`;
    const get = (query: string) =>
      app.inject({ url: `${base()}?${query}`, headers: tenant.headers });

    beforeAll(async () => {
      tenant = await signUpUser(app);
      space = await createWorkspaceAs(app, tenant);
      await importTestPosts(app, tenant, space, 40, (i) =>
        i % 2 ? `This is terrible and broken ${i}` : `Meeting at noon ${i}`,
      );
      // Joined with spaces, two such ids could not be told from one.
      const settings = await app.inject({
        method: 'PATCH',
        url: `/v1/workspaces/${space}/analysis-settings`,
        headers: tenant.headers,
        payload: {
          categories: [
            { id: 'Cold Brew', keywords: ['terrible'] },
            { id: 'Broken, Things', keywords: ['broken'] },
          ],
        },
      });
      expect(settings.statusCode, settings.body).toBe(200);
      const analysis = await waitForAnalysis(
        app,
        tenant,
        (await submitTestAnalysis(app, tenant, space)).id,
      );
      expect(analysis.status).toBe('completed');
      analysisId = analysis.id;
    });

    it('exports list cells as JSON arrays that split back to the lists', async () => {
      const all = (await get('limit=1000')).json<Page>().data;
      const byId = new Map(all.map((r) => [r.post_id, r]));
      const csv = await get('format=csv');
      expect(csv.statusCode).toBe(200);
      const [header, ...lines] = csv.body.trim().split('\n');
      const columns = (header ?? '').split(',');
      expect(lines).toHaveLength(40);
      let withBoth = 0;
      for (const line of lines) {
        const split = splitCsvRecord(line);
        if (!split.ok) throw new Error(`unparsable CSV line: ${line}`);
        const cell = (name: string): string => split.fields[columns.indexOf(name)] ?? '';
        const local = byId.get(cell('post_id'))?.local ?? {};
        for (const list of ['categories', 'keywords'] as const)
          expect(JSON.parse(cell(list)), `${list}: ${line}`).toEqual(local[list]);
        if ((JSON.parse(cell('categories')) as string[]).length === 2) withBoth++;
      }
      expect(withBoth).toBe(20);
    });

    it('filters by label=none: the results the aggregates count as `none`', async () => {
      await db.adminPool.query(
        `UPDATE analysis_results SET sentiment_label = NULL, sentiment = sentiment || '{"label": null}'
          WHERE analysis_id = $1 AND post_id IN (SELECT post_id FROM analysis_results WHERE analysis_id = $1 ORDER BY post_id LIMIT 3)`,
        [analysisId],
      );
      const unlabelled = await get('label=none&limit=1000');
      expect(unlabelled.statusCode, unlabelled.body).toBe(200);
      const none = unlabelled.json<Page>().data;
      expect(none).toHaveLength(3);
      expect(none.every((r) => r.sentiment?.label == null)).toBe(true);
      const noneCsv = await get('label=none&format=csv');
      expect(noneCsv.statusCode, noneCsv.body).toBe(200);
      expect(noneCsv.body.trim().split('\n')).toHaveLength(4);
    });

    it('matches a category in any case, as the topic filter does, page after page', async () => {
      const exact = (await get('category=Cold%20Brew&limit=1000')).json<Page>().data;
      expect(exact).toHaveLength(20);
      for (const spelling of ['cold%20brew', 'COLD%20BREW', 'cOlD%20bReW']) {
        const paged: string[] = [];
        let cursor: string | null = null;
        do {
          const res = await get(
            `category=${spelling}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          );
          expect(res.statusCode, res.body).toBe(200);
          const page = res.json<Page>();
          paged.push(...page.data.map((r) => r.post_id));
          cursor = page.next_cursor;
        } while (cursor && paged.length < 100);
        expect(paged, spelling).toEqual(exact.map((r) => r.post_id));
      }
      expect((await get('category=cold&limit=1000')).json<Page>().data).toEqual([]);
      // Two spellings of one category (a rule's and the model's, say) are one filter.
      const outside = (await get('limit=1000'))
        .json<Page>()
        .data.find((r) => !exact.some((e) => e.post_id === r.post_id));
      await db.adminPool.query(
        `INSERT INTO analysis_result_categories (analysis_id, workspace_id, category, post_id)
         VALUES ($1, $2, 'COLD BREW', $3)`,
        [analysisId, space, outside?.post_id],
      );
      const both = [...exact.map((r) => r.post_id), outside?.post_id ?? ''].sort(
        (a, b) => Number(a) - Number(b),
      );
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await get(
          `category=Cold%20brew&limit=6${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json<Page>();
        paged.push(...page.data.map((r) => r.post_id));
        cursor = page.next_cursor;
      } while (cursor && paged.length < 100);
      expect(paged).toEqual(both);
    });

    it('binds a results cursor to the analysis and filters it was issued for', async () => {
      const first = await get('label=negative&limit=5');
      const issued = first.json<Page>().next_cursor ?? '';
      expect(issued).not.toBe('');
      const negatives: string[] = first.json<Page>().data.map((r) => r.post_id);
      let next: string | null = issued;
      while (next) {
        const page: Page = (await get(`label=negative&limit=5&cursor=${next}`)).json<Page>();
        negatives.push(...page.data.map((r) => r.post_id));
        next = page.next_cursor;
      }
      const unpaged = (await get('label=negative&limit=1000')).json<Page>().data;
      expect(unpaged.length).toBeGreaterThan(10);
      expect(negatives).toEqual(unpaged.map((r) => r.post_id));
      const other = await submitTestAnalysis(app, tenant, space, { posts: { limit: 3 } });
      const postId = unpaged[4]?.post_id ?? '5';
      for (const [query, why] of [
        [`label=positive&limit=5&cursor=${issued}`, 'different filters'],
        [`limit=5&cursor=${issued}`, 'different filters'],
        [`label=negative&topic=x&limit=5&cursor=${issued}`, 'different filters'],
        [`label=negative&cursor=zzz`, 'malformed'],
        // What the API answered before its cursors were opaque: a post id.
        [`label=negative&cursor=${postId}`, 'malformed'],
      ] as const) {
        const res = await get(query);
        expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
        expect(res.json(), query).toMatchObject({ error: { code: 'invalid_cursor' } });
        expect(res.body, query).toContain(why);
      }
      const elsewhere = await app.inject({
        url: `/v1/workspaces/${space}/analyses/${other.id}/results?label=negative&limit=5&cursor=${issued}`,
        headers: tenant.headers,
      });
      expect(elsewhere.statusCode, elsewhere.body).toBe(400);
      expect(elsewhere.json()).toMatchObject({ error: { code: 'invalid_cursor' } });
      await waitForAnalysis(app, tenant, other.id);
    });
  });

  it('describes in its OpenAPI document what the analyses routes answer', async () => {
    const res = await app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    type Media = Record<string, { schema?: unknown }>;
    type Operation = {
      parameters?: { in: string; name: string }[];
      responses: Record<string, { content?: Media } | undefined>;
    };
    const paths = res.json<{ paths: Record<string, Record<string, Operation>> }>().paths;
    const op = (path: string, method: string): Operation => {
      const found = paths[path]?.[method];
      if (!found) throw new Error(`${method} ${path} is not in the document`);
      return found;
    };
    const media = (o: Operation, status: string): string[] =>
      Object.keys(o.responses[status]?.content ?? {}).sort();
    const errorStatuses = (o: Operation): Record<string, string[]> =>
      Object.fromEntries(
        Object.keys(o.responses)
          .filter((s) => Number(s) >= 400)
          .map((s) => [s, media(o, s)]),
      );
    const json = ['application/json'];

    const results = op('/v1/workspaces/{workspaceId}/analyses/{analysisId}/results', 'get');
    expect(media(results, '200')).toEqual(
      ['application/json', 'application/x-ndjson', 'text/csv'].sort(),
    );
    expect(errorStatuses(results)).toMatchObject({ '400': json });
    expect(results.responses['200']?.content?.['application/json']?.schema).toBeDefined();

    for (const path of [
      '/v1/analyses/{analysisId}/events',
      '/v1/workspaces/{workspaceId}/analyses/{analysisId}/events',
    ]) {
      const events = op(path, 'get');
      expect(media(events, '200'), path).toEqual(['text/event-stream']);
      expect(Object.keys(events.responses), path).toContain('204');
      expect(errorStatuses(events), path).toEqual({
        '400': json,
        '401': json,
        '403': json,
        '404': json,
        '429': json,
      });
      expect(events.parameters, path).toContainEqual(
        expect.objectContaining({ in: 'header', name: 'last-event-id' }),
      );
    }

    expect(errorStatuses(op('/v1/workspaces/{workspaceId}/analyses', 'get'))).toMatchObject({
      '400': json,
    });
    expect(
      errorStatuses(op('/v1/workspaces/{workspaceId}/analyses/{analysisId}', 'patch')),
    ).toMatchObject({ '400': json, '409': json });
    expect(
      errorStatuses(op('/v1/workspaces/{workspaceId}/analysis-settings', 'patch')),
    ).toMatchObject({ '400': json, '409': json });

    // And the answers are those: a results export is served as declared.
    const { id } = await waitForAnalysis(
      app,
      owner,
      (await submitTestAnalysis(app, owner, ws, { posts: { limit: 5 } })).id,
    );
    for (const [format, type] of [
      ['csv', 'text/csv'],
      ['jsonl', 'application/x-ndjson'],
      ['json', 'application/json'],
    ] as const) {
      const answer = await app.inject({
        url: `/v1/workspaces/${ws}/analyses/${id}/results?format=${format}`,
        headers: owner.headers,
      });
      expect(answer.statusCode).toBe(200);
      expect(String(answer.headers['content-type'])).toMatch(new RegExp(`^${type}`));
      expect(media(results, '200')).toContain(type);
    }
  });
});
