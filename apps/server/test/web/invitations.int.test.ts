import { describe, expect, it } from 'vitest';
import { signUp } from '../../src/domain/auth/auth.service.js';
import { createWorkspaceAs, signUpUser, strongPassword, type TestUser } from '../support/app.js';
import {
  alertText,
  browserSuite,
  visibleText,
  webTestsUnavailable,
  workspaceRows,
} from '../support/browser.js';

/**
 * Invitation links in a real browser, on an instance whose sign-up is closed: the invited
 * address signs up from the link, an existing account signs in and accepts, and the link
 * works once and only for its own address.
 */
describe.skipIf(webTestsUnavailable() !== '')('web app: invitations (Chromium)', () => {
  const suite = browserSuite({ SIGNUP_ENABLED: 'false' });
  let owner: TestUser;
  let workspaceId: string;

  /** Invites an address through the API (as the owner) and returns the link mailed to it. */
  async function invite(email: string, role: 'admin' | 'analyst' | 'viewer'): Promise<string> {
    const res = await suite.server.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/invitations`,
      headers: owner.headers,
      payload: { email, role },
    });
    if (res.statusCode !== 201) throw new Error(`invitation failed: ${res.statusCode} ${res.body}`);
    return suite.lastLinkTo(email, '/invite');
  }

  it('lets the invited address create its account from the link, even with sign-up closed, and join at once', async () => {
    const { server } = suite;
    // The first account of the instance (from this machine: no setup link needed).
    owner = await signUpUser(server.app, 'owner@example.com');
    workspaceId = await createWorkspaceAs(server.app, owner, 'Acme');
    const link = await invite('newcomer@example.com', 'analyst');

    const page = await suite.newPage();
    await page.goto(link);
    expect(await visibleText(page.getByRole('heading', { level: 2 }))).toBe('Join Acme as analyst');
    expect(await visibleText(page.getByText('This invitation is for'))).toMatch(
      /^This invitation is for newcomer@example\.com\. It works until /,
    );
    const email = page.getByLabel('Email');
    expect(await email.inputValue()).toBe('newcomer@example.com');
    expect(await email.isEditable()).toBe(false);
    await page.getByLabel('Password').fill(strongPassword());
    await page.getByRole('button', { name: 'Create account and join' }).click();
    expect(await visibleText(page.getByRole('status'))).toBe('You joined Acme as analyst.');

    await page.getByRole('link', { name: 'Go to your workspaces' }).click();
    expect(await visibleText(page.getByText('Signed in as'))).toBe(
      'Signed in as newcomer@example.com.',
    );
    expect(await workspaceRows(page)).toEqual([['Acme', 'analyst', '0']]);

    // Spent: the same link, opened again, says so.
    const again = await suite.newPage();
    await again.goto(link);
    expect(await alertText(again)).toBe('This invitation was already accepted');
  });

  it('lets an existing account sign in from the link, come back and accept; refuses another account', async () => {
    const { server } = suite;
    const password = strongPassword();
    // Sign-up is closed: the account is created as an operator would (CLI), not through the API.
    await signUp(
      server.deps.auth,
      { email: 'member@example.com', password },
      { ip: null, userAgent: null, requestId: null },
      { viaAdmin: true },
    );
    const link = await invite('member@example.com', 'viewer');

    const page = await suite.newPage();
    await page.goto(link);
    expect(await visibleText(page.getByRole('heading', { level: 2 }))).toBe('Join Acme as viewer');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Email').fill('member@example.com');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Back on the invitation, signed in.
    expect(await visibleText(page.getByText('You are signed in as'))).toBe(
      'You are signed in as member@example.com.',
    );
    expect(await visibleText(page.getByRole('heading', { level: 2 }))).toBe('Join Acme as viewer');
    await page.getByRole('button', { name: 'Accept' }).click();
    expect(await visibleText(page.getByRole('status'))).toBe('You joined Acme as viewer.');
    await page.getByRole('link', { name: 'Go to your workspaces' }).click();
    expect(await workspaceRows(page)).toEqual([['Acme', 'viewer', '0']]);

    // An invitation for someone else, opened while signed in as this account.
    const other = await invite('someone-else@example.com', 'admin');
    await page.goto(other);
    expect(await visibleText(page.getByText('You are signed in as'))).toMatch(
      /The invitation was sent to someone-else@example\.com/,
    );
    await page.getByRole('button', { name: 'Accept' }).click();
    expect(await alertText(page)).toBe(
      'This invitation was sent to another email address; sign in as that account to accept it',
    );
  });

  it('says so when the link is not valid', async () => {
    const page = await suite.newPage();
    await page.goto(`${suite.server.url}/invite?token=${'x'.repeat(43)}`);
    expect(await alertText(page)).toBe('This invitation link is not valid');
  });
});
