import { describe, expect, it } from 'vitest';
import { createSetupLink } from '../../src/domain/auth/auth.service.js';
import { seedDemoWorkspace } from '../../src/domain/demo/demo.service.js';
import { strongPassword } from '../support/app.js';
import {
  alertText,
  browserSuite,
  visibleText,
  webTestsUnavailable,
  workspaceRows,
} from '../support/browser.js';

/** First run in a real browser: the setup link creates the admin, who lands on their workspaces. */
describe.skipIf(webTestsUnavailable() !== '')('web app: first-run setup (Chromium)', () => {
  const suite = browserSuite();

  it('creates the admin account from the setup link and shows the Demo workspace; the session survives without its access cookie; sign-out ends it', async () => {
    const { server, db } = suite;
    // What `serve` does on a fresh embedded database: the Demo workspace, then the setup link.
    const demo = await seedDemoWorkspace(db.pool, {
      batchSize: server.deps.config.import.batchSize,
      maxRecordBytes: server.deps.config.import.maxRecordBytes,
    });
    expect(demo?.inserted).toBeGreaterThan(0);
    const link = await createSetupLink(server.deps.auth, server.url);
    if (!link) throw new Error('no setup link on an empty database');

    const page = await suite.newPage();
    // The site's own files (the app, its icon) all load: the browser reports a failed one as a
    // console error at its address (the icon's request is the browser's, not the page's). Only
    // API answers may be refusals here.
    const failedFiles: string[] = [];
    page.on('console', (message) => {
      const { url } = message.location();
      if (message.type() === 'error' && url && !new URL(url).pathname.startsWith('/v1/'))
        failedFiles.push(`${message.text()} ${url}`);
    });
    await page.goto(link);
    await page.getByLabel('Email').fill('admin@example.com');
    // The field asks for 12 characters; a longer guessable one is the server's to refuse, and the
    // refused attempt does not spend the one-time link.
    await page.getByLabel('Password').fill('password1234');
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await alertText(page)).toMatch(
      /^This password is too easy to guess: [^:]+\. A few unrelated words make a strong one\.$/,
    );
    await page.getByLabel('Password').fill(strongPassword());
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(
      await visibleText(page.getByRole('status').filter({ hasText: 'account is ready' })),
    ).toBe('Your admin account is ready and you are signed in.');
    expect(await visibleText(page.getByText('Signed in as'))).toBe(
      'Signed in as admin@example.com.',
    );
    expect(await workspaceRows(page)).toEqual([
      ['Demo', 'owner', new Intl.NumberFormat('en').format(demo?.inserted ?? 0)],
    ]);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(failedFiles).toEqual([]);

    // The access cookie lives 15 minutes; without it the page renews the session from the refresh cookie.
    const context = page.context();
    expect((await context.cookies()).map((c) => c.name)).toContain('sp_access');
    await context.clearCookies({ name: 'sp_access' });
    await page.reload();
    expect(await visibleText(page.getByText('Signed in as'))).toBe(
      'Signed in as admin@example.com.',
    );
    expect(await workspaceRows(page)).toEqual([['Demo', 'owner', expect.any(String) as string]]);

    // The link is single-use: opened again, it cannot create a second admin.
    const again = await suite.newPage();
    await again.goto(link);
    await again.getByLabel('Email').fill('intruder@example.com');
    await again.getByLabel('Password').fill(strongPassword());
    await again.getByRole('button', { name: 'Create account' }).click();
    expect(await alertText(again)).toBe('This setup link is invalid, used or expired');

    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await visibleText(page.getByText('You are not signed in.'))).toBe(
      'You are not signed in. Sign in to see your workspaces.',
    );
    await page.reload();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    expect(await page.getByText('Signed in as').count()).toBe(0);
  });
});
