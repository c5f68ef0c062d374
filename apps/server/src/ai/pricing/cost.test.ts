import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRICE_TABLE_VERSION, costOf, priceTable, resolvePricedModel, sumCosts } from './cost.js';

/** "0.075" → 75n (thousandths of a dollar per 1M tokens); the table has at most 3 decimals. */
function milli(price: string): bigint {
  const [whole = '0', fraction = ''] = price.split('.');
  expect(fraction.length).toBeLessThanOrEqual(3);
  return BigInt(whole) * 1000n + BigInt(fraction.padEnd(3, '0'));
}

/** "0.000123450" → 123450n (nano-dollars), requiring exactly 9 decimals. */
function nano(costUsd: string): bigint {
  const [whole = '0', fraction = ''] = costUsd.split('.');
  expect(fraction).toHaveLength(9);
  return BigInt(whole) * 1_000_000_000n + BigInt(fraction);
}

describe('costOf', () => {
  it('prices a known model exactly, cached tokens at the cached price', () => {
    // gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out per 1M.
    const cost = costOf('gpt-4o-mini', {
      inputTokens: 1_000,
      cachedInputTokens: 400,
      outputTokens: 100,
    });
    // 600 × 0.15 + 400 × 0.075 + 100 × 0.60 = 90 + 30 + 60 = 180 micro-dollars.
    expect(cost).toEqual({
      priced: true,
      costUsd: '0.000180000',
      priceVersion: PRICE_TABLE_VERSION,
      pricedAs: 'gpt-4o-mini',
    });
    expect(costOf('gpt-4o-mini', { inputTokens: 1, outputTokens: 0 })).toMatchObject({
      costUsd: '0.000000150',
    });
  });

  it('maps dated snapshots and Ollama tags to their entry, but never by prefix', () => {
    expect(resolvePricedModel('gpt-4o-mini-2024-07-18')).toBe('gpt-4o-mini');
    expect(resolvePricedModel('gpt-4o-2024-08-06')).toBe('gpt-4o');
    expect(resolvePricedModel('gpt-4o-2024-05-13')).toBe('gpt-4o-2024-05-13'); // its own, higher price
    expect(resolvePricedModel('llama3.1:8b')).toBe('llama3.1');
    expect(resolvePricedModel('gpt-4o-mini-tts')).toBeNull();
    expect(resolvePricedModel('gpt-4o-minimal')).toBeNull();
  });

  it('flags an unknown model instead of pricing it at zero', () => {
    expect(costOf('my-finetune', { inputTokens: 10, outputTokens: 10 })).toEqual({
      priced: false,
      reason: 'unpriced_model',
      priceVersion: PRICE_TABLE_VERSION,
    });
  });

  it('prices local models at an explicit zero', () => {
    expect(costOf('qwen2.5:7b', { inputTokens: 5_000, outputTokens: 500 })).toMatchObject({
      priced: true,
      costUsd: '0.000000000',
      pricedAs: 'qwen2.5',
    });
  });

  it('rejects impossible usage', () => {
    expect(() =>
      costOf('gpt-4o', { inputTokens: 1, cachedInputTokens: 2, outputTokens: 0 }),
    ).toThrow(RangeError);
    expect(() => costOf('gpt-4o', { inputTokens: 1.5, outputTokens: 0 })).toThrow(RangeError);
  });

  it('equals tokens × price / 1e6 in integer arithmetic, for every priced model', () => {
    const models = Object.keys(priceTable.models);
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        fc.nat({ max: 50_000_000 }),
        fc.nat({ max: 50_000_000 }),
        fc.nat({ max: 5_000_000 }),
        (model, input, cachedRaw, output) => {
          const cached = Math.min(cachedRaw, input);
          const price = priceTable.models[model];
          if (!price) throw new Error('unreachable');
          const cost = costOf(model, {
            inputTokens: input,
            cachedInputTokens: cached,
            outputTokens: output,
          });
          if (!cost.priced) throw new Error(`${model} should be priced`);
          // cost × 1e9 = Σ tokens × price × 1e3 (milli-dollars per 1M tokens) exactly.
          const expected =
            BigInt(input - cached) * milli(price.input) +
            BigInt(cached) * milli(price.cachedInput) +
            BigInt(output) * milli(price.output);
          expect(nano(cost.costUsd)).toBe(expected);
        },
      ),
    );
  });

  it('sums costs exactly and refuses to sum an unpriced one', () => {
    const a = costOf('gpt-4.1-nano', { inputTokens: 3, outputTokens: 0 }); // 0.000000300
    const b = costOf('gpt-5-nano', { inputTokens: 1, cachedInputTokens: 1, outputTokens: 0 }); // 0.000000005
    expect(sumCosts([a, b])).toBe('0.000000305');
    expect(sumCosts([a, costOf('unknown', { inputTokens: 1, outputTokens: 1 })])).toBeNull();
  });

  it('the table has a version, an effective date and decimal-string prices', () => {
    expect(priceTable.version).toMatch(/\S/);
    expect(priceTable.effectiveDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
