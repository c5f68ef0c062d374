import { describe, expect, it } from 'vitest';
import { estimateLabelPostsCost, maxPostsPerLabelCall } from './budget.js';

const posts = (n: number): { id: string; text: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: String(i), text: `post ${i}` }));

describe('maxPostsPerLabelCall', () => {
  it("is the largest call whose output cap fits the model's output limit", () => {
    const largest = maxPostsPerLabelCall('gpt-4o-mini');
    expect(largest).toBe(134);
    const taxonomy = { categories: [] };
    // The cap sent is not clamped at that size, and is one post past it.
    const fits = estimateLabelPostsCost({ model: 'gpt-4o-mini', posts: posts(134), taxonomy });
    expect(fits.maxOutputTokens).toBeLessThanOrEqual(16_384);
    const over = estimateLabelPostsCost({ model: 'gpt-4o-mini', posts: posts(135), taxonomy });
    expect(over.maxOutputTokens).toBe(16_384);
    expect(135 * 120 + 300).toBeGreaterThan(16_384);
    expect(maxPostsPerLabelCall('gpt-4o-2024-05-13')).toBe(31);
    expect(maxPostsPerLabelCall('gpt-4o-mini', 60)).toBe(268);
  });

  it('is unknown for a model whose output limit the price table does not give', () => {
    expect(maxPostsPerLabelCall('llama3.1')).toBeNull();
    expect(maxPostsPerLabelCall('acme-finetune')).toBeNull();
  });
});
