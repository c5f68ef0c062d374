import type { Analysis } from '@socialpulse/contracts';
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import type { ZodApp } from '../../src/api/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { startWorker, type RunningWorker } from '../../src/services/worker.js';
import type { ChunkWorkerOptions } from '../../src/domain/analyses/chunk-worker.js';
import { createWorkspaceAs, signUpUser, type TestUser } from './app.js';
import type { FakeLlmServer } from './fake-llm-server.js';
import type { TestDatabase } from './db.js';
import { postRecord, toJsonl } from './factories.js';

/** Queue settings of the test template (see global-setup.ts), as configuration. */
export const testQueueConfig: ConfigOverrides = {
  ANALYSIS_CHUNK_ATTEMPTS: '3',
  ANALYSIS_RETRY_DELAY_SECONDS: '1',
  ANALYSIS_RETRY_DELAY_MAX_SECONDS: '2',
  ANALYSIS_LEASE_SECONDS: '10',
  ANALYSIS_SUPERVISE_INTERVAL_SECONDS: '1',
  ANALYSIS_POLL_INTERVAL_MS: '100',
};

/** Imports `n` posts through the API; returns their ids as the API lists them (oldest first). */
export async function importTestPosts(
  app: ZodApp,
  user: TestUser,
  workspaceId: string,
  n: number,
  text: (i: number) => string = (i) => `post ${i} is great fun`,
): Promise<void> {
  const records = Array.from({ length: n }, (_, i) => postRecord({ text: text(i) }));
  const res = await app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/imports`,
    headers: { ...user.headers, 'content-type': 'application/x-ndjson' },
    payload: toJsonl(records),
  });
  if (res.statusCode !== 201) throw new Error(`import failed: ${res.statusCode} ${res.body}`);
}

/** Submits an analysis through the API (202), as `user`; returns it as the API answered. */
export async function submitTestAnalysis(
  app: ZodApp,
  user: TestUser,
  workspaceId: string,
  body: Record<string, unknown> = {},
): Promise<Analysis> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/analyses`,
    headers: user.headers,
    payload: body,
  });
  if (res.statusCode !== 202) throw new Error(`submit failed: ${res.statusCode} ${res.body}`);
  return res.json<Analysis>();
}

export async function startTestWorker(
  db: TestDatabase,
  overrides: ConfigOverrides = {},
  hooks: Partial<Pick<ChunkWorkerOptions, 'onChunk' | 'llmFor'>> = {},
): Promise<RunningWorker> {
  const config = loadConfig(
    { LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...testQueueConfig, ...overrides },
    {},
  );
  return startWorker(config, { url: db.url, secrets: db.secrets }, createLogger('silent'), hooks);
}

/** Polls the analysis until `done` holds (tests never sleep blindly; this waits for a state). */
export async function waitForAnalysis(
  app: ZodApp,
  user: { headers: Record<string, string> },
  id: string,
  done: (a: Analysis) => boolean = (a) =>
    ['completed', 'completed_with_errors', 'failed', 'cancelled', 'paused_budget'].includes(
      a.status,
    ),
  timeoutMs = 50_000,
): Promise<Analysis> {
  const deadline = Date.now() + timeoutMs;
  let last: Analysis | undefined;
  while (Date.now() < deadline) {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/analyses/${id}`,
      headers: user.headers,
    });
    if (res.statusCode !== 200) throw new Error(`GET analysis: ${res.statusCode} ${res.body}`);
    last = res.json<Analysis>();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `analysis ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
  );
}

/** An LLM analysis done with its job summary stored (for waitForAnalysis). */
export const summarised = (a: Analysis): boolean => a.status === 'completed' && a.summary !== null;

/** Posts for the jobs tests: praise and complaints, alternately. */
export const mixedTexts = (i: number): string =>
  i % 2 === 0 ? `I love the new release ${i}, great work` : `The app is broken and slow again ${i}`;

/** The instance's LLM configuration, pointing at the fake OpenAI-compatible server. */
export const fakeLlmConfig = (llm: FakeLlmServer): Record<string, string> => ({
  LLM_BASE_URL: llm.url,
  LLM_MODEL: 'gpt-4o-mini',
  LLM_API_KEY: 'sk-test-secret',
});

/** Sets a workspace's LLM settings through the API. */
export async function patchLlmSettings(
  app: ZodApp,
  user: TestUser,
  workspaceId: string,
  llmSettings: Record<string, unknown>,
): Promise<void> {
  const res = await app.inject({
    method: 'PATCH',
    url: `/v1/workspaces/${workspaceId}/analysis-settings`,
    headers: user.headers,
    payload: { llm: llmSettings },
  });
  if (res.statusCode !== 200) throw new Error(`analysis settings: ${res.statusCode} ${res.body}`);
}

/** A new user and workspace with `posts` posts (mixedTexts), and its LLM settings when given. */
export async function freshTestTenant(
  app: ZodApp,
  posts: number,
  llmSettings?: Record<string, unknown>,
): Promise<{ user: TestUser; ws: string }> {
  const user = await signUpUser(app);
  const ws = await createWorkspaceAs(app, user);
  await importTestPosts(app, user, ws, posts, mixedTexts);
  if (llmSettings) await patchLlmSettings(app, user, ws, llmSettings);
  return { user, ws };
}
