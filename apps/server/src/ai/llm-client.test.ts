import { createServer } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  startFakeLlmServer,
  type FakeFault,
  type FakeLlmServer,
} from '../../test/support/fake-llm-server.js';
import { createLlmClient, type LlmClientOptions } from './index.js';
import { isLlmError, type LlmError } from './llm-errors.js';
import { MAX_ANSWER_BYTES } from './chat-transport.js';
import { costOf } from './pricing/cost.js';

const API_KEY = 'sk-test-SECRET-0123456789abcdef';
const START = Date.UTC(2025, 0, 1, 12, 0, 0);

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.reset();
  vi.useRealTimers();
});

/** A client on the fake server with a fake clock: sleeps advance time instead of waiting. */
function setup(overrides: Partial<LlmClientOptions> & { summaryMaxInputTokens?: number } = {}) {
  const clock = { now: START };
  const sleeps: number[] = [];
  const client = createLlmClient({
    baseUrl: server.url,
    apiKey: API_KEY,
    model: 'gpt-4o-mini',
    timeoutMs: 10_000,
    maxConcurrency: 4,
    now: () => clock.now,
    sleep: (ms) => {
      sleeps.push(ms);
      clock.now += ms;
      return Promise.resolve();
    },
    random: () => 0,
    ...overrides,
  });
  return { client, sleeps, clock };
}

/** Fault the next chat requests by number (counted from what the server has seen so far). */
function faultNext(...faults: FakeFault[]): void {
  const base = server.requests.at(-1)?.number ?? 0;
  server.setBehaviour({ faults: Object.fromEntries(faults.map((f, i) => [base + i + 1, f])) });
}

const taxonomy = { categories: ['shipping', 'pricing', 'support'] };
const posts = [
  { id: 'p1', text: 'I love the new pricing plan, great value' },
  { id: 'p2', text: 'Shipping was terrible and slow' },
  { id: 'p3', text: 'Has anyone tried the API yet?' },
];

async function rejection(promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise;
  } catch (error) {
    if (isLlmError(error)) return error;
    throw error;
  }
  throw new Error('expected an LlmError');
}

function userMessagePosts(requestIndex: number): { id: string }[] {
  const body = server.requests[requestIndex]?.body as {
    messages: { role: string; content: string }[];
  };
  const user = body.messages.find((m) => m.role === 'user');
  return (JSON.parse(user?.content ?? '{}') as { posts: { id: string }[] }).posts;
}

describe('labelPosts against the fake server', () => {
  it('labels every post in order with a structured-output request and records the call', async () => {
    const { client } = setup();
    const out = await client.labelPosts({ posts, taxonomy });

    expect(out.results.map((r) => r.id)).toEqual(['p1', 'p2', 'p3']);
    expect(out.results).toEqual([
      expect.objectContaining({
        id: 'p1',
        status: 'labelled',
        category: 'pricing',
        sentiment: 'positive',
      }),
      expect.objectContaining({
        id: 'p2',
        status: 'labelled',
        category: 'shipping',
        sentiment: 'negative',
      }),
      expect.objectContaining({
        id: 'p3',
        status: 'labelled',
        category: null,
        sentiment: 'neutral',
      }),
    ]);
    expect(out.summary).toMatch(/3 posts/);

    const request = server.requests[0];
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.body).toMatchObject({
      model: 'gpt-4o-mini',
      max_tokens: 3 * 120 + 300,
      response_format: { type: 'json_schema', json_schema: { name: 'post_labels', strict: true } },
    });

    expect(out.calls).toHaveLength(1);
    const call = out.calls[0];
    expect(call).toMatchObject({
      operation: 'label_posts',
      provider: 'openai_compatible',
      requestModel: 'gpt-4o-mini',
      responseModel: 'gpt-4o-mini',
      status: 'ok',
      errorType: null,
      attempt: 1,
      repair: false,
      startedAt: new Date(START),
      cost: { priced: true },
    });
    expect(call?.inputTokens).toBe(server.countPromptTokens(request?.body));
    expect(call?.outputTokens).toBeGreaterThan(0);
  });

  it('estimates prompt tokens within 5% of what the server counts', async () => {
    const { client } = setup();
    const many = Array.from({ length: 50 }, (_, i) => ({
      id: `post-${i}`,
      text: `Post number ${i}: shipping was slow but support was great, thanks! #${i}`,
    }));
    const estimate = client.estimateLabelPostsCost({ posts: many, taxonomy });
    const out = await client.labelPosts({ posts: many, taxonomy });
    const counted = out.calls[0]?.inputTokens ?? 0;
    expect(Math.abs(estimate.inputTokens - counted) / counted).toBeLessThan(0.05);
    expect(estimate.maxOutputTokens).toBe(50 * 120 + 300);
    expect(estimate.maxCost).toMatchObject({ priced: true });
  });

  it('records its own token count only for a call the provider reported no usage for', async () => {
    const { client } = setup();
    const needed = client.estimateLabelPostsCost({ posts, taxonomy }).inputTokens;
    const counted = await client.labelPosts({ posts, taxonomy });
    expect(counted.calls[0]).toMatchObject({ estimatedInputTokens: null, cost: { priced: true } });
    expect(counted.calls[0]?.inputTokens).toBe(
      server.countPromptTokens(server.requests.at(-1)?.body),
    );

    server.setBehaviour({ usage: 'none' });
    const uncounted = await client.labelPosts({ posts, taxonomy });
    expect(uncounted.calls[0]).toMatchObject({
      status: 'ok',
      inputTokens: null,
      outputTokens: null,
      estimatedInputTokens: needed,
      cost: { priced: true, pricedAs: 'gpt-4o-mini' },
    });
    // Priced on the local counts (the prompt's, and the answer's), never as free.
    const cost = uncounted.calls[0]?.cost;
    const inputOnly = costOf('gpt-4o-mini', { inputTokens: needed, outputTokens: 0 });
    if (!cost?.priced || !inputOnly.priced) throw new Error('expected priced costs');
    expect(Number(cost.costUsd)).toBeGreaterThan(Number(inputOnly.costUsd));
  });

  it('never asks for more output than the model can write, and stops reading an endless answer', async () => {
    const { client } = setup();
    const many = Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, text: `post ${i}` }));
    await client.labelPosts({ posts: many, taxonomy });
    // 200 posts × 120 + 300 would be 24,300: gpt-4o-mini writes at most 16,384.
    const body = server.requests.at(-1)?.body as { max_tokens?: number };
    expect(body.max_tokens).toBe(16_384);
    expect(client.estimateLabelPostsCost({ posts: many, taxonomy }).maxOutputTokens).toBe(16_384);

    // A base URL that answers without end: read up to the bound, then refused, not retried.
    let written = 0;
    const endless = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      const more = (): void => {
        while (!res.destroyed && written < 4 * MAX_ANSWER_BYTES) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = endless.address() as AddressInfo;
      const { client: toEndless } = setup({ baseUrl: `http://127.0.0.1:${port}/v1` });
      // Malformed, so asked once more (as any malformed answer), then marked, never invented.
      const out = await toEndless.labelPosts({ posts, taxonomy });
      expect(out.results.every((r) => r.status === 'unlabelled')).toBe(true);
      expect(out.calls.map((c) => c.errorType)).toEqual([
        'llm_malformed_output',
        'llm_malformed_output',
      ]);
      expect(written).toBeLessThan(4 * MAX_ANSWER_BYTES);
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });

  it('reports cached tokens and prices a dated snapshot as its alias', async () => {
    const { client } = setup();
    server.setBehaviour({ responseModel: 'gpt-4o-mini-2024-07-18' });
    await client.labelPosts({ posts, taxonomy }); // request 1: cold cache
    const out = await client.labelPosts({ posts, taxonomy });
    const call = out.calls[0];
    expect(call?.responseModel).toBe('gpt-4o-mini-2024-07-18');
    expect(call?.cachedInputTokens).toBe(Math.floor((call?.inputTokens ?? 0) / 2));
    expect(call?.cost).toMatchObject({ priced: true, pricedAs: 'gpt-4o-mini' });
  });

  it('holds every request back for a Retry-After longer than it waits, without asking again', async () => {
    const { client } = setup({ maxRetryWaitMs: 10_000 });
    faultNext({ kind: 'rate_limit', retryAfter: '120' });
    const first = await client.labelPosts({ posts, taxonomy }).catch((e: unknown) => e);
    expect(isLlmError(first) && first.code).toBe('llm_rate_limited');
    const asked = server.requests.length;
    const second = await client.labelPosts({ posts, taxonomy }).catch((e: unknown) => e);
    expect(isLlmError(second) && second.code).toBe('llm_rate_limited');
    expect(server.requests.length).toBe(asked);
  });

  it('holds back a request that queued for a slot while another learnt of a long Retry-After', async () => {
    // One slot: the second request passes the (still open) gate and queues behind the first,
    // whose 429 then closes the gate for longer than the client waits.
    const { client } = setup({ maxConcurrency: 1, maxRetryWaitMs: 10_000 });
    faultNext({ kind: 'rate_limit', retryAfter: '120' });
    const calls: string[] = [];
    const [first, second] = await Promise.all(
      [1, 2].map((n) =>
        client
          .labelPosts({ posts, taxonomy, onCall: (c) => calls.push(`${n}:${c.errorType}`) })
          .catch((e: unknown) => e),
      ),
    );
    expect(isLlmError(first) && first.code).toBe('llm_rate_limited');
    expect(isLlmError(second) && second.code).toBe('llm_rate_limited');
    // Only the first was sent; the second, never sent, records no call.
    expect(server.requests).toHaveLength(1);
    expect(calls).toEqual(['1:llm_rate_limited']);
  });

  it('records no call for a request aborted while it waits at the gate for its slot', async () => {
    // Real sleeps (they end in an AbortError): the second request is still waiting out the
    // first's Retry-After, in the slot it got, when its caller gives up.
    const { client } = setup({
      maxConcurrency: 1,
      sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}),
    });
    faultNext({ kind: 'rate_limit', retryAfter: '2' });
    const first = new AbortController();
    const second = new AbortController();
    const calls: string[] = [];
    const requests = [first, second].map((controller, i) =>
      client
        .labelPosts({
          posts,
          taxonomy,
          signal: controller.signal,
          onCall: (c) => calls.push(`${i + 1}:${c.errorType}`),
        })
        .catch((e: unknown) => e),
    );
    await vi.waitFor(() => expect(calls).toEqual(['1:llm_rate_limited']), { timeout: 10_000 });
    second.abort(new Error('chunk cancelled'));
    first.abort(new Error('chunk cancelled'));
    await Promise.all(requests);
    expect(server.requests).toHaveLength(1);
    expect(calls).toEqual(['1:llm_rate_limited']);
  });

  it('honours Retry-After (seconds) on a 429 and retries', async () => {
    const { client, sleeps } = setup();
    faultNext({ kind: 'rate_limit', retryAfter: '2' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results.every((r) => r.status === 'labelled')).toBe(true);
    expect(sleeps).toEqual([2_000]);
    expect(out.calls.map((c) => [c.status, c.errorType, c.attempt])).toEqual([
      ['error', 'llm_rate_limited', 1],
      ['ok', null, 2],
    ]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const { client, sleeps } = setup();
    faultNext({ kind: 'rate_limit', retryAfter: new Date(START + 5_000).toUTCString() });
    await client.labelPosts({ posts, taxonomy });
    expect(sleeps).toEqual([5_000]);
  });

  it('on a 429 with x-ratelimit-remaining-requests: 0 waits for the reset', async () => {
    const { client, sleeps } = setup();
    faultNext({ kind: 'rate_limit_headers', resetRequests: '0m45s' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(sleeps).toEqual([45_000]);
    expect(out.results.every((r) => r.status === 'labelled')).toBe(true);
  });

  it('after a success announcing an exhausted budget, holds the next call until the reset', async () => {
    const { client, sleeps } = setup();
    const normal = {
      limitRequests: 100,
      remainingRequests: 99,
      resetRequests: '1s',
      limitTokens: 1_000_000,
      remainingTokens: 999_000,
      resetTokens: '1s',
    };
    server.setBehaviour({ rateLimit: { ...normal, remainingRequests: 0, resetRequests: '6s' } });
    await client.labelPosts({ posts, taxonomy });
    expect(sleeps).toEqual([]);
    server.setBehaviour({ rateLimit: normal });
    await client.labelPosts({ posts, taxonomy });
    expect(sleeps).toEqual([6_000]);
  });

  it('holds a call back for the token budget by its own token count, not by its size', async () => {
    const { client, sleeps } = setup();
    const needed = client.estimateLabelPostsCost({ posts, taxonomy }).inputTokens;
    const budget = (remainingTokens: number) => ({
      limitRequests: 100,
      remainingRequests: 99,
      resetRequests: '1s',
      limitTokens: 1_000_000,
      remainingTokens,
      resetTokens: '7s',
    });
    // Enough tokens left for the prompt, though fewer than its bytes: it goes at once.
    server.setBehaviour({ rateLimit: budget(needed + 5) });
    await client.labelPosts({ posts, taxonomy });
    await client.labelPosts({ posts, taxonomy });
    expect(sleeps).toEqual([]);
    // One token short: it waits for the budget's reset.
    server.setBehaviour({ rateLimit: budget(needed - 1) });
    await client.labelPosts({ posts, taxonomy });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(sleeps).toEqual([7_000]);
    expect(out.calls[0]?.estimatedInputTokens).toBe(needed);
  });

  it('gives up with llm_rate_limited when the provider asks to wait longer than maxRetryWaitMs', async () => {
    const { client, sleeps } = setup({ maxRetryWaitMs: 10_000 });
    faultNext({ kind: 'rate_limit', retryAfter: '120' });
    const error = await rejection(client.labelPosts({ posts, taxonomy }));
    expect(error.code).toBe('llm_rate_limited');
    expect(error.retryAfterMs).toBe(120_000);
    expect(error.retryable).toBe(true);
    expect(sleeps).toEqual([]);
    expect(error.calls).toHaveLength(1);
  });

  it('retries 500 and 503 with exponential back-off, then succeeds', async () => {
    const { client, sleeps } = setup();
    faultNext({ kind: 'server_error' }, { kind: 'unavailable' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results.every((r) => r.status === 'labelled')).toBe(true);
    // random() = 0 → half of 500 ms, then half of 1000 ms.
    expect(sleeps).toEqual([250, 500]);
    expect(out.calls.map((c) => [c.errorType, c.httpStatus])).toEqual([
      ['llm_unavailable', 500],
      ['llm_unavailable', 503],
      [null, 200],
    ]);
  });

  it('retries a dropped connection', async () => {
    const { client } = setup();
    faultNext({ kind: 'network_drop' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.calls.map((c) => c.errorType)).toEqual(['llm_unavailable', null]);
  });

  it('fails with llm_unavailable after maxAttempts of 5xx, carrying every attempt', async () => {
    const { client } = setup();
    faultNext({ kind: 'server_error' }, { kind: 'server_error' }, { kind: 'server_error' });
    const error = await rejection(client.labelPosts({ posts, taxonomy }));
    expect(error.code).toBe('llm_unavailable');
    expect(error.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(server.requests).toHaveLength(3);
  });

  it('times out a hanging server with llm_timeout after its attempts', async () => {
    const { client } = setup({ timeoutMs: 150, maxAttempts: 2 });
    faultNext({ kind: 'hang' }, { kind: 'hang' });
    const error = await rejection(client.labelPosts({ posts, taxonomy }));
    expect(error.code).toBe('llm_timeout');
    expect(error.calls.map((c) => c.errorType)).toEqual(['llm_timeout', 'llm_timeout']);
  });

  it('stops at once, without retrying, when the caller aborts', async () => {
    const { client } = setup();
    faultNext({ kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
    const controller = new AbortController();
    const calls: string[] = [];
    const pending = client.labelPosts({
      posts,
      taxonomy,
      signal: controller.signal,
      onCall: (c) => calls.push(c.errorType ?? 'ok'),
    });
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    controller.abort(new Error('chunk cancelled'));
    await expect(pending).rejects.toThrow('chunk cancelled');
    expect(calls).toEqual(['aborted']);
    expect(server.requests).toHaveLength(1);
  });

  it('never sends an answered request again, even when recording its call throws', async () => {
    const { client } = setup();
    const failure = new Error('the trace buffer is full');
    const recorded: string[] = [];
    const pending = client.labelPosts({
      posts,
      taxonomy,
      onCall: (call) => {
        recorded.push(call.status);
        // Only the first record fails: a retry would then record quietly.
        if (recorded.length === 1) throw failure;
      },
    });
    await expect(pending).rejects.toBe(failure);
    expect(server.requests).toHaveLength(1);
    expect(recorded).toEqual(['ok']);
  });

  it('never retries a 401 and keeps the key out of the error', async () => {
    const { client } = setup();
    faultNext({ kind: 'unauthorized' });
    const error = await rejection(client.labelPosts({ posts, taxonomy }));
    expect(error.code).toBe('llm_auth_failed');
    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
    const everything = JSON.stringify({
      message: error.message,
      details: error.details,
      calls: error.calls,
      stack: error.stack,
    });
    expect(everything).not.toContain('SECRET');
    expect(error.message).toContain('[redacted]');
  });

  it('does not retry insufficient_quota', async () => {
    const { client } = setup();
    faultNext({ kind: 'quota_exceeded' });
    const error = await rejection(client.labelPosts({ posts, taxonomy }));
    expect(error.code).toBe('llm_quota_exceeded');
    expect(server.requests).toHaveLength(1);
  });

  it('repairs a malformed answer once', async () => {
    const { client } = setup();
    faultNext({ kind: 'malformed_json' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results.every((r) => r.status === 'labelled')).toBe(true);
    expect(out.calls.map((c) => c.repair)).toEqual([false, true]);
    const repairBody = server.requests[1]?.body as { messages: { content: string }[] };
    expect(repairBody.messages.at(-1)?.content).toMatch(/not valid JSON/);
    expect(out.summary).toMatch(/3 posts/);
  });

  it('marks every post unlabelled when the answer is still malformed after the repair', async () => {
    const { client } = setup();
    faultNext({ kind: 'malformed_json' }, { kind: 'malformed_json' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(
      out.results.map((r) => [r.id, r.status, r.status === 'unlabelled' ? r.reason : null]),
    ).toEqual(posts.map((p) => [p.id, 'unlabelled', 'malformed_output']));
    expect(out.summary).toBeNull();
    expect(out.calls).toHaveLength(2);
  });

  it('re-asks a truncated answer with more room, and marks it truncated when it stays cut off', async () => {
    const { client } = setup();
    faultNext({ kind: 'truncated' });
    const repaired = await client.labelPosts({ posts, taxonomy });
    expect(repaired.results.every((r) => r.status === 'labelled')).toBe(true);
    const [first, second] = server.requests
      .slice(-2)
      .map((r) => (r.body as { max_tokens: number }).max_tokens);
    expect(second).toBe(2 * (first ?? 0));

    faultNext({ kind: 'truncated' }, { kind: 'truncated' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results.map((r) => (r.status === 'unlabelled' ? r.reason : r.status))).toEqual([
      'truncated_output',
      'truncated_output',
      'truncated_output',
    ]);
    expect(out.calls.map((c) => c.finishReason)).toEqual(['length', 'length']);
  });

  it('re-asks only for the posts whose ids came back wrong', async () => {
    const { client } = setup();
    faultNext({ kind: 'wrong_ids' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results.every((r) => r.status === 'labelled')).toBe(true);
    expect(userMessagePosts(1).map((p) => p.id)).toEqual(['p1']);

    faultNext({ kind: 'wrong_ids' }, { kind: 'wrong_ids' });
    const still = await client.labelPosts({ posts, taxonomy });
    expect(still.results[0]).toMatchObject({
      id: 'p1',
      status: 'unlabelled',
      reason: 'missing_from_output',
    });
    expect(still.results.slice(1).every((r) => r.status === 'labelled')).toBe(true);
    expect(still.results).toHaveLength(3);
  });

  it('never accepts a category outside the taxonomy', async () => {
    const { client } = setup();
    faultNext({ kind: 'bad_category' }, { kind: 'bad_category' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results[0]).toMatchObject({
      id: 'p1',
      status: 'unlabelled',
      reason: 'category_not_in_taxonomy',
    });
    expect(out.results.slice(1).every((r) => r.status === 'labelled')).toBe(true);
  });

  it('marks a refusal as such', async () => {
    const { client } = setup();
    faultNext({ kind: 'refusal' }, { kind: 'refusal' });
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results.every((r) => r.status === 'unlabelled' && r.reason === 'refused')).toBe(
      true,
    );
  });

  it('makes no call for an empty chunk and rejects duplicate ids', async () => {
    const { client } = setup();
    expect(await client.labelPosts({ posts: [], taxonomy })).toEqual({
      results: [],
      summary: null,
      calls: [],
    });
    await expect(client.labelPosts({ posts: [posts[0]!, posts[0]!], taxonomy })).rejects.toThrow(
      RangeError,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('keeps at most maxConcurrency requests in flight', async () => {
    const { client } = setup({ maxConcurrency: 2 });
    const answer = server.hold();
    server.stats.maxInFlight = 0;
    const running = Promise.all(
      Array.from({ length: 6 }, () => client.labelPosts({ posts, taxonomy })),
    );
    // Two are held at the server; a third would be there too by the time both arrived.
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(2), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    answer();
    const outs = await running;
    expect(outs.every((o) => o.results.every((r) => r.status === 'labelled'))).toBe(true);
    expect(server.stats.maxInFlight).toBe(2);
  });

  it('lets queued labelling go before a job summary queued earlier', async () => {
    const { client } = setup({ maxConcurrency: 1 });
    server.setBehaviour({ latencyMs: 60 });
    const first = client.labelPosts({ posts, taxonomy });
    const summary = client.summarizeJob({ chunkSummaries: ['Chunk one is about shipping.'] });
    // The summary is queued behind the first call before the second labelling asks.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = client.labelPosts({ posts, taxonomy });
    await Promise.all([first, summary, second]);
    const order = server.requests.map(
      (r) =>
        (r.body as { response_format: { json_schema: { name: string } } }).response_format
          .json_schema.name,
    );
    expect(order).toEqual(['post_labels', 'post_labels', 'job_summary']);
  });

  it('keeps most of the concurrency for labelling: job summaries hold at most a quarter', async () => {
    const { client } = setup({ maxConcurrency: 8 });
    const answer = server.hold();
    server.stats.maxInFlight = 0;
    const running = Promise.all(
      Array.from({ length: 5 }, (_, i) => client.summarizeJob({ chunkSummaries: [`Chunk ${i}.`] })),
    );
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(2), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    answer();
    const outs = await running;
    expect(outs.every((o) => o.status === 'summarized')).toBe(true);
    expect(server.stats.maxInFlight).toBe(2);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, rejects fast without calling, then half-opens', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(START);
    const { client } = setup({
      maxAttempts: 1,
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 30_000 },
    });
    faultNext({ kind: 'server_error' }, { kind: 'unavailable' }, { kind: 'server_error' });
    for (let i = 0; i < 3; i++)
      expect((await rejection(client.labelPosts({ posts, taxonomy }))).code).toBe(
        'llm_unavailable',
      );
    expect(client.circuitState).toBe('open');

    const open = await rejection(client.labelPosts({ posts, taxonomy }));
    expect(open.code).toBe('llm_circuit_open');
    expect(open.calls).toEqual([
      expect.objectContaining({ status: 'error', errorType: 'llm_circuit_open' }),
    ]);
    expect(server.requests).toHaveLength(3);

    vi.setSystemTime(START + 30_001);
    const out = await client.labelPosts({ posts, taxonomy });
    expect(out.results.every((r) => r.status === 'labelled')).toBe(true);
    expect(server.requests).toHaveLength(4);
    expect(client.circuitState).toBe('closed');
  });

  it('does not count 4xx or 429 towards opening', async () => {
    const { client } = setup({ maxAttempts: 1, circuitBreaker: { consecutiveFailures: 2 } });
    faultNext(
      { kind: 'unauthorized' },
      { kind: 'rate_limit', retryAfter: '1' },
      { kind: 'unauthorized' },
    );
    for (let i = 0; i < 3; i++) await rejection(client.labelPosts({ posts, taxonomy }));
    expect(client.circuitState).toBe('closed');
  });
});

describe('summarizeJob', () => {
  it('summarizes chunk summaries with a structured-output call', async () => {
    const { client } = setup();
    const out = await client.summarizeJob({
      chunkSummaries: ['Chunk one is about shipping.', null, 'Chunk two is about pricing.'],
    });
    expect(out).toMatchObject({ status: 'summarized', omittedChunkSummaries: 0 });
    if (out.status === 'summarized') expect(out.summary).toMatch(/Across 2 chunk summaries/);
    expect(out.calls).toEqual([expect.objectContaining({ operation: 'summarize', status: 'ok' })]);
    expect(server.requests[0]?.body).toMatchObject({
      response_format: { json_schema: { name: 'job_summary', strict: true } },
    });
  });

  it('repairs a malformed summary once, then reports it unsummarized', async () => {
    const { client } = setup();
    faultNext({ kind: 'malformed_json' });
    expect(await client.summarizeJob({ chunkSummaries: ['a'] })).toMatchObject({
      status: 'summarized',
    });
    faultNext({ kind: 'malformed_json' }, { kind: 'malformed_json' });
    const out = await client.summarizeJob({ chunkSummaries: ['a'] });
    expect(out).toMatchObject({ status: 'unsummarized', reason: 'malformed_output' });
    expect(out.calls.map((c) => c.repair)).toEqual([false, true]);
  });

  it('summarizes in groups when the chunk summaries do not fit (map-reduce)', async () => {
    const { client } = setup({ summaryMaxInputTokens: 400 });
    const chunkSummaries = Array.from(
      { length: 40 },
      (_, i) => `Chunk ${i} talks mostly about shipping delays and a few pricing complaints.`,
    );
    const out = await client.summarizeJob({ chunkSummaries });
    expect(out.status).toBe('summarized');
    expect(out.calls.length).toBeGreaterThan(2);
    for (const request of server.requests)
      expect(server.countPromptTokens(request.body)).toBeLessThan(450);
  });

  it('counts every chunk summary that a group lost above the first level stood for', async () => {
    const { client } = setup({ summaryMaxInputTokens: 400 });
    const chunkSummaries = Array.from(
      { length: 400 },
      (_, i) => `Chunk ${i} talks mostly about shipping delays and a few pricing complaints.`,
    );
    const textsOf = (index: number): string[] => {
      const body = server.requests[index]?.body as {
        messages: { role: string; content: string }[];
      };
      const user = body.messages.find((m) => m.role === 'user');
      return (JSON.parse(user?.content ?? '{}') as { chunkSummaries: string[] }).chunkSummaries;
    };

    expect(await client.summarizeJob({ chunkSummaries })).toMatchObject({
      status: 'summarized',
      omittedChunkSummaries: 0,
    });
    // Level 0: the requests whose texts add up to the 400 chunk summaries.
    let firstLevelRequests = 0;
    const groupSizes: number[] = [];
    for (let seen = 0; seen < chunkSummaries.length; firstLevelRequests++) {
      groupSizes.push(textsOf(firstLevelRequests).length);
      seen += groupSizes.at(-1) ?? 0;
    }
    const secondLevelFirstGroup = textsOf(firstLevelRequests).length;
    const secondLevelTexts = groupSizes.length;
    // The test needs a second level of several groups; the last request is the final one.
    expect(secondLevelFirstGroup).toBeGreaterThan(1);
    expect(secondLevelFirstGroup).toBeLessThan(secondLevelTexts);
    const lostChunkSummaries = groupSizes
      .slice(0, secondLevelFirstGroup)
      .reduce((a, b) => a + b, 0);
    expect(lostChunkSummaries).toBeGreaterThan(secondLevelFirstGroup);

    server.reset();
    // The second level's first group fails, and so does its re-ask.
    server.setBehaviour({
      faults: {
        [firstLevelRequests + 1]: { kind: 'malformed_json' },
        [firstLevelRequests + 2]: { kind: 'malformed_json' },
      },
    });
    expect(await client.summarizeJob({ chunkSummaries })).toMatchObject({
      status: 'summarized',
      omittedChunkSummaries: lostChunkSummaries,
    });
  });

  it('makes no call without any chunk summary', async () => {
    const { client } = setup();
    expect(await client.summarizeJob({ chunkSummaries: [null, ' '] })).toMatchObject({
      status: 'unsummarized',
      reason: 'no_input',
      calls: [],
    });
  });
});
