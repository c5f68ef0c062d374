import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer } from '../../../test/support/fake-llm-server.js';
import { costOf, PRICE_TABLE_VERSION, type LlmCallRecord, type LlmClient } from '../../ai/index.js';
import type { AnalysisSettingsRow } from '../../db/repos/analysis-settings.repo.js';
import { LlmError } from '../../ai/llm-errors.js';
import { AppError } from '../../errors.js';
import {
  assertWorkspaceLlmBaseUrl,
  createLlmResolver,
  largestLlmChunkSize,
  retryAdviceOf,
  runtimeOf,
  takeTracesOfFailure,
  traceOfCall,
  withTracesOfFailure,
} from './llm-runtime.js';

const defaults = {
  baseUrl: 'http://127.0.0.1:9/v1',
  apiKey: 'sk-instance-key',
  model: 'gpt-4o-mini',
  timeoutMs: 10_000,
  maxConcurrency: 4,
  trustedOrigins: [] as string[],
};

describe('createLlmResolver', () => {
  it("shares one client between workspaces on the instance's provider and key, not with a workspace's own", () => {
    const resolve = createLlmResolver(defaults, (sealed) => `opened:${sealed}`);
    const a = resolve('00000000-0000-4000-8000-00000000000a', null);
    const b = resolve('00000000-0000-4000-8000-00000000000b', null);
    expect(a).not.toBeNull();
    expect(b).toBe(a);
    const own = { llm_api_key_sealed: 'sealed-c' } as AnalysisSettingsRow;
    const c = resolve('00000000-0000-4000-8000-00000000000c', own);
    expect(c).not.toBe(a);
    expect(resolve('00000000-0000-4000-8000-00000000000c', own)).toBe(c);
  });

  it('has no LLM without a base URL and a model', () => {
    const resolve = createLlmResolver({ ...defaults, model: undefined }, (s) => s);
    expect(resolve('00000000-0000-4000-8000-00000000000a', null)).toBeNull();
  });
});

describe("a workspace's own LLM base URL", () => {
  it.each([
    'http://127.0.0.1:9200/v1',
    'http://10.0.0.5/v1',
    'http://169.254.169.254/latest',
    'http://[::1]:8080/v1',
    'http://[::ffff:192.168.1.2]/v1',
    'http://localhost:11434/v1',
    'http://ollama.localhost/v1',
    // The instance's host on another port is another server.
    'http://127.0.0.1:10/v1',
  ])('refuses %s, naming the field', (url) => {
    let refusal: unknown;
    try {
      assertWorkspaceLlmBaseUrl(url, defaults);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({
      code: 'validation_failed',
      details: { field: 'llm.base_url', reason: 'not_public' },
    });
    expect((refusal as Error).message).toMatch(/^body\.llm\.base_url: .* LLM_TRUSTED_ORIGINS$/);
  });

  it.each([
    'https://api.openai.com/v1',
    'http://8.8.8.8/v1',
    // The operator's: the instance's own LLM, and a trusted one.
    'http://127.0.0.1:9/v2',
    'http://192.168.1.20:11434/v1',
    'http://llm.internal.example/v1',
  ])('takes %s', (url) => {
    expect(() =>
      assertWorkspaceLlmBaseUrl(url, {
        ...defaults,
        trustedOrigins: ['http://192.168.1.20:11434'],
      }),
    ).not.toThrow();
  });

  describe('when the worker connects', () => {
    let server: FakeLlmServer;
    beforeAll(async () => {
      server = await startFakeLlmServer();
    });
    afterAll(async () => {
      await server.close();
    });
    const posts = [{ id: '1', text: 'I love it' }];
    const own = (url: string): AnalysisSettingsRow =>
      ({ llm_base_url: url, llm_model: 'gpt-4o-mini' }) as AnalysisSettingsRow;

    it('refuses a non-public address the settings check could not see (stored before it, or a name resolving there): no request leaves, no retry', async () => {
      server.reset();
      const resolve = createLlmResolver({ ...defaults, baseUrl: undefined }, (s) => s);
      const runtime = resolve('00000000-0000-4000-8000-0000000000aa', own(server.url));
      if (!runtime) throw new Error('no runtime');
      let failure: unknown;
      try {
        await runtime.label(posts, [], context);
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(LlmError);
      expect(failure).toMatchObject({ code: 'llm_address_refused', retryable: false });
      expect((failure as Error).message).toBe(
        "The LLM base URL's host (127.0.0.1) is not on a public internet address. An operator may allow a private server with LLM_TRUSTED_ORIGINS",
      );
      expect(server.requests).toHaveLength(0);
    });

    it("reaches a private server the operator trusts, and the instance's own", async () => {
      server.reset();
      const trusting = createLlmResolver(
        { ...defaults, baseUrl: undefined, trustedOrigins: [server.url] },
        (s) => s,
      );
      const runtime = trusting('00000000-0000-4000-8000-0000000000ab', own(server.url));
      const labelled = await runtime?.label(posts, [], context);
      expect(labelled?.items).toHaveLength(1);
      const instance = createLlmResolver({ ...defaults, baseUrl: server.url }, (s) => s);
      expect(
        (await instance('00000000-0000-4000-8000-0000000000ac', null)?.label(posts, [], context))
          ?.items,
      ).toHaveLength(1);
      expect(server.requests).toHaveLength(2);
    });
  });
});

const context = {
  workspaceId: '00000000-0000-4000-8000-00000000000a',
  userId: null,
  analysisId: null,
  chunkSeq: 3,
};

/** A failed attempt as chat-transport records it: no usage, no cost, our local count of the prompt. */
function failedCall(patch: Partial<LlmCallRecord>): LlmCallRecord {
  return {
    operation: 'label_posts',
    provider: 'openai',
    requestModel: 'gpt-4o-mini',
    responseModel: null,
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    estimatedInputTokens: 1000,
    durationMs: 12,
    status: 'error',
    errorType: null,
    httpStatus: null,
    finishReason: null,
    attempt: 1,
    repair: false,
    startedAt: new Date('2026-11-20T10:00:00Z'),
    cost: null,
    ...patch,
  };
}

describe('traceOfCall', () => {
  it.each([
    ['a 429 rate limit', { errorType: 'llm_rate_limited', httpStatus: 429 }],
    ['a 429 out of quota', { errorType: 'llm_quota_exceeded', httpStatus: 429 }],
    ['a 500', { errorType: 'llm_unavailable', httpStatus: 500 }],
    ['a 408 from the provider', { errorType: 'llm_timeout', httpStatus: 408 }],
    ['a 401', { errorType: 'llm_auth_failed', httpStatus: 401 }],
    ['a 400', { errorType: 'llm_bad_request', httpStatus: 400 }],
    ['an attempt the open circuit refused', { errorType: 'llm_circuit_open', httpStatus: null }],
  ])('records %s, which the provider does not bill, at no cost and priced', (_, patch) => {
    const trace = traceOfCall(failedCall(patch), context, 10, costOf);
    expect(trace).toMatchObject({
      ...context,
      items: 10,
      status: 'error',
      errorType: patch.errorType,
      inputTokens: null,
      outputTokens: null,
      costUsd: '0',
      priced: true,
      priceVersion: PRICE_TABLE_VERSION,
    });
  });

  it.each([
    ['our timeout, fired after the request was sent', { errorType: 'llm_timeout' }],
    ['a connection that failed without an answer', { errorType: 'llm_unavailable' }],
    ['a request the caller aborted in flight', { errorType: 'aborted' }],
    [
      'a 2xx answer that was not a chat completion',
      { errorType: 'llm_malformed_output', httpStatus: 200 },
    ],
  ])('records %s, which may be billed, at the cost of its estimated input tokens', (_, patch) => {
    const trace = traceOfCall(failedCall(patch), context, 10, costOf);
    // 1,000 tokens at gpt-4o-mini's $0.15 per 1M input tokens; the output is unknown.
    expect(trace).toMatchObject({
      status: 'error',
      errorType: patch.errorType,
      inputTokens: 1000,
      outputTokens: null,
      cachedInputTokens: null,
      costUsd: '0.000150000',
      priced: true,
      priceVersion: PRICE_TABLE_VERSION,
    });
  });

  it('flags a failed call to an unpriced model as unpriced, with no cost, whether or not it was billed', () => {
    const refused = traceOfCall(
      failedCall({ requestModel: 'house-model-7b', errorType: 'llm_unavailable', httpStatus: 500 }),
      context,
      10,
      costOf,
    );
    expect(refused).toMatchObject({ priced: false, costUsd: null, inputTokens: null });
    const timedOut = traceOfCall(
      failedCall({ requestModel: 'house-model-7b', errorType: 'llm_timeout' }),
      context,
      10,
      costOf,
    );
    expect(timedOut).toMatchObject({ priced: false, costUsd: null, inputTokens: 1000 });
  });

  it("keeps an answered call's usage and cost as the transport priced them", () => {
    const cost = costOf('gpt-4o-mini', {
      inputTokens: 800,
      cachedInputTokens: 400,
      outputTokens: 90,
    });
    const trace = traceOfCall(
      failedCall({
        status: 'ok',
        httpStatus: 200,
        responseModel: 'gpt-4o-mini-2024-07-18',
        inputTokens: 800,
        cachedInputTokens: 400,
        outputTokens: 90,
        estimatedInputTokens: null,
        cost,
      }),
      context,
      10,
      costOf,
    );
    expect(trace).toMatchObject({
      inputTokens: 800,
      cachedInputTokens: 400,
      outputTokens: 90,
      costUsd: cost.priced ? cost.costUsd : 'unpriced',
      priced: true,
    });
  });
});

describe('traces of a failure', () => {
  const trace = traceOfCall(failedCall({ errorType: 'llm_timeout' }), context, 10, costOf);
  const local = { ...trace, operation: 'analyze', provider: 'local' };

  it('travel with the error, earlier work first, and are taken once', () => {
    const error = new Error('provider down');
    expect(withTracesOfFailure(error, [trace])).toBe(error);
    expect(withTracesOfFailure(error, [local])).toBe(error);
    expect(takeTracesOfFailure(error)).toEqual([local, trace]);
    expect(takeTracesOfFailure(error)).toEqual([]);
  });

  it('wrap what cannot carry them, keeping its code', () => {
    const frozen = Object.freeze(Object.assign(new Error('frozen'), { code: 'llm_timeout' }));
    const carrier = withTracesOfFailure(frozen, [local]);
    expect(carrier).not.toBe(frozen);
    expect(carrier).toMatchObject({ message: 'frozen', code: 'llm_timeout', cause: frozen });
    expect(takeTracesOfFailure(carrier)).toEqual([local]);
    expect(takeTracesOfFailure(withTracesOfFailure('thrown string', [local]))).toEqual([local]);
  });

  it("come with a failed label call: every attempt's, priced by what it may have cost", async () => {
    const calls = [
      failedCall({ errorType: 'llm_timeout' }),
      failedCall({ errorType: 'llm_unavailable', httpStatus: 503, attempt: 2 }),
    ];
    const client = {
      labelPosts: () => Promise.reject(Object.assign(new Error('gave up'), { calls })),
    } as unknown as LlmClient;
    const runtime = runtimeOf(() => Promise.resolve(client), 'gpt-4o-mini');
    const error: unknown = await runtime
      .label([{ id: '1', text: 'hello' }], [], context)
      .catch((e: unknown) => e);
    expect(takeTracesOfFailure(error).map((t) => [t.errorType, t.costUsd])).toEqual([
      ['llm_timeout', '0.000150000'],
      ['llm_unavailable', '0'],
    ]);
  });
});

describe('maxSummaryCostUsd', () => {
  const runtime = (model: string): ReturnType<typeof runtimeOf> =>
    runtimeOf(() => Promise.reject(new Error('no client needed to estimate')), model);

  it('bounds a summary by the chunk summaries it reads, and has no bound for an unpriced model', async () => {
    const few = await runtime('gpt-4o-mini').maxSummaryCostUsd(['a short chunk summary']);
    const many = await runtime('gpt-4o-mini').maxSummaryCostUsd(
      Array.from(
        { length: 50 },
        (_, i) => `chunk ${i}: people love the release, some hate the bugs`,
      ),
    );
    expect(Number(few)).toBeGreaterThan(0);
    expect(Number(many)).toBeGreaterThan(Number(few));
    expect(await runtime('house-model-7b').maxSummaryCostUsd(['a summary'])).toBeNull();
  });
});

describe('maxSummaryCostUsd against summarize', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('is at least what a map-reduce summary with a re-ask cost', async () => {
    // ~80,000 tokens of chunk summaries: two groups under the 60,000-token prompt budget, then
    // the summary of their summaries; the first answer is truncated and re-asked.
    server.setBehaviour({ faults: { 1: { kind: 'truncated' } } });
    const summaries = Array.from(
      { length: 200 },
      (_, i) => `chunk ${i}: ${'people love the release and some hate the bugs '.repeat(40)}`,
    );
    const resolve = createLlmResolver({ ...defaults, baseUrl: server.url }, (s) => s);
    const runtime = resolve('00000000-0000-4000-8000-0000000000ff', null);
    if (!runtime) throw new Error('no runtime');
    const bound = await runtime.maxSummaryCostUsd(summaries);
    const { summary, traces } = await runtime.summarize(summaries, context);
    expect(summary).toEqual(expect.any(String));
    expect(traces.length).toBeGreaterThanOrEqual(4);
    const spent = traces.reduce((sum, t) => sum + Number(t.costUsd), 0);
    expect(spent).toBeGreaterThan(0);
    expect(Number(bound)).toBeGreaterThanOrEqual(spent);
  });
});

describe('what a failed attempt says about trying again', () => {
  const refused = failedCall({ errorType: 'llm_circuit_open' });
  const sent = failedCall({ errorType: 'llm_unavailable', httpStatus: 500 });
  const llmError = (
    code: 'llm_auth_failed' | 'llm_circuit_open' | 'llm_rate_limited',
    retryable: boolean,
    calls: LlmCallRecord[],
    retryAfterMs?: number,
  ): LlmError => {
    const error = new LlmError(code, code, { retryable, retryAfterMs: retryAfterMs ?? null });
    error.calls = calls;
    return error;
  };

  it('tells an error no retry fixes, a dated wait, and a claim the open circuit refused unsent', () => {
    expect(retryAdviceOf(new Error('database blip'))).toEqual({
      retryable: true,
      retryAfterMs: null,
      reachedProvider: true,
    });
    expect(retryAdviceOf(llmError('llm_auth_failed', false, [sent]))).toMatchObject({
      retryable: false,
    });
    expect(retryAdviceOf(llmError('llm_rate_limited', true, [sent], 90_000))).toEqual({
      retryable: true,
      retryAfterMs: 90_000,
      reachedProvider: true,
    });
    expect(retryAdviceOf(llmError('llm_circuit_open', true, [refused]))).toMatchObject({
      reachedProvider: false,
    });
    // Sent once, then refused when the client tried again: the provider saw this attempt.
    expect(retryAdviceOf(llmError('llm_circuit_open', true, [sent, refused]))).toMatchObject({
      reachedProvider: true,
    });
  });
});

describe('an open circuit', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('dates when calls may go again: when the circuit half-opens, not at once', async () => {
    server.setBehaviour({
      faults: Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [i + 1, { kind: 'server_error' as const }]),
      ),
    });
    const halfOpenAfterMs = 60_000;
    const resolve = createLlmResolver({ ...defaults, baseUrl: server.url }, (s) => s, {
      circuitBreaker: { consecutiveFailures: 1, halfOpenAfterMs },
    });
    const runtime = resolve('00000000-0000-4000-8000-0000000000fe', null);
    if (!runtime) throw new Error('no runtime');
    const label = (): Promise<unknown> =>
      runtime.label([{ id: '1', text: 'hello' }], [], context).catch((e: unknown) => e);
    // The first 500 opens the circuit; the client's second try is refused.
    const first = retryAdviceOf(await label());
    expect(first.reachedProvider).toBe(true);
    expect(first.retryAfterMs).toBeGreaterThan(halfOpenAfterMs / 2);
    expect(first.retryAfterMs).toBeLessThanOrEqual(halfOpenAfterMs);
    // Refused before sending anything: not an attempt at the provider, and dated the same way.
    const second = retryAdviceOf(await label());
    expect(second.reachedProvider).toBe(false);
    expect(second.retryAfterMs).toBeGreaterThan(halfOpenAfterMs / 2);
    expect(second.retryAfterMs).toBeLessThanOrEqual(first.retryAfterMs ?? 0);
    expect(server.requests).toHaveLength(1);
  });
});

describe('largestLlmChunkSize', () => {
  it('is what one answer of the model can hold, unknown when its output limit is', async () => {
    expect(await largestLlmChunkSize('gpt-4o-mini')).toBe(134);
    expect(await largestLlmChunkSize('acme-finetune')).toBeNull();
  });
});
