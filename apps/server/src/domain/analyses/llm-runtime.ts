import { isIP } from 'node:net';
import type * as Ai from '../../ai/index.js';
import type { LlmCallRecord, LlmClient } from '../../ai/index.js';
import type { AnalysisSettingsRow } from '../../db/repos/analysis-settings.repo.js';
import type { TraceRecord } from '../../db/repos/traces.repo.js';
import {
  createPublicOnlyDispatcher,
  hostPortOf,
  isPublicAddress,
} from '../../connectors/http/public-address.js';
import { AppError } from '../../errors.js';

export type LlmItem =
  | {
      id: string;
      status: 'labelled';
      topic: string | null;
      category: string | null;
      sentiment: 'negative' | 'neutral' | 'positive' | null;
      rationale: string | null;
    }
  | { id: string; status: 'unlabelled'; reason: string };

export interface TraceContext {
  workspaceId: string;
  userId: string | null;
  analysisId: string | null;
  chunkSeq: number | null;
}

/** What the chunk worker needs from the LLM side: labels, summaries, and the calls as traces. */
export interface LlmRuntime {
  model: string;
  label(
    posts: { id: string; text: string }[],
    categories: string[],
    context: TraceContext,
  ): Promise<{ items: LlmItem[]; summary: string | null; traces: TraceRecord[] }>;
  summarize(
    chunkSummaries: string[],
    context: TraceContext,
  ): Promise<{ summary: string | null; traces: TraceRecord[] }>;
  /** Upper bound of what labelling these posts may cost (exact decimal USD), or null when the model is unpriced. */
  maxCostUsd(posts: { id: string; text: string }[], categories: string[]): Promise<string | null>;
  /** Upper bound of what `summarize` of these chunk summaries may cost, or null when the model is unpriced. */
  maxSummaryCostUsd(chunkSummaries: string[]): Promise<string | null>;
}

/** The instance's LLM defaults (config) that a workspace's settings override field by field. */
export interface LlmDefaults {
  baseUrl: string | undefined;
  apiKey: string | undefined;
  model: string | undefined;
  timeoutMs: number;
  maxConcurrency: number;
  /** Origins on non-public addresses a workspace's own base URL may use (LLM_TRUSTED_ORIGINS). */
  trustedOrigins: readonly string[];
}

/**
 * The origins (`host:port`) a workspace's own LLM base URL may reach on a non-public address:
 * the operator's (the instance's LLM_BASE_URL and LLM_TRUSTED_ORIGINS). Any other base URL a
 * workspace sets must lead to public addresses only: otherwise whoever administers a workspace
 * could make the worker call the instance's own network (a database, a cloud metadata address)
 * and read parts of the answers in the chunk's error.
 */
export function trustedLlmOrigins(defaults: LlmDefaults): Set<string> {
  return new Set(
    [...(defaults.baseUrl ? [defaults.baseUrl] : []), ...defaults.trustedOrigins].map(hostPortOf),
  );
}

/**
 * Refuses, when it is set, a workspace base URL whose host is plainly not public (a literal
 * private or loopback address, `localhost`) unless the operator trusts its origin. A name that
 * resolves to such an address is refused when the worker connects (the check that counts: a
 * name may resolve differently later); this one answers at once, naming the field.
 */
export function assertWorkspaceLlmBaseUrl(baseUrl: string, defaults: LlmDefaults): void {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const local = host === 'localhost' || host.endsWith('.localhost');
  if (!(local || (isIP(host) !== 0 && !isPublicAddress(host)))) return;
  if (trustedLlmOrigins(defaults).has(hostPortOf(baseUrl))) return;
  throw new AppError(
    'validation_failed',
    `body.llm.base_url: ${url.origin} is not a public internet address; an operator may allow a private LLM server with LLM_TRUSTED_ORIGINS`,
    { details: { field: 'llm.base_url', reason: 'not_public', value: url.origin } },
  );
}

/** The price lookup (the ai module's `costOf`), passed in: this module loads the ai module lazily. */
export type PriceLookup = typeof Ai.costOf;

/**
 * Whether a failed attempt's request may have been processed, and so billed, by the provider:
 * it was sent and no refusal came back (our timeout fired, the connection broke, the caller
 * aborted it in flight), or the provider answered 2xx with a body we could not read. A
 * provider does not bill what it refused (an HTTP error status, 408 and 429 included), nor
 * what was never sent (an open circuit, an address the dispatcher refused). A network error is
 * counted as possibly sent: the record does not tell a refused connection from one that broke
 * after the request went.
 */
function outcomeUnknown(call: LlmCallRecord): boolean {
  if (call.status === 'ok') return false;
  if (call.httpStatus !== null) return call.httpStatus >= 200 && call.httpStatus < 300;
  return call.errorType !== 'llm_circuit_open' && call.errorType !== 'llm_address_refused';
}

export function traceOfCall(
  call: LlmCallRecord,
  context: TraceContext,
  items: number,
  price: PriceLookup,
): TraceRecord {
  let tokens = {
    inputTokens: call.inputTokens,
    outputTokens: call.outputTokens,
    cachedInputTokens: call.cachedInputTokens,
  };
  // An answered call is always priced by the transport (on the provider's usage or on local
  // counts); a failed one is priced here.
  let cost = call.cost;
  if (!cost) {
    const model = call.responseModel ?? call.requestModel;
    if (outcomeUnknown(call) && call.estimatedInputTokens !== null) {
      // The provider's usage, if any, never reached us: what was surely sent is our own count
      // of the prompt (so the budget sees at least that); the output is unknown. On an error
      // trace, input_tokens is therefore always this estimate.
      tokens = {
        inputTokens: call.estimatedInputTokens,
        outputTokens: null,
        cachedInputTokens: null,
      };
      cost = price(model, { inputTokens: call.estimatedInputTokens, outputTokens: 0 });
    } else {
      const lookup = price(model, { inputTokens: 0, outputTokens: 0 });
      // Refused or never sent: not billed, but an unpriced model stays unpriced (NULL, not 0).
      cost = lookup.priced ? { ...lookup, costUsd: '0' } : lookup;
    }
  }
  return {
    ...context,
    startedAt: call.startedAt,
    operation: call.operation,
    provider: call.provider,
    requestModel: call.requestModel,
    responseModel: call.responseModel,
    engineVersion: null,
    items,
    ...tokens,
    costUsd: cost.priced ? cost.costUsd : null,
    priced: cost.priced,
    priceVersion: cost.priceVersion,
    durationMs: call.durationMs,
    status: call.status,
    errorType: call.errorType,
  };
}

const FAILED_CALL_TRACES = Symbol(
  'traces of the calls a failed chunk attempt or LLM operation made',
);

/**
 * Takes the traces of the calls made before an operation failed (the local engines' run, LLM
 * attempts that timed out, were refused or rate limited): they were made, some may be billed,
 * and the budget reads traces. Taken once: a second call on the same error returns nothing, so
 * that however many handlers see the error, its traces are written once.
 */
export function takeTracesOfFailure(error: unknown): TraceRecord[] {
  if (typeof error !== 'object' || error === null) return [];
  const holder = error as { [FAILED_CALL_TRACES]?: TraceRecord[] };
  const traces = holder[FAILED_CALL_TRACES] ?? [];
  if (traces.length > 0) delete holder[FAILED_CALL_TRACES];
  return traces;
}

/**
 * Makes `traces` (calls made before `error` was thrown) travel with the error, ahead of any it
 * already carries. Returns what to throw: the error itself, or, when it cannot carry them (not
 * an object, or frozen), an Error that wraps it.
 */
export function withTracesOfFailure(error: unknown, traces: readonly TraceRecord[]): unknown {
  if (traces.length === 0) return error;
  let carrier = error;
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) {
    const code = (error as { code?: unknown } | null)?.code;
    carrier = Object.assign(new Error(String((error as Error | null)?.message ?? error)), {
      cause: error,
      ...(typeof code === 'string' ? { code } : {}),
    });
  }
  const earlier = takeTracesOfFailure(carrier);
  Object.defineProperty(carrier, FAILED_CALL_TRACES, {
    value: [...traces, ...earlier],
    configurable: true,
    writable: true,
  });
  return carrier;
}

/** Attaches the traces of an LlmError's `calls` to it (the ai module loads lazily: no instanceof). */
function withCallTraces(
  error: unknown,
  context: TraceContext,
  items: number,
  price: PriceLookup,
): unknown {
  const calls =
    typeof error === 'object' && error !== null ? (error as { calls?: unknown }).calls : null;
  if (!Array.isArray(calls) || calls.length === 0) return error;
  return withTracesOfFailure(
    error,
    (calls as LlmCallRecord[]).map((c) => traceOfCall(c, context, items, price)),
  );
}

/** The LLM module (client, tokenizers, price table) loads on first use: local-only workers never pay for it. */
const loadAi = (): Promise<typeof Ai> => import('../../ai/index.js');

/**
 * How long the LLM client's circuit stays open before it lets one trial call through (the
 * client's own default, passed explicitly so that the hint below and the breaker agree).
 */
export const CIRCUIT_HALF_OPEN_AFTER_MS = 30_000;
/**
 * The wait suggested for a call refused while the circuit is half-open (its one trial call is
 * in flight): the trial may take up to the client's timeout, but usually answers in seconds.
 */
const HALF_OPEN_RETRY_MS = 5_000;

/** Options of the clients a resolver builds that tests shorten (the breaker's timings). */
export interface LlmClientTuning {
  circuitBreaker?: { consecutiveFailures?: number; halfOpenAfterMs?: number };
}

/** What a failed chunk attempt's error says about trying again (see retryAdviceOf). */
export interface RetryAdvice {
  /** Whether trying again later can succeed (an LlmError's `retryable`; true for other errors). */
  retryable: boolean;
  /** The earliest a new attempt can succeed, from now (Retry-After, a rate-limit reset, the circuit's half-open), if known. */
  retryAfterMs: number | null;
  /** Whether any request of the attempt was sent to the provider (false: every call was refused by the open circuit). */
  reachedProvider: boolean;
}

/**
 * Reads an attempt's error for the job queue. Duck-typed: the ai module loads lazily, so its
 * LlmError class may not be loaded where this runs (an error that is not an LlmError is retried
 * as before, counting as an attempt).
 */
export function retryAdviceOf(error: unknown): RetryAdvice {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    retryable?: unknown;
    retryAfterMs?: unknown;
    calls?: unknown;
  };
  const calls = Array.isArray(e.calls) ? (e.calls as LlmCallRecord[]) : [];
  return {
    retryable: e.retryable !== false,
    retryAfterMs: typeof e.retryAfterMs === 'number' && e.retryAfterMs > 0 ? e.retryAfterMs : null,
    reachedProvider: !(
      e.code === 'llm_circuit_open' && calls.every((c) => c.errorType === 'llm_circuit_open')
    ),
  };
}

/**
 * The largest chunk an LLM analysis with `model` may have: one labelling call per chunk, whose
 * answer must fit the model's output limit (null: the price table does not know the limit).
 */
export async function largestLlmChunkSize(model: string): Promise<number | null> {
  // budget.js alone: the price table and prompt shapes, no tokenizer, no client.
  const { maxPostsPerLabelCall } = await import('../../ai/budget.js');
  return maxPostsPerLabelCall(model);
}

/**
 * Loads the LLM module and the model's tokenizer before any chunk needs them. A worker whose
 * instance has a model configured will count tokens on its first LLM chunk, and loading
 * o200k's rank table blocks the event loop for about half a second: every chunk loop of the
 * process would wait for it at the first chunk instead of at start-up.
 */
export async function preloadLlm(model: string): Promise<void> {
  const { countTextTokens } = await loadAi();
  countTextTokens('', model);
}

export function runtimeOf(
  clientOf: () => Promise<LlmClient>,
  model: string,
  options: { circuitHalfOpenAfterMs?: number } = {},
): LlmRuntime {
  const halfOpenAfterMs = options.circuitHalfOpenAfterMs ?? CIRCUIT_HALF_OPEN_AFTER_MS;
  // When the client's circuit last opened, as far as its calls tell: the end of the last failure
  // of the kinds its breaker counts. The runtime is the client's only user (one per client).
  let lastBreakerFailureAt: number | null = null;
  const onCall = (call: LlmCallRecord): void => {
    if (call.status === 'ok') lastBreakerFailureAt = null;
    else if (call.errorType === 'llm_unavailable' || call.errorType === 'llm_timeout')
      lastBreakerFailureAt = call.startedAt.getTime() + call.durationMs;
  };
  /**
   * An open circuit's error says neither when calls may go again nor anything the job queue can
   * schedule by: it gets the time left until the circuit half-opens, so that the chunk is not
   * tried again (and refused again) before then.
   */
  const withCircuitHint = (error: unknown, ai: typeof Ai): unknown => {
    if (!ai.isLlmError(error) || error.code !== 'llm_circuit_open' || error.retryAfterMs !== null)
      return error;
    const left =
      lastBreakerFailureAt === null
        ? halfOpenAfterMs
        : Math.min(halfOpenAfterMs, lastBreakerFailureAt + halfOpenAfterMs - Date.now());
    const hinted = new ai.LlmError(error.code, error.message, {
      retryable: error.retryable,
      retryAfterMs: left > 0 ? left : Math.min(HALF_OPEN_RETRY_MS, halfOpenAfterMs),
      httpStatus: error.httpStatus,
      cause: error,
    });
    hinted.calls = error.calls;
    return hinted;
  };
  return {
    model,
    async label(posts, categories, context) {
      const [client, ai] = await Promise.all([clientOf(), loadAi()]);
      const { costOf } = ai;
      const result = await client
        .labelPosts({ posts, taxonomy: { categories }, onCall })
        .catch((error: unknown) => {
          throw withCallTraces(withCircuitHint(error, ai), context, posts.length, costOf);
        });
      const items: LlmItem[] = result.results.map((r) =>
        r.status === 'labelled'
          ? {
              id: r.id,
              status: 'labelled',
              topic: r.topic,
              category: r.category,
              sentiment: r.sentiment,
              rationale: r.rationale,
            }
          : { id: r.id, status: 'unlabelled', reason: `${r.reason}: ${r.detail}` },
      );
      return {
        items,
        summary: result.summary,
        traces: result.calls.map((c) => traceOfCall(c, context, posts.length, costOf)),
      };
    },
    async summarize(chunkSummaries, context) {
      const [client, ai] = await Promise.all([clientOf(), loadAi()]);
      const { costOf } = ai;
      const result = await client
        .summarizeJob({ chunkSummaries, onCall })
        .catch((error: unknown) => {
          throw withCallTraces(withCircuitHint(error, ai), context, chunkSummaries.length, costOf);
        });
      return {
        summary: result.status === 'summarized' ? result.summary : null,
        traces: result.calls.map((c) => traceOfCall(c, context, chunkSummaries.length, costOf)),
      };
    },
    async maxCostUsd(posts, categories) {
      const { estimateLabelPostsCost } = await loadAi();
      const estimate = estimateLabelPostsCost({ model, posts, taxonomy: { categories } });
      return estimate.maxCost.priced ? estimate.maxCost.costUsd : null;
    },
    async maxSummaryCostUsd(chunkSummaries) {
      const { estimateSummarizeJobCost } = await loadAi();
      // The clients made here keep summarizeJob's default prompt budget, which the estimate
      // assumes when given none.
      const estimate = estimateSummarizeJobCost({ model, chunkSummaries });
      return estimate.maxCost.priced ? estimate.maxCost.costUsd : null;
    },
  };
}

/** The server and model a workspace's LLM calls go to: its own settings over the instance's. */
export function llmEndpointOf(
  settings: Pick<AnalysisSettingsRow, 'llm_base_url' | 'llm_model'> | null,
  defaults: Pick<LlmDefaults, 'baseUrl' | 'model'>,
): { baseUrl: string | undefined; model: string | undefined } {
  return {
    baseUrl: settings?.llm_base_url ?? defaults.baseUrl,
    model: settings?.llm_model ?? defaults.model,
  };
}

/**
 * Builds (and caches, so that circuit breakers, rate gates and concurrency limits are shared)
 * the LLM of a workspace: its own settings over the instance defaults. Workspaces on the
 * instance's provider and key share one client, as the provider's limits are per key.
 */
export function createLlmResolver(
  defaults: LlmDefaults,
  decryptKey: (sealed: string, workspaceId: string) => string,
  tuning: LlmClientTuning = {},
): (workspaceId: string, settings: AnalysisSettingsRow | null) => LlmRuntime | null {
  const circuitBreaker = {
    ...tuning.circuitBreaker,
    halfOpenAfterMs: tuning.circuitBreaker?.halfOpenAfterMs ?? CIRCUIT_HALF_OPEN_AFTER_MS,
  };
  const cache = new Map<string, LlmRuntime>();
  // One for every workspace-chosen base URL: it keeps a connection pool per origin.
  let publicOnly: ReturnType<typeof createPublicOnlyDispatcher> | null = null;
  return (workspaceId, settings) => {
    const { baseUrl, model } = llmEndpointOf(settings, defaults);
    if (!baseUrl || !model) return null;
    const apiKey = settings?.llm_api_key_sealed
      ? decryptKey(settings.llm_api_key_sealed, workspaceId)
      : settings?.llm_base_url
        ? undefined
        : defaults.apiKey;
    const timeoutMs = settings?.llm_timeout_ms ?? defaults.timeoutMs;
    const maxConcurrency = settings?.llm_max_concurrency ?? defaults.maxConcurrency;
    // Keyed without the key itself: the sealed form identifies it.
    const ownProvider = Boolean(settings?.llm_api_key_sealed || settings?.llm_base_url);
    const cacheKey = JSON.stringify([
      ownProvider ? workspaceId : 'instance',
      baseUrl,
      model,
      settings?.llm_api_key_sealed ?? null,
      timeoutMs,
      maxConcurrency,
    ]);
    let runtime = cache.get(cacheKey);
    if (!runtime) {
      if (cache.size > 1000) cache.clear();
      let client: Promise<LlmClient> | null = null;
      runtime = runtimeOf(
        () =>
          (client ??= loadAi().then((ai) =>
            ai.createLlmClient({
              baseUrl,
              model,
              timeoutMs,
              maxConcurrency,
              circuitBreaker,
              ...(apiKey ? { apiKey } : {}),
              // The instance's own provider is the operator's choice; a workspace's is held to
              // public addresses and the operator's trusted origins.
              ...(settings?.llm_base_url
                ? {
                    dispatcher: (publicOnly ??= createPublicOnlyDispatcher(
                      trustedLlmOrigins(defaults),
                    )),
                  }
                : {}),
            }),
          )),
        model,
        { circuitHalfOpenAfterMs: circuitBreaker.halfOpenAfterMs },
      );
      cache.set(cacheKey, runtime);
    }
    return runtime;
  };
}
