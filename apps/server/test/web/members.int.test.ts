import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, createWorkspaceAs, signUpUser, type TestUser } from '../support/app.js';
import { browserSuite, visibleText, webTestsUnavailable } from '../support/browser.js';

interface ListedMember {
  email: string;
  role: string;
}

/**
 * A workspace's members page in a real browser: reached from the workspace's page; owners invite
 * (the link shown once), withdraw invitations, change roles and remove members; admins may not
 * touch owners nor grant the owner role; viewers see the list only.
 */
describe.skipIf(webTestsUnavailable() !== '')('web app: members (Chromium)', () => {
  const suite = browserSuite();
  let owner: TestUser;
  let admin: TestUser;
  let viewer: TestUser;
  let workspaceId: string;

  beforeAll(async () => {
    const { app } = suite.server;
    owner = await signUpUser(app, 'owner@example.com');
    admin = await signUpUser(app, 'admin@example.com');
    viewer = await signUpUser(app, 'viewer@example.com');
    workspaceId = await createWorkspaceAs(app, owner, 'Acme');
    await addMember(app, owner, workspaceId, admin, 'admin');
    await addMember(app, owner, workspaceId, viewer, 'viewer');
  });

  async function storedMembers(): Promise<ListedMember[]> {
    const res = await suite.server.app.inject({
      url: `/v1/workspaces/${workspaceId}/members`,
      headers: owner.headers,
    });
    return res
      .json<{ data: ListedMember[] }>()
      .data.map(({ email, role }) => ({ email, role }))
      .sort((a, b) => a.email.localeCompare(b.email));
  }

  /** Signs in as `user` on the workspace's page and follows its link to the members page. */
  async function openMembers(user: TestUser): Promise<Page> {
    const page = await suite.newPage();
    await page.goto(
      `${suite.server.url}/sign-in?next=${encodeURIComponent(`/workspaces/${workspaceId}/analyses`)}`,
    );
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Members', exact: true }).click();
    await page.getByRole('heading', { level: 2, name: 'Members', exact: true }).waitFor();
    return page;
  }
  const membersTable = (page: Page): Locator => page.getByRole('table', { name: 'Members' });
  const row = (page: Page, email: string): Locator =>
    membersTable(page).locator('tbody tr', { hasText: email });
  /** Waits until one of the page's status lines says `text` (changes are announced there). */
  const announced = (page: Page, text: string): Promise<void> =>
    expect.poll(() => page.getByRole('status').allInnerTexts()).toContain(text);

  it('lists the members with their roles for every member; a viewer gets no controls', async () => {
    const page = await openMembers(viewer);
    await expect.poll(() => membersTable(page).locator('tbody tr').count()).toBe(3);
    expect((await row(page, 'viewer@example.com').innerText()).replace(/\s+/g, ' ')).toMatch(
      /^viewer@example\.com \(you\) Viewer Off /,
    );
    expect(await row(page, 'owner@example.com').locator('td').first().innerText()).toBe('Owner');
    expect(await page.getByRole('combobox').count()).toBe(0);
    expect(await page.getByRole('button').count()).toBe(0);
    expect(await page.getByRole('form', { name: 'Invite someone' }).count()).toBe(0);
  });

  it('lets an owner invite by email (the link shown once) and withdraw the invitation', async () => {
    const page = await openMembers(owner);
    await page.getByText('No open invitations.').waitFor();
    const form = page.getByRole('form', { name: 'Invite someone' });
    await form.getByLabel('Email').fill('newcomer@example.com');
    await form.getByLabel('Role').selectOption('analyst');
    await form.getByRole('button', { name: 'Send invitation' }).click();
    expect(await visibleText(form.getByRole('status').locator('p'))).toMatch(
      /^Invitation mailed to newcomer@example\.com \(analyst\)\. The link works once, until .+, and is shown only now\.$/,
    );
    const link = await form.getByLabel('Invitation link').inputValue();
    expect(new URL(link).pathname).toBe('/invite');
    expect(link).toContain(suite.lastLinkTo('newcomer@example.com', '/invite').split('?')[1]);

    const invitations = page.getByRole('table', { name: 'Open invitations' });
    await expect
      .poll(() => invitations.locator('tbody tr th').allInnerTexts())
      .toEqual(['newcomer@example.com']);
    await invitations
      .getByRole('button', { name: 'Withdraw the invitation to newcomer@example.com' })
      .click();
    await announced(
      page,
      'The invitation to newcomer@example.com was withdrawn; its link no longer works.',
    );
    await page.getByText('No open invitations.').waitFor();
    const res = await suite.server.app.inject({
      url: `/v1/workspaces/${workspaceId}/invitations`,
      headers: owner.headers,
    });
    expect(res.json<{ data: unknown[] }>().data).toEqual([]);
  });

  it("lets an owner change a member's role and remove a member, after confirming", async () => {
    const page = await openMembers(owner);
    const viewerRow = row(page, 'viewer@example.com');
    await viewerRow.getByLabel('Role of viewer@example.com').selectOption('analyst');
    await viewerRow.getByRole('button', { name: 'Change role of viewer@example.com' }).click();
    await announced(page, 'viewer@example.com is now analyst.');
    expect(await storedMembers()).toContainEqual({ email: 'viewer@example.com', role: 'analyst' });

    await viewerRow.getByRole('button', { name: 'Remove viewer@example.com' }).click();
    // Nothing happens before the confirmation; Cancel puts the focus back.
    await viewerRow.getByRole('button', { name: 'Cancel' }).click();
    const remove = viewerRow.getByRole('button', { name: 'Remove viewer@example.com' });
    await expect
      .poll(() =>
        // This test's TypeScript has no DOM types: the page's document, as far as this needs it.
        remove.evaluate(
          (el) =>
            el ===
            (globalThis as unknown as { document: { activeElement: unknown } }).document
              .activeElement,
        ),
      )
      .toBe(true);
    expect(await storedMembers()).toHaveLength(3);
    await remove.click();
    await viewerRow.getByRole('button', { name: 'Yes, remove' }).click();
    await announced(page, 'viewer@example.com was removed from Acme.');
    await expect.poll(() => membersTable(page).locator('tbody tr').count()).toBe(2);
    expect(await storedMembers()).toEqual([
      { email: 'admin@example.com', role: 'admin' },
      { email: 'owner@example.com', role: 'owner' },
    ]);
  });

  it('gives an admin no control over owners and no owner role to grant', async () => {
    const page = await openMembers(admin);
    await expect.poll(() => membersTable(page).locator('tbody tr').count()).toBe(2);
    const ownerRow = row(page, 'owner@example.com');
    expect(await ownerRow.getByRole('combobox').count()).toBe(0);
    expect(await ownerRow.getByRole('button').count()).toBe(0);
    const roles = await page
      .getByRole('form', { name: 'Invite someone' })
      .getByLabel('Role')
      .locator('option')
      .allInnerTexts();
    expect(roles).toEqual(['Admin', 'Analyst', 'Viewer']);
  });
});
