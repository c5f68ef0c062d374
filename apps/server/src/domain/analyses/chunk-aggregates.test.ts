import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ResultRow } from '../../db/repos/analyses.repo.js';
import { chunkAggregates } from './chunk-aggregates.js';
import { emptyResultRow } from './chunk-processor.js';

function row(overrides: Partial<ResultRow>): ResultRow {
  return { ...emptyResultRow(1), language: 'en', ...overrides };
}

describe('chunkAggregates', () => {
  it('counts labels, topics, categories once per post, keywords, toxic and unlabelled posts', () => {
    const partial = chunkAggregates([
      row({
        sentimentLabel: 'positive',
        sentimentScore: 0.1,
        topic: 'Shipping',
        category: 'bugs',
        llmSentiment: 'positive',
        llmStatus: 'labelled',
        local: { categories: ['bugs', 'praise'], keywords: ['late', 'late', 'box'], toxic: true },
      }),
      row({ sentimentLabel: null, llmStatus: 'unlabelled', local: { toxic: false } }),
      row({ sentimentLabel: 'positive', sentimentScore: 0.2, topic: 'shipping' }),
    ]);
    expect(partial).toEqual({
      sentiment: { positive: 2, none: 1 },
      llm_sentiment: { positive: 1 },
      score_sum: Math.fround(0.1) + Math.fround(0.2),
      score_n: 2,
      topics: { Shipping: 1, shipping: 1 },
      categories: { bugs: 1, praise: 1 },
      keywords: { late: 2, box: 1 },
      toxic: 1,
      unlabelled: 1,
    });
  });

  it('keeps any text as a key, and its counts add up to the posts', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            topic: fc.option(fc.constantFrom('__proto__', 'constructor', 'toString', 'a'), {
              nil: null,
            }),
            keywords: fc.array(fc.constantFrom('__proto__', 'hasOwnProperty', 'x')),
          }),
          { maxLength: 20 },
        ),
        (posts) => {
          const partial = chunkAggregates(
            posts.map((p) => row({ topic: p.topic, local: { keywords: p.keywords } })),
          );
          const sum = (counts: Record<string, number>): number =>
            Object.values(counts).reduce((a, b) => a + b, 0);
          expect(sum(partial.sentiment)).toBe(posts.length);
          expect(sum(partial.topics)).toBe(posts.filter((p) => p.topic !== null).length);
          expect(sum(partial.keywords)).toBe(posts.reduce((n, p) => n + p.keywords.length, 0));
          expect(Object.getPrototypeOf(partial.topics)).toBe(Object.prototype);
        },
      ),
    );
  });
});
