import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer } from '../../test/support/fake-llm-server.js';
import { createLlmClient } from './index.js';
import { isLlmError } from './llm-errors.js';

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(async () => {
  await server.close();
});

const chat = (body: unknown): Promise<Response> =>
  fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('fake LLM server', () => {
  it('lists its model and answers with usage and rate-limit headers', async () => {
    server.reset();
    const models = (await (await fetch(`${server.url}/models`)).json()) as {
      data: { id: string }[];
    };
    expect(models.data[0]?.id).toBe('gpt-4o-mini');

    const res = await chat({
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: JSON.stringify({ categories: ['a'], posts: [{ id: 'x', text: 'great a' }] }),
        },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'post_labels', strict: true, schema: {} },
      },
    });
    expect(res.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
    const body = (await res.json()) as {
      choices: { message: { content: string } }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(JSON.parse(body.choices[0]?.message.content ?? '')).toMatchObject({
      labels: [{ id: 'x', category: 'a', sentiment: 'positive' }],
    });
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('reports usage by o200k by default, or by 4 characters per token when asked to estimate', async () => {
    const request = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Label the posts.' },
        {
          role: 'user',
          content: JSON.stringify({ categories: [], posts: [{ id: 'p1', text: 'love it' }] }),
        },
      ],
    };
    interface Answer {
      choices: { message: { content: string } }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    }
    server.reset();
    const exact = (await (await chat(request)).json()) as Answer;
    expect(exact.usage.prompt_tokens).toBe(server.countPromptTokens(request));

    server.setBehaviour({ usage: 'estimate' });
    const estimated = (await (await chat(request)).json()) as Answer;
    const expectedPrompt = request.messages.reduce(
      (sum, m) => sum + 3 + Math.ceil((m.role.length + m.content.length) / 4),
      3,
    );
    expect(estimated.usage.prompt_tokens).toBe(expectedPrompt);
    expect(estimated.usage.prompt_tokens).not.toBe(exact.usage.prompt_tokens);
    const content = estimated.choices[0]?.message.content ?? '';
    expect(estimated.usage.completion_tokens).toBe(Math.ceil(content.length / 4));
    expect(server.countPromptTokens(request)).toBe(expectedPrompt);
    server.reset();
  });

  it('injects the same random faults for the same seed', async () => {
    const run = async (): Promise<(string | null)[]> => {
      server.reset();
      server.setBehaviour({
        randomFaults: {
          probability: 0.5,
          seed: 42,
          kinds: [{ kind: 'server_error' }, { kind: 'malformed_json' }],
        },
      });
      for (let i = 0; i < 20; i++)
        await (await chat({ model: 'm', messages: [{ role: 'user', content: '{}' }] })).text();
      return server.requests.map((r) => r.fault?.kind ?? null);
    };
    const first = await run();
    expect(first.filter((k) => k !== null).length).toBeGreaterThan(3);
    expect(await run()).toEqual(first);
  });
});

describe('labelPosts under random faults', () => {
  it('always returns one result per post, in order, or throws a typed error', async () => {
    server.reset();
    server.setBehaviour({
      randomFaults: {
        probability: 0.35,
        seed: 7,
        kinds: [
          { kind: 'server_error' },
          { kind: 'rate_limit', retryAfter: '1' },
          { kind: 'malformed_json' },
          { kind: 'truncated' },
          { kind: 'wrong_ids' },
          { kind: 'bad_category' },
          { kind: 'network_drop' },
        ],
      },
    });
    let now = Date.UTC(2025, 0, 1);
    const client = createLlmClient({
      baseUrl: server.url,
      model: 'llama3.1:8b',
      timeoutMs: 5_000,
      maxConcurrency: 3,
      circuitBreaker: { consecutiveFailures: 1_000 },
      now: () => now,
      sleep: (ms) => {
        now += ms;
        return Promise.resolve();
      },
    });
    const chunks = Array.from({ length: 15 }, (_, c) =>
      Array.from({ length: 10 }, (_, i) => ({
        id: `c${c}-p${i}`,
        text: i % 2 ? 'shipping was slow' : 'love the pricing',
      })),
    );
    const outcomes = await Promise.all(
      chunks.map((posts) =>
        client.labelPosts({ posts, taxonomy: { categories: ['shipping', 'pricing'] } }).then(
          (out) => ({ posts, out }),
          (error: unknown) => ({ posts, error }),
        ),
      ),
    );
    let labelled = 0;
    for (const outcome of outcomes) {
      if ('error' in outcome) {
        expect(isLlmError(outcome.error)).toBe(true);
        continue;
      }
      expect(outcome.out.results.map((r) => r.id)).toEqual(outcome.posts.map((p) => p.id));
      for (const result of outcome.out.results) {
        if (result.status === 'labelled') {
          labelled++;
          expect(['shipping', 'pricing', null]).toContain(result.category);
        }
      }
      expect(
        outcome.out.calls.every(
          (c) => c.provider === 'ollama' || c.provider === 'openai_compatible',
        ),
      ).toBe(true);
      expect(
        outcome.out.calls
          .filter((c) => c.status === 'ok')
          .every((c) => c.cost?.priced === true && c.cost.costUsd === '0.000000000'),
      ).toBe(true);
    }
    expect(labelled).toBeGreaterThan(0);
  });
});
