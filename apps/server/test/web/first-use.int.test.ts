import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { postRecord, toJsonl } from '../support/factories.js';
import { createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { alertText, browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';

/**
 * What a new user of the dashboard meets first: a fresh instance's home page says that setup is
 * pending, then offers sign-up; refused passwords are explained in words; the posts table fits a
 * 1280 px desktop and a bad filter in its address leaves the page standing; the connections page
 * offers only the sign-ins the operator configured.
 */

/** Signs in on a fresh page from the sign-in page, then follows `next`. */
async function signedIn(
  suite: ReturnType<typeof browserSuite>,
  user: TestUser,
  next: string,
): Promise<Page> {
  const page = await suite.newPage();
  await page.goto(`${suite.server.url}/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

const heading = (page: Page, name: string) =>
  page.getByRole('heading', { level: 2, name, exact: true });

describe.skipIf(webTestsUnavailable() !== '')('web app: a fresh instance (Chromium)', () => {
  const suite = browserSuite();

  it('says that setup is pending while no account exists, then offers sign-up; a refused password is explained in words', async () => {
    const { server } = suite;
    const status = await server.app.inject({ url: '/v1/auth/status' });
    expect(status.json()).toEqual({ setup_pending: true, signup_enabled: true });

    const page = await suite.newPage();
    await page.goto(`${server.url}/`);
    expect(await visibleText(page.locator('p', { hasText: 'Setup is pending' }))).toMatch(
      /^Setup is pending: this SocialPulse has no account yet\. Open the one-time setup link that npm start printed/,
    );
    expect(await page.getByRole('link', { name: 'Create an account' }).count()).toBe(0);

    // The first account (from this machine, as the operator's CLI or setup link would make it).
    await signUpUser(server.app, 'admin@example.com');
    const later = await server.app.inject({ url: '/v1/auth/status' });
    expect(later.json()).toEqual({ setup_pending: false, signup_enabled: true });

    await page.reload();
    expect(await visibleText(page.getByText('You are not signed in.'))).toBe(
      'You are not signed in. Sign in to see your workspaces.',
    );
    expect(await page.getByText(/Setup is pending/).count()).toBe(0);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await heading(page, 'Create an account').waitFor();
    await page.getByLabel('Email').fill('newcomer@example.com');
    // Long enough for the field; too guessable for the server, which names its finding in code.
    await page.getByLabel('Password', { exact: true }).fill('password1234');
    await page.getByRole('button', { name: 'Create account' }).click();
    const refusal = await alertText(page);
    expect(refusal).toMatch(/^This password is too easy to guess: .+\. A few unrelated words/);
    expect(refusal).not.toMatch(/similarToCommon|too easy to guess: \w+$|^password /);

    await page.getByLabel('Password', { exact: true }).fill('otter lantern quietly 42 marbles');
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await visibleText(page.getByText('Signed in as'))).toBe(
      'Signed in as newcomer@example.com.',
    );
  });
});

describe.skipIf(webTestsUnavailable() !== '')('web app: sign-up closed (Chromium)', () => {
  const suite = browserSuite({ SIGNUP_ENABLED: 'false' });

  it('offers no sign-up link when sign-up is closed', async () => {
    await signUpUser(suite.server.app, 'admin@example.com');
    const page = await suite.newPage();
    await page.goto(`${suite.server.url}/`);
    await page.getByText('You are not signed in.').waitFor();
    expect(await page.getByRole('link', { name: 'Create an account' }).count()).toBe(0);
    expect(await page.getByText(/Setup is pending/).count()).toBe(0);
  });
});

describe.skipIf(webTestsUnavailable() !== '')('web app: the posts page (Chromium)', () => {
  const suite = browserSuite();
  let owner: TestUser;
  let workspaceId: string;

  beforeAll(async () => {
    owner = await signUpUser(suite.server.app, 'owner@example.com');
    workspaceId = await createWorkspaceAs(suite.server.app, owner, 'Acme');
    // What made the table wide: long posts, long handles, dates, and metrics in the millions.
    const records = Array.from({ length: 6 }, (_, i) =>
      postRecord({
        platform: i % 2 === 0 ? 'youtube' : 'instagram',
        account_handle: `acme_coffee_roasters_downtown_${i}`,
        text: `roast ${i}: a long post about the new roastery downtown, its beans, its staff, its queue and the long wait for a table on a Saturday morning`,
        likes: 1_234_567 + i,
        comments: 98_765,
        shares: 45_678,
        views: 18_935_000 + i,
      }),
    );
    const res = await suite.server.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/imports`,
      headers: { ...owner.headers, 'content-type': 'application/x-ndjson' },
      payload: toJsonl(records),
    });
    expect(res.statusCode, res.body).toBe(201);
  });

  const postsPath = (): string => `/workspaces/${workspaceId}/posts`;

  it('shows every metric whole at 1280x900: no numeric cell is clipped or outside the visible table', async () => {
    const page = await signedIn(suite, owner, postsPath());
    await page.setViewportSize({ width: 1280, height: 900 });
    const table = page.getByRole('table', { name: 'Posts' });
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 10_000 }).toBe(6);
    // Run in the page (a string: this file has no DOM types). Each metric cell, found by its
    // column's heading, must show all of its text inside the part of the table one can see.
    const problems = await page.evaluate<string[]>(`(() => {
      const region = document.querySelector('[role="region"][aria-label="Posts table"]');
      const area = region.getBoundingClientRect();
      const heads = [...region.querySelectorAll('thead th')].map((th) => th.textContent.trim());
      const out = [];
      if (document.documentElement.scrollWidth > window.innerWidth) out.push('the page scrolls sideways');
      for (const name of ['Likes', 'Comments', 'Shares', 'Views']) {
        const column = heads.indexOf(name);
        if (column < 0) { out.push('no column ' + name); continue; }
        for (const row of region.querySelectorAll('tbody tr')) {
          const cell = row.children[column];
          const box = cell.getBoundingClientRect();
          const text = cell.textContent.trim();
          if (cell.scrollWidth > cell.clientWidth) out.push(name + ' ' + text + ': clipped in its cell');
          if (box.left < area.left - 0.5 || box.right > area.right + 0.5 || box.right > window.innerWidth)
            out.push(name + ' ' + text + ': outside the visible table (' + Math.round(box.right) + ' > ' + Math.round(area.right) + ')');
        }
      }
      return out;
    })()`);
    expect(problems).toEqual([]);
    expect(await table.locator('tbody tr').first().locator('td').last().innerText()).toBe(
      '18,935,005',
    );
  });

  it('keeps the page when the address holds a platform it does not know: names it, ignores it, drops it from the address', async () => {
    const page = await signedIn(suite, owner, `${postsPath()}?platform=foo`);
    await heading(page, 'Posts').waitFor();
    expect(
      await visibleText(page.getByRole('status').filter({ hasText: 'address asked for' })),
    ).toBe(
      'This page’s address asked for the platform “foo”, which is not one SocialPulse knows: left out, so the posts below are not filtered by it.',
    );
    expect(await page.getByRole('link', { name: 'Your workspaces' }).count()).toBe(1);
    await expect
      .poll(() => page.getByRole('table', { name: 'Posts' }).locator('tbody tr').count(), {
        timeout: 10_000,
      })
      .toBe(6);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(new URL(page.url()).search).toBe('');
    expect(await page.getByLabel('Platform').inputValue()).toBe('');

    // The rest works: a search from the form.
    await page.getByLabel('Platform').selectOption('youtube');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.getByRole('table', { name: 'Posts' }).locator('tbody tr').count(), {
        timeout: 10_000,
      })
      .toBe(3);
    expect(new URL(page.url()).search).toBe('?platform=youtube');
  });

  it('keeps the page when the search in the address is longer than the server takes', async () => {
    const page = await signedIn(
      suite,
      owner,
      `${postsPath()}?q=${'a'.repeat(600)}&platform=youtube`,
    );
    await heading(page, 'Posts').waitFor();
    expect(
      await visibleText(page.getByRole('status').filter({ hasText: 'address asked for' })),
    ).toMatch(/the search, which is longer than 500 characters/);
    await expect
      .poll(() => page.getByRole('table', { name: 'Posts' }).locator('tbody tr').count(), {
        timeout: 10_000,
      })
      .toBe(3);
    expect(new URL(page.url()).search).toBe('?platform=youtube');
  });
});

describe.skipIf(webTestsUnavailable() !== '')('web app: sign-in buttons (Chromium)', () => {
  // Only X has a client: the others' sign-in would be refused "No OAuth client is configured".
  const suite = browserSuite({ X_CLIENT_ID: 'x-client', X_CLIENT_SECRET: 'x-client-secret' });
  let owner: TestUser;
  let workspaceId: string;

  beforeAll(async () => {
    owner = await signUpUser(suite.server.app, 'owner@example.com');
    workspaceId = await createWorkspaceAs(suite.server.app, owner, 'Acme');
  });

  it('lists the configured sign-ins in the API and offers only those; the token form keeps every platform', async () => {
    const res = await suite.server.app.inject({
      url: '/v1/oauth/platforms',
      headers: owner.headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ platforms: ['x', 'mastodon'] });

    const page = await signedIn(suite, owner, `/workspaces/${workspaceId}/connections`);
    await heading(page, 'Connections').waitFor();
    const signIn = page.getByRole('form', { name: "Connect with the platform's sign-in" });
    await signIn.getByRole('button', { name: 'Connect X' }).waitFor();
    const offered = await signIn.getByRole('button').allInnerTexts();
    expect(offered).toEqual(['Connect X']);
    expect(await page.getByRole('button', { name: 'Connect Mastodon' }).count()).toBe(1);
    expect(await page.getByText('No OAuth client is configured').count()).toBe(0);

    const tokenPlatforms = await page
      .getByRole('form', { name: /token/i })
      .getByLabel('Platform')
      .locator('option')
      .allInnerTexts();
    expect(tokenPlatforms).toEqual(
      expect.arrayContaining([
        'X',
        'YouTube',
        'Instagram',
        'TikTok',
        'Bluesky',
        'Mastodon',
        'Reddit',
      ]),
    );
  });
});
