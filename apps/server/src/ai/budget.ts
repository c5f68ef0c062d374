import {
  labelMessages,
  labelResponseFormat,
  maxOutputTokensFor,
  type PostToLabel,
  type Taxonomy,
} from './label-posts.js';
import { costOf, maxOutputTokensOf, type CostResult } from './pricing/cost.js';
import { encodingForModel, estimateChatTokens, type TokenEncoding } from './tokens.js';

export const DEFAULT_MAX_OUTPUT_TOKENS_PER_POST = 120;
/** Allowance for the repair note appended to the re-ask. */
const REPAIR_NOTE_TOKENS = 150;

export interface LabelPostsCostEstimate {
  model: string;
  encoding: TokenEncoding;
  /** Prompt tokens of the first call, counted locally (an estimate for non-OpenAI models). */
  inputTokens: number;
  /** The output cap sent with the first call. */
  maxOutputTokens: number;
  /**
   * Upper bound on tokens the call can be billed for: the first call plus its one re-ask
   * (same posts at most, twice the output cap after a truncation). Failed HTTP attempts
   * (429/5xx) are not billed by OpenAI. An attempt whose outcome is unknown (timed out after
   * sending) may be: it is not in this bound, which knows nothing of the client's retries, but
   * its trace carries the cost of its estimated input, so the month's spend counts it from the
   * next check on.
   */
  maxBilledInputTokens: number;
  maxBilledOutputTokens: number;
  /** costOf on the upper bound (no cache discount assumed); `priced: false` for an unpriced model. */
  maxCost: CostResult;
}

/**
 * What a labelPosts call may cost at most, computed before sending so that the caller can
 * refuse (pause the job) when the workspace's monthly budget would be exceeded.
 */
export function estimateLabelPostsCost(input: {
  model: string;
  posts: readonly PostToLabel[];
  taxonomy: Taxonomy;
  context?: string;
  maxOutputTokensPerPost?: number;
}): LabelPostsCostEstimate {
  const perPost = input.maxOutputTokensPerPost ?? DEFAULT_MAX_OUTPUT_TOKENS_PER_POST;
  const inputTokens = estimateChatTokens(
    labelMessages(input.posts, input.taxonomy, input.context),
    input.model,
    labelResponseFormat(input.taxonomy),
  );
  // Each call's cap is clamped to the model's output limit, as the transport sends it.
  const limit = maxOutputTokensOf(input.model) ?? Number.POSITIVE_INFINITY;
  const uncapped = input.posts.length === 0 ? 0 : maxOutputTokensFor(input.posts.length, perPost);
  const maxOutputTokens = Math.min(uncapped, limit);
  const maxBilledInputTokens = input.posts.length === 0 ? 0 : 2 * inputTokens + REPAIR_NOTE_TOKENS;
  // The first answer and one re-ask, which gets twice the room after a truncated answer.
  const maxBilledOutputTokens = maxOutputTokens + Math.min(2 * uncapped, limit);
  return {
    model: input.model,
    encoding: encodingForModel(input.model),
    inputTokens: input.posts.length === 0 ? 0 : inputTokens,
    maxOutputTokens,
    maxBilledInputTokens,
    maxBilledOutputTokens,
    maxCost: costOf(input.model, {
      inputTokens: maxBilledInputTokens,
      outputTokens: maxBilledOutputTokens,
    }),
  };
}

/**
 * The most posts one labelPosts call to `model` can label without its answer being cut: the
 * call's output cap (`perPost` tokens per post plus the chunk summary's allowance) must fit the
 * model's `maxOutputTokens`, to which the transport clamps it. Past that a real model stops
 * mid-answer: the posts it did not reach are re-asked once (billed twice) and may stay
 * unlabelled. Null when the price table does not know the model's output limit.
 */
export function maxPostsPerLabelCall(
  model: string,
  perPost: number = DEFAULT_MAX_OUTPUT_TOKENS_PER_POST,
): number | null {
  const limit = maxOutputTokensOf(model);
  if (limit === null) return null;
  return Math.max(0, Math.floor((limit - maxOutputTokensFor(0, perPost)) / perPost));
}
