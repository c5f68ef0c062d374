import type { Page, Request } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { importTestPosts, patchLlmSettings, submitTestAnalysis } from '../support/analyses.js';
import { insertTraces } from '../../src/db/repos/traces.repo.js';
import { createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';

/** This test's TypeScript has no DOM types: the page's globals, as far as these tests need them. */
interface PageGlobals {
  document: { documentElement: { scrollWidth: number } };
}
/** The page's width as laid out (run in the page: it may use nothing of this module). */
const pageWidth = (page: Page): Promise<number> =>
  page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth);

/**
 * The workspace dashboard in a real browser: a form whose session ended offers a way to sign in
 * again that keeps its edits; narrow screens scroll tables, not the page; money reads as money;
 * the posts search lives in the address; one-time notices show once, on every page; the
 * analyses list says what each analysis covered; a blank workspace name is refused by the form.
 */
describe.skipIf(webTestsUnavailable() !== '')('web app: workspace dashboard (Chromium)', () => {
  const suite = browserSuite();
  let owner: TestUser;
  let workspaceId: string;

  beforeAll(async () => {
    owner = await signUpUser(suite.server.app, 'owner@example.com');
    workspaceId = await createWorkspaceAs(suite.server.app, owner, 'Acme');
    await importTestPosts(suite.server.app, owner, workspaceId, 3, (i) =>
      i === 0
        ? 'this is awful'
        : `roast ${i}: a long post about the new roastery downtown, its beans, its staff and its queue`,
    );
  });

  const workspacePath = (): string => `/workspaces/${workspaceId}/analyses`;
  const postsPath = (): string => `/workspaces/${workspaceId}/posts`;

  /** Signs in on `page` from the sign-in page, then follows `next`. */
  async function signIn(page: Page, next: string): Promise<void> {
    await page.goto(`${suite.server.url}/sign-in?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  const heading = (page: Page, name: string) =>
    page.getByRole('heading', { level: 2, name, exact: true });

  it('offers a sign-in link in a new tab when a form finds the session ended, and keeps the form', async () => {
    const page = await suite.newPage();
    await signIn(page, workspacePath());
    await heading(page, 'Acme').waitFor();
    const form = page.getByRole('form', { name: 'Start an analysis' });
    await form.getByLabel('Posts matching (optional)').fill('awful');

    // Both session cookies gone (expired, or signed out in another tab).
    await page.context().clearCookies();
    await form.getByRole('button', { name: 'Start analysis' }).click();
    expect(await visibleText(form.getByRole('alert'))).toBe(
      'Your session has ended. Sign in again (opens a new tab; what you entered here is kept), then try again.',
    );
    const link = form.getByRole('link', { name: 'Sign in again' });
    expect(await link.getAttribute('href')).toBe(
      `/sign-in?next=${encodeURIComponent(workspacePath())}`,
    );

    const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await tab.getByLabel('Email').fill(owner.email);
    await tab.getByLabel('Password').fill(owner.password);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await heading(tab, 'Acme').waitFor();

    // Back in the first tab, the edit is still there and the retry goes through.
    expect(await form.getByLabel('Posts matching (optional)').inputValue()).toBe('awful');
    await form.getByRole('button', { name: 'Start analysis' }).click();
    await page.waitForURL(/\/analyses\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1) ?? '';
    const res = await suite.server.app.inject({
      url: `/v1/workspaces/${workspaceId}/analyses/${id}`,
      headers: owner.headers,
    });
    expect(res.json<{ selection: unknown }>().selection).toMatchObject({ filter: { q: 'awful' } });
  });

  it('keeps a 375 px wide screen from scrolling sideways: the tables scroll, post text stays readable', async () => {
    await submitTestAnalysis(suite.server.app, owner, workspaceId, { posts: { limit: 2 } });
    const page = await suite.newPage();
    await page.setViewportSize({ width: 375, height: 800 });
    await signIn(page, postsPath());
    const table = page.getByRole('table', { name: 'Posts' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(3);
    expect(await pageWidth(page)).toBe(375);
    // A long post's cell is wide enough for words, not a few letters per line.
    const cell = table.locator('tbody tr th', { hasText: 'roastery' }).first();
    expect((await cell.boundingBox())?.width).toBeGreaterThanOrEqual(200);
    // The table scrolls inside its own box, which the keyboard can reach.
    const box = page.getByRole('region', { name: 'Posts table' });
    expect(await box.getAttribute('tabindex')).toBe('0');

    await page.getByRole('link', { name: 'Acme', exact: true }).click();
    await page.getByRole('table', { name: 'Analyses' }).locator('tbody tr').first().waitFor();
    expect(await pageWidth(page)).toBe(375);

    // An import's rejects, whose values can be long, scroll in their own box too.
    await page.getByLabel('File').setInputFiles({
      name: 'wide.jsonl',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(
        `${JSON.stringify({ platform: 'myspace', external_id: 'w1', created_at: '2026-11-01T00:00:00Z', text: 'x' })}\n`,
      ),
    });
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('region', { name: 'Rejected records' }).waitFor();
    expect(await pageWidth(page)).toBe(375);
  });

  it('shows the LLM spend and budget as money, and the budget field as it was entered', async () => {
    await patchLlmSettings(suite.server.app, owner, workspaceId, { monthly_budget_usd: '12.5' });
    const page = await suite.newPage();
    await signIn(page, workspacePath());
    const form = page.getByRole('form', { name: 'LLM and budget' });
    expect(await visibleText(form.getByText('Spent on LLM calls this month'))).toBe(
      'Spent on LLM calls this month: $0.00 of a $12.50 monthly budget.',
    );
    expect(await form.getByLabel('Monthly budget (USD)').inputValue()).toBe('12.5');

    // Less than a cent spent: shown, not rounded away to $0.00.
    await insertTraces(suite.db.adminPool, [
      {
        startedAt: new Date(),
        workspaceId,
        userId: null,
        analysisId: null,
        chunkSeq: null,
        operation: 'chat',
        provider: 'openai',
        requestModel: 'gpt-4o-mini',
        responseModel: null,
        engineVersion: null,
        items: 1,
        inputTokens: 100,
        outputTokens: 10,
        cachedInputTokens: null,
        costUsd: '0.004213',
        priced: true,
        priceVersion: null,
        durationMs: 5,
        status: 'ok',
        errorType: null,
      },
    ]);
    await page.reload();
    expect(await visibleText(form.getByText('Spent on LLM calls this month'))).toBe(
      'Spent on LLM calls this month: $0.0042 of a $12.50 monthly budget.',
    );
    await patchLlmSettings(suite.server.app, owner, workspaceId, { monthly_budget_usd: null });
  });

  it('keeps the posts search in the address: a reload and the back button keep it; counts the posts shown', async () => {
    const page = await suite.newPage();
    await signIn(page, postsPath());
    const rows = page.getByRole('table', { name: 'Posts' }).locator('tbody tr th');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await visibleText(page.getByText(/^3 posts\.$/))).toBe('3 posts.');

    await page.getByLabel('Search').fill('awful');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => rows.allInnerTexts()).toEqual(['this is awful']);
    expect(new URL(page.url()).search).toBe('?q=awful');
    expect(await visibleText(page.getByText(/matching post/))).toBe('1 matching post.');

    await page.reload();
    await expect.poll(() => rows.allInnerTexts()).toEqual(['this is awful']);
    expect(await page.getByLabel('Search').inputValue()).toBe('awful');

    await page.goBack();
    await expect.poll(() => rows.count()).toBe(3);
    expect(await page.getByLabel('Search').inputValue()).toBe('');
  });

  it('shows a one-time notice on the page it leads to, the posts page too, and not again after a reload', async () => {
    const page = await suite.newPage();
    await signIn(page, postsPath());
    await heading(page, 'Posts').waitFor();
    expect(await visibleText(page.getByRole('status'))).toBe('You are signed in.');
    await page.reload();
    await page.getByRole('table', { name: 'Posts' }).waitFor();
    expect(await page.getByText('You are signed in.').count()).toBe(0);

    await page.goto(`${suite.server.url}/`);
    await page.getByLabel('Name').fill('Beta');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await heading(page, 'Beta').waitFor();
    expect(await visibleText(page.getByText('Workspace Beta created.'))).toBe(
      'Workspace Beta created.',
    );
    await page.reload();
    await heading(page, 'Beta').waitFor();
    expect(await page.getByText('Workspace Beta created.').count()).toBe(0);
  });

  it('says what each analysis in the list covered: its filter, limit and sentiment engine', async () => {
    const other = await createWorkspaceAs(suite.server.app, owner, 'Gamma');
    await importTestPosts(suite.server.app, owner, other, 2);
    await submitTestAnalysis(suite.server.app, owner, other, {
      posts: { limit: 1000 },
    });
    await submitTestAnalysis(suite.server.app, owner, other, {
      posts: { limit: 5, filter: { q: 'great fun' } },
      options: { sentiment_engine: 'vader' },
    });
    const page = await suite.newPage();
    await signIn(page, `/workspaces/${other}/analyses`);
    const rows = page.getByRole('table', { name: 'Analyses' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    // Newest first: Status, Posts, Engines, Sentiment, Progress.
    const cells = async (i: number): Promise<string[]> =>
      (await rows.nth(i).locator('td').allInnerTexts()).slice(1, 4).map((t) => t.trim());
    expect(await cells(0)).toEqual(['matching “great fun”, at most 5', 'local', 'VADER']);
    expect(await cells(1)).toEqual([
      'All posts, at most 1,000',
      'local',
      'Default (model and VADER)',
    ]);
  });

  it('refuses a workspace name of spaces in the form: the name is required, nothing is sent', async () => {
    const page = await suite.newPage();
    await signIn(page, '/');
    await heading(page, 'Your workspaces').waitFor();
    const creations: Request[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/workspaces')) creations.push(r);
    });
    const name = page.getByLabel('Name');
    await name.fill('   ');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    expect(await name.inputValue()).toBe('');
    expect(
      await name.evaluate(
        (el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing,
      ),
    ).toBe(true);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(creations).toEqual([]);
  });
});
