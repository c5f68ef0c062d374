import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  IsolatedCircuitError,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import PQueue from 'p-queue';
import { request as httpRequest, type Dispatcher } from 'undici';
import { z } from 'zod';
import { providerFromBaseUrl, type LlmCallRecord, type LlmOperation } from './call-record.js';
import { LlmError, isLlmError, scrubSecrets } from './llm-errors.js';
import { costOf, maxOutputTokensOf } from './pricing/cost.js';
import {
  RateLimitGate,
  parseRetryAfter,
  readRateLimitHeaders,
  type HeaderReader,
  waitFromSnapshot,
} from './rate-limit.js';
import { countTextTokens, estimateChatTokens, type ChatMessage } from './tokens.js';

export interface LlmClientOptions {
  /** Up to and including the version prefix: "https://api.openai.com/v1", "http://localhost:11434/v1". */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`; optional for local servers. Never logged or put in errors. */
  apiKey?: string;
  model: string;
  /** Per HTTP attempt, covering the response body too. */
  timeoutMs: number;
  /** HTTP requests in flight at once from this client; the rest queue, foreground first. */
  maxConcurrency: number;
  /** HTTP attempts per request, first one included (default 3). */
  maxAttempts?: number;
  /** `gen_ai.provider.name`; derived from baseUrl when absent. */
  provider?: string;
  /** Which field carries the output cap; default max_completion_tokens for OpenAI, max_tokens elsewhere. */
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
  /** Sent only when set (gpt-5 and o-series accept only the default). */
  temperature?: number;
  /** Output tokens budgeted per post in labelPosts (default 120) plus a fixed 300 for the summary. */
  maxOutputTokensPerPost?: number;
  /** Back-off base and cap for retries (defaults 500 ms, 30 s), jittered in [50%, 100%]. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A Retry-After or rate-limit reset longer than this is not waited for: the call fails with llm_rate_limited and retryAfterMs (default 60 s). */
  maxRetryWaitMs?: number;
  /** Consecutive 5xx/timeout/network failures that open the circuit (default 5), and how long it stays open before one trial call (default 30 s). */
  circuitBreaker?: { consecutiveFailures?: number; halfOpenAfterMs?: number };
  /** Milliseconds since the epoch; default Date.now. Used for Retry-After dates, waits and records. */
  now?: () => number;
  /** Waits; tests inject one that advances a fake clock. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1); for jitter. */
  random?: () => number;
  /**
   * Opens the client's connections; undici's global one when absent. A workspace's own base URL
   * gets one that refuses non-public addresses (domain/analyses/llm-runtime.ts), whose refusal
   * (an error with code `non_public_address` in the cause chain) fails the call for good.
   */
  dispatcher?: Dispatcher;
}

export interface ChatRequest {
  operation: LlmOperation;
  messages: ChatMessage[];
  responseFormat?: {
    type: 'json_schema';
    json_schema: { name: string; strict: true; schema: Record<string, unknown> };
  };
  maxOutputTokens: number;
  repair: boolean;
  /**
   * Waits behind every foreground request for the client's concurrency, and background
   * requests hold at most a quarter of it (at least one): a running request is not preempted,
   * so what background requests hold, foreground ones may have to wait for. A job's summary is
   * background: chunk labelling holds one of the global slots while it waits, a summary holds
   * none and nobody's queue moves on it.
   */
  background?: boolean;
  signal?: AbortSignal;
  onCall?: (record: LlmCallRecord) => void;
}

const completionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        finish_reason: z.string().nullish(),
        message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }),
      }),
    )
    .min(1),
  usage: z
    .object({
      prompt_tokens: z.number().int().nonnegative(),
      completion_tokens: z.number().int().nonnegative(),
      prompt_tokens_details: z
        .object({ cached_tokens: z.number().int().nonnegative().nullish() })
        .nullish(),
    })
    .nullish(),
});

export interface ChatResponse {
  content: string | null;
  refusal: string | null;
  finishReason: string | null;
  responseModel: string | null;
}

export interface ChatOutcome {
  response: ChatResponse;
  calls: LlmCallRecord[];
}

/** What the transport reads of an HTTP answer besides its body. */
interface ProviderResponse {
  status: number;
  headers: HeaderReader;
}

function headerReader(raw: Record<string, string | string[] | undefined>): HeaderReader {
  return {
    get: (name) => {
      const value = raw[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : {});

/** Errors the breaker counts: the provider looks down, not "you asked wrongly" or "slow down". */
const breakerCounts = (error: Error): boolean =>
  isLlmError(error) && (error.code === 'llm_unavailable' || error.code === 'llm_timeout');

/**
 * The most of an answer read into memory. A chat completion is bounded by its output tokens (a
 * 1,000-post answer is under 1 MB); a base URL that streams without end must not exhaust the
 * worker that every workspace's chunks share.
 */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

async function readBounded(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new LlmError(
        'llm_malformed_output',
        `The LLM provider's answer is larger than ${limit} bytes; it was not read further`,
        { retryable: false },
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const FOREGROUND = 1;
const BACKGROUND = 0;

/**
 * One Chat Completions request with the resilience around it: a shared rate-limit gate, a
 * queue for maxConcurrency (foreground requests first), a circuit breaker, a timeout per
 * attempt, and retries with exponential back-off and jitter for 408/409/429/5xx/timeouts/network
 * errors (never other 4xx).
 */
export class ChatTransport {
  readonly provider: string;
  readonly model: string;
  private readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly gate: RateLimitGate;
  /** At most maxConcurrency HTTP attempts at once; queued ones go by priority, then in order. */
  private readonly requests: PQueue;
  /** Background requests in `requests` (queued or running) at once: a quarter of the concurrency. */
  private readonly background: PQueue;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly maxRetryWaitMs: number;
  private readonly maxTokensParam: 'max_tokens' | 'max_completion_tokens';
  private readonly temperature: number | undefined;
  private readonly dispatcher: Dispatcher | undefined;

  constructor(options: LlmClientOptions) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1)
      throw new RangeError('maxConcurrency must be a positive integer');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.provider = options.provider ?? providerFromBaseUrl(options.baseUrl);
    this.model = options.model;
    this.apiKey = options.apiKey;
    this.dispatcher = options.dispatcher;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.gate = new RateLimitGate(this.now);
    this.requests = new PQueue({ concurrency: options.maxConcurrency });
    this.background = new PQueue({
      concurrency: Math.max(1, Math.floor(options.maxConcurrency / 4)),
    });
    this.breaker = circuitBreaker(handleWhen(breakerCounts), {
      halfOpenAfter: options.circuitBreaker?.halfOpenAfterMs ?? 30_000,
      breaker: new ConsecutiveBreaker(options.circuitBreaker?.consecutiveFailures ?? 5),
    });
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.timeoutMs = options.timeoutMs;
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 60_000;
    this.maxTokensParam =
      options.maxTokensParam ??
      (this.provider === 'openai' ? 'max_completion_tokens' : 'max_tokens');
    this.temperature = options.temperature;
  }

  /** "closed" | "open" | "halfOpen" | "isolated" — for health checks and tests. */
  get circuitState(): string {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'halfOpen';
      case CircuitState.Isolated:
        return 'isolated';
    }
  }

  estimateInputTokens(request: Pick<ChatRequest, 'messages' | 'responseFormat'>): number {
    return estimateChatTokens(request.messages, this.model, request.responseFormat);
  }

  buildBody(request: ChatRequest): Record<string, unknown> {
    return {
      model: this.model,
      messages: request.messages,
      ...(request.responseFormat ? { response_format: request.responseFormat } : {}),
      // Never above what the model can write: a larger cap is refused with a 400 (gpt-4o: 16,384).
      [this.maxTokensParam]: Math.min(
        request.maxOutputTokens,
        maxOutputTokensOf(this.model) ?? Number.POSITIVE_INFINITY,
      ),
      ...(this.temperature === undefined ? {} : { temperature: this.temperature }),
    };
  }

  /** Runs one HTTP attempt when the concurrency limits let it. */
  private admit<T>(request: ChatRequest, attempt: () => Promise<T>): Promise<T> {
    const signal = request.signal ? { signal: request.signal } : {};
    if (!request.background) return this.requests.add(attempt, { priority: FOREGROUND, ...signal });
    return this.background.add(
      () => this.requests.add(attempt, { priority: BACKGROUND, ...signal }),
      signal,
    );
  }

  /**
   * Sends with retries; throws an LlmError carrying the records of every attempt made (`calls`)
   * when it gives up, whatever the path: a failed attempt, a rate limit waited out too long
   * before the next one.
   */
  async send(request: ChatRequest): Promise<ChatOutcome> {
    const calls: LlmCallRecord[] = [];
    try {
      return await this.sendAttempts(request, calls);
    } catch (error) {
      if (isLlmError(error)) error.calls = calls;
      throw error;
    }
  }

  private async sendAttempts(request: ChatRequest, calls: LlmCallRecord[]): Promise<ChatOutcome> {
    const body = JSON.stringify(this.buildBody(request));
    // The local count costs 1–2 ms of CPU for a 100-post prompt, so it is made only where it
    // decides or records something: before sending when the provider's token budget could hold
    // the request back, and after an attempt the provider reported no usage for. A request has
    // at most as many tokens as the UTF-8 bytes of its texts, which the body's length bounds,
    // plus the per-message overhead.
    let estimated: number | null = null;
    const estimate = (): number => (estimated ??= this.estimateInputTokens(request));
    const upperBound = Buffer.byteLength(body) + 3 * request.messages.length + 3;

    for (let attempt = 1; ; attempt++) {
      // Waits out a known wait before queueing, so as not to take a slot only to sleep in it (the
      // gate is read again in the slot, for a wait learnt meanwhile).
      await this.waitForGate(upperBound, estimate, request.signal);
      // Reset when the queue lets the request go, so durationMs excludes queueing for a slot.
      let startedAtMs = this.now();
      const record = (partial: Partial<LlmCallRecord>): LlmCallRecord => {
        const full: LlmCallRecord = {
          operation: request.operation,
          provider: this.provider,
          requestModel: this.model,
          responseModel: null,
          inputTokens: null,
          outputTokens: null,
          cachedInputTokens: null,
          estimatedInputTokens: estimated,
          durationMs: Math.max(0, this.now() - startedAtMs),
          status: 'error',
          errorType: null,
          httpStatus: null,
          finishReason: null,
          attempt,
          repair: request.repair,
          startedAt: new Date(startedAtMs),
          cost: null,
          ...partial,
        };
        if (full.inputTokens === null) full.estimatedInputTokens = estimate();
        calls.push(full);
        request.onCall?.(full);
        return full;
      };

      let answer: Awaited<ReturnType<ChatTransport['attemptOnce']>>;
      // Whether this attempt reached the circuit breaker, so that it is a call to record: sent,
      // or refused by an open circuit. Held back at the gate or aborted before that, it is not.
      // (The breaker decides in the slot: a request queued when the circuit opens is refused,
      // not sent. The circuit opens on a failed attempt, whose slot is then free: no request
      // waits long for a slot only to be refused.)
      let attempted = false;
      try {
        answer = await this.admit(request, async () => {
          // While this request queued for a slot, another may have learnt of a wait (a 429's
          // Retry-After): it holds for this one too. It waits holding its slot: every request
          // of this client waits for the same reset, so the slot would not be used meanwhile
          // (but for a smaller request that a token budget alone holds back).
          await this.waitForGate(upperBound, estimate, request.signal);
          startedAtMs = this.now();
          attempted = true;
          try {
            return await this.breaker.execute(() => this.attemptOnce(body, request.signal));
          } catch (error) {
            if (request.signal?.aborted) throw error;
            // The provider's wait holds for every request of this client, whether or not this
            // one tries again (it may have run out of attempts, or the wait may be longer than
            // we wait). Closed before the slot is given up: the next request in line reads it.
            const classified = this.classify(error);
            if (classified.retryAfterMs !== null) this.gate.blockFor(classified.retryAfterMs);
            throw classified;
          }
        });
      } catch (caught) {
        // Held back at the gate, or aborted while queued: nothing was sent, no call to record.
        if (!attempted) throw caught;
        if (request.signal?.aborted) {
          record({ errorType: 'aborted' });
          throw caught;
        }
        const error = this.classify(caught);
        record({ errorType: error.code, httpStatus: error.httpStatus });
        const wait = this.retryDelay(error, attempt);
        if (wait === null) throw error;
        await this.sleep(wait, request.signal);
        continue;
      }
      // Recorded outside the try: the request was answered (and billed), whatever the record's
      // callback does, it is never sent again.
      const { response, usage, httpStatus } = answer;
      const responseModel = response.responseModel;
      const pricedAs = responseModel ?? this.model;
      record({
        status: 'ok',
        responseModel,
        httpStatus,
        finishReason: response.finishReason,
        inputTokens: usage?.inputTokens ?? null,
        outputTokens: usage?.outputTokens ?? null,
        cachedInputTokens: usage ? usage.cachedInputTokens : null,
        // Without the provider's usage (some local servers) the call is priced on the local
        // counts, so that a budget still sees it.
        cost: costOf(
          pricedAs,
          usage ?? {
            inputTokens: estimate(),
            outputTokens: countTextTokens(response.content ?? '', pricedAs),
          },
        ),
      });
      return { response, calls };
    }
  }

  /** null = do not retry. */
  private retryDelay(error: LlmError, attempt: number): number | null {
    // An open circuit fails fast: the caller (the job queue) retries later, not this loop.
    if (!error.retryable || error.code === 'llm_circuit_open' || attempt >= this.maxAttempts)
      return null;
    if (error.retryAfterMs !== null)
      return error.retryAfterMs > this.maxRetryWaitMs ? null : error.retryAfterMs;
    const exponential = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(exponential * (0.5 + this.random() * 0.5));
  }

  /** Waits until the provider's limits let a request of `exactTokens()` (at most `upperBound`) go. */
  private async waitForGate(
    upperBound: number,
    exactTokens: () => number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const tokens = this.gate.delayFor(upperBound) > 0 ? exactTokens() : upperBound;
    // Loop: while we slept another request may have learnt of a later reset.
    for (let wait = this.gate.delayFor(tokens); wait > 0; wait = this.gate.delayFor(tokens)) {
      if (wait > this.maxRetryWaitMs) {
        throw new LlmError(
          'llm_rate_limited',
          `The provider's rate limit resets in ${wait} ms, longer than we wait`,
          { retryable: true, retryAfterMs: wait },
        );
      }
      await this.sleep(wait, signal);
      this.gate.clearTokensIfReset();
    }
  }

  private async attemptOnce(
    body: string,
    callerSignal: AbortSignal | undefined,
  ): Promise<{
    response: ChatResponse;
    usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number } | null;
    httpStatus: number;
  }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;

    // undici's request rather than fetch: a third of fetch's CPU per call (measured with 10 kB
    // out, 15 kB back), which a worker pays on every chunk. Redirects are not followed.
    let res: ProviderResponse;
    let text: string;
    try {
      // Our own timeout (the signal) governs: undici's defaults would cut a slow local model's
      // answer at 300 s whatever timeout was configured.
      const answer = await httpRequest(this.url, {
        method: 'POST',
        headers,
        body,
        signal,
        headersTimeout: 0,
        bodyTimeout: 0,
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
      res = {
        status: answer.statusCode,
        headers: headerReader(answer.headers),
      };
      text = await readBounded(answer.body, MAX_ANSWER_BYTES);
    } catch (error) {
      if (callerSignal?.aborted || isLlmError(error)) throw error;
      if (isAddressRefusal(error)) {
        // Not the provider failing: trying again (or counting it against the breaker) cannot help.
        // The address the name resolved to stays out of the message, which the workspace reads.
        throw new LlmError(
          'llm_address_refused',
          `The LLM base URL's host (${new URL(this.url).hostname}) is not on a public internet address. An operator may allow a private server with LLM_TRUSTED_ORIGINS`,
          { retryable: false },
        );
      }
      if (timeout.aborted) {
        throw new LlmError(
          'llm_timeout',
          `The LLM provider did not answer within ${this.timeoutMs} ms`,
          { retryable: true },
        );
      }
      throw new LlmError(
        'llm_unavailable',
        `Could not reach the LLM provider: ${this.scrub(errorMessage(error))}`,
        { retryable: true, cause: scrubbedCause(error) },
      );
    }

    const snapshot = readRateLimitHeaders(res.headers);
    this.gate.observe(snapshot);
    if (res.status < 200 || res.status >= 300) throw this.httpError(res, text, snapshot);

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new LlmError(
        'llm_malformed_output',
        'The LLM provider answered 2xx with a body that is not JSON',
        { retryable: false, httpStatus: res.status },
      );
    }
    const parsed = completionSchema.safeParse(json);
    if (!parsed.success) {
      throw new LlmError(
        'llm_malformed_output',
        'The LLM provider answered 2xx without a chat completion',
        { retryable: false, httpStatus: res.status },
      );
    }
    const choice = parsed.data.choices[0];
    const usage = parsed.data.usage;
    return {
      httpStatus: res.status,
      response: {
        content: choice?.message.content ?? null,
        refusal: choice?.message.refusal ?? null,
        finishReason: choice?.finish_reason ?? null,
        responseModel: parsed.data.model ?? null,
      },
      usage: usage
        ? {
            inputTokens: usage.prompt_tokens,
            outputTokens: usage.completion_tokens,
            cachedInputTokens: Math.min(
              usage.prompt_tokens,
              usage.prompt_tokens_details?.cached_tokens ?? 0,
            ),
          }
        : null,
    };
  }

  private httpError(
    res: ProviderResponse,
    text: string,
    snapshot: ReturnType<typeof readRateLimitHeaders>,
  ): LlmError {
    const status = res.status;
    const providerMessage = this.scrub(providerErrorMessage(text)).slice(0, 300);
    const suffix = providerMessage ? `: ${providerMessage}` : '';
    const providerCode = providerErrorCode(text);
    if (status === 429) {
      if (providerCode === 'insufficient_quota') {
        return new LlmError(
          'llm_quota_exceeded',
          `The LLM provider account is out of quota${suffix}`,
          { retryable: false, httpStatus: status },
        );
      }
      const retryAfter = parseRetryAfter(res.headers, this.now());
      const fromHeaders = waitFromSnapshot(snapshot);
      const retryAfterMs = retryAfter ?? (fromHeaders > 0 ? fromHeaders : null);
      return new LlmError(
        'llm_rate_limited',
        `The LLM provider is rate limiting us (429)${suffix}`,
        { retryable: true, retryAfterMs, httpStatus: status },
      );
    }
    if (status === 401 || status === 403) {
      return new LlmError(
        'llm_auth_failed',
        `The LLM provider refused our credentials (${status})${suffix}`,
        { retryable: false, httpStatus: status },
      );
    }
    if (status === 408)
      return new LlmError('llm_timeout', `The LLM provider timed out (408)${suffix}`, {
        retryable: true,
        httpStatus: status,
      });
    if (status === 409 || status >= 500) {
      const retryAfterMs = parseRetryAfter(res.headers, this.now());
      return new LlmError('llm_unavailable', `The LLM provider failed (${status})${suffix}`, {
        retryable: true,
        retryAfterMs,
        httpStatus: status,
      });
    }
    return new LlmError(
      'llm_bad_request',
      `The LLM provider rejected the request (${status})${suffix}`,
      { retryable: false, httpStatus: status },
    );
  }

  private classify(error: unknown): LlmError {
    if (isLlmError(error)) return error;
    if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
      return new LlmError(
        'llm_circuit_open',
        'The LLM provider failed repeatedly; calls are paused until the circuit half-opens',
        { retryable: true },
      );
    }
    return new LlmError('llm_unavailable', `LLM call failed: ${this.scrub(errorMessage(error))}`, {
      retryable: true,
      cause: scrubbedCause(error),
    });
  }

  private scrub(text: string): string {
    return scrubSecrets(text, this.apiKey);
  }
}

/** Whether the request failed because the dispatcher refused the address (code `non_public_address`). */
function isAddressRefusal(error: unknown): boolean {
  for (
    let e: unknown = error, depth = 0;
    e instanceof Error && depth < 5;
    e = e.cause, depth += 1
  ) {
    if ((e as { code?: unknown }).code === 'non_public_address') return true;
  }
  return false;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** Network errors carry no secrets, but keep only name and message to be sure. */
function scrubbedCause(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const copy = new Error(errorMessage(error));
  copy.name = error.name;
  return copy;
}

function providerErrorBody(
  text: string,
): { message?: unknown; code?: unknown; type?: unknown } | null {
  try {
    const json = JSON.parse(text) as unknown;
    if (json && typeof json === 'object' && 'error' in json) {
      const inner = json.error;
      if (inner && typeof inner === 'object') return inner;
      if (typeof inner === 'string') return { message: inner };
    }
  } catch {
    // not JSON: fall through
  }
  return null;
}

function providerErrorMessage(text: string): string {
  const body = providerErrorBody(text);
  if (body && typeof body.message === 'string') return body.message;
  return text.length > 0 && text.length < 300 && !text.trimStart().startsWith('<')
    ? text.trim()
    : '';
}

function providerErrorCode(text: string): string | null {
  const body = providerErrorBody(text);
  if (!body) return null;
  if (typeof body.code === 'string') return body.code;
  return typeof body.type === 'string' ? body.type : null;
}
