import { createRequire } from 'node:module';

// Each encoding's rank table costs tens of MB once loaded (o200k_base about 70 MB of RSS):
// load one only when a model needs it. require() keeps the counting functions synchronous.
const require = createRequire(import.meta.url);
type CountTokens = (text: string) => number;
const counters = new Map<TokenEncoding, CountTokens>();
function counterFor(encoding: TokenEncoding): CountTokens {
  let count = counters.get(encoding);
  if (!count) {
    count = (require(`gpt-tokenizer/encoding/${encoding}`) as { countTokens: CountTokens })
      .countTokens;
    counters.set(encoding, count);
  }
  return count;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type TokenEncoding = 'o200k_base' | 'cl100k_base';

/**
 * The tokenizer for a model: o200k_base for the gpt-4o, gpt-4.1, gpt-4.5, gpt-5, chatgpt-4o and
 * o-series families (dated snapshots included); cl100k_base for everything else. For models
 * that are not OpenAI's (Llama, Qwen, Mistral… behind Ollama, vLLM or LM Studio) the count is
 * only an ESTIMATE: they use their own tokenizers, typically within ±15% of cl100k on English.
 */
export function encodingForModel(model: string): TokenEncoding {
  const name = model.trim().toLowerCase();
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o\d)(\b|-|$)/.test(name)) return 'o200k_base';
  return 'cl100k_base';
}

export function countTextTokens(text: string, model: string): number {
  return counterFor(encodingForModel(model))(text);
}

// OpenAI's documented chat overhead: 3 tokens per message, 3 to prime the reply.
const perMessageOverhead = 3;
const replyPriming = 3;

/**
 * Estimated prompt tokens of a Chat Completions request before sending it, with a local
 * tokenizer. `responseFormat` (the JSON schema, if any) is counted as its JSON text: providers
 * inject it into the prompt in their own way, so that part is an approximation.
 */
export function estimateChatTokens(
  messages: readonly ChatMessage[],
  model: string,
  responseFormat?: unknown,
): number {
  let total = replyPriming;
  for (const message of messages) {
    total +=
      perMessageOverhead +
      countTextTokens(message.role, model) +
      countTextTokens(message.content, model);
  }
  if (responseFormat !== undefined) total += countTextTokens(JSON.stringify(responseFormat), model);
  return total;
}
