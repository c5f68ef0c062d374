import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  IsolatedCircuitError,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import type { Registry } from 'prom-client';
import type { Platform } from '@socialpulse/contracts';
import type { Credential } from '../connector.js';
import { ConnectorError, isConnectorError, redactUrl, scrubSecrets } from '../errors.js';
import { InMemoryBudgetStore, type BudgetStore } from './budget-store.js';
import { parseRetryAfter, type BudgetObservation } from './headers.js';
import { connectorMetrics, type ConnectorMetrics } from './metrics.js';
import { parseJsonKeepingBigInts } from './safe-json.js';
import { createPublicOnlyDispatcher, hostPortOf, NonPublicAddressError } from './public-address.js';

/** A response as the platform sent it, before it is judged. */
export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else the text ('' when empty). */
  body: unknown;
}

export interface ClassifyContext {
  endpoint: string;
  nowMs: number;
}

/** What the HTTP layer knows about one platform: its budget headers, quota and error format. */
export interface PlatformProfile {
  platform: Platform;
  /** The budget the headers describe is per endpoint (X) or shared by every endpoint of a credential (Mastodon, Reddit, Meta, Bluesky). */
  budgetScope: 'endpoint' | 'credential';
  readBudget(headers: Headers, nowMs: number): BudgetObservation | null;
  /** A typed error for a failed response (including errors inside a 2xx), or null for success. */
  classify(response: RawResponse, context: ClassifyContext): ConnectorError | null;
  /** Quota counted locally (YouTube sends no headers): units per window and the cost of each endpoint. */
  quota?: { limit: number; cost(endpoint: string): number; resetAt(nowMs: number): number };
  /**
   * A limit the platform documents but never announces in headers (TikTok: 600 requests per minute
   * per endpoint): counted locally per budget key in windows aligned to the epoch, so requests wait
   * for the next window instead of learning the limit from a 429. Windows must be longer than 2 s.
   */
  declaredLimit?: { limit: number; windowMs: number };
  /** Send If-None-Match with the ETag of the last response to the same URL. */
  conditionalRequests?: boolean;
}

export interface HttpRequest {
  /** Route template for budgets and metrics: `GET /2/users/:id/tweets`. */
  endpoint: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  query?: Record<string, string | number | boolean | null | undefined>;
  /** JSON request body (POST). */
  json?: unknown;
  /** `application/x-www-form-urlencoded` body (OAuth token endpoints). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Overrides the client's attempts (a single-use authorization code or a rotating refresh token must not be sent twice). */
  maxAttempts?: number;
  /** Further secrets of this request (a client secret, a refresh token) scrubbed from error messages. */
  secrets?: readonly string[];
  /**
   * `json` (default): a 2xx body must be JSON (or empty), else the request fails with
   * `malformed_response`; `ignored`: the caller does not read the body (a revocation).
   */
  responseBody?: 'json' | 'ignored';
  credential: Credential;
  signal?: AbortSignal;
}

export interface HttpResponse extends RawResponse {
  /** The URL requested, credentials redacted. */
  url: string;
  /** True when a 304 was answered from the cache. */
  fromCache: boolean;
  attempts: number;
  /** When the response arrived (epoch ms): the capture time of the metrics in it. */
  receivedAt: number;
}

export interface HttpClientOptions {
  fetch?: typeof fetch;
  /** Epoch ms; default Date.now. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1); for jitter. */
  random?: () => number;
  /** A signal that aborts after `ms` (per attempt, including the body); default AbortSignal.timeout. */
  timeoutSignal?: (ms: number) => AbortSignal;
  budgetStore?: BudgetStore;
  registry?: Registry;
  timeoutMs?: number;
  /** Attempts per request, the first included (default 4). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * Longest wait (for a budget window, a Retry-After or a back-off) worth sleeping through; a longer
   * one fails now with rate_limited and resetAt, so the scheduler can come back later (default 60 s).
   */
  maxWaitMs?: number;
  circuitBreaker?: { consecutiveFailures?: number; halfOpenAfterMs?: number };
  /** ETags remembered for conditional requests (default 500). */
  etagCacheSize?: number;
  /**
   * The largest response body read (default 16 MiB; a platform's page is well under 1 MiB). A
   * Mastodon instance is named by a user: without a bound, one answering endlessly would fill the
   * memory of the process that every workspace shares.
   */
  maxResponseBytes?: number;
  userAgent?: string;
  /**
   * Origins the operator configured (the simulator, a proxy: `http://127.0.0.1:4010`). Every other
   * origin is reached only at public addresses, checked after DNS at connect time (see
   * public-address.ts): a platform host is named by code, but a Mastodon instance or a redirect
   * target is named by a user.
   */
  trustedOrigins?: readonly string[];
}

export interface HttpClient {
  request(profile: PlatformProfile, request: HttpRequest): Promise<HttpResponse>;
  budgetKey(profile: PlatformProfile, endpoint: string, credential: Credential): string;
  readonly store: BudgetStore;
}

class ResponseTooLarge extends Error {
  constructor(readonly status: number) {
    super('response too large');
  }
}

/**
 * The body as text, read no further than `maxBytes`: a declared length above it is refused before
 * reading, and a body that grows past it is cancelled there.
 */
async function readBody(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLarge(response.status);
  }
  if (response.body === null) return '';
  // A fetch Response's body is a byte stream (the DOM types leave its chunks untyped here).
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge(response.status);
    }
    chunks.push(value);
  }
  // As Response.text() decodes: UTF-8, a byte-order mark dropped, bad bytes replaced.
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : {});

function buildUrl(url: string, query: HttpRequest['query']): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) u.searchParams.set(name, String(value));
  }
  return u.toString();
}

/** The refusal of public-address.ts, however deep undici wrapped it. */
function nonPublicCause(error: unknown): NonPublicAddressError | null {
  for (
    let e: unknown = error, depth = 0;
    e instanceof Error && depth < 5;
    e = e.cause, depth += 1
  ) {
    if (e instanceof NonPublicAddressError) return e;
  }
  return null;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** No quota unit is spent this close to the quota window's reset. */
const QUOTA_MARGIN_MS = 250;

/** The one outbound HTTP client of the connectors. See connectors/README.md. */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const timeoutSignal = options.timeoutSignal ?? ((ms: number) => AbortSignal.timeout(ms));
  const store = options.budgetStore ?? new InMemoryBudgetStore();
  const metrics: ConnectorMetrics = connectorMetrics(options.registry);
  // Only a real fetch takes the dispatcher; an injected one (tests, replay) gets none.
  const dispatcher =
    options.fetch === undefined
      ? {
          dispatcher: createPublicOnlyDispatcher(
            new Set((options.trustedOrigins ?? []).map(hostPortOf)),
          ),
        }
      : {};
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const backoffBaseMs = options.backoffBaseMs ?? 1_000;
  const backoffMaxMs = options.backoffMaxMs ?? 60_000;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const etagCacheSize = options.etagCacheSize ?? 500;
  const maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  const userAgent =
    options.userAgent ?? 'socialpulse-connector/0.1 (+https://github.com/socialpulse)';

  const breakers = new Map<string, CircuitBreakerPolicy>();
  const inFlight = new Map<string, Promise<HttpResponse>>();
  const etags = new Map<string, { etag: string; response: RawResponse }>();

  const budgetKey = (profile: PlatformProfile, endpoint: string, credential: Credential): string =>
    profile.budgetScope === 'endpoint'
      ? `${profile.platform}|${endpoint}|${credential.id}`
      : `${profile.platform}|*|${credential.id}`;

  /**
   * A platform quota (YouTube's daily units) belongs to the Google Cloud project that owns the API
   * key or the OAuth client, not to one connection: every OAuth token of the deployment draws on the
   * same units, an API key on its own project's. (Keyed per credential, N connections spent N times
   * the quota and met `quotaExceeded`, which blocks until midnight Pacific.)
   */
  const quotaKey = (profile: PlatformProfile, credential: Credential): string =>
    `${profile.platform}|quota|${credential.apiKey !== undefined ? `key:${createHash('sha256').update(credential.apiKey).digest('hex').slice(0, 16)}` : 'oauth'}`;

  function breakerFor(platform: Platform, credential: Credential): CircuitBreakerPolicy {
    const key = `${platform}|${credential.id}`;
    let breaker = breakers.get(key);
    if (!breaker) {
      breaker = circuitBreaker(
        handleWhen((error) => isConnectorError(error) && error.kind === 'transient'),
        {
          halfOpenAfter: options.circuitBreaker?.halfOpenAfterMs ?? 30_000,
          breaker: new ConsecutiveBreaker(options.circuitBreaker?.consecutiveFailures ?? 5),
        },
      );
      breakers.set(key, breaker);
    }
    return breaker;
  }

  function backoff(attempt: number): number {
    const exp = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(exp * (0.5 + random() / 2));
  }

  function secretsOf(credential: Credential, extra: readonly string[] = []): string[] {
    return [credential.accessToken, credential.apiKey, ...extra].filter(
      (s): s is string => s !== undefined && s !== '',
    );
  }

  function scrubError(
    error: ConnectorError,
    credential: Credential,
    extra?: readonly string[],
  ): ConnectorError {
    const scrubbed = scrubSecrets(error.message, secretsOf(credential, extra));
    if (scrubbed === error.message) return error;
    return new ConnectorError(error.kind, scrubbed, {
      platform: error.platform,
      endpoint: error.endpoint ?? undefined,
      httpStatus: error.httpStatus,
      platformCode: error.platformCode,
      resetAt: error.resetAt,
      retryAfterMs: error.retryAfterMs,
      retryable: error.retryable,
    });
  }

  /** One HTTP exchange: fetch, read the body, record the budget; no judgement. */
  async function exchange(
    profile: PlatformProfile,
    request: HttpRequest,
    url: string,
  ): Promise<RawResponse> {
    const method = request.method ?? 'GET';
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': userAgent,
      ...request.headers,
    };
    if (request.credential.accessToken !== undefined)
      headers.authorization = `Bearer ${request.credential.accessToken}`;
    if (request.credential.apiKey !== undefined)
      headers['x-goog-api-key'] = request.credential.apiKey;
    let body: string | undefined;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    } else if (request.form !== undefined) {
      body = new URLSearchParams(request.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const cacheKey = `${request.credential.id} ${url}`;
    const cached =
      method === 'GET' && profile.conditionalRequests ? etags.get(cacheKey) : undefined;
    if (cached) headers['if-none-match'] = cached.etag;

    const timeout = timeoutSignal(timeoutMs);
    const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(url, {
        method,
        headers,
        body,
        signal,
        redirect: 'follow',
        ...dispatcher,
      });
      text = await readBody(response, maxResponseBytes);
    } catch (error) {
      if (error instanceof ResponseTooLarge) {
        metrics.requests.inc({
          platform: profile.platform,
          endpoint: request.endpoint,
          status: String(error.status),
        });
        throw new ConnectorError(
          'malformed_response',
          `${profile.platform} ${request.endpoint}: the response is larger than ${maxResponseBytes} bytes; not read`,
          {
            platform: profile.platform,
            endpoint: request.endpoint,
            platformCode: 'response_too_large',
            details: { max_bytes: maxResponseBytes },
          },
        );
      }
      metrics.requests.inc({
        platform: profile.platform,
        endpoint: request.endpoint,
        status: 'network',
      });
      if (request.signal?.aborted) throw error;
      const refused = nonPublicCause(error);
      if (refused)
        throw new ConnectorError(
          'forbidden',
          `${profile.platform} ${request.endpoint}: refused to connect: ${refused.message}`,
          {
            platform: profile.platform,
            endpoint: request.endpoint,
            platformCode: refused.code,
            details: { host: refused.host },
          },
        );
      const timedOut = isAbort(error) || timeout.aborted;
      throw new ConnectorError(
        'transient',
        timedOut
          ? `${profile.platform} ${request.endpoint}: no answer within ${timeoutMs} ms`
          : `${profile.platform} ${request.endpoint}: network error (${scrubSecrets(error instanceof Error ? error.message : String(error), secretsOf(request.credential, request.secrets))})`,
        {
          platform: profile.platform,
          endpoint: request.endpoint,
          platformCode: timedOut ? 'timeout' : 'network',
        },
      );
    }
    metrics.requests.inc({
      platform: profile.platform,
      endpoint: request.endpoint,
      status: String(response.status),
    });

    const nowMs = now();
    const observation = profile.readBudget(response.headers, nowMs);
    if (observation !== null) {
      await store.observe(
        budgetKey(profile, request.endpoint, request.credential),
        observation,
        nowMs,
      );
      if (observation.remaining !== null)
        metrics.remaining.set(
          { platform: profile.platform, endpoint: request.endpoint },
          observation.remaining,
        );
    }

    if (response.status === 304 && cached) {
      metrics.cacheHits.inc({ platform: profile.platform, endpoint: request.endpoint });
      return { ...cached.response, headers: response.headers };
    }
    let parsed: unknown = text;
    let notJson: string | null = null;
    const type = response.headers.get('content-type') ?? '';
    if (text !== '' && (type.includes('json') || /^\s*[[{]/.test(text))) {
      try {
        parsed = parseJsonKeepingBigInts(text);
      } catch {
        parsed = text;
        // Not the parser's message: it quotes the body, which may hold tokens.
        notJson = 'it does not parse: truncated or not JSON';
      }
    } else if (text.trim() !== '') {
      notJson = `a ${type === '' ? 'body without content-type' : type} body`;
    }
    // A 2xx the caller reads must be the JSON the platform documents: read as text, a truncated
    // or foreign body (a proxy's HTML page) became an empty page, and a sync took it for the end
    // of the account's history. Error bodies stay text (X's 429 is text/plain).
    if (
      notJson !== null &&
      response.status >= 200 &&
      response.status < 300 &&
      request.responseBody !== 'ignored'
    )
      throw new ConnectorError(
        'malformed_response',
        `${profile.platform} ${request.endpoint}: the ${response.status} response is not valid JSON (${notJson}; ${text.length} characters)`,
        {
          platform: profile.platform,
          endpoint: request.endpoint,
          httpStatus: response.status,
          platformCode: 'invalid_json',
        },
      );
    const raw: RawResponse = { status: response.status, headers: response.headers, body: parsed };
    const etag = response.headers.get('etag');
    if (
      method === 'GET' &&
      profile.conditionalRequests &&
      etag !== null &&
      response.status === 200
    ) {
      if (etags.size >= etagCacheSize) {
        const oldest = etags.keys().next();
        if (!oldest.done) etags.delete(oldest.value);
      }
      etags.set(cacheKey, { etag, response: raw });
    }
    return raw;
  }

  async function waitFor(
    ms: number,
    profile: PlatformProfile,
    endpoint: string,
    reason: string,
    signal?: AbortSignal,
  ): Promise<void> {
    if (ms <= 0) return;
    metrics.waitSeconds.inc({ platform: profile.platform, endpoint, reason }, ms / 1000);
    await sleep(ms, signal);
  }

  async function run(
    profile: PlatformProfile,
    request: HttpRequest,
    url: string,
  ): Promise<HttpResponse> {
    const key = budgetKey(profile, request.endpoint, request.credential);
    const breaker = breakerFor(profile.platform, request.credential);
    // Exchanges actually started: a caller counting the platform's requests must not count a
    // request a local budget, quota or open circuit refused before it left.
    let sent = 0;
    const fail = (error: ConnectorError): never => {
      metrics.errors.inc({
        platform: profile.platform,
        endpoint: request.endpoint,
        kind: error.kind,
      });
      const scrubbed = scrubError(error, request.credential, request.secrets);
      scrubbed.requestsSent = sent;
      throw scrubbed;
    };
    const attempts = Math.max(1, request.maxAttempts ?? maxAttempts);

    for (let attempt = 1; ; attempt += 1) {
      // Wait for the budget rather than break it; a wait too long to sleep through is reported.
      for (;;) {
        if (profile.declaredLimit) {
          const { limit, windowMs } = profile.declaredLimit;
          const nowMs = now();
          const windowEnd = (Math.floor(nowMs / windowMs) + 1) * windowMs;
          // A request sent in a window's last moments is counted by the platform in the next one,
          // which the local count would then allow in full: wait those moments out.
          const marginMs = Math.min(250, windowMs / 20);
          if (windowEnd - nowMs < marginMs) {
            await waitFor(windowEnd - nowMs, profile, request.endpoint, 'budget', request.signal);
            continue;
          }
          // Seeds the current window's count; within one window the store keeps the lower remaining.
          await store.observe(key, { limit, remaining: limit, resetAt: windowEnd }, nowMs);
        }
        const wait = await store.take(key, now());
        if (wait <= 0) break;
        if (wait > maxWaitMs) {
          fail(
            new ConnectorError(
              'rate_limited',
              `${profile.platform} ${request.endpoint}: request budget spent; it resets in ${Math.ceil(wait / 1000)} s`,
              {
                platform: profile.platform,
                endpoint: request.endpoint,
                resetAt: now() + wait,
                retryAfterMs: wait,
                platformCode: 'local_budget',
              },
            ),
          );
        }
        await waitFor(wait, profile, request.endpoint, 'budget', request.signal);
      }
      if (profile.quota) {
        const units = profile.quota.cost(request.endpoint);
        // As with declared limits: units spent in the quota window's last moments would be charged
        // by the platform to the next window, which the local count then allows in full.
        const untilReset = profile.quota.resetAt(now()) - now();
        if (untilReset < QUOTA_MARGIN_MS)
          await waitFor(untilReset, profile, request.endpoint, 'budget', request.signal);
        const resetAt = profile.quota.resetAt(now());
        const quota = await store.consumeQuota(
          quotaKey(profile, request.credential),
          units,
          profile.quota.limit,
          resetAt,
          now(),
        );
        metrics.remaining.set(
          { platform: profile.platform, endpoint: 'quota' },
          Math.max(0, profile.quota.limit - quota.used),
        );
        if (!quota.allowed) {
          fail(
            new ConnectorError(
              'quota_exceeded',
              `${profile.platform} ${request.endpoint}: the daily quota (${profile.quota.limit} units) would be exceeded by ${units} more; it resets at ${new Date(resetAt).toISOString()}`,
              {
                platform: profile.platform,
                endpoint: request.endpoint,
                resetAt,
                platformCode: 'local_quota',
              },
            ),
          );
        }
      }

      let error: ConnectorError;
      try {
        const raw = await breaker.execute(async () => {
          sent += 1;
          const response = await exchange(profile, request, url);
          const classified = profile.classify(response, {
            endpoint: request.endpoint,
            nowMs: now(),
          });
          if (classified) throw classified;
          return response;
        });
        return {
          ...raw,
          url: redactUrl(url),
          fromCache: false,
          attempts: attempt,
          receivedAt: now(),
        };
      } catch (caught) {
        if (caught instanceof BrokenCircuitError || caught instanceof IsolatedCircuitError) {
          fail(
            new ConnectorError(
              'circuit_open',
              `${profile.platform}: circuit open after repeated failures; not calling ${request.endpoint}`,
              {
                platform: profile.platform,
                endpoint: request.endpoint,
                retryAfterMs: options.circuitBreaker?.halfOpenAfterMs ?? 30_000,
              },
            ),
          );
        }
        if (!isConnectorError(caught)) throw caught;
        error = caught;
      }

      const resetAt = error.resetAt;
      if (error.kind === 'rate_limited' && resetAt !== null) await store.blockUntil(key, resetAt);
      else if (error.kind === 'rate_limited' && error.retryAfterMs !== null)
        await store.blockUntil(key, now() + error.retryAfterMs);
      if (!error.retryable || attempt >= attempts) fail(error);
      const announced = Math.max(error.retryAfterMs ?? 0, resetAt === null ? 0 : resetAt - now());
      const wait = Math.max(announced, backoff(attempt));
      if (announced > maxWaitMs) fail(error);
      metrics.errors.inc({
        platform: profile.platform,
        endpoint: request.endpoint,
        kind: error.kind,
      });
      // A rate-limit wait happens at the top of the loop (the budget is blocked); others back off here.
      if (error.kind !== 'rate_limited')
        await waitFor(
          Math.min(wait, maxWaitMs),
          profile,
          request.endpoint,
          'backoff',
          request.signal,
        );
      else if (announced === 0)
        await waitFor(
          Math.min(wait, maxWaitMs),
          profile,
          request.endpoint,
          'backoff',
          request.signal,
        );
    }
  }

  return {
    store,
    budgetKey,
    request(profile, request) {
      const url = buildUrl(request.url, request.query);
      const method = request.method ?? 'GET';
      if (method !== 'GET') return run(profile, request, url);
      // Identical GETs in flight share one exchange.
      const key = `${profile.platform} ${request.credential.id} ${url}`;
      const pending = inFlight.get(key);
      if (pending) return pending;
      const promise = run(profile, request, url).finally(() => inFlight.delete(key));
      inFlight.set(key, promise);
      return promise;
    },
  };
}

/** Shared classification by HTTP status, for what a platform's own error format does not settle. */
export function classifyByStatus(
  platform: Platform,
  status: number,
  context: ClassifyContext,
  message: string,
  extra: { headers?: Headers; platformCode?: string | number | null; resetAt?: number | null } = {},
): ConnectorError | null {
  const base = {
    platform,
    endpoint: context.endpoint,
    httpStatus: status,
    platformCode: extra.platformCode ?? null,
  };
  const retryAfterMs = extra.headers
    ? parseRetryAfter(extra.headers.get('retry-after'), context.nowMs)
    : null;
  if (status >= 200 && status < 300) return null;
  if (status === 429)
    return new ConnectorError('rate_limited', message, {
      ...base,
      resetAt: extra.resetAt ?? (retryAfterMs === null ? null : context.nowMs + retryAfterMs),
      retryAfterMs,
    });
  if (status === 401) return new ConnectorError('auth_expired', message, base);
  if (status === 403) return new ConnectorError('forbidden', message, base);
  if (status === 404 || status === 410) return new ConnectorError('not_found', message, base);
  if (status === 408 || status >= 500)
    return new ConnectorError('transient', message, { ...base, retryAfterMs });
  if (status >= 400) return new ConnectorError('bad_request', message, base);
  return new ConnectorError('malformed_response', message, base);
}
