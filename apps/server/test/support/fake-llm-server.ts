/**
 * A fake OpenAI-compatible server for tests and benchmarks: POST /v1/chat/completions answers
 * the structured-output requests of src/ai/ (schemas "post_labels" and "job_summary") with
 * deterministic labels, a realistic `usage` block and `x-ratelimit-*` headers; GET /v1/models
 * lists its model. Faults are injected per request number or at random with a seed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { countTokens, encodeChat } from 'gpt-tokenizer/model/gpt-4o';

export type FakeFault =
  | { kind: 'rate_limit'; retryAfter?: string } // 429 with Retry-After (seconds or HTTP date; default "1")
  | { kind: 'rate_limit_headers'; resetRequests?: string } // 429 with x-ratelimit-remaining-requests: 0 + reset (default "2s")
  | { kind: 'quota_exceeded' } // 429 insufficient_quota: not retryable
  | { kind: 'server_error' } // 500
  | { kind: 'unavailable'; retryAfter?: string } // 503
  | { kind: 'hang' } // never answers (until the client gives up or the server closes)
  | { kind: 'network_drop' } // destroys the socket without an answer
  | { kind: 'malformed_json' } // 200 whose message content is not JSON
  | { kind: 'truncated' } // 200, content cut in half, finish_reason "length"
  | { kind: 'wrong_ids' } // 200, labels carry ids that were not asked for (first post's id replaced)
  | { kind: 'bad_category' } // 200, the first post's category is outside the taxonomy
  | { kind: 'unauthorized' } // 401 echoing the key, like OpenAI does
  | { kind: 'refusal' }; // 200 with message.refusal

export interface FakeLlmBehaviour {
  /**
   * Time from a request's arrival to its answer (default 0), the server's own work (parsing,
   * labelling, counting tokens) included, as a provider's latency is: a benchmark at 200 ms per
   * chunk measures the client against 200 ms, not 200 ms plus this process's load.
   */
  latencyMs: number;
  /** Faults by 1-based number of the chat completion request. */
  faults: Record<number, FakeFault>;
  /** Random faults: each request draws from a seeded PRNG. */
  randomFaults: { probability: number; seed: number; kinds: FakeFault[] } | null;
  /** `model` in the answers (default: the request's model); e.g. a dated snapshot. */
  responseModel: string | null;
  /**
   * How the usage it reports is counted: `tokenizer` (default) encodes prompt and answer with
   * o200k as OpenAI does; `estimate` uses OpenAI's rule of thumb of 4 characters per token, so a
   * benchmark's fake provider does not take CPU from the system it measures on a small machine;
   * `none` leaves the `usage` block out, as some local OpenAI-compatible servers do.
   */
  usage: 'tokenizer' | 'estimate' | 'none';
  /** Cached prompt tokens reported for a request (default: half the prompt from the 2nd request on). */
  cachedTokens: (promptTokens: number, requestNumber: number) => number;
  /** Budget reported in x-ratelimit-* headers of normal answers. */
  rateLimit: {
    limitRequests: number;
    remainingRequests: number;
    resetRequests: string;
    limitTokens: number;
    remainingTokens: number;
    resetTokens: string;
  };
}

export interface RecordedRequest {
  number: number;
  method: string;
  path: string;
  /** Headers as received; the authorization header is kept so tests can check the key is sent. */
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  fault: FakeFault | null;
}

export interface FakeLlmServer {
  /** Base URL including /v1, as the client's baseUrl expects. */
  url: string;
  requests: RecordedRequest[];
  setBehaviour(patch: Partial<FakeLlmBehaviour>): void;
  /** Back to the start: default behaviour (plus the start options), no recorded requests, numbering from 1. */
  reset(): void;
  /** Prompt tokens the server counted for a request body (what it reports as usage). */
  countPromptTokens(body: unknown): number;
  /** Chat requests being handled now, and the most ever at once (for concurrency checks). */
  stats: { inFlight: number; maxInFlight: number };
  /**
   * Holds every chat answer (after its latency) until the returned function is called, or until
   * reset(): a test acts while a call is surely in flight, without betting on a latency.
   */
  hold(): () => void;
  close(): Promise<void>;
}

const defaultBehaviour = (): FakeLlmBehaviour => ({
  latencyMs: 0,
  faults: {},
  randomFaults: null,
  responseModel: null,
  usage: 'tokenizer',
  cachedTokens: (prompt, n) => (n > 1 ? Math.floor(prompt / 2) : 0),
  rateLimit: {
    limitRequests: 10_000,
    remainingRequests: 9_999,
    resetRequests: '6ms',
    limitTokens: 30_000_000,
    remainingTokens: 29_990_000,
    resetTokens: '0s',
  },
});

/** mulberry32: small, seeded, good enough for fault injection. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface ChatBody {
  model?: string;
  messages?: { role?: string; content?: string }[];
  response_format?: { json_schema?: { name?: string } };
}

const positive = /\b(love|great|happy|excellent|amazing|awesome|good|thanks|best)\b/i;
const negative = /\b(hate|bad|terrible|awful|angry|broken|worst|slow|refund|disappointed)\b/i;
const stopwords = new Set([
  'the',
  'a',
  'an',
  'and',
  'or',
  'is',
  'are',
  'to',
  'of',
  'in',
  'on',
  'for',
  'with',
  'this',
  'that',
  'it',
  'my',
  'i',
  'we',
  'you',
]);

/** Deterministic labels "by keywords": what a tiny, honest model would say. */
export function fakeLabel(
  text: string,
  categories: readonly string[],
): { topic: string; category: string | null; sentiment: string; rationale: string } {
  const sentiment = positive.test(text) ? 'positive' : negative.test(text) ? 'negative' : 'neutral';
  const lower = text.toLowerCase();
  const category = categories.find((c) => lower.includes(c.toLowerCase())) ?? null;
  const words = lower.match(/[a-z0-9]+/g)?.filter((w) => !stopwords.has(w)) ?? [];
  const topic = words.slice(0, 2).join(' ') || 'general';
  return {
    topic,
    category,
    sentiment,
    rationale: `keyword rules: sentiment ${sentiment}, category ${category ?? 'none'}`,
  };
}

const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

function promptTokens(body: ChatBody, usage: FakeLlmBehaviour['usage']): number {
  if (usage === 'estimate') {
    // 3 tokens per message and 3 to prime the reply, as OpenAI documents for chat.
    let total = 3;
    for (const m of body.messages ?? [])
      total += 3 + estimateTokens(`${m.role ?? ''}${m.content ?? ''}`);
    return body.response_format === undefined
      ? total
      : total + estimateTokens(JSON.stringify(body.response_format));
  }
  const messages = (body.messages ?? []).map((m) => ({
    role: (m.role ?? 'user') as 'system' | 'user' | 'assistant',
    content: m.content ?? '',
  }));
  const schema =
    body.response_format === undefined ? 0 : countTokens(JSON.stringify(body.response_format));
  return encodeChat(messages, 'gpt-4o').length + schema;
}

function answerContent(body: ChatBody, fault: FakeFault | null): string {
  const name = body.response_format?.json_schema?.name;
  const user = body.messages?.find((m) => m.role === 'user')?.content ?? '{}';
  let parsed: {
    categories?: string[];
    posts?: { id: string; text: string }[];
    chunkSummaries?: string[];
  } = {};
  try {
    parsed = JSON.parse(user) as typeof parsed;
  } catch {
    // not our format: answer with an empty label list
  }
  if (name === 'job_summary') {
    const n = parsed.chunkSummaries?.length ?? 0;
    return JSON.stringify({
      summary:
        `Across ${n} chunk summaries: ${(parsed.chunkSummaries ?? []).slice(0, 2).join(' ')}`.slice(
          0,
          500,
        ),
    });
  }
  const categories = parsed.categories ?? [];
  const labels = (parsed.posts ?? []).map((post) => ({
    id: post.id,
    ...fakeLabel(post.text, categories),
  }));
  if (fault?.kind === 'wrong_ids' && labels[0]) labels[0].id = `${labels[0].id}-not-asked`;
  if (fault?.kind === 'bad_category' && labels[0]) labels[0].category = 'not-a-category';
  const sentiments = labels.map((l) => l.sentiment);
  const summary = `${labels.length} posts: ${sentiments.filter((s) => s === 'positive').length} positive, ${sentiments.filter((s) => s === 'negative').length} negative.`;
  return JSON.stringify({ labels, summary });
}

export async function startFakeLlmServer(
  options: Partial<FakeLlmBehaviour> = {},
): Promise<FakeLlmServer> {
  const initial = (): FakeLlmBehaviour => ({ ...defaultBehaviour(), ...options });
  let behaviour = initial();
  let random = behaviour.randomFaults ? seededRandom(behaviour.randomFaults.seed) : null;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let chatCount = 0;
  let held: { until: Promise<void>; release: () => void } | null = null;
  const release = (): void => {
    held?.release();
    held = null;
  };
  const stats = { inFlight: 0, maxInFlight: 0 };

  const pickFault = (n: number): FakeFault | null => {
    const fixed = behaviour.faults[n];
    if (fixed) return fixed;
    const rf = behaviour.randomFaults;
    if (rf && random && rf.kinds.length > 0 && random() < rf.probability)
      return rf.kinds[Math.floor(random() * rf.kinds.length)] ?? null;
    return null;
  };

  const json = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };

  const rateHeaders = (): Record<string, string> => {
    const r = behaviour.rateLimit;
    return {
      'x-ratelimit-limit-requests': String(r.limitRequests),
      'x-ratelimit-remaining-requests': String(r.remainingRequests),
      'x-ratelimit-reset-requests': r.resetRequests,
      'x-ratelimit-limit-tokens': String(r.limitTokens),
      'x-ratelimit-remaining-tokens': String(r.remainingTokens),
      'x-ratelimit-reset-tokens': r.resetTokens,
    };
  };

  const handleChat = async (
    req: IncomingMessage,
    res: ServerResponse,
    raw: string,
    arrivedAt: number,
  ): Promise<void> => {
    const latency = async (): Promise<void> => {
      const left = behaviour.latencyMs - (performance.now() - arrivedAt);
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      if (held) await held.until;
    };
    const number = ++chatCount;
    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      json(res, 400, {
        error: { message: 'request body is not JSON', type: 'invalid_request_error' },
      });
      return;
    }
    const fault = pickFault(number);
    requests.push({
      number,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      fault,
    });
    if (fault) await latency();

    switch (fault?.kind) {
      case 'hang':
        return; // the socket stays open until the client aborts or close() destroys it
      case 'network_drop':
        req.socket.destroy();
        return;
      case 'rate_limit':
        json(
          res,
          429,
          {
            error: {
              message: 'Rate limit reached for requests',
              type: 'requests',
              code: 'rate_limit_exceeded',
            },
          },
          { ...rateHeaders(), 'retry-after': fault.retryAfter ?? '1' },
        );
        return;
      case 'rate_limit_headers':
        json(
          res,
          429,
          {
            error: {
              message: 'Rate limit reached for requests',
              type: 'requests',
              code: 'rate_limit_exceeded',
            },
          },
          {
            ...rateHeaders(),
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-reset-requests': fault.resetRequests ?? '2s',
          },
        );
        return;
      case 'quota_exceeded':
        json(res, 429, {
          error: {
            message: 'You exceeded your current quota',
            type: 'insufficient_quota',
            code: 'insufficient_quota',
          },
        });
        return;
      case 'server_error':
        json(res, 500, {
          error: {
            message: 'The server had an error while processing your request',
            type: 'server_error',
          },
        });
        return;
      case 'unavailable':
        json(
          res,
          503,
          { error: { message: 'The engine is currently overloaded', type: 'server_error' } },
          fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
        );
        return;
      case 'unauthorized': {
        const auth = req.headers.authorization ?? '';
        json(res, 401, {
          error: {
            message: `Incorrect API key provided: ${auth.replace(/^Bearer\s+/i, '')}.`,
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        });
        return;
      }
      default:
        break;
    }

    let content = answerContent(body, fault);
    let finishReason = 'stop';
    let refusal: string | null = null;
    if (fault?.kind === 'malformed_json')
      content = `Sure! Here are the labels: ${content.slice(0, 40)}`;
    if (fault?.kind === 'truncated') {
      content = content.slice(0, Math.floor(content.length / 2));
      finishReason = 'length';
    }
    if (fault?.kind === 'refusal') {
      refusal = "I'm sorry, I can't help with that.";
      content = '';
    }
    const prompt = promptTokens(body, behaviour.usage);
    const completion =
      behaviour.usage === 'estimate' ? estimateTokens(content) : countTokens(content);
    await latency();
    json(
      res,
      200,
      {
        id: `chatcmpl-fake-${number}`,
        object: 'chat.completion',
        created: 1_700_000_000 + number,
        model: behaviour.responseModel ?? body.model ?? 'fake-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: refusal ? null : content, refusal },
            finish_reason: finishReason,
          },
        ],
        ...(behaviour.usage === 'none'
          ? {}
          : {
              usage: {
                prompt_tokens: prompt,
                completion_tokens: completion,
                total_tokens: prompt + completion,
                prompt_tokens_details: {
                  cached_tokens: Math.min(prompt, behaviour.cachedTokens(prompt, number)),
                },
              },
            }),
      },
      rateHeaders(),
    );
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const arrivedAt = performance.now();
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        let done = false;
        const finish = (): void => {
          if (!done) stats.inFlight--;
          done = true;
        };
        res.on('close', finish);
        handleChat(req, res, raw, arrivedAt).catch((error: unknown) => {
          if (!res.headersSent) json(res, 500, { error: { message: String(error) } });
        });
        return;
      }
      if (req.method === 'GET' && path === '/v1/models') {
        requests.push({
          number: 0,
          method: 'GET',
          path: req.url ?? '',
          headers: req.headers,
          body: null,
          fault: null,
        });
        json(res, 200, {
          object: 'list',
          data: [
            {
              id: behaviour.responseModel ?? 'gpt-4o-mini',
              object: 'model',
              created: 1_700_000_000,
              owned_by: 'fake',
            },
          ],
        });
        return;
      }
      json(res, 404, {
        error: {
          message: `no route ${req.method ?? ''} ${path ?? ''}`,
          type: 'invalid_request_error',
        },
      });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    setBehaviour(patch) {
      behaviour = { ...behaviour, ...patch };
      if (patch.randomFaults !== undefined)
        random = patch.randomFaults ? seededRandom(patch.randomFaults.seed) : null;
    },
    reset() {
      behaviour = initial();
      random = behaviour.randomFaults ? seededRandom(behaviour.randomFaults.seed) : null;
      release();
      requests.length = 0;
      chatCount = 0;
      stats.maxInFlight = stats.inFlight;
    },
    countPromptTokens: (body) => promptTokens(body as ChatBody, behaviour.usage),
    stats,
    hold() {
      if (!held) {
        let resolve!: () => void;
        const until = new Promise<void>((r) => (resolve = r));
        held = { until, release: resolve };
      }
      return release;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        release();
        for (const socket of sockets) socket.destroy();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
