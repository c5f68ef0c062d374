import {
  DEFAULT_MAX_OUTPUT_TOKENS_PER_POST,
  estimateLabelPostsCost,
  type LabelPostsCostEstimate,
} from './budget.js';
import { ChatTransport, type LlmClientOptions } from './chat-transport.js';
import { labelPosts, type LabelPostsInput, type LabelPostsResult } from './label-posts.js';
import {
  DEFAULT_SUMMARY_MAX_INPUT_TOKENS,
  summarizeJob,
  type SummarizeJobInput,
  type SummarizeJobResult,
} from './summarize.js';

export interface LlmClient {
  readonly provider: string;
  readonly model: string;
  /** "closed" | "open" | "halfOpen" | "isolated". */
  readonly circuitState: string;
  labelPosts(input: LabelPostsInput): Promise<LabelPostsResult>;
  summarizeJob(input: SummarizeJobInput): Promise<SummarizeJobResult>;
  /** estimateLabelPostsCost with this client's model and output budget. */
  estimateLabelPostsCost(
    input: Pick<LabelPostsInput, 'posts' | 'taxonomy' | 'context'>,
  ): LabelPostsCostEstimate;
}

/**
 * One client per provider configuration, kept for the life of the process: the circuit
 * breaker, the concurrency limit and the rate-limit gate live in it and only work if it is
 * shared by every call to that provider.
 */
export function createLlmClient(
  options: LlmClientOptions & { summaryMaxInputTokens?: number },
): LlmClient {
  const transport = new ChatTransport(options);
  const perPost = options.maxOutputTokensPerPost ?? DEFAULT_MAX_OUTPUT_TOKENS_PER_POST;
  const summaryMaxInputTokens = options.summaryMaxInputTokens ?? DEFAULT_SUMMARY_MAX_INPUT_TOKENS;
  return {
    provider: transport.provider,
    model: transport.model,
    get circuitState() {
      return transport.circuitState;
    },
    labelPosts: (input) => labelPosts(transport, input, perPost),
    summarizeJob: (input) => summarizeJob(transport, input, summaryMaxInputTokens),
    estimateLabelPostsCost: (input) =>
      estimateLabelPostsCost({ ...input, model: transport.model, maxOutputTokensPerPost: perPost }),
  };
}
