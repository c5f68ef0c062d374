import type { ConnectionView } from '@socialpulse/contracts';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';
import { startSimulator, type Simulator } from '../simulator/index.js';

/**
 * A workspace's connections page in a real browser, collecting from the platform simulator: a
 * manager connects an X account through the platform's sign-in (the browser follows the
 * authorization URL to the simulator's consent and back), a refused consent says why, a pasted
 * token the platform refuses shows the API's error at its field, intervals change and syncs are
 * queued, disconnecting asks first and says what the platform did with the grant, and a viewer
 * reads the list without any control.
 */
describe.skipIf(webTestsUnavailable() !== '')('web app: connections (Chromium)', () => {
  let sim: Simulator | undefined;
  const simulator = (): Simulator => {
    if (!sim) throw new Error('the simulator is not running (beforeAll failed?)');
    return sim;
  };
  const suite = browserSuite(async () => {
    sim = await startSimulator({ seed: 7, accounts: { x: 2 }, postsPerAccount: 3 });
    const client = sim.apps.x;
    return {
      PLATFORM_BASE_URLS: `x=${sim.url('x')}`,
      X_CLIENT_ID: client.clientId,
      X_CLIENT_SECRET: client.clientSecret,
    };
  });
  let owner: TestUser;
  let viewer: TestUser;
  let workspaceId: string;

  beforeAll(async () => {
    const { app } = suite.server;
    owner = await signUpUser(app, 'owner@example.com');
    viewer = await signUpUser(app, 'viewer@example.com');
    workspaceId = await createWorkspaceAs(app, owner, 'Acme');
    await addMember(app, owner, workspaceId, viewer, 'viewer');
  });
  afterAll(async () => {
    await sim?.close();
  });

  const pagePath = (): string => `/workspaces/${workspaceId}/connections`;

  async function storedConnections(): Promise<ConnectionView[]> {
    const res = await suite.server.app.inject({
      url: `/v1/workspaces/${workspaceId}/connections`,
      headers: owner.headers,
    });
    return res.json<{ data: ConnectionView[] }>().data;
  }

  /** Signs in as `user` and lands on the connections page. */
  async function openConnections(user: TestUser): Promise<Page> {
    const page = await suite.newPage();
    await page.goto(`${suite.server.url}/sign-in?next=${encodeURIComponent(pagePath())}`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 2, name: 'Connections', exact: true }).waitFor();
    return page;
  }
  const table = (page: Page): Locator => page.getByRole('table', { name: 'Connected accounts' });
  const row = (page: Page, account: string): Locator =>
    table(page).locator('tbody tr', { has: page.getByRole('rowheader', { name: account }) });
  /** Waits until one of the page's status lines says exactly `text` (outcomes are announced there). */
  const announced = (page: Page, text: string): Promise<void> =>
    page
      .getByRole('status')
      .filter({ hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
      .waitFor();

  it('connects an X account through the platform sign-in and lists it as active', async () => {
    const account = simulator().accounts.x[0];
    if (!account) throw new Error('no simulated X account');
    const page = await openConnections(owner);
    await page.getByText('No accounts are connected to Acme.').waitFor();
    const form = page.getByRole('form', { name: "Connect with the platform's sign-in" });
    await form.getByLabel('Collect new posts every (minutes)').fill('45');
    await form.getByRole('button', { name: 'Connect X' }).click();

    // The simulator's consent sends the browser back through the callback to this page.
    await announced(page, `Connected @${account.handle} on X. Its first sync starts shortly.`);
    expect(new URL(page.url()).pathname).toBe(pagePath());
    expect(new URL(page.url()).search).toBe('');
    const listed = row(page, `@${account.handle}`);
    expect((await listed.innerText()).replace(/\s+/g, ' ')).toMatch(/^@\S+ X Active Never /);
    expect(
      await listed
        .getByLabel(`Minutes between collections of @${account.handle} on X`)
        .inputValue(),
    ).toBe('45');
    expect(await storedConnections()).toEqual([
      expect.objectContaining({ platform: 'x', status: 'active', poll_minutes: 45 }),
    ]);

    // On a phone the table scrolls inside its box; the page itself never scrolls sideways.
    await page.setViewportSize({ width: 375, height: 800 });
    type PageGlobals = { document: { documentElement: { scrollWidth: number } } };
    expect(
      await page.evaluate(
        () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
      ),
    ).toBeLessThanOrEqual(375);

    // A reload does not announce it again: the outcome was cleared from the address.
    await page.reload();
    await table(page).waitFor();
    expect(await page.getByText(/^Connected @/).count()).toBe(0);
  });

  it('says what the platform refused when the consent is denied', async () => {
    const page = await openConnections(owner);
    // The simulated user always consents: this one refuses, as the platform redirects on "Cancel".
    await page.route(`${simulator().url('x')}/i/oauth2/authorize**`, (route) => {
      const asked = new URL(route.request().url());
      const back = new URL(asked.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied the request');
      back.searchParams.set('state', asked.searchParams.get('state') ?? '');
      return route.fulfill({ status: 302, headers: { location: back.toString() } });
    });
    await page
      .getByRole('form', { name: "Connect with the platform's sign-in" })
      .getByRole('button', { name: 'Connect X' })
      .click();
    expect(await visibleText(page.getByRole('alert'))).toBe(
      'The account was not connected: x did not grant access: access_denied (The user denied the request)',
    );
    expect(new URL(page.url()).search).toBe('');
    expect(await storedConnections()).toHaveLength(1);
  });

  it("shows the API's error at the token field when the platform refuses a pasted token", async () => {
    const other = simulator().accounts.x[1];
    if (!other) throw new Error('no second simulated X account');
    const page = await openConnections(owner);
    const form = page.getByRole('form', { name: 'Connect with a token' });
    await form.getByLabel('Platform').selectOption('x');
    await form.getByLabel('Account').fill(`@${other.handle}`);
    const token = form.getByLabel('Access token', { exact: true });

    await token.fill('not a token');
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    expect(await visibleText(form.getByRole('alert'))).toMatch(
      /^body\.credentials\.access_token: access_token may hold only visible ASCII characters/,
    );
    await expect.poll(() => token.getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');

    await token.fill('sim-token-that-x-never-issued');
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    expect(await visibleText(form.getByRole('alert'))).toBe(
      `Cannot connect @${other.handle}: x refused the credentials (expired, revoked or not a valid token)`,
    );
    expect(await storedConnections()).toHaveLength(1);

    // The account's real token connects it.
    await token.fill(other.accessToken);
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    await announced(page, `Connected @${other.handle} on X. Its first sync starts shortly.`);
    await row(page, `@${other.handle}`).waitFor();
    expect(await form.getByRole('alert').count()).toBe(0);
    expect(await storedConnections()).toHaveLength(2);
  });

  it('changes the poll interval and queues a sync now', async () => {
    const account = simulator().accounts.x[0];
    if (!account) throw new Error('no simulated X account');
    const name = `@${account.handle} on X`;
    const page = await openConnections(owner);
    const listed = row(page, `@${account.handle}`);
    await listed.getByLabel(`Minutes between collections of ${name}`).fill('15');
    await listed.getByRole('button', { name: `Save the interval of ${name}` }).click();
    await announced(page, `New posts of ${name} are now collected every 15 minutes.`);
    expect(
      (await storedConnections()).find((c) => c.account.handle === account.handle),
    ).toMatchObject({
      poll_minutes: 15,
    });

    await listed.getByRole('button', { name: `Sync now ${name}` }).click();
    await announced(page, `A sync of ${name} is queued; its run shows here as it goes.`);
    await expect
      .poll(() => listed.locator('td.connection-runs').innerText())
      .toMatch(/^Queued .+ \(sync now\)/);
  });

  it('shows a viewer the connections without any control', async () => {
    const page = await openConnections(viewer);
    await table(page).locator('tbody tr').nth(1).waitFor();
    expect(await table(page).locator('tbody tr').count()).toBe(2);
    await page
      .getByText(
        "Only the workspace's owners and admins can connect accounts or change how they are collected.",
      )
      .waitFor();
    expect(await page.getByRole('button').count()).toBe(0);
    expect(await page.getByRole('spinbutton').count()).toBe(0);
    expect(await page.getByRole('form').count()).toBe(0);
    expect(await table(page).getByRole('columnheader').allInnerTexts()).not.toContain('Manage');
  });

  it('disconnects after a confirmation, says whether X revoked the grant, and lists it no more', async () => {
    const account = simulator().accounts.x[0];
    if (!account) throw new Error('no simulated X account');
    const name = `@${account.handle} on X`;
    const page = await openConnections(owner);
    const listed = row(page, `@${account.handle}`);
    await listed.getByRole('button', { name: `Disconnect ${name}` }).click();
    await listed.getByRole('button', { name: 'Cancel' }).click();
    expect((await storedConnections()).every((c) => c.status !== 'disconnected')).toBe(true);

    await listed.getByRole('button', { name: `Disconnect ${name}` }).click();
    await listed.getByRole('button', { name: 'Yes, disconnect' }).click();
    await announced(
      page,
      `${name} was disconnected; its collected posts stay. X confirmed that SocialPulse's access was revoked.`,
    );
    await expect.poll(() => table(page).locator('tbody tr').count(), { timeout: 10_000 }).toBe(1);
    await page
      .getByRole('listitem')
      .filter({ hasText: `${name}, disconnected` })
      .waitFor();
    expect(
      (await storedConnections()).find((c) => c.account.handle === account.handle),
    ).toMatchObject({
      status: 'disconnected',
    });
  });
});
