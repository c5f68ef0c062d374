import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../src/services/worker.js';
import {
  importTestPosts,
  mixedTexts,
  startTestWorker,
  testQueueConfig,
} from '../support/analyses.js';
import { addMember, createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { alertText, browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';

interface Rule {
  id: string;
  keywords?: string[];
  hashtags?: string[];
}

/**
 * A workspace's category rules in a real browser: an owner adds, edits and removes categories
 * and saves them in one request; a rule the server refuses shows the server's message with the
 * edits kept; names the browser can check itself (missing, repeated) are refused before any
 * request; roles that may not change the settings do not see the editor; and a saved rule puts
 * posts in its category in a local-engine analysis.
 */
describe.skipIf(webTestsUnavailable() !== '')('web app: category rules (Chromium)', () => {
  const suite = browserSuite(testQueueConfig);
  let owner: TestUser;
  let workspaceId: string;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    owner = await signUpUser(suite.server.app, 'owner@example.com');
    workspaceId = await createWorkspaceAs(suite.server.app, owner, 'Acme');
    // 11 posts of praise ("I love the new release…") and 10 complaints ("…broken and slow…").
    await importTestPosts(suite.server.app, owner, workspaceId, 21, mixedTexts);
  });
  afterAll(async () => {
    await worker?.stop();
  });

  const settingsUrl = (): string => `/v1/workspaces/${workspaceId}/analysis-settings`;
  async function storedRules(): Promise<Rule[]> {
    const res = await suite.server.app.inject({ url: settingsUrl(), headers: owner.headers });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ categories: Rule[] }>().categories;
  }
  async function storeRules(categories: Rule[]): Promise<void> {
    const res = await suite.server.app.inject({
      method: 'PATCH',
      url: settingsUrl(),
      headers: owner.headers,
      payload: { categories },
    });
    expect(res.statusCode, res.body).toBe(200);
  }

  /** The settings reads each opened page sent (the workspace's page reads them once for both forms). */
  const settingsReads = new Map<Page, number>();
  /** Signs in and opens the workspace's page, its categories loaded. */
  async function openWorkspace(user: TestUser): Promise<Page> {
    const page = await suite.newPage();
    settingsReads.set(page, 0);
    page.on('request', (request) => {
      if (request.method() === 'GET' && request.url().endsWith(settingsUrl()))
        settingsReads.set(page, (settingsReads.get(page) ?? 0) + 1);
    });
    await page.goto(
      `${suite.server.url}/sign-in?next=${encodeURIComponent(`/workspaces/${workspaceId}/analyses`)}`,
    );
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 2, name: 'Acme', exact: true }).waitFor();
    return page;
  }
  const editor = (page: Page): Locator => page.getByRole('form', { name: 'Categories' });
  /** The fieldset of the category at `position` (1-based); its legend ends with the name. */
  const category = (page: Page, position: number): Locator =>
    editor(page).getByRole('group', { name: new RegExp(`^Category ${position}(: |$)`) });
  const categories = (page: Page): Locator => editor(page).getByRole('group');
  /** A category's fields as the page shows them: [name, keywords, hashtags]. */
  const fieldsOf = async (group: Locator): Promise<string[]> => [
    await group.getByLabel('Name').inputValue(),
    await group.getByLabel('Keywords').inputValue(),
    await group.getByLabel('Hashtags').inputValue(),
  ];
  async function fillCategory(
    group: Locator,
    name: string,
    keywords: string,
    hashtags: string,
  ): Promise<void> {
    await group.getByLabel('Name').fill(name);
    await group.getByLabel('Keywords').fill(keywords);
    await group.getByLabel('Hashtags').fill(hashtags);
  }
  /** Whether the page's focused element is the one `locator` finds. */
  const isFocused = (locator: Locator): Promise<boolean> =>
    // This test's TypeScript has no DOM types: the page's document, as far as this needs it.
    locator.evaluate(
      (el) =>
        el ===
        (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
    );
  /** Counts the settings writes the page sends from now on. */
  function countSettingsWrites(page: Page): () => number {
    let writes = 0;
    page.on('request', (request) => {
      if (request.method() === 'PATCH' && request.url().endsWith(settingsUrl())) writes++;
    });
    return () => writes;
  }

  it('lets an owner add two categories and save them in one request; they are there after a reload', async () => {
    await storeRules([]);
    const page = await openWorkspace(owner);
    await editor(page).getByText('No categories yet.').waitFor();
    await page.getByRole('form', { name: 'LLM and budget' }).waitFor();
    expect(settingsReads.get(page)).toBe(1);
    const writes = countSettingsWrites(page);

    await page.getByRole('button', { name: 'Add a category' }).click();
    // The new category's name field takes the focus, ready to be typed in.
    expect(await isFocused(category(page, 1).getByLabel('Name'))).toBe(true);
    await fillCategory(
      category(page, 1),
      '  complaints ',
      'broken, slow\nnot working, , 1,000 bugs',
      '#outage #help,bug',
    );
    await page.getByRole('button', { name: 'Add a category' }).click();
    await fillCategory(category(page, 2), 'praise', 'love', '＃kudos\n\nthanks');
    await editor(page).getByText('Unsaved changes.').waitFor();
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('status'))).toBe('Saved.');
    expect(await editor(page).getByText('Unsaved changes.').count()).toBe(0);
    expect(writes()).toBe(1);

    // Trimmed, empty terms dropped, hashtags stored without their '#' (the matcher's form).
    const saved: Rule[] = [
      {
        id: 'complaints',
        keywords: ['broken', 'slow', 'not working', '1,000 bugs'],
        hashtags: ['outage', 'help', 'bug'],
      },
      { id: 'praise', keywords: ['love'], hashtags: ['kudos', 'thanks'] },
    ];
    expect(await storedRules()).toEqual(saved);

    await page.reload();
    await category(page, 2).waitFor();
    expect(await categories(page).count()).toBe(2);
    expect(await fieldsOf(category(page, 1))).toEqual([
      'complaints',
      'broken, slow, not working, 1,000 bugs',
      '#outage #help #bug',
    ]);
    expect(await fieldsOf(category(page, 2))).toEqual(['praise', 'love', '#kudos #thanks']);
    expect(await editor(page).getByRole('group', { name: 'Category 2: praise' }).count()).toBe(1);
  });

  it('edits one category and removes another, then saves the list', async () => {
    await storeRules([
      { id: 'complaints', keywords: ['broken'] },
      { id: 'praise', keywords: ['love'] },
    ]);
    const page = await openWorkspace(owner);
    await category(page, 2).waitFor();

    await category(page, 2).getByLabel('Keywords').fill('love, great work');
    await category(page, 1).getByRole('button', { name: 'Remove category "complaints"' }).click();
    expect(await categories(page).count()).toBe(1);
    // The focus stays where the removed category was: on the next one.
    expect(await isFocused(category(page, 1).getByLabel('Name'))).toBe(true);
    expect(await category(page, 1).getByLabel('Name').inputValue()).toBe('praise');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('status'))).toBe('Saved.');
    expect(await storedRules()).toEqual([{ id: 'praise', keywords: ['love', 'great work'] }]);

    await page.reload();
    await category(page, 1).waitFor();
    expect(await categories(page).count()).toBe(1);
    expect(await fieldsOf(category(page, 1))).toEqual(['praise', 'love, great work', '']);
    // No terms at all: kept (the LLM may still choose it), with a word on what that means.
    await category(page, 1).getByLabel('Keywords').fill('');
    await category(page, 1)
      .getByText('No keywords or hashtags: only the LLM can put posts in this category', {
        exact: false,
      })
      .waitFor();
    await page.getByRole('button', { name: 'Discard changes' }).click();
    expect(await category(page, 1).getByLabel('Keywords').inputValue()).toBe('love, great work');
  });

  it("shows the server's refusal of a rule that can never match, keeping the edits", async () => {
    await storeRules([{ id: 'praise', keywords: ['love'] }]);
    const page = await openWorkspace(owner);
    await category(page, 1).waitFor();

    await page.getByRole('button', { name: 'Add a category' }).click();
    // Phrases match up to 5 words: the server refuses this one, naming the category.
    await fillCategory(category(page, 2), 'pizza', 'the best pizza in new york', '#pizza');
    await category(page, 1).getByLabel('Keywords').fill('love, great work');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await alertText(page)).toBe(
      'Keywords: category "pizza": keyword "the best pizza in new york" has 6 words, and phrases match up to 5',
    );
    // Nothing was stored, and nothing typed is lost; the field the server named is marked.
    expect(await storedRules()).toEqual([{ id: 'praise', keywords: ['love'] }]);
    expect(await fieldsOf(category(page, 1))).toEqual(['praise', 'love, great work', '']);
    expect(await fieldsOf(category(page, 2))).toEqual([
      'pizza',
      'the best pizza in new york',
      '#pizza',
    ]);
    const refused = category(page, 2).getByLabel('Keywords');
    expect(await refused.getAttribute('aria-invalid')).toBe('true');
    expect(await isFocused(refused)).toBe(true);
    expect(await editor(page).getByRole('status').count()).toBe(0);
    await editor(page).getByText('Unsaved changes.').waitFor();

    // Mended, it saves.
    await refused.fill('best pizza in new york');
    expect(await refused.getAttribute('aria-invalid')).toBeNull();
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('status'))).toBe('Saved.');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await storedRules()).toEqual([
      { id: 'praise', keywords: ['love', 'great work'] },
      { id: 'pizza', keywords: ['best pizza in new york'], hashtags: ['pizza'] },
    ]);
  });

  it('refuses a repeated or missing name in the browser, naming the category, without a request', async () => {
    await storeRules([{ id: 'praise', keywords: ['love'] }]);
    const page = await openWorkspace(owner);
    await category(page, 1).waitFor();
    const writes = countSettingsWrites(page);

    await page.getByRole('button', { name: 'Add a category' }).click();
    await fillCategory(category(page, 2), ' praise', 'great', '');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await alertText(page)).toBe(
      'Categories 1 and 2 are both named "praise": each category needs its own name.',
    );
    const repeated = category(page, 2).getByLabel('Name');
    expect(await repeated.getAttribute('aria-invalid')).toBe('true');
    expect(await isFocused(repeated)).toBe(true);

    await repeated.fill('');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await alertText(page)).toBe('Category 2 has no name.');
    expect(await fieldsOf(category(page, 2))).toEqual(['', 'great', '']);
    expect(writes()).toBe(0);
    expect(await storedRules()).toEqual([{ id: 'praise', keywords: ['love'] }]);

    await repeated.fill('enthusiasm');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('status'))).toBe('Saved.');
    expect(writes()).toBe(1);
    expect(await storedRules()).toEqual([
      { id: 'praise', keywords: ['love'] },
      { id: 'enthusiasm', keywords: ['great'] },
    ]);
  });

  it('saves both forms of one page in turn, and never overwrites a change made elsewhere since the page read the settings', async () => {
    await storeRules([{ id: 'complaints', keywords: ['broken'] }]);
    const page = await openWorkspace(owner);
    await category(page, 1).waitFor();
    const llmForm = page.getByRole('form', { name: 'LLM and budget' });

    // The LLM form's save, then the categories form's: the second is sent from the revision the
    // first one made, not refused as a change made elsewhere.
    await llmForm.getByLabel('Model').fill('gpt-4o-mini');
    await llmForm.getByRole('button', { name: 'Save LLM settings' }).click();
    expect(await visibleText(llmForm.getByRole('status'))).toBe('Saved.');
    await category(page, 1).getByLabel('Keywords').fill('broken, slow');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('status'))).toBe('Saved.');
    expect(await storedRules()).toEqual([{ id: 'complaints', keywords: ['broken', 'slow'] }]);

    // Someone else saves the categories; this page, unaware, saves its own edit.
    await storeRules([{ id: 'billing', keywords: ['invoice'] }]);
    const writes = countSettingsWrites(page);
    await category(page, 1).getByLabel('Name').fill('complaints and bugs');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('alert'))).toContain(
      'Not saved: someone changed these settings',
    );
    expect(writes()).toBe(1);
    expect(await storedRules()).toEqual([{ id: 'billing', keywords: ['invoice'] }]);
    const banner = page.getByRole('alert').filter({ hasText: 'changed elsewhere' });
    await banner.waitFor();
    // The edit is still on the page until the user chooses to read the settings again.
    expect(await category(page, 1).getByLabel('Name').inputValue()).toBe('complaints and bugs');

    await banner.getByRole('button', { name: 'Read the current settings' }).click();
    await editor(page).getByRole('group', { name: 'Category 1: billing' }).waitFor();
    expect(await banner.count()).toBe(0);
    expect(await llmForm.getByLabel('Model').inputValue()).toBe('gpt-4o-mini');
    // From the settings read again, a change saves.
    await category(page, 1).getByLabel('Keywords').fill('invoice, refund');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('status'))).toBe('Saved.');
    expect(await storedRules()).toEqual([{ id: 'billing', keywords: ['invoice', 'refund'] }]);
  });

  it('shows the editor to admins, not to analysts or viewers (who may not change the settings)', async () => {
    const { app } = suite.server;
    const admin = await signUpUser(app, 'admin@example.com');
    const analyst = await signUpUser(app, 'analyst@example.com');
    const viewer = await signUpUser(app, 'viewer@example.com');
    await addMember(app, owner, workspaceId, admin, 'admin');
    await addMember(app, owner, workspaceId, analyst, 'analyst');
    await addMember(app, owner, workspaceId, viewer, 'viewer');

    const adminPage = await openWorkspace(admin);
    await editor(adminPage).getByRole('button', { name: 'Save categories' }).waitFor();

    for (const user of [analyst, viewer]) {
      const page = await openWorkspace(user);
      // The page is shown in full (the workspace and its analyses): the editor is not in it.
      await page.getByText(/^21 posts in Acme\. /).waitFor();
      await page.getByRole('heading', { level: 3, name: 'Analyses' }).waitFor();
      expect(await page.getByRole('heading', { name: 'Categories' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Save categories' }).count()).toBe(0);
    }
  });

  it('puts posts in the saved categories in a local-engine analysis', async () => {
    await storeRules([{ id: 'praise', keywords: ['love'] }]);
    worker ??= await startTestWorker(suite.db);
    const page = await openWorkspace(owner);
    await category(page, 1).waitFor();
    await page.getByRole('button', { name: 'Add a category' }).click();
    await fillCategory(category(page, 2), 'complaints', 'slow again', '');
    await page.getByRole('button', { name: 'Add a category' }).click();
    await fillCategory(category(page, 3), 'pizza', 'pizza', '#pizza');
    await page.getByRole('button', { name: 'Save categories' }).click();
    expect(await visibleText(editor(page).getByRole('status'))).toBe('Saved.');

    await page.getByRole('button', { name: 'Start analysis' }).click();
    await page
      .getByRole('heading', { level: 2, name: 'Analysis of 21 posts', exact: true })
      .waitFor();
    await page.locator('dd[data-status]', { hasText: /^Completed$/ }).waitFor({ timeout: 50_000 });
    // 11 posts of praise, 10 complaints; no post mentions pizza.
    expect(await visibleText(page.getByText(/^Categories: /))).toBe(
      'Categories: praise (11), complaints (10)',
    );
  });
});
