import { readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postRecord, toCsv, toJsonl } from '../support/factories.js';
import type { Analysis } from '@socialpulse/contracts';
import type { RunningWorker } from '../../src/services/worker.js';
import {
  fakeLlmConfig,
  freshTestTenant,
  importTestPosts,
  mixedTexts,
  patchLlmSettings,
  startTestWorker,
  submitTestAnalysis,
  testQueueConfig,
  waitForAnalysis,
} from '../support/analyses.js';
import { addMember, createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { userIdOf } from '../support/auth.js';
import { alertText, browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';

/** A short keep-alive, so that an open stream checks its caller's access every 0.5 s. */
const KEEPALIVE_MS = 250;

/**
 * A workspace's analyses in a real browser: start one from the form, follow it live over the
 * event stream (the page is never reloaded: the worker starts only after the page is open),
 * cancel and resume it, read its results and export them; an LLM analysis paused on its budget,
 * resumed, and its summary; viewers only read, and a stream ends with the server's message
 * when its reader is removed from the workspace.
 */
describe.skipIf(webTestsUnavailable() !== '')('web app: analyses (Chromium)', () => {
  let llm: FakeLlmServer;
  // The API and the worker share the instance's LLM, as one deployment's processes do.
  const suite = browserSuite(async () => {
    llm = await startFakeLlmServer();
    return {
      ...testQueueConfig,
      ANALYSIS_STREAM_KEEPALIVE_MS: String(KEEPALIVE_MS),
      ...fakeLlmConfig(llm),
    };
  });
  let owner: TestUser;
  let workspaceId: string;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    owner = await signUpUser(suite.server.app, 'owner@example.com');
    workspaceId = await createWorkspaceAs(suite.server.app, owner, 'Acme');
    await importTestPosts(suite.server.app, owner, workspaceId, 250, mixedTexts);
  });
  afterAll(async () => {
    await worker?.stop();
    await llm?.close();
  });

  const startWorker = async (): Promise<void> => {
    worker ??= await startTestWorker(suite.db, fakeLlmConfig(llm));
  };
  const stopWorker = async (): Promise<void> => {
    await worker?.stop();
    worker = undefined;
  };
  const analysisPath = (id: string): string => `/workspaces/${workspaceId}/analyses/${id}`;

  async function signIn(page: Page, user: TestUser, next: string): Promise<void> {
    await page.goto(`${suite.server.url}/sign-in?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  const status = (page: Page) => page.locator('dd[data-status]');
  /** Waits for the status to read `name` (it changes as the stream's events arrive). */
  const waitForStatus = (page: Page, name: string, timeout = 30_000) =>
    page.locator('dd[data-status]', { hasText: new RegExp(`^${name}$`) }).waitFor({ timeout });
  /** Waits for the page whose heading is `name` (navigations render asynchronously). */
  const waitForHeading = (page: Page, name: string) =>
    page.getByRole('heading', { level: 2, name, exact: true }).waitFor();
  /** The first data cell of each body row of a table. */
  const firstCells = (page: Page, table: string) =>
    page.getByRole('table', { name: table }).locator('tbody tr td:first-of-type').allInnerTexts();
  const number = (text: string): number => Number(text.replace(/,/g, ''));
  /**
   * The text once shown, or 'not shown' after 3 s: for expect.soft, so that one run reports
   * every part of a page that is wrong, not only the first.
   */
  const shownOrNot = (locator: Locator): Promise<string> =>
    locator.innerText({ timeout: 3_000 }).then(
      (text) => text.trim(),
      () => 'not shown',
    );
  /** A fact's value, by its term in the facts list. */
  const fact = (page: Page, term: string): Locator =>
    page.locator('dt', { hasText: new RegExp(`^${term}$`) }).locator('+ dd');

  it('starts an analysis from the form; the page follows it live, and cancel and resume work', async () => {
    await stopWorker(); // the analysis waits in the queue until the page is open
    const page = await suite.newPage();
    await signIn(page, owner, '/');
    await page.getByRole('link', { name: 'Acme' }).click();
    await waitForHeading(page, 'Acme');
    // The workspace's post count, as the API reads it; no analysis yet.
    await page.getByText(/^250 posts in Acme\. /).waitFor();
    expect(await page.getByText('No analyses yet.').count()).toBe(1);

    // Refused input is shown, not lost: the form stays filled in.
    await page.getByLabel('SocialPulse engines').uncheck();
    await page.getByLabel('At most this many posts').fill('200');
    await page.getByRole('button', { name: 'Start analysis' }).click();
    expect(await alertText(page)).toBe('Choose at least one engine.');
    expect(await page.getByLabel('At most this many posts').inputValue()).toBe('200');
    await page.getByLabel('SocialPulse engines').check();
    await page.getByRole('button', { name: 'Start analysis' }).click();

    await waitForHeading(page, 'Analysis of 200 posts');
    expect(await visibleText(status(page))).toBe('Queued');
    expect(await visibleText(page.getByText(/^\d+ of 200 posts$/))).toBe('0 of 200 posts');
    const analysisUrl = page.url();
    expect(analysisUrl).toMatch(new RegExp(`/workspaces/${workspaceId}/analyses/[0-9a-f-]{36}$`));

    await page.getByRole('button', { name: 'Cancel analysis' }).click();
    await waitForStatus(page, 'Cancelled');
    // The button pressed is gone; the status it changed has the focus.
    // (This test's TypeScript has no DOM types: the page's document, as far as this needs it.)
    type PageGlobals = { document: { activeElement: unknown } };
    const focused = await status(page).evaluate(
      (el) => el === (globalThis as unknown as PageGlobals).document.activeElement,
    );
    expect(focused).toBe(true);
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitForStatus(page, 'Queued');

    // The worker starts now; the open page learns of every chunk from the stream.
    await startWorker();
    await waitForStatus(page, 'Completed');
    expect(page.url()).toBe(analysisUrl);
    expect(await visibleText(page.getByText(/^\d+ of 200 posts$/))).toBe('200 of 200 posts');
    expect(await visibleText(page.getByText(/^\d+ of 2 chunks/))).toBe(
      '2 of 2 chunks of 100 posts',
    );

    // The overview counts every post once; the results table shows the first ones.
    await page.getByRole('table', { name: 'Sentiment (SocialPulse engines)' }).waitFor();
    const counts = await firstCells(page, 'Sentiment (SocialPulse engines)');
    expect(counts.reduce((sum, n) => sum + number(n), 0)).toBe(200);
    const results = page.getByRole('table', { name: 'Results' });
    await expect.poll(() => results.locator('tbody tr').count()).toBe(20);

    // Back in the list, the analysis shows as completed.
    await page.getByRole('link', { name: 'Acme', exact: true }).click();
    const row = page.getByRole('table', { name: 'Analyses' }).locator('tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td').first().innerText()).toBe('Completed');
  });

  it('filters the results by sentiment and exports exactly the filtered ones', async () => {
    await startWorker();
    const submitted = await submitTestAnalysis(suite.server.app, owner, workspaceId, {
      posts: { limit: 150 },
    });
    const done = await waitForAnalysis(suite.server.app, owner, submitted.id);
    const negatives =
      (done.aggregates as { sentiment: Record<string, number> }).sentiment.negative ?? 0;
    expect(negatives).toBeGreaterThan(20); // more than one page of the preview

    const page = await suite.newPage();
    await signIn(page, owner, analysisPath(done.id));
    await waitForStatus(page, 'Completed');
    const negativeRow = page
      .getByRole('table', { name: 'Sentiment (SocialPulse engines)' })
      .getByRole('row', { name: /^negative/ });
    expect(number(await negativeRow.locator('td').first().innerText())).toBe(negatives);

    await page.getByLabel('Sentiment', { exact: true }).selectOption('negative');
    await expect
      .poll(async () => (await firstCells(page, 'Results')).map((t) => t.split(' ')[0]))
      .toEqual(Array<string>(20).fill('negative'));

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'CSV' }).click(),
    ]);
    const lines = (await readFile(await download.path(), 'utf8')).trim().split(/\r?\n/);
    expect(lines).toHaveLength(negatives + 1); // a header and one line per negative result
    expect(lines.slice(1).every((l) => l.includes(',negative,'))).toBe(true);

    // The workspace's 250 posts, 50 a page: "Show more" adds the next page.
    await page.goto(`${suite.server.url}/workspaces/${workspaceId}/posts`);
    const postRows = page.getByRole('table', { name: 'Posts' }).locator('tbody tr');
    await expect.poll(() => postRows.count()).toBe(50);
    await page.getByRole('button', { name: 'Show more' }).click();
    await expect.poll(() => postRows.count()).toBe(100);
  });

  it('pages the results, filters them by category and topic with the sentiment, exports exactly those, and fits a phone', async () => {
    await startWorker();
    const { server } = suite;
    const { user, ws } = await freshTestTenant(server.app, 150);
    const rules = await server.app.inject({
      method: 'PATCH',
      url: `/v1/workspaces/${ws}/analysis-settings`,
      headers: user.headers,
      payload: {
        categories: [
          { id: 'praise', keywords: ['love'] },
          { id: 'bugs', keywords: ['broken'] },
        ],
      },
    });
    expect(rules.statusCode, rules.body).toBe(200);
    const submitted = await submitTestAnalysis(server.app, user, ws, {
      engines: ['local', 'llm'],
      posts: { limit: 150 },
    });
    const done = await waitForAnalysis(server.app, user, submitted.id);
    expect(done.status).toBe('completed');
    const agg = done.aggregates as {
      sentiment: Record<string, number>;
      categories: Record<string, number>;
      top_topics: { topic: string; count: number }[];
    };
    const negatives = agg.sentiment.negative ?? 0;
    expect(negatives).toBeGreaterThan(40); // three pages or more
    expect(agg.categories.bugs).toBeGreaterThan(20);
    const topic = agg.top_topics[0]?.topic ?? '';
    expect(topic).not.toBe('');
    /** The results the API gives for `query`, every page of them. */
    const apiCount = async (query: string): Promise<number> => {
      const res = await server.app.inject({
        method: 'GET',
        url: `/v1/workspaces/${ws}/analyses/${done.id}/results?limit=1000&${query}`,
        headers: user.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<{ data: unknown[]; next_cursor: string | null }>();
      expect(page.next_cursor).toBeNull();
      return page.data.length;
    };

    const page = await suite.newPage();
    await signIn(page, user, `/workspaces/${ws}/analyses/${done.id}`);
    await waitForStatus(page, 'Completed');
    const results = page.getByRole('table', { name: 'Results' });
    const rows = results.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(20);
    // On a phone's width the tables scroll inside the page, which keeps its width.
    await page.setViewportSize({ width: 375, height: 800 });
    type PageGlobals = { document: { documentElement: { scrollWidth: number } } };
    const pageWidth = () =>
      page.evaluate(
        () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
      );
    expect.soft(await pageWidth()).toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 1280, height: 720 });
    // What it covered, and its cost.
    expect
      .soft(await shownOrNot(fact(page, 'Posts')))
      .toBe('All the workspace’s posts, at most 150 (oldest first)');
    expect.soft(await shownOrNot(fact(page, 'Sentiment engine'))).toBe('default');
    // Every traced call (the job summary's too), exactly, without the database's trailing zeros.
    expect
      .soft(await shownOrNot(fact(page, 'LLM cost')))
      .toMatch(/^\$0\.\d*[1-9] for \d+ calls, [\d,]+ input and [\d,]+ output tokens/);

    const shown = page.getByRole('status').filter({ hasText: /^Showing / });
    const showMore = page.getByRole('button', { name: 'Show more' });
    const showAll = async (): Promise<void> => {
      while ((await showMore.count()) > 0) {
        const before = await rows.count();
        await showMore.click();
        await expect.poll(() => rows.count()).toBeGreaterThan(before);
      }
    };
    const headers = await results.locator('thead th').allInnerTexts();
    expect(headers).toEqual([
      'Post',
      'Sentiment',
      'Language',
      'LLM sentiment',
      'Topic',
      'Categories',
    ]);

    // The sentiment's count is known from the overview; "Show more" follows the cursor to it.
    await page.getByLabel('Sentiment', { exact: true }).selectOption('negative');
    expect(await visibleText(shown)).toBe(`Showing 20 of ${negatives} negative results.`);
    await showAll();
    expect(await rows.count()).toBe(negatives);
    expect(await visibleText(shown)).toBe(`Showing ${negatives} of ${negatives} negative results.`);

    // Combined with a category: no count is known, so what is shown and whether there is more.
    await page.getByLabel('Category').selectOption('bugs');
    await expect
      .poll(() => visibleText(shown))
      .toBe('Showing 20 negative results in category “bugs”; there are more.');
    await showAll();
    const bugs = await apiCount('label=negative&category=bugs');
    expect(await rows.count()).toBe(bugs);
    expect(await visibleText(shown)).toBe(`Showing ${bugs} negative results in category “bugs”.`);
    const categoryCells = await results.locator('tbody tr td:last-of-type').allInnerTexts();
    expect(categoryCells.every((c) => c.split(', ').includes('bugs'))).toBe(true);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'CSV' }).click(),
    ]);
    const lines = (await readFile(await download.path(), 'utf8')).trim().split(/\r?\n/);
    expect(lines).toHaveLength(bugs + 1);
    expect(lines.slice(1).every((l) => l.includes(',negative,') && l.includes('bugs'))).toBe(true);

    // A topic alone: every row is on it, and the export is of those rows only.
    await page.getByLabel('Sentiment', { exact: true }).selectOption('');
    await page.getByLabel('Category').selectOption('');
    await page.getByLabel('Topic').selectOption(topic);
    await expect
      .poll(() => visibleText(shown))
      .toMatch(new RegExp(`^Showing \\d+ results on topic “${topic}”`));
    await showAll();
    const onTopic = await apiCount(`topic=${encodeURIComponent(topic)}`);
    expect(await rows.count()).toBe(onTopic);
    const topicCells = await results.locator('tbody tr td:nth-last-of-type(2)').allInnerTexts();
    expect(topicCells.every((t) => t.toLowerCase() === topic)).toBe(true);
    const [jsonl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'JSON lines' }).click(),
    ]);
    const exported = (await readFile(await jsonl.path(), 'utf8')).trim().split('\n');
    expect(exported).toHaveLength(onTopic);
    expect(
      exported.every(
        (l) => (JSON.parse(l) as { llm: { topic: string } }).llm.topic.toLowerCase() === topic,
      ),
    ).toBe(true);
  });

  it('says that a cancelled analysis’s overview covers only the posts analysed before', async () => {
    await stopWorker();
    const { server } = suite;
    const { user, ws } = await freshTestTenant(server.app, 200);
    const submitted = await submitTestAnalysis(server.app, user, ws, {
      posts: { limit: 200 },
      options: { chunk_size: 1 },
    });
    // Cancelled as soon as its first chunk is stored: most of its 200 chunks never run.
    let cancelling: Promise<unknown> | undefined;
    const own = await startTestWorker(suite.db, fakeLlmConfig(llm), {
      onChunk: (event) => {
        if (event.type === 'end' && event.data.analysisId === submitted.id)
          cancelling ??= server.app.inject({
            method: 'POST',
            url: `/v1/workspaces/${ws}/analyses/${submitted.id}/cancel`,
            headers: user.headers,
          });
      },
    });
    try {
      await waitForAnalysis(server.app, user, submitted.id, (a) => a.status === 'cancelled');
    } finally {
      await own.stop();
    }
    await cancelling;

    const page = await suite.newPage();
    await signIn(page, user, `/workspaces/${ws}/analyses/${submitted.id}`);
    await waitForStatus(page, 'Cancelled');
    const progress = await visibleText(page.getByText(/^[\d,]+ of 200 posts$/));
    const processed = progress.split(' ')[0] ?? '';
    expect(number(processed)).toBeLessThan(200);
    expect(number(processed)).toBeGreaterThan(0);
    await page.getByRole('heading', { name: 'Results overview' }).waitFor();
    expect(await visibleText(page.getByText(/^Based on the [\d,]+ posts analysed/))).toBe(
      `Based on the ${processed} posts analysed before it was cancelled (of 200).`,
    );
  });

  it('says that no posts matched an analysis’s selection, and shows its filter', async () => {
    await startWorker();
    const submitted = await submitTestAnalysis(suite.server.app, owner, workspaceId, {
      posts: { filter: { q: 'zanzibar' }, limit: 500 },
      options: { sentiment_engine: 'vader' },
    });
    const done = await waitForAnalysis(suite.server.app, owner, submitted.id);
    expect(done.total_posts).toBe(0);
    const page = await suite.newPage();
    await signIn(page, owner, analysisPath(done.id));
    await waitForHeading(page, 'Analysis of 0 posts');
    const selection = 'Posts matching “zanzibar”, at most 500 (oldest first)';
    expect
      .soft(await shownOrNot(page.getByText(/^No posts matched/)))
      .toBe(
        `No posts matched this analysis's selection (${selection}), so there is nothing to show.`,
      );
    expect.soft(await shownOrNot(fact(page, 'Posts'))).toBe(selection);
    expect.soft(await shownOrNot(fact(page, 'Sentiment engine'))).toBe('vader');
  });

  it('shows an LLM analysis paused on its budget, resumes it, then shows its labels and summary', async () => {
    await startWorker();
    await patchLlmSettings(suite.server.app, owner, workspaceId, { monthly_budget_usd: '0.0001' });
    const submitted = await submitTestAnalysis(suite.server.app, owner, workspaceId, {
      engines: ['llm'],
      posts: { limit: 100 },
    });
    const paused = await waitForAnalysis(suite.server.app, owner, submitted.id);
    expect(paused.status).toBe('paused_budget');

    const page = await suite.newPage();
    await signIn(page, owner, analysisPath(submitted.id));
    await waitForStatus(page, 'Paused: monthly budget reached');
    expect(await visibleText(page.getByText(/^Time left$/).locator('+ dd'))).toBe('paused');
    expect(await alertText(page)).toMatch(
      /monthly LLM budget .+\. To go on, raise the workspace's monthly LLM budget or wait for next month \(an owner or admin, on the workspace's page\), then resume the analysis\.$/,
    );

    // The owner raises the budget on the workspace's page, and comes back.
    await page.getByRole('link', { name: "the workspace's page" }).click();
    await waitForHeading(page, 'Acme');
    const budget = page.getByLabel('Monthly budget (USD)');
    expect(await budget.inputValue()).toBe('0.0001');
    await budget.fill('100');
    await page.getByLabel('API key').fill('sk-from-the-dashboard');
    await page.getByRole('button', { name: 'Save LLM settings' }).click();
    // The LLM form's own status: the page has other forms (the categories) that say "Saved." too.
    await page
      .getByRole('form', { name: 'LLM and budget' })
      .getByRole('status')
      .filter({ hasText: 'Saved.' })
      .waitFor();
    // The key is stored, and never shown again (not even in the field).
    await page.getByText('A key is set (it is never shown). Blank: keep it.').waitFor();
    expect(await page.getByLabel('API key').inputValue()).toBe('');
    expect(await page.content()).not.toContain('sk-from-the-dashboard');
    expect(await page.getByText(/^Spent on LLM calls this month: /).innerText()).toMatch(
      /of a \$100(\.0+)? monthly budget\.$/,
    );
    await page.goBack();
    await waitForStatus(page, 'Paused: monthly budget reached');
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitForStatus(page, 'Completed');
    // The job summary comes after the last chunk, over the same stream.
    const summary = await visibleText(page.locator('p.summary'));
    const stored = await waitForAnalysis(
      suite.server.app,
      owner,
      submitted.id,
      (a: Analysis) => a.summary !== null,
    );
    expect(summary).toBe(stored.summary);

    // Only the model's sentiment: no table of the local engines, and the filter is the model's.
    expect(await page.getByRole('table', { name: 'Sentiment (SocialPulse engines)' }).count()).toBe(
      0,
    );
    const llmCounts = await firstCells(page, 'Sentiment (LLM)');
    expect(llmCounts.reduce((sum, n) => sum + number(n), 0)).toBe(100);
    await page.getByLabel('Sentiment', { exact: true }).selectOption('negative');
    await expect
      .poll(async () => {
        const cells = await firstCells(page, 'Results');
        return cells.length > 0 && cells.every((t) => t === 'negative');
      })
      .toBe(true);
  });

  it('lets a new account create a workspace, import a file (keeping the valid records around a bad one) and analyse it', async () => {
    await startWorker();
    const newcomer = await signUpUser(suite.server.app, 'newcomer@example.com');
    const page = await suite.newPage();
    await signIn(page, newcomer, '/');
    await page.getByText('You are not a member of any workspace yet.').waitFor();
    await page.getByLabel('Name').fill('Fresh');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await waitForHeading(page, 'Fresh');
    expect(await visibleText(page.getByRole('status'))).toBe('Workspace Fresh created.');
    await page.getByText(/^0 posts in Fresh\. /).waitFor();

    // Three posts and, on line 3, a record with an unknown platform.
    const file = [
      toJsonl([postRecord({ text: 'I love this' }), postRecord({ text: 'this is awful' })]),
      toJsonl([postRecord({ platform: 'myspace' })]),
      toJsonl([postRecord({ text: 'fine, I guess' })]),
    ].join('');
    await page.getByLabel('File').setInputFiles({
      name: 'posts.jsonl',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(file),
    });
    await page.getByRole('button', { name: 'Import' }).click();
    expect(await visibleText(page.getByText(/^posts\.jsonl \(/))).toBe(
      'posts.jsonl (jsonl): read 4, inserted 3, updated 0, unchanged 0, rejected 1.',
    );
    const rejects = page.getByRole('table', { name: 'Rejected records' }).locator('tbody tr');
    expect(await rejects.count()).toBe(1);
    const reject = await rejects.first().locator('th, td').allInnerTexts();
    expect(reject.slice(0, 2)).toEqual(['3', 'platform']);
    // The workspace's post count is read again.
    await page.getByText(/^3 posts in Fresh\. /).waitFor();
    // A CSV, recognised from its name and bytes (the page sends every file as it is).
    await page.getByLabel('File').setInputFiles({
      name: 'more.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(toCsv([postRecord({ text: 'one more, from a spreadsheet' })])),
    });
    await page.getByRole('button', { name: 'Import' }).click();
    expect(await visibleText(page.getByText(/^more\.csv \(/))).toBe(
      'more.csv (csv): read 1, inserted 1, updated 0, unchanged 0, rejected 0.',
    );
    await page.getByText(/^4 posts in Fresh\. /).waitFor();

    // More rejects than the answer lists: the rest are paged in after the first.
    await page.getByLabel('File').setInputFiles({
      name: 'bad.jsonl',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(
        toJsonl(
          Array.from({ length: 150 }, (_, i) =>
            postRecord({ platform: 'myspace', external_id: `bad-${i}` }),
          ),
        ),
      ),
    });
    await page.getByRole('button', { name: 'Import' }).click();
    const rejectTable = page.getByRole('table', { name: /^Rejected records/ });
    expect(await visibleText(rejectTable.locator('caption'))).toBe(
      'Rejected records (the first 100 of 150)',
    );
    await page.getByRole('button', { name: 'Show more' }).click();
    await expect.poll(() => rejectTable.locator('tbody tr').count()).toBe(150);
    expect(await visibleText(rejectTable.locator('caption'))).toBe('Rejected records');
    expect(await rejectTable.locator('tbody tr th').allInnerTexts()).toEqual(
      Array.from({ length: 150 }, (_, i) => String(i + 1)),
    );
    expect(await page.getByRole('button', { name: 'Show more' }).count()).toBe(0);

    // The posts, searched in full text.
    await page.getByRole('link', { name: 'Browse the posts' }).click();
    await waitForHeading(page, 'Posts');
    const postRows = page.getByRole('table', { name: 'Posts' }).locator('tbody tr th');
    await expect.poll(() => postRows.count()).toBe(4);
    await page.getByLabel('Search').fill('awful');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => postRows.allInnerTexts()).toEqual(['this is awful']);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Platform').selectOption('tiktok');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No posts match.').waitFor();
    await page.getByRole('link', { name: 'Fresh', exact: true }).click();
    await waitForHeading(page, 'Fresh');

    await page.getByRole('button', { name: 'Start analysis' }).click();
    await waitForHeading(page, 'Analysis of 4 posts');
    await waitForStatus(page, 'Completed');
  });

  it('lets a viewer read but not start or cancel, and ends the live view when they are removed', async () => {
    const { server } = suite;
    const viewer = await signUpUser(server.app, 'viewer@example.com');
    await addMember(server.app, owner, workspaceId, viewer, 'viewer');

    // Signed out, the page asks to sign in and comes back after.
    const page = await suite.newPage();
    await page.goto(`${server.url}/workspaces/${workspaceId}/analyses`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Email').fill(viewer.email);
    await page.getByLabel('Password').fill(viewer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitForHeading(page, 'Acme');
    expect(await page.getByRole('button', { name: 'Start analysis' }).count()).toBe(0);

    // An analysis still queued: the viewer follows it, without a cancel button.
    await stopWorker();
    const queued = await submitTestAnalysis(server.app, owner, workspaceId, {
      posts: { limit: 10 },
    });
    // Removed once the page follows the stream and has read the analysis again for the event the
    // stream replays ('queued'): the stream, checking the reader's access, then ends with the
    // server's reason. (A read answered after the removal is not found, and the page then says
    // so instead, as the next test shows: on a loaded machine that race was this test's flake.)
    const streamOpen = page.waitForResponse(
      (response) =>
        new URL(response.url()).pathname.endsWith(`/analyses/${queued.id}/events`) &&
        response.status() === 200,
    );
    let reads = 0;
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === `/v1${analysisPath(queued.id)}`) reads += 1;
    });
    await page.goto(`${server.url}${analysisPath(queued.id)}`);
    expect(await visibleText(status(page))).toBe('Queued');
    expect(await page.getByRole('button', { name: 'Cancel analysis' }).count()).toBe(0);
    await streamOpen;
    // The first read, and the one for the replayed event.
    await expect.poll(() => reads).toBeGreaterThanOrEqual(2);

    const removed = await server.app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/members/${userIdOf(viewer)}`,
      headers: owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    expect(await visibleText(page.getByText(/^Live updates stopped:/))).toBe(
      'Live updates stopped: You are no longer a member of this workspace',
    );

    // Removed, they can no longer open it: not found, as the API answers.
    const again = await suite.newPage();
    await signIn(again, viewer, analysisPath(queued.id));
    expect(await alertText(again)).toMatch(/not found/i);
  });
  it('keeps the page as last read, and says why, when a read of the analysis it follows is refused', async () => {
    const { server } = suite;
    await stopWorker();
    const queued = await submitTestAnalysis(server.app, owner, workspaceId, {
      posts: { limit: 10 },
    });
    const page = await suite.newPage();
    const readPath = `/v1${analysisPath(queued.id)}`;
    let reads = 0;
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === readPath) reads += 1;
    });
    const streamOpen = page.waitForResponse(
      (response) =>
        new URL(response.url()).pathname === `${readPath}/events` && response.status() === 200,
    );
    await signIn(page, owner, analysisPath(queued.id));
    expect(await visibleText(status(page))).toBe('Queued');
    await streamOpen;
    await expect.poll(() => reads).toBeGreaterThanOrEqual(2);

    // From now on the server answers the page's reads as it does a reader who lost access.
    await page.route(
      (url) => url.pathname === readPath,
      (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'not_found', message: `analysis ${queued.id} was not found` },
          }),
        }),
    );
    // An event the page follows: it reads the analysis again, and is refused.
    const cancelled = await server.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/analyses/${queued.id}/cancel`,
      headers: owner.headers,
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(await visibleText(page.getByText(/^Live updates stopped:/))).toBe(
      'Live updates stopped: This analysis can no longer be read: it was deleted, or your access to its workspace changed. What is shown is the analysis as it was last read.',
    );
    // The page is still there, as last read, not an error in its place.
    await waitForHeading(page, 'Analysis of 10 posts');
    expect(await visibleText(status(page))).toBe('Queued');
    expect(await page.getByText(/not found/i).count()).toBe(0);
  });
});
