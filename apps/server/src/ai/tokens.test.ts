import { describe, expect, it } from 'vitest';
import { encodingForModel, estimateChatTokens } from './tokens.js';

describe('encodingForModel', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-5-mini', 'o200k_base'],
    ['o3', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['llama3.1:8b', 'cl100k_base'],
    ['ollama-thing', 'cl100k_base'],
  ])('%s → %s', (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding);
  });
});

describe('estimateChatTokens', () => {
  it('grows with the content and counts the schema', () => {
    const short = estimateChatTokens([{ role: 'user', content: 'hello' }], 'gpt-4o');
    const long = estimateChatTokens([{ role: 'user', content: 'hello '.repeat(100) }], 'gpt-4o');
    expect(long - short).toBeGreaterThanOrEqual(99);
    const withSchema = estimateChatTokens([{ role: 'user', content: 'hello' }], 'gpt-4o', {
      type: 'json_schema',
      json_schema: { name: 'x' },
    });
    expect(withSchema).toBeGreaterThan(short);
  });
});
