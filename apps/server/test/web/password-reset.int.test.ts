import { describe, expect, it } from 'vitest';
import { createWorkspaceAs, signUpUser, strongPassword } from '../support/app.js';
import {
  alertText,
  browserSuite,
  visibleText,
  webTestsUnavailable,
  workspaceRows,
} from '../support/browser.js';

/** Forgot password → the link in the mail → a new password, in a real browser. */
describe.skipIf(webTestsUnavailable() !== '')('web app: password reset (Chromium)', () => {
  const suite = browserSuite();

  it('resets the password from the mailed link: the new one signs in, the old one does not, and the link works once', async () => {
    const { server } = suite;
    const user = await signUpUser(server.app, 'forgetful@example.com');
    await createWorkspaceAs(server.app, user, 'Forgetful Co');

    const page = await suite.newPage();
    await page.goto(`${server.url}/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(user.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    expect(await visibleText(page.getByRole('status'))).toBe(
      `If an account exists for ${user.email}, we sent it a link to choose a new password. The link works once, for 30 minutes.`,
    );

    const link = suite.lastLinkTo(user.email, '/reset-password');
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    // The server's rules decide, and its message is shown.
    await page.getByLabel('New password', { exact: true }).fill('password1234');
    await page.getByLabel('Repeat the new password').fill('password1234');
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await alertText(page)).toMatch(
      /^This password is too easy to guess: [^:]+\. A few unrelated words make a strong one\.$/,
    );

    const password = strongPassword();
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('Repeat the new password').fill(`${password} typo`);
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await alertText(page)).toBe(
      'The two passwords differ; type the same new password twice.',
    );

    await page.getByLabel('Repeat the new password').fill(password);
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await visibleText(page.getByRole('status'))).toBe(
      'Your password has been changed and every session of your account has been signed out.',
    );

    await page.getByRole('link', { name: 'Sign in with your new password' }).click();
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await alertText(page)).toBe('Email or password is incorrect');

    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await visibleText(page.getByText('Signed in as'))).toBe(`Signed in as ${user.email}.`);
    expect(await workspaceRows(page)).toEqual([['Forgetful Co', 'owner', '0']]);

    // The link was spent: opened again (in another browser), it says so.
    const later = await suite.newPage();
    await later.goto(link);
    const again = strongPassword();
    await later.getByLabel('New password', { exact: true }).fill(again);
    await later.getByLabel('Repeat the new password').fill(again);
    await later.getByRole('button', { name: 'Change password' }).click();
    expect(await alertText(later)).toBe('This reset link is invalid, used or expired');
    expect(await later.getByRole('link', { name: 'Ask for a new link' }).isVisible()).toBe(true);
  });

  it('says so when the link lacks its token', async () => {
    const page = await suite.newPage();
    await page.goto(`${suite.server.url}/reset-password`);
    expect(await alertText(page)).toBe(
      'This reset link is incomplete: open the whole link from the mail, or ask for a new one.',
    );
  });
});
