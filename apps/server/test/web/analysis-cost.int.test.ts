import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../src/services/worker.js';
import {
  fakeLlmConfig,
  freshTestTenant,
  importTestPosts,
  mixedTexts,
  startTestWorker,
  submitTestAnalysis,
  summarised,
  testQueueConfig,
  waitForAnalysis,
} from '../support/analyses.js';
import type { TestUser } from '../support/app.js';
import { browserSuite, webTestsUnavailable } from '../support/browser.js';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';

/** What an analysis's traced calls cost, as GET …/cost answers. */
interface Cost {
  calls: number;
  errors: number;
  cost_usd: string;
  unpriced_calls: number;
}

/** A stored decimal without its trailing zeros, as the page shows it. */
const plain = (decimal: string): string =>
  decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal;

/**
 * An analysis's page in a real browser: the LLM cost it shows is every traced call (the job
 * summary's included), not only the stored results'; a model without a price is an unknown
 * cost, not $0; results without a sentiment say why in words; the start form offers the
 * sentiment engines the API takes.
 */
describe.skipIf(webTestsUnavailable() !== '')(
  'web app: an analysis’s cost and reasons (Chromium)',
  () => {
    let llm: FakeLlmServer;
    const suite = browserSuite(async () => {
      llm = await startFakeLlmServer();
      return { ...testQueueConfig, ...fakeLlmConfig(llm) };
    });
    let worker: RunningWorker | undefined;

    beforeAll(async () => {
      worker = await startTestWorker(suite.db, fakeLlmConfig(llm));
    });
    afterAll(async () => {
      await worker?.stop();
      await llm?.close();
    });

    async function signIn(page: Page, user: TestUser, next: string): Promise<void> {
      await page.goto(`${suite.server.url}/sign-in?next=${encodeURIComponent(next)}`);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    const fact = (page: Page, term: string) =>
      page.locator('dt', { hasText: new RegExp(`^${term}$`) }).locator('+ dd');
    const costOf = async (user: TestUser, ws: string, id: string): Promise<Cost> => {
      const res = await suite.server.app.inject({
        method: 'GET',
        url: `/v1/workspaces/${ws}/analyses/${id}/cost`,
        headers: user.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<Cost>();
    };

    it('shows what every model call cost, the job summary’s included, beside the stored results’ share', async () => {
      const { user, ws } = await freshTestTenant(suite.server.app, 20);
      const submitted = await submitTestAnalysis(suite.server.app, user, ws, {
        engines: ['local', 'llm'],
        posts: { limit: 20 },
        options: { chunk_size: 10 },
      });
      const done = await waitForAnalysis(suite.server.app, user, submitted.id, summarised);
      const cost = await costOf(user, ws, done.id);
      // The chunks' labelling calls and the job summary's.
      expect(cost.calls).toBeGreaterThanOrEqual(3);
      expect(Number(cost.cost_usd)).toBeGreaterThan(Number(done.usage.cost_usd));

      const page = await suite.newPage();
      await signIn(page, user, `/workspaces/${ws}/analyses/${done.id}`);
      const shown = fact(page, 'LLM cost');
      await expect.poll(() => shown.innerText()).toMatch(/^\$/);
      const text = await shown.innerText();
      expect(text).toMatch(
        new RegExp(
          `^\\$${plain(cost.cost_usd).replace('.', '\\.')} for ${cost.calls} calls, [\\d,]+ input and [\\d,]+ output tokens\\n`,
        ),
      );
      expect(text).toContain(`of which the stored results’ calls: $${plain(done.usage.cost_usd)}`);
      expect(await page.getByText(/^LLM usage$/).count()).toBe(0);
    });

    it('says that calls of a model without a price cost an unknown amount, never $0', async () => {
      const { user, ws } = await freshTestTenant(suite.server.app, 10, {
        model: 'house-model-without-a-price',
      });
      const submitted = await submitTestAnalysis(suite.server.app, user, ws, {
        engines: ['llm'],
        posts: { limit: 10 },
      });
      const done = await waitForAnalysis(suite.server.app, user, submitted.id, summarised);
      const cost = await costOf(user, ws, done.id);
      expect(cost.unpriced_calls).toBe(cost.calls);

      const page = await suite.newPage();
      await signIn(page, user, `/workspaces/${ws}/analyses/${done.id}`);
      const shown = fact(page, 'LLM cost');
      await expect.poll(() => shown.innerText()).toMatch(/^unknown/);
      expect(await shown.innerText()).toMatch(
        new RegExp(`^unknown \\(a model without a price\\) for ${cost.calls} calls, `),
      );
      expect(await shown.innerText()).not.toContain('$0');
    });

    it('tells how to go on when a budget pauses an analysis of a model without a price: not by raising the budget', async () => {
      const { user, ws } = await freshTestTenant(suite.server.app, 10, {
        model: 'house-model-without-a-price',
        monthly_budget_usd: '100',
      });
      const submitted = await submitTestAnalysis(suite.server.app, user, ws, {
        engines: ['llm'],
        posts: { limit: 10 },
      });
      const paused = await waitForAnalysis(suite.server.app, user, submitted.id);
      expect(paused.status).toBe('paused_budget');

      const page = await suite.newPage();
      await signIn(page, user, `/workspaces/${ws}/analyses/${paused.id}`);
      const alert = page.getByRole('alert').filter({ hasText: 'To go on' });
      await alert.waitFor();
      const text = await alert.innerText();
      expect(text).toContain(
        "To go on, remove the workspace's monthly LLM budget or choose a model with a price",
      );
      expect(text).not.toContain('raise');
    });

    it('says in words why a post has no sentiment, with the reason’s code as its title', async () => {
      const { user, ws } = await freshTestTenant(suite.server.app, 0);
      await importTestPosts(suite.server.app, user, ws, 6, (i) =>
        i % 2 === 0 ? '今日はとても良い天気ですね、みんなで公園に行きました' : mixedTexts(i),
      );
      const submitted = await submitTestAnalysis(suite.server.app, user, ws, {
        posts: { limit: 6 },
      });
      const done = await waitForAnalysis(suite.server.app, user, submitted.id);
      expect(done.status).toBe('completed');

      const page = await suite.newPage();
      await signIn(page, user, `/workspaces/${ws}/analyses/${done.id}`);
      const cells = page
        .getByRole('table', { name: 'Results' })
        .locator('tbody tr td:first-of-type');
      await expect.poll(() => cells.count()).toBe(6);
      const reasoned = cells.filter({ hasText: /^not analysed: / });
      expect(await reasoned.count()).toBe(3);
      expect(await reasoned.first().innerText()).toBe('not analysed: language not supported');
      expect(await reasoned.first().getAttribute('title')).toBe('unsupported_language');
      expect(await cells.filter({ hasText: /_/ }).count()).toBe(0);
    });

    it('offers every sentiment engine the API takes in the start form', async () => {
      const { user, ws } = await freshTestTenant(suite.server.app, 1);
      const page = await suite.newPage();
      await signIn(page, user, `/workspaces/${ws}/analyses`);
      const select = page.getByLabel('Sentiment', { exact: true });
      await select.waitFor();
      const values = await select
        .locator('option')
        .evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value));
      expect(values).toEqual(['default', 'model', 'vader']);
    });
  },
);
