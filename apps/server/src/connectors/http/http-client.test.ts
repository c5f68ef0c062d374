import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConnectorError, isConnectorError } from '../errors.js';
import { xProfile } from '../x/profile.js';
import { mastodonProfile } from '../mastodon/profile.js';
import { createYoutubeProfile } from '../youtube/profile.js';
import { createTiktokProfile } from '../tiktok/profile.js';
import { InMemoryBudgetStore } from './budget-store.js';
import { createHttpClient, type HttpClientOptions } from './http-client.js';

const T0 = Date.parse('2026-03-02T12:00:00Z');
const credential = { id: 'cred-1', accessToken: 'secret-token-123456' };

type Answer = { status?: number; headers?: Record<string, string>; body?: unknown } | Error;

/** A fake platform: answers in order, records requests; a fake clock that only sleeps advance. */
function setup(answers: Answer[], options: Partial<HttpClientOptions> = {}) {
  let clock = T0;
  const sleeps: number[] = [];
  const requests: { url: string; headers: Record<string, string> }[] = [];
  const fetch = ((url: string, init: RequestInit) => {
    requests.push({ url, headers: init.headers as Record<string, string> });
    const answer = answers.shift();
    if (answer === undefined) return Promise.reject(new Error('unexpected request'));
    if (answer instanceof Error) return Promise.reject(answer);
    const body =
      answer.body === undefined
        ? ''
        : typeof answer.body === 'string'
          ? answer.body
          : JSON.stringify(answer.body);
    return Promise.resolve(
      new Response(answer.status === 304 ? null : body, {
        status: answer.status ?? 200,
        headers: { 'content-type': 'application/json', ...answer.headers },
      }),
    );
  }) as typeof globalThis.fetch;
  const registry = new Registry();
  const http = createHttpClient({
    fetch,
    now: () => clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    random: () => 0.5,
    registry,
    budgetStore: new InMemoryBudgetStore(),
    ...options,
  });
  return { http, sleeps, requests, registry, now: () => clock };
}

const req = {
  endpoint: 'GET /2/users/:id/tweets',
  url: 'https://api.x.com/2/users/1/tweets',
  credential,
};

describe('the HTTP layer', () => {
  it('sends the token only in the Authorization header and returns parsed JSON', async () => {
    const { http, requests } = setup([{ body: { data: [] } }]);
    const response = await http.request(xProfile, {
      ...req,
      query: { max_results: 5, skipped: undefined },
    });
    expect(response.body).toEqual({ data: [] });
    expect(requests[0]?.url).toBe('https://api.x.com/2/users/1/tweets?max_results=5');
    expect(requests[0]?.headers.authorization).toBe('Bearer secret-token-123456');
  });

  it('a 2xx whose body is not JSON (truncated, or a proxy page) is malformed_response, sent once', async () => {
    const { http, requests } = setup([
      { body: '{"data":[{"id":"1","text":"cut her' },
      { body: '<html>Service Unavailable</html>', headers: { 'content-type': 'text/html' } },
    ]);
    for (const what of ['truncated or not JSON', 'text/html body']) {
      const error = await http.request(xProfile, req).catch((e: unknown) => e);
      expect(isConnectorError(error)).toBe(true);
      expect(error).toMatchObject({
        kind: 'malformed_response',
        platform: 'x',
        endpoint: 'GET /2/users/:id/tweets',
        httpStatus: 200,
        platformCode: 'invalid_json',
      });
      expect((error as Error).message).toContain(what);
    }
    expect(requests).toHaveLength(2);
  });

  it('an error body stays text (X sends its 429 as text/plain); an empty 2xx is no body', async () => {
    const { http } = setup([
      { status: 400, body: 'Bad things', headers: { 'content-type': 'text/plain' } },
      { status: 200 },
    ]);
    await expect(http.request(xProfile, req)).rejects.toMatchObject({ kind: 'bad_request' });
    expect((await http.request(xProfile, req)).body).toBe('');
  });

  it('retries 5xx with exponential back-off and jitter, then succeeds', async () => {
    const { http, sleeps } = setup([{ status: 503 }, { status: 502 }, { body: { data: [] } }], {
      backoffBaseMs: 1000,
    });
    const response = await http.request(xProfile, req);
    expect(response.attempts).toBe(3);
    // random 0.5 → 75% of 1 s, then of 2 s.
    expect(sleeps).toEqual([750, 1500]);
  });

  it('waits until x-rate-limit-reset after a 429, then retries', async () => {
    const reset = Math.floor(T0 / 1000) + 30;
    const { http, sleeps } = setup([
      {
        status: 429,
        headers: {
          'x-rate-limit-limit': '900',
          'x-rate-limit-remaining': '0',
          'x-rate-limit-reset': String(reset),
        },
        body: 'Rate limit exceeded\n',
      },
      { body: { data: [] } },
    ]);
    await http.request(xProfile, req);
    expect(sleeps).toEqual([30_000]);
  });

  it('honours Retry-After', async () => {
    const { http, sleeps } = setup([
      { status: 429, headers: { 'retry-after': '7' } },
      { body: { data: [] } },
    ]);
    await http.request(mastodonProfile, {
      ...req,
      endpoint: 'GET /api/v1/accounts/:id/statuses',
      url: 'https://m.example/api/v1/accounts/1/statuses',
    });
    expect(sleeps).toEqual([7_000]);
  });

  it('fails with rate_limited and the reset time when the wait is longer than maxWaitMs', async () => {
    const reset = Math.floor(T0 / 1000) + 900;
    const { http, sleeps } = setup(
      [
        {
          status: 429,
          headers: { 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset) },
        },
      ],
      { maxWaitMs: 60_000 },
    );
    const error = await http.request(xProfile, req).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ kind: 'rate_limited', resetAt: reset * 1000, retryable: true });
    expect(sleeps).toEqual([]);
  });

  it('waits for the budget the headers announce instead of breaking it', async () => {
    const reset = Math.floor(T0 / 1000) + 20;
    const { http, sleeps, requests } = setup([
      {
        headers: {
          'x-rate-limit-limit': '2',
          'x-rate-limit-remaining': '0',
          'x-rate-limit-reset': String(reset),
        },
        body: { data: [] },
      },
      { body: { data: [] } },
    ]);
    await http.request(xProfile, req);
    await http.request(xProfile, { ...req, url: 'https://api.x.com/2/users/2/tweets' });
    expect(sleeps).toEqual([20_000]);
    expect(requests).toHaveLength(2);
  });

  it('does not retry a usage cap although the rate-limit headers show headroom', async () => {
    const { http, requests } = setup([
      {
        status: 429,
        headers: { 'x-rate-limit-remaining': '39999' },
        body: {
          title: 'UsageCapExceeded',
          type: 'https://api.twitter.com/2/problems/usage-capped',
          detail: 'Usage cap exceeded: Monthly product cap',
        },
      },
    ]);
    await expect(http.request(xProfile, req)).rejects.toMatchObject({
      kind: 'usage_cap_exceeded',
      retryable: false,
    });
    expect(requests).toHaveLength(1);
  });

  it('never retries auth errors and keeps secrets out of messages', async () => {
    const { http, requests } = setup([
      { status: 401, body: { title: 'Unauthorized', detail: 'bad token secret-token-123456' } },
    ]);
    const error = await http.request(xProfile, req).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.kind).toBe('auth_expired');
    expect(String((error as Error).message)).not.toContain('secret-token-123456');
    expect(JSON.stringify((error as ConnectorError).toJSON())).not.toContain('secret-token-123456');
    expect(requests).toHaveLength(1);
  });

  it('turns a timeout into a retryable transient error', async () => {
    const abort = new AbortController();
    const { http } = setup([], {
      maxAttempts: 1,
      timeoutSignal: () => abort.signal,
      fetch: ((_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
          );
          abort.abort();
        })) as typeof fetch,
    });
    await expect(http.request(xProfile, req)).rejects.toMatchObject({
      kind: 'transient',
      platformCode: 'timeout',
      retryable: true,
    });
  });

  it('opens the circuit per platform and credential after consecutive failures', async () => {
    const { http, requests } = setup([{ status: 500 }, { status: 500 }, { body: {} }], {
      maxAttempts: 1,
      circuitBreaker: { consecutiveFailures: 2 },
    });
    await expect(http.request(xProfile, req)).rejects.toMatchObject({ kind: 'transient' });
    await expect(http.request(xProfile, req)).rejects.toMatchObject({ kind: 'transient' });
    await expect(http.request(xProfile, req)).rejects.toMatchObject({ kind: 'circuit_open' });
    expect(requests).toHaveLength(2);
    // Another credential has its own breaker.
    await expect(
      http.request(xProfile, { ...req, credential: { id: 'cred-2' } }),
    ).resolves.toMatchObject({ status: 200 });
  });

  it('shares one exchange between identical GETs in flight', async () => {
    const { http, requests } = setup([{ body: { data: [1] } }]);
    const [a, b] = await Promise.all([http.request(xProfile, req), http.request(xProfile, req)]);
    expect(a.body).toEqual({ data: [1] });
    expect(b).toBe(a);
    expect(requests).toHaveLength(1);
  });

  it('sends If-None-Match and serves a 304 from the cache', async () => {
    const { http, requests, registry } = setup([
      { headers: { etag: 'W/"abc"' }, body: [{ id: '1' }] },
      { status: 304 },
    ]);
    const m = {
      ...req,
      endpoint: 'GET /api/v1/accounts/:id/statuses',
      url: 'https://m.example/api/v1/accounts/1/statuses',
    };
    await http.request(mastodonProfile, m);
    const second = await http.request(mastodonProfile, m);
    expect(requests[1]?.headers['if-none-match']).toBe('W/"abc"');
    expect(second.body).toEqual([{ id: '1' }]);
    expect(
      await registry.getSingleMetricAsString('socialpulse_connector_not_modified_total'),
    ).toContain('platform="mastodon"');
  });

  it('paces a platform that announces no budget (TikTok) by its documented limit instead of learning it from a 429', async () => {
    const ok = { body: { data: { videos: [] }, error: { code: 'ok', message: '', log_id: 'l' } } };
    const { http, requests, sleeps, now } = setup([ok, ok, ok, ok, ok]);
    const profile = createTiktokProfile({ limit: 2, windowMs: 60_000 });
    const tt = {
      endpoint: 'POST /v2/video/list/',
      method: 'POST' as const,
      url: 'https://open.tiktokapis.com/v2/video/list/',
      json: {},
      credential,
    };
    const windowEnd = (Math.floor(T0 / 60_000) + 1) * 60_000;
    await http.request(profile, tt);
    await http.request(profile, tt);
    expect(sleeps).toEqual([]);
    await http.request(profile, tt); // the third waits for the next minute
    expect(sleeps).toEqual([windowEnd - T0]);
    expect(now()).toBe(windowEnd);
    // Another endpoint has its own count.
    await http.request(profile, {
      ...tt,
      endpoint: 'POST /v2/video/query/',
      url: 'https://open.tiktokapis.com/v2/video/query/',
    });
    expect(sleeps).toHaveLength(1);
    expect(requests).toHaveLength(4);
  });

  it('does not send a paced request in the last moments of a window (the platform would count it in the next)', async () => {
    const ok = { body: { data: { videos: [] }, error: { code: 'ok', message: '', log_id: 'l' } } };
    const windowEnd = (Math.floor(T0 / 60_000) + 1) * 60_000;
    let clock = windowEnd - 100; // 100 ms before the boundary; the margin is 250 ms
    const { http, sleeps } = setup([ok], {
      now: () => clock,
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
    });
    await http.request(createTiktokProfile({ limit: 2, windowMs: 60_000 }), {
      endpoint: 'POST /v2/video/list/',
      method: 'POST',
      url: 'https://open.tiktokapis.com/v2/video/list/',
      json: {},
      credential,
    });
    expect(sleeps).toEqual([100]);
    expect(clock).toBe(windowEnd);
  });

  it('counts YouTube quota units locally and refuses a call that would exceed the day', async () => {
    const { http, requests } = setup([{ body: { items: [] } }, { body: { items: [] } }]);
    const profile = createYoutubeProfile(101);
    const yt = {
      endpoint: 'GET /youtube/v3/search',
      url: 'https://www.googleapis.com/youtube/v3/search',
      credential,
    };
    await http.request(profile, yt); // 100 units
    await http.request(profile, {
      ...yt,
      endpoint: 'GET /youtube/v3/videos',
      url: 'https://www.googleapis.com/youtube/v3/videos',
    }); // 1 unit
    await expect(
      http.request(profile, { ...yt, url: 'https://www.googleapis.com/youtube/v3/search?q=2' }),
    ).rejects.toMatchObject({ kind: 'quota_exceeded', platformCode: 'local_quota' });
    expect(requests).toHaveLength(2);
  });

  it('spends no quota unit in the last moments before the quota resets (the platform would charge the next window)', async () => {
    const profile = createYoutubeProfile(100);
    const reset = profile.quota?.resetAt(T0) ?? 0;
    let clock = reset - 100;
    const { http, sleeps } = setup([{ body: { items: [] } }], {
      now: () => clock,
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
    });
    await http.request(profile, {
      endpoint: 'GET /youtube/v3/videos',
      url: 'https://www.googleapis.com/youtube/v3/videos',
      credential,
    });
    expect(sleeps).toEqual([100]);
  });

  it('counts YouTube quota per project: every OAuth connection shares the units, an API key has its own', async () => {
    const { http, requests } = setup([
      { body: { items: [] } },
      { body: { items: [] } },
      { body: { items: [] } },
    ]);
    const profile = createYoutubeProfile(2);
    const yt = {
      endpoint: 'GET /youtube/v3/videos',
      url: 'https://www.googleapis.com/youtube/v3/videos',
    };
    await http.request(profile, {
      ...yt,
      credential: { id: 'conn-a', accessToken: 'token-aaaaaaaa' },
    });
    await http.request(profile, {
      ...yt,
      url: `${yt.url}?id=2`,
      credential: { id: 'conn-b', accessToken: 'token-bbbbbbbb' },
    });
    // A third connection of the same OAuth client finds the project's 2 units spent.
    await expect(
      http.request(profile, {
        ...yt,
        url: `${yt.url}?id=3`,
        credential: { id: 'conn-c', accessToken: 'token-cccccccc' },
      }),
    ).rejects.toMatchObject({ kind: 'quota_exceeded', platformCode: 'local_quota' });
    // An API key is another project.
    await http.request(profile, {
      ...yt,
      url: `${yt.url}?id=4`,
      credential: { id: 'conn-d', apiKey: 'AIzaSy-other-project' },
    });
    expect(requests).toHaveLength(3);
  });

  it('refuses a body larger than maxResponseBytes without reading it all, and never retries it', async () => {
    // Declared too large: refused before reading.
    const declared = setup(
      [{ body: { data: 'x'.repeat(64) }, headers: { 'content-length': '100000000' } }],
      { maxResponseBytes: 1024 },
    );
    await expect(declared.http.request(xProfile, req)).rejects.toMatchObject({
      kind: 'malformed_response',
      platformCode: 'response_too_large',
    });
    expect(declared.requests).toHaveLength(1);

    // Undeclared (chunked) and endless: the read stops at the bound and cancels the stream.
    let pulled = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(4096).fill(0x61));
      },
      cancel() {
        cancelled = true;
      },
    });
    const fetch = (() =>
      Promise.resolve(new Response(endless, { status: 200 }))) as typeof globalThis.fetch;
    const { http } = setup([], { fetch, maxResponseBytes: 64 * 1024 });
    const refused = await http.request(xProfile, req).catch((error: unknown) => error);
    expect(refused).toMatchObject({ kind: 'malformed_response' });
    expect((refused as Error).message).toContain('larger than 65536 bytes');
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(64);

    // At the bound exactly, with a byte-order mark as Response.text() drops it: read whole.
    const body = `\uFEFF${JSON.stringify({ data: 'é'.repeat(10) })}`;
    const exact = setup([{ body }], { maxResponseBytes: Buffer.byteLength(body) });
    expect((await exact.http.request(xProfile, req)).body).toEqual({ data: 'é'.repeat(10) });
  });

  it('records metrics per platform and endpoint', async () => {
    const { http, registry } = setup([
      { status: 500 },
      {
        headers: {
          'x-rate-limit-remaining': '41',
          'x-rate-limit-limit': '50',
          'x-rate-limit-reset': String(Math.floor(T0 / 1000) + 60),
        },
        body: {},
      },
    ]);
    await http.request(xProfile, req);
    const text = await registry.metrics();
    expect(text).toContain(
      'socialpulse_connector_requests_total{platform="x",endpoint="GET /2/users/:id/tweets",status="500"} 1',
    );
    expect(text).toContain(
      'socialpulse_connector_errors_total{platform="x",endpoint="GET /2/users/:id/tweets",kind="transient"} 1',
    );
    expect(text).toContain(
      'socialpulse_connector_budget_remaining{platform="x",endpoint="GET /2/users/:id/tweets"} 41',
    );
    expect(text).toMatch(
      /socialpulse_connector_wait_seconds_total\{platform="x",endpoint="GET \/2\/users\/:id\/tweets",reason="backoff"\} 0\.75/,
    );
  });
});
