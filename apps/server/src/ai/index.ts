export { createLlmClient, type LlmClient } from './llm-client.js';
export type { LlmClientOptions } from './chat-transport.js';
export type {
  LabelPostsInput,
  LabelPostsResult,
  PostLabelResult,
  PostToLabel,
  Sentiment,
  Taxonomy,
  UnlabelledReason,
} from './label-posts.js';
export type {
  SummarizeJobCostEstimate,
  SummarizeJobInput,
  SummarizeJobResult,
} from './summarize.js';
export { estimateSummarizeJobCost } from './summarize.js';
export { estimateLabelPostsCost, type LabelPostsCostEstimate } from './budget.js';
export {
  estimateChatTokens,
  encodingForModel,
  countTextTokens,
  type ChatMessage,
  type TokenEncoding,
} from './tokens.js';
export {
  costOf,
  sumCosts,
  resolvePricedModel,
  priceTable,
  PRICE_TABLE_VERSION,
  type CostResult,
  type TokenUsage,
  type PriceTable,
} from './pricing/cost.js';
export { providerFromBaseUrl, type LlmCallRecord, type LlmOperation } from './call-record.js';
export { LlmError, isLlmError, type LlmErrorCode } from './llm-errors.js';
