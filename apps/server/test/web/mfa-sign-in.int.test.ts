import { describe, expect, it } from 'vitest';
import { createWorkspaceAs, signUpUser } from '../support/app.js';
import { enrolTotp, totpCode } from '../support/auth.js';
import {
  alertText,
  browserSuite,
  visibleText,
  webTestsUnavailable,
  workspaceRows,
} from '../support/browser.js';

/** Sign-in with two-factor authentication (TOTP enrolled through the API), in a real browser. */
describe.skipIf(webTestsUnavailable() !== '')(
  'web app: sign-in with two-factor authentication (Chromium)',
  () => {
    const suite = browserSuite();

    it('asks for the authenticator code after the password, refuses a wrong one, and signs in with the right one', async () => {
      const { server } = suite;
      const user = await signUpUser(server.app, 'careful@example.com');
      await createWorkspaceAs(server.app, user, 'Careful Co');
      const { secret } = await enrolTotp(server.app, user.headers);

      const page = await suite.newPage();
      await page.goto(`${server.url}/sign-in`);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();

      // The enrolment used the current step's code; the next step's is fresh (one step of skew is allowed).
      const code = totpCode(secret, 1);
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      await page.getByLabel('Authentication code').fill(wrong);
      await page.getByRole('button', { name: 'Verify' }).click();
      expect(await alertText(page)).toBe('The code is incorrect or was already used');

      await page.getByLabel('Authentication code').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      expect(await visibleText(page.getByText('Signed in as'))).toBe(
        `Signed in as ${user.email} with two-factor authentication.`,
      );
      expect(await workspaceRows(page)).toEqual([['Careful Co', 'owner', '0']]);
    });

    it('signs in with a recovery code instead, once; and never follows a next link off the site', async () => {
      const { server } = suite;
      const user = await signUpUser(server.app, 'lost-phone@example.com');
      const { recoveryCodes } = await enrolTotp(server.app, user.headers);
      const recoveryCode = recoveryCodes[0] ?? '';

      const signInWithRecoveryCode = async (next: string) => {
        const page = await suite.newPage();
        await page.goto(`${server.url}/sign-in?next=${encodeURIComponent(next)}`);
        await page.getByLabel('Email').fill(user.email);
        await page.getByLabel('Password').fill(user.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
        await page.getByLabel('Recovery code').fill(recoveryCode);
        await page.getByRole('button', { name: 'Verify' }).click();
        return page;
      };

      const page = await signInWithRecoveryCode('//example.com/elsewhere');
      expect(await visibleText(page.getByText('Signed in as'))).toBe(
        `Signed in as ${user.email} with two-factor authentication.`,
      );
      expect(page.url()).toBe(`${server.url}/`);
      expect(
        await visibleText(page.getByText('You are not a member of any workspace yet.')),
      ).toMatch(/invitation link/);

      const again = await signInWithRecoveryCode('/');
      expect(await alertText(again)).toBe('The code is incorrect or was already used');
    });
  },
);
