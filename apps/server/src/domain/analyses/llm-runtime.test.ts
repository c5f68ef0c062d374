import { describe, expect, it } from 'vitest';
import type { AnalysisSettingsRow } from '../../db/repos/analysis-settings.repo.js';
import { createLlmResolver } from './llm-runtime.js';

const defaults = {
  baseUrl: 'http://127.0.0.1:9/v1',
  apiKey: 'sk-instance-key',
  model: 'gpt-4o-mini',
  timeoutMs: 10_000,
  maxConcurrency: 4,
};

describe('createLlmResolver', () => {
  it("shares one client between workspaces on the instance's provider and key, not with a workspace's own", () => {
    const resolve = createLlmResolver(defaults, (sealed) => `opened:${sealed}`);
    const a = resolve('00000000-0000-4000-8000-00000000000a', null);
    const b = resolve('00000000-0000-4000-8000-00000000000b', null);
    expect(a).not.toBeNull();
    expect(b).toBe(a);
    const own = { llm_api_key_sealed: 'sealed-c' } as AnalysisSettingsRow;
    const c = resolve('00000000-0000-4000-8000-00000000000c', own);
    expect(c).not.toBe(a);
    expect(resolve('00000000-0000-4000-8000-00000000000c', own)).toBe(c);
  });

  it('has no LLM without a base URL and a model', () => {
    const resolve = createLlmResolver({ ...defaults, model: undefined }, (s) => s);
    expect(resolve('00000000-0000-4000-8000-00000000000a', null)).toBeNull();
  });
});
