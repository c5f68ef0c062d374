import type { CostResult } from './pricing/cost.js';

export type LlmOperation = 'label_posts' | 'summarize';

/**
 * One record per HTTP attempt (and one for an attempt the circuit breaker refused without
 * sending anything), for the AI interaction traces. Field → OpenTelemetry GenAI attribute:
 *
 * | field               | OTel attribute                                   |
 * |---------------------|--------------------------------------------------|
 * | operation           | `gen_ai.operation.name` (our values; OTel's generic one is "chat") |
 * | provider            | `gen_ai.provider.name`                           |
 * | requestModel        | `gen_ai.request.model`                           |
 * | responseModel       | `gen_ai.response.model`                          |
 * | inputTokens         | `gen_ai.usage.input_tokens` (includes cached tokens, as OpenAI's `prompt_tokens`) |
 * | outputTokens        | `gen_ai.usage.output_tokens`                     |
 * | cachedInputTokens   | `gen_ai.usage.cache_read.input_tokens` (from `usage.prompt_tokens_details.cached_tokens`) |
 * | errorType           | `error.type` (our stable code, e.g. `llm_timeout`) |
 * | durationMs          | the span's duration (`gen_ai.client.operation.duration` is in seconds) |
 * | finishReason        | `gen_ai.response.finish_reasons` (first choice)  |
 *
 * Token fields are `null` when the provider reported no usage (errors, some local servers);
 * `estimatedInputTokens` is our local count: present when the provider reported no usage for the
 * attempt, or when the provider's token budget could have held the request back (the count then
 * decided whether it went); `null` when the provider's own count is in `inputTokens` and nothing
 * needed ours (counting a 100-post prompt costs 1–2 ms of CPU per call). `cost` is `costOf` on
 * the provider's usage, or, for an answer without usage, on the local counts (the prompt's and
 * the answer's); `null` for a failed attempt.
 */
export interface LlmCallRecord {
  operation: LlmOperation;
  provider: string;
  requestModel: string;
  responseModel: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  estimatedInputTokens: number | null;
  durationMs: number;
  status: 'ok' | 'error';
  errorType: string | null;
  httpStatus: number | null;
  finishReason: string | null;
  /** 1-based HTTP attempt number within one logical request (retries of the same body). */
  attempt: number;
  /** true for the one re-ask labelPosts/summarizeJob makes after a malformed answer. */
  repair: boolean;
  startedAt: Date;
  cost: CostResult | null;
}

/**
 * `gen_ai.provider.name` from the base URL: api.openai.com → "openai"; port 11434 or a host
 * named like ollama → "ollama"; anything else → "openai_compatible" (vLLM, LM Studio, proxies).
 */
export function providerFromBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return 'openai_compatible';
  }
  const host = url.hostname.toLowerCase();
  if (host === 'api.openai.com') return 'openai';
  if (url.port === '11434' || host.includes('ollama')) return 'ollama';
  return 'openai_compatible';
}
