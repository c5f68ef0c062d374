import type * as Ai from '../../ai/index.js';
import type { LlmCallRecord, LlmClient } from '../../ai/index.js';
import type { AnalysisSettingsRow } from '../../db/repos/analysis-settings.repo.js';
import type { TraceRecord } from '../../db/repos/traces.repo.js';

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
}

/** The instance's LLM defaults (config) that a workspace's settings override field by field. */
export interface LlmDefaults {
  baseUrl: string | undefined;
  apiKey: string | undefined;
  model: string | undefined;
  timeoutMs: number;
  maxConcurrency: number;
}

export function traceOfCall(
  call: LlmCallRecord,
  context: TraceContext,
  items: number,
): TraceRecord {
  return {
    ...context,
    startedAt: call.startedAt,
    operation: call.operation,
    provider: call.provider,
    requestModel: call.requestModel,
    responseModel: call.responseModel,
    engineVersion: null,
    items,
    inputTokens: call.inputTokens,
    outputTokens: call.outputTokens,
    cachedInputTokens: call.cachedInputTokens,
    // A call without a cost is an attempt that failed (an answered call is always priced, on the
    // provider's usage or on local counts): providers do not bill a refused or failed request.
    costUsd: call.cost?.priced ? call.cost.costUsd : call.cost ? null : '0',
    priced: call.cost ? call.cost.priced : true,
    priceVersion: call.cost?.priceVersion ?? null,
    durationMs: call.durationMs,
    status: call.status,
    errorType: call.errorType,
  };
}

const FAILED_CALL_TRACES = Symbol('traces of the calls a failed LLM operation made');

/**
 * The traces of the calls an LLM operation made before it failed (attempts that timed out, were
 * refused or rate limited): they were made, some may be billed, and the budget reads traces.
 */
export function tracesOfFailure(error: unknown): TraceRecord[] {
  if (typeof error !== 'object' || error === null) return [];
  return (error as { [FAILED_CALL_TRACES]?: TraceRecord[] })[FAILED_CALL_TRACES] ?? [];
}

/** Attaches the traces of an LlmError's `calls` to it (the ai module loads lazily: no instanceof). */
function withCallTraces(error: unknown, context: TraceContext, items: number): unknown {
  const calls =
    typeof error === 'object' && error !== null ? (error as { calls?: unknown }).calls : null;
  if (Array.isArray(calls) && calls.length > 0)
    Object.defineProperty(error, FAILED_CALL_TRACES, {
      value: (calls as LlmCallRecord[]).map((c) => traceOfCall(c, context, items)),
    });
  return error;
}

/** The LLM module (client, tokenizers, price table) loads on first use: local-only workers never pay for it. */
const loadAi = (): Promise<typeof Ai> => import('../../ai/index.js');

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

export function runtimeOf(clientOf: () => Promise<LlmClient>, model: string): LlmRuntime {
  return {
    model,
    async label(posts, categories, context) {
      const client = await clientOf();
      const result = await client
        .labelPosts({ posts, taxonomy: { categories } })
        .catch((error: unknown) => {
          throw withCallTraces(error, context, posts.length);
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
        traces: result.calls.map((c) => traceOfCall(c, context, posts.length)),
      };
    },
    async summarize(chunkSummaries, context) {
      const client = await clientOf();
      const result = await client.summarizeJob({ chunkSummaries }).catch((error: unknown) => {
        throw withCallTraces(error, context, chunkSummaries.length);
      });
      return {
        summary: result.status === 'summarized' ? result.summary : null,
        traces: result.calls.map((c) => traceOfCall(c, context, chunkSummaries.length)),
      };
    },
    async maxCostUsd(posts, categories) {
      const { estimateLabelPostsCost } = await loadAi();
      const estimate = estimateLabelPostsCost({ model, posts, taxonomy: { categories } });
      return estimate.maxCost.priced ? estimate.maxCost.costUsd : null;
    },
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
): (workspaceId: string, settings: AnalysisSettingsRow | null) => LlmRuntime | null {
  const cache = new Map<string, LlmRuntime>();
  return (workspaceId, settings) => {
    const baseUrl = settings?.llm_base_url ?? defaults.baseUrl;
    const model = settings?.llm_model ?? defaults.model;
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
              ...(apiKey ? { apiKey } : {}),
            }),
          )),
        model,
      );
      cache.set(cacheKey, runtime);
    }
    return runtime;
  };
}
