import type { ConnectionView, DeadLetterView, SyncRunView } from '@socialpulse/contracts';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectorProvider } from '../../src/domain/collection/connectors.js';
import { syncConnection, type SyncRequest } from '../../src/domain/collection/sync.service.js';
import { addMember, createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';
import { startSimulator, type Simulator } from '../simulator/index.js';

/**
 * A workspace's connections page in a real browser, collecting from the platform simulator: a
 * manager connects an X account through the platform's sign-in (the browser follows the
 * authorization URL to the simulator's consent and back), a refused consent says why, a pasted
 * token the platform refuses shows the API's error at its field, intervals change and syncs are
 * queued, disconnecting asks first and says what the platform did with the grant, and a viewer
 * reads the list without any control. Requests that failed for good (dead letters, made by a real
 * sync against a failing simulator) are listed with the platform's answer, replayed and
 * discarded; a viewer reads them without the buttons.
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
  /** GET …/dead-letters as the owner, newest first. */
  async function storedDeadLetters(status?: DeadLetterView['status']): Promise<DeadLetterView[]> {
    const res = await suite.server.app.inject({
      url: `/v1/workspaces/${workspaceId}/dead-letters?limit=200${status ? `&status=${status}` : ''}`,
      headers: owner.headers,
    });
    return res.json<{ data: DeadLetterView[] }>().data;
  }

  /**
   * One posts sync of a connection as a worker runs it (no worker runs beside these tests), with
   * a fresh connector provider (no circuit left open by an earlier call) that retries twice,
   * quickly: against a failing simulator, a dead letter.
   */
  const syncAsWorker = (
    request: Pick<SyncRequest, 'connectionId' | 'trigger'> & Partial<SyncRequest>,
  ): Promise<{ status: string }> =>
    syncConnection(
      {
        pool: suite.server.deps.db.pool,
        secretBox: suite.server.deps.auth.secretBox,
        connectors: createConnectorProvider({
          baseUrls: { x: simulator().url('x') },
          backoffBaseMs: 10,
          backoffMaxMs: 50,
          maxWaitMs: 2_000,
          maxAttempts: 2,
        }),
      },
      { workspaceId, kind: 'posts', ...request },
    );

  /** `times` posts syncs of the connection while X answers 503: as many dead letters. */
  async function failSyncs(connectionId: string, times: number): Promise<void> {
    simulator().setFaults([{ platform: 'x', kind: 'server_error', status: 503, times: Infinity }]);
    try {
      for (let i = 0; i < times; i++)
        expect((await syncAsWorker({ connectionId, trigger: 'manual' })).status).toBe('failed');
    } finally {
      simulator().setFaults([]);
    }
  }

  const failedTable = (page: Page): Locator => page.getByRole('table', { name: 'Failed requests' });
  const failedRow = (page: Page, id: string): Locator =>
    failedTable(page).locator('tbody tr', {
      has: page.getByRole('rowheader', { name: new RegExp(`^#${id} `) }),
    });
  const cellsOf = async (row: Locator): Promise<string[]> =>
    (await row.locator('th, td').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  type FocusGlobals = { document: { activeElement: { textContent: string | null } | null } };
  const focusedText = (page: Page): Promise<string | null | undefined> =>
    page.evaluate(
      () => (globalThis as unknown as FocusGlobals).document.activeElement?.textContent,
    );

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

    // Connected again without an interval: the account keeps its 45 minutes.
    await page.setViewportSize({ width: 1280, height: 900 });
    const again = page.getByRole('form', { name: "Connect with the platform's sign-in" });
    expect(await again.getByLabel('Collect new posts every (minutes)').inputValue()).toBe('');
    await again.getByRole('button', { name: 'Connect X' }).click();
    await announced(page, `Connected @${account.handle} on X. Its first sync starts shortly.`);
    expect(await storedConnections()).toEqual([
      expect.objectContaining({ platform: 'x', status: 'active', poll_minutes: 45 }),
    ]);
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
      "The account was not connected: the platform did not grant access: the consent was declined, or the platform refused SocialPulse's sign-in. Connect again; if it keeps failing, an administrator finds the platform's answer in the server's log.",
    );
    expect(new URL(page.url()).search).toBe('');
    expect(await storedConnections()).toHaveLength(1);
  });

  it('words a refusal itself: text put in the address by whoever made the link is not shown', async () => {
    const page = await openConnections(owner);
    const crafted =
      'Your account is suspended: call +1 555 0100 or visit evil.example to restore it';
    const open = async (query: Record<string, string>): Promise<string> => {
      await page.goto(`${suite.server.url}${pagePath()}?${new URLSearchParams(query).toString()}`);
      const alert = await visibleText(page.getByRole('alert'));
      expect(await page.locator('body').innerText()).not.toContain('suspended');
      expect(new URL(page.url()).search).toBe('');
      return alert;
    };
    // A known code: the page's words for it, never the message beside it.
    expect(await open({ oauth_error: 'oauth_state_invalid', message: crafted })).toBe(
      'The account was not connected: the sign-in expired or was already used, or came back without an authorization; connect again.',
    );
    // An unknown code that looks like one of ours is named; anything else is not repeated.
    expect(await open({ oauth_error: 'some_new_refusal', message: crafted })).toBe(
      'The account was not connected: the sign-in did not complete (some_new_refusal); connect again.',
    );
    expect(await open({ oauth_error: crafted, message: crafted })).toBe(
      'The account was not connected: the sign-in did not complete; connect again.',
    );
    // A name every object has is no known code either.
    expect(await open({ oauth_error: 'constructor' })).toBe(
      'The account was not connected: the sign-in did not complete (constructor); connect again.',
    );
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
      /^Access token may hold only visible ASCII characters/,
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

  it("lists the requests X failed for good with X's answer; replays one and discards another after a confirmation", async () => {
    const other = simulator().accounts.x[1];
    if (!other) throw new Error('no second simulated X account');
    const connection = (await storedConnections()).find(
      (c) => c.account.handle === other.handle && c.status === 'active',
    );
    if (!connection) throw new Error(`@${other.handle} is not connected`);
    const name = `@${other.handle} on X`;
    const page = await openConnections(owner);
    await page.getByText('No failed request is waiting to be replayed or discarded.').waitFor();

    await failSyncs(connection.id, 2);
    const [second, first] = await storedDeadLetters('open');
    if (!first || !second) throw new Error('the failing syncs left no dead letters');
    for (const d of [first, second])
      expect(d).toMatchObject({
        connection_id: connection.id,
        operation: 'list_posts',
        attempts: 2,
        error: { httpStatus: 503 },
      });

    await page.reload();
    for (const d of [first, second]) {
      await failedRow(page, d.id).waitFor();
      const [request, account, error, attempts, , status, manage] = await cellsOf(
        failedRow(page, d.id),
      );
      expect(request).toBe(`#${d.id} Collect new posts ${String(d.request['endpoint'])}`);
      expect(account).toBe(name);
      expect(error).toBe(`${String(d.error['message'])} ${String(d.error['code'])}, HTTP 503`);
      expect([attempts, status]).toEqual(['2', 'Open']);
      expect(manage).toBe(
        `Replay failed request #${d.id} Collect new posts Discard failed request #${d.id} Collect new posts`,
      );
    }

    // Replay: a sync run of the account is queued; the request stays open until it succeeds.
    await failedRow(page, first.id)
      .getByRole('button', { name: `Replay failed request #${first.id} Collect new posts` })
      .click();
    await announced(
      page,
      `The replay of failed request #${first.id} Collect new posts (${name}) is queued; its run shows in the account's latest runs, and the request is marked replayed once it succeeds.`,
    );
    const runs = (
      await suite.server.app.inject({
        url: `/v1/workspaces/${workspaceId}/connections/${connection.id}/sync-runs`,
        headers: owner.headers,
      })
    ).json<{ data: SyncRunView[] }>().data;
    const replay = runs.find((r) => r.trigger === 'replay' && r.status === 'queued');
    if (!replay) throw new Error(`no replay run was queued: ${JSON.stringify(runs)}`);
    // The worker's part, with the job's data: X answers again, and the request is replayed.
    expect(
      await syncAsWorker({
        connectionId: connection.id,
        trigger: 'replay',
        runId: replay.id,
        deadLetterId: first.id,
      }),
    ).toMatchObject({ status: 'completed' });
    // The page reads again while a run is queued: the replayed request leaves the open ones.
    await expect.poll(() => failedRow(page, first.id).count(), { timeout: 20_000 }).toBe(0);

    // Discard asks first; Cancel keeps it and gives the focus back.
    const discardName = `Discard failed request #${second.id} Collect new posts`;
    const secondRow = failedRow(page, second.id);
    await secondRow.getByRole('button', { name: discardName }).click();
    await secondRow
      .getByRole('group', { name: `Discard failed request #${second.id} Collect new posts?` })
      .getByRole('button', { name: 'Cancel' })
      .click();
    await expect.poll(() => focusedText(page)).toBe(discardName);
    expect((await storedDeadLetters('open')).map((d) => d.id)).toEqual([second.id]);

    await secondRow.getByRole('button', { name: discardName }).click();
    await secondRow.getByRole('button', { name: 'Yes, discard' }).click();
    await announced(
      page,
      `Failed request #${second.id} Collect new posts (${name}) was discarded; it stays on record under “Discarded”.`,
    );
    await page.getByText('No failed request is waiting to be replayed or discarded.').waitFor();
    await expect.poll(() => focusedText(page)).toBe('Failed requests');
    expect(
      (await storedDeadLetters())
        .map((d) => [d.id, d.status])
        .filter(([id]) => id === first.id || id === second.id),
    ).toEqual([
      [second.id, 'discarded'],
      [first.id, 'replayed'],
    ]);

    // Both stay on record, without buttons.
    await page.getByLabel('Show', { exact: true }).selectOption('all');
    await failedRow(page, first.id).waitFor();
    expect((await cellsOf(failedRow(page, first.id)))[5]).toMatch(/^Replayed \S/);
    expect((await cellsOf(failedRow(page, second.id)))[5]).toBe('Discarded');
    expect(await failedTable(page).getByRole('button').count()).toBe(0);
  });

  it('pages through the failed requests, and shows a viewer no button to replay or discard them', async () => {
    const other = simulator().accounts.x[1];
    const connection = (await storedConnections()).find(
      (c) => c.account.handle === other?.handle && c.status === 'active',
    );
    if (!connection) throw new Error('the second X account is not connected');
    // With the two of the test before: 22, a page of 20 and 2 more.
    await failSyncs(connection.id, 20);
    expect(await storedDeadLetters()).toHaveLength(22);

    const page = await openConnections(viewer);
    await page.getByLabel('Show', { exact: true }).selectOption('all');
    await expect.poll(() => failedTable(page).locator('tbody tr').count()).toBe(20);
    expect(await failedTable(page).getByRole('columnheader').allInnerTexts()).not.toContain(
      'Manage',
    );
    await page.getByRole('button', { name: 'Show more' }).click();
    await expect.poll(() => failedTable(page).locator('tbody tr').count()).toBe(22);
    expect(await page.getByRole('button').count()).toBe(0);
    const shown = await failedTable(page).getByRole('rowheader').allInnerTexts();
    expect(shown.map((t) => /^#(\d+) /.exec(t)?.[1])).toEqual(
      (await storedDeadLetters()).map((d) => d.id),
    );
  });
});
