import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../src/services/worker.js';
import {
  importTestPosts,
  mixedTexts,
  startTestWorker,
  testQueueConfig,
} from '../support/analyses.js';
import { addMember, createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { userIdOf } from '../support/auth.js';
import { alertText, browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';

/** A short keep-alive, so that an open stream checks its caller's access every 0.5 s. */
const KEEPALIVE_MS = 250;

/**
 * A workspace's analyses in a real browser: start one from the form, follow it live over the
 * event stream (the page is never reloaded: the worker starts only after the page is open),
 * cancel and resume it, read its results and export them; viewers only read, and a stream ends
 * with a message when its reader is removed from the workspace.
 */
describe.skipIf(webTestsUnavailable() !== '')('web app: analyses (Chromium)', () => {
  const suite = browserSuite({
    ...testQueueConfig,
    ANALYSIS_STREAM_KEEPALIVE_MS: String(KEEPALIVE_MS),
  });
  let owner: TestUser;
  let workspaceId: string;
  let worker: RunningWorker | undefined;
  afterAll(async () => {
    await worker?.stop();
  });

  async function signIn(page: Page, user: TestUser, next: string): Promise<void> {
    await page.goto(`${suite.server.url}/sign-in?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  const status = (page: Page) => page.locator('dd[data-status]');
  /** Waits for the page whose heading is `name` (navigations render asynchronously). */
  const heading = (page: Page, name: string) =>
    visibleText(page.getByRole('heading', { level: 2, name, exact: true }));
  const waitForStatus = (page: Page, name: string, timeout = 30_000) =>
    page.locator('dd[data-status]', { hasText: new RegExp(`^${name}$`) }).waitFor({ timeout });

  it('starts an analysis from the form; the page follows it live, and cancel and resume work', async () => {
    const { server } = suite;
    owner = await signUpUser(server.app, 'owner@example.com');
    workspaceId = await createWorkspaceAs(server.app, owner, 'Acme');
    await importTestPosts(server.app, owner, workspaceId, 250, mixedTexts);

    const page = await suite.newPage();
    await signIn(page, owner, '/');
    await page.getByRole('link', { name: 'Acme' }).click();
    expect(await heading(page, 'Analyses')).toBe('Analyses');
    expect(await visibleText(page.getByText('No analyses yet.'))).toBe('No analyses yet.');

    // Refused input is shown, not lost: the form stays filled in.
    await page.getByLabel('SocialPulse engines').uncheck();
    await page.getByRole('button', { name: 'Start analysis' }).click();
    expect(await alertText(page)).toBe('Choose at least one engine.');
    await page.getByLabel('SocialPulse engines').check();
    await page.getByLabel('At most this many posts').fill('200');
    await page.getByRole('button', { name: 'Start analysis' }).click();

    // No worker runs yet: the analysis waits in the queue.
    expect(await heading(page, 'Analysis of 200 posts')).toBe('Analysis of 200 posts');
    expect(await visibleText(status(page))).toBe('Queued');
    expect(await visibleText(page.getByText(/^0 of 200 posts$/))).toBe('0 of 200 posts');
    const analysisUrl = page.url();
    expect(analysisUrl).toMatch(new RegExp(`/workspaces/${workspaceId}/analyses/[0-9a-f-]{36}$`));

    await page.getByRole('button', { name: 'Cancel analysis' }).click();
    await waitForStatus(page, 'Cancelled');
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitForStatus(page, 'Queued');

    // The worker starts now; the open page learns of every chunk from the stream.
    worker = await startTestWorker(suite.db);
    await waitForStatus(page, 'Completed');
    expect(page.url()).toBe(analysisUrl);
    expect(await visibleText(page.getByText(/^200 of 200 posts$/))).toBe('200 of 200 posts');
    expect(await visibleText(page.getByText(/^2 of 2 chunks/))).toBe('2 of 2 chunks of 100 posts');

    // The overview counts every post once; the results table shows the first ones.
    const sentiment = page.getByRole('table', { name: 'Sentiment (SocialPulse engines)' });
    const counts = await sentiment.locator('tbody tr td:first-of-type').allInnerTexts();
    expect(counts.reduce((sum, n) => sum + Number(n.replace(/,/g, '')), 0)).toBe(200);
    const results = page.getByRole('table', { name: 'Results' });
    await expect.poll(() => results.locator('tbody tr').count()).toBe(20);

    // Back in the list, the analysis shows as completed.
    await page.getByRole('link', { name: 'Acme: analyses' }).click();
    const row = page.getByRole('table', { name: 'Analyses' }).locator('tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td').first().innerText()).toBe('Completed');
  });

  it('filters the results by sentiment and exports exactly the filtered ones', async () => {
    const page = await suite.newPage();
    await signIn(page, owner, `/workspaces/${workspaceId}/analyses`);
    await page.getByRole('table', { name: 'Analyses' }).getByRole('link').first().click();
    await waitForStatus(page, 'Completed');

    const negatives = Number(
      (
        await page
          .getByRole('table', { name: 'Sentiment (SocialPulse engines)' })
          .getByRole('row', { name: /^negative/ })
          .locator('td')
          .first()
          .innerText()
      ).replace(/,/g, ''),
    );
    expect(negatives).toBeGreaterThan(0);
    await page.getByLabel('Sentiment', { exact: true }).selectOption('negative');
    const results = page.getByRole('table', { name: 'Results' });
    await expect
      .poll(async () =>
        (await results.locator('tbody tr td:first-of-type').allInnerTexts()).every((t) =>
          t.startsWith('negative ('),
        ),
      )
      .toBe(true);
    expect(await results.locator('tbody tr').count()).toBe(Math.min(20, negatives));

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'CSV' }).click(),
    ]);
    const file = await download.path();
    const lines = (await readFile(file, 'utf8')).trim().split(/\r?\n/);
    expect(lines).toHaveLength(negatives + 1); // a header and one line per negative result
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
    expect(await heading(page, 'Analyses')).toBe('Analyses');
    expect(await page.getByRole('button', { name: 'Start analysis' }).count()).toBe(0);

    // An analysis still queued: the viewer follows it, without a cancel button.
    await worker?.stop();
    worker = undefined;
    const res = await server.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/analyses`,
      headers: owner.headers,
      payload: { posts: { limit: 10 } },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json<{ id: string }>().id;
    await page.goto(`${server.url}/workspaces/${workspaceId}/analyses/${id}`);
    expect(await visibleText(status(page))).toBe('Queued');
    expect(await page.getByRole('button', { name: 'Cancel analysis' }).count()).toBe(0);

    const removed = await server.app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/members/${userIdOf(viewer)}`,
      headers: owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    expect(await visibleText(page.getByText(/^Live updates stopped:/))).toMatch(
      /^Live updates stopped: .+/,
    );

    // Removed, they can no longer open it: not found, as the API answers.
    const other = await suite.newPage();
    await signIn(other, viewer, `/workspaces/${workspaceId}/analyses/${id}`);
    expect(await alertText(other)).toMatch(/not found/i);
  });
});
