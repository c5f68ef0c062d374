import Big from 'big.js';
import { z } from 'zod';
import pricesFile from './prices.json' with { type: 'json' };

const decimalString = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'a non-negative decimal string such as "0.15"');

const modelPriceSchema = z.object({
  input: decimalString,
  cachedInput: decimalString,
  output: decimalString,
  local: z.boolean().optional(),
  /** The most output tokens the model writes in one answer (the provider refuses a larger cap). */
  maxOutputTokens: z.number().int().positive().optional(),
});

export const priceTableSchema = z.object({
  version: z.string().min(1),
  effectiveDate: z.iso.date(),
  currency: z.literal('USD'),
  unit: z.literal('per 1M tokens'),
  source: z.string(),
  models: z.record(z.string(), modelPriceSchema),
});

export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type PriceTable = z.infer<typeof priceTableSchema>;

/** Parsed at import: a typo in prices.json fails at start-up, not on the first bill. */
export const priceTable: PriceTable = priceTableSchema.parse(pricesFile);
export const PRICE_TABLE_VERSION: string = priceTable.version;

export interface TokenUsage {
  /** All input tokens, cached ones included (OpenAI's `prompt_tokens`). */
  inputTokens: number;
  /** The part of `inputTokens` read from the provider's prompt cache. */
  cachedInputTokens?: number;
  outputTokens: number;
}

export type CostResult =
  | { priced: true; costUsd: string; priceVersion: string; pricedAs: string }
  | { priced: false; reason: 'unpriced_model'; priceVersion: string };

const datedSnapshot = /-\d{4}-\d{2}-\d{2}$/;

/**
 * The price-table key for a model name, or null. Deliberately narrow:
 * 1. the exact name (so a snapshot with its own price, e.g. gpt-4o-2024-05-13, wins);
 * 2. an OpenAI dated snapshot `<alias>-YYYY-MM-DD` → `<alias>` (gpt-4o-mini-2024-07-18 →
 *    gpt-4o-mini), assuming a snapshot costs what its alias costs unless listed itself;
 * 3. an Ollama tag `<name>:<tag>` → `<name>` (llama3.1:8b → llama3.1).
 * No prefix matching: "gpt-4o-mini" must never be priced as "gpt-4o".
 */
export function resolvePricedModel(model: string, table: PriceTable = priceTable): string | null {
  const name = model.trim().toLowerCase();
  const candidates = [name, name.replace(datedSnapshot, ''), name.replace(/:[^:/]+$/, '')];
  for (const candidate of candidates) if (Object.hasOwn(table.models, candidate)) return candidate;
  return null;
}

/** The model's output limit from the table, or null when unknown (most local models). */
export function maxOutputTokensOf(model: string, table: PriceTable = priceTable): number | null {
  const key = resolvePricedModel(model, table);
  return (key === null ? undefined : table.models[key]?.maxOutputTokens) ?? null;
}

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/** Digits after the decimal point that `value` needs to be written exactly. */
function decimalsOf(value: Big): number {
  return Math.max(0, value.c.length - value.e - 1);
}

// Multiplying by 1e-6 is exact in big.js; dividing would round at Big.DP decimals.
const perToken = new Big('1e-6');

/**
 * Exact cost of one call: (input − cached) × input price + cached × cached price + output ×
 * output price, all per 1M tokens, in big.js decimals (never floats). `costUsd` has at least 9
 * decimals (more if a price needs them) and is never rounded. An unknown model is
 * `{ priced: false }`, never a silent "0".
 */
export function costOf(
  model: string,
  usage: TokenUsage,
  table: PriceTable = priceTable,
): CostResult {
  assertCount('inputTokens', usage.inputTokens);
  assertCount('outputTokens', usage.outputTokens);
  const cached = usage.cachedInputTokens ?? 0;
  assertCount('cachedInputTokens', cached);
  if (cached > usage.inputTokens)
    throw new RangeError('cachedInputTokens cannot exceed inputTokens');

  const key = resolvePricedModel(model, table);
  const price = key === null ? undefined : table.models[key];
  if (key === null || price === undefined)
    return { priced: false, reason: 'unpriced_model', priceVersion: table.version };

  const micro = new Big(usage.inputTokens - cached)
    .times(price.input)
    .plus(new Big(cached).times(price.cachedInput))
    .plus(new Big(usage.outputTokens).times(price.output));
  const cost = micro.times(perToken);
  return {
    priced: true,
    costUsd: cost.toFixed(Math.max(9, decimalsOf(cost))),
    priceVersion: table.version,
    pricedAs: key,
  };
}

/** Sums costUsd strings exactly (for a job total); null if any part is unpriced. */
export function sumCosts(costs: readonly CostResult[]): string | null {
  let total = new Big(0);
  for (const cost of costs) {
    if (!cost.priced) return null;
    total = total.plus(cost.costUsd);
  }
  return total.toFixed(Math.max(9, decimalsOf(total)));
}
