import { describe, expect, it } from 'vitest';
import {
  budgetPauseWarning,
  chunkProgress,
  costText,
  splitLocalCalls,
  etaText,
  optionOfField,
  summaryText,
} from './analyses.js';

describe('chunkProgress (the CLI progress bar)', () => {
  it('counts done and dead-lettered chunks as settled, with the posts processed', () => {
    expect(
      chunkProgress({ status: 'running', chunks_done: 4, chunks_failed: 1, posts_processed: 480 }),
    ).toEqual({ done: 5, posts: 480 });
    expect(chunkProgress({ chunks_done: 0 })).toEqual({ done: 0, posts: 0 });
  });

  it('has nothing for events without counts, so the bar does not fall back to 0', () => {
    // A failed attempt's event (it will be retried) and the job summary's.
    expect(chunkProgress({ seq: 3, attempt: 1, error: { message: 'timeout' } })).toBeNull();
    expect(chunkProgress({ summary: null, reason: 'llm_failed' })).toBeNull();
    expect(chunkProgress(null)).toBeNull();
    expect(chunkProgress('chunks_done')).toBeNull();
    expect(chunkProgress({ chunks_done: '4' })).toBeNull();
  });
});

describe('etaText (the progress bar shows the server’s estimate)', () => {
  it('says — while the server has no estimate, never NaN or a made-up 0s', () => {
    expect(etaText(null)).toBe('—');
    expect(etaText(Number.NaN)).toBe('—');
    expect(etaText(Number.POSITIVE_INFINITY)).toBe('—');
  });

  it('rounds the estimate to seconds, minutes and hours', () => {
    expect(etaText(0)).toBe('0s');
    expect(etaText(8.4)).toBe('8s');
    expect(etaText(65)).toBe('1m 05s');
    expect(etaText(3725)).toBe('1h 02m');
  });
});

describe('costText (what the model calls cost, for a person)', () => {
  const cost = (over: Partial<Parameters<typeof costText>[0]>): Parameters<typeof costText>[0] => ({
    calls: 3,
    errors: 0,
    input_tokens: 900,
    output_tokens: 120,
    cached_input_tokens: 0,
    cost_usd: '0.000214540',
    unpriced_calls: 0,
    by_model: [],
    ...over,
  });

  it('gives the traced cost exactly, with the failed calls', () => {
    expect(costText(cost({ errors: 1 }), true)).toBe(
      'LLM cost: $0.000214540 for 3 LLM calls (1 failed), 900 input and 120 output tokens',
    );
    expect(costText(cost({ calls: 0 }), false)).toBeNull();
  });

  it('never shows calls of a model without a price as $0', () => {
    expect(costText(cost({ cost_usd: '0', unpriced_calls: 3 }), true)).toBe(
      'LLM cost: unknown: 3 LLM calls, 900 input and 120 output tokens, all of a model without a price',
    );
    expect(costText(cost({ unpriced_calls: 1 }), true)).toMatch(
      /; plus 1 call\(s\) of a model without a price, of unknown cost$/,
    );
  });

  const localModel = {
    provider: 'local',
    model: 'socialpulse-analysis',
    calls: 500,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: '0',
    unpriced_calls: 0,
    duration_ms: 4000,
  };
  const llmModel = {
    provider: 'openai',
    model: 'gpt-4o-mini',
    calls: 3,
    input_tokens: 900,
    output_tokens: 120,
    cost_usd: '0.000214540',
    unpriced_calls: 0,
    duration_ms: 900,
  };

  it('does not count the local engines’ calls as LLM calls, nor give them a cost', () => {
    // --engines local: 500 traced calls of the local engines, none of an LLM.
    const localOnly = cost({
      calls: 500,
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: '0',
      by_model: [localModel],
    });
    expect(costText(localOnly, false)).toBeNull();
    expect(costText(localOnly, true)).toBe('LLM cost: no LLM calls');
    // --engines local,llm: the LLM's calls alone.
    expect(costText(cost({ calls: 503, by_model: [localModel, llmModel] }), true)).toBe(
      'LLM cost: $0.000214540 for 3 LLM calls, 900 input and 120 output tokens',
    );
    expect(
      splitLocalCalls(cost({ calls: 503, errors: 1, by_model: [localModel, llmModel] })),
    ).toEqual({
      llm: cost({ calls: 3, errors: 1, by_model: [llmModel] }),
      local: { calls: 500, duration_ms: 4000 },
    });
  });
});

describe('optionOfField (start errors name the option, not the API field)', () => {
  it('maps the body’s fields to the options that fill them', () => {
    expect(optionOfField(['posts', 'limit'])).toBe('--limit');
    expect(optionOfField(['posts', 'ids', 2])).toBe('--ids');
    expect(optionOfField(['posts', 'filter', 'since'])).toBe('--since');
    expect(optionOfField(['options', 'chunk_size'])).toBe('--chunk-size');
    expect(optionOfField(['options', 'sentiment_engine'])).toBe('--sentiment-engine');
    expect(optionOfField(['engines', 0])).toBe('--engines');
  });
});

describe('budgetPauseWarning (a retry of an analysis paused on its budget)', () => {
  const error = { message: 'the budget of $1 would be exceeded', needed_usd: '0.25' };

  it('says why it paused, and that it will pause again when the budget still falls short', () => {
    expect(budgetPauseWarning(error, '1', '0.9')).toBe(
      'it was paused: the budget of $1 would be exceeded\n' +
        "the monthly LLM budget is still $1, with $0.9 spent this month and up to $0.25 needed: it will pause again unless the budget is raised (PATCH /v1/workspaces/{id}/analysis-settings, or the dashboard's workspace settings)",
    );
  });

  it('only says why it paused once the budget leaves room, or there is none', () => {
    expect(budgetPauseWarning(error, '2', '0.9')).toBe(
      'it was paused: the budget of $1 would be exceeded',
    );
    expect(budgetPauseWarning(error, null, '0.9')).toBe(
      'it was paused: the budget of $1 would be exceeded',
    );
  });
});

describe('budgetPauseWarning for a model without a price', () => {
  const error = {
    code: 'llm_budget_unpriced_model',
    message: 'the model acme-finetune has no price',
  };

  it('says that only removing the budget or a priced model lets it run, not raising the budget', () => {
    const warning = budgetPauseWarning(error, '1', '0.04');
    expect(warning).toMatch(/^it was paused: the model acme-finetune has no price\n/);
    expect(warning).toContain('unless the budget is removed');
    expect(warning).toContain('a model with a price is chosen');
    expect(warning).not.toContain('raised');
    expect(budgetPauseWarning(error, null, '0.04')).toBe(
      'it was paused: the model acme-finetune has no price',
    );
  });
});

describe('summaryText (what became of the job summary)', () => {
  it('says it is ready, or why it was skipped, or that none came in time', () => {
    expect(summaryText({ summary: 'All good.' }, 300)).toBe('job summary: ready');
    expect(
      summaryText(
        { summary: null, reason: 'llm_budget_exceeded', error: { message: 'budget reached' } },
        300,
      ),
    ).toBe('job summary: skipped (llm_budget_exceeded: budget reached)');
    expect(summaryText(null, 300)).toMatch(/^job summary: none arrived within 300s of the end/);
  });
});
