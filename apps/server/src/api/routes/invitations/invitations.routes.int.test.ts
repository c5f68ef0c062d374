/**
 * Invitations, the first account and the account audit log: a member joins with the role they
 * were invited with, only through their own address's link, once; sign-up may be closed; the
 * first account of an instance cannot be claimed from afar; account events can be read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import {
  buildTestAppWithMail,
  createWorkspaceAs,
  signUpUser,
  strongPassword,
  type TestUser,
} from '../../../../test/support/app.js';
import type { MailMessage } from '../../../domain/auth/mail.js';
import { loadConfig } from '../../../config.js';
import { buildApp } from '../../app.js';
import { createAppDeps } from '../../deps.js';
import { createLogger } from '../../../observability/logger.js';

const tokenOf = (url: string): string => new URL(url).searchParams.get('token') ?? '';

describe.skipIf(databaseUnavailable() !== '')(
  'invitations, the first account and the account audit log',
  () => {
    let db: TestDatabase;
    let app: ZodApp;
    let mail: MailMessage[];
    let admin: TestUser;
    let owner: TestUser;
    let workspaceId: string;

    beforeAll(async () => {
      db = await createTestDatabase();
      // Sign-up closed: invitations are the way in.
      ({ app, mail } = await buildTestAppWithMail(db, {
        SIGNUP_ENABLED: 'false',
        PUBLIC_URL: 'https://sp.example.test',
      }));
      // The first account is the instance's admin even with sign-up closed (created on the machine itself).
      admin = await signUpUser(app, 'root@example.com');
      owner = admin;
      workspaceId = await createWorkspaceAs(app, owner, 'Invited');
    });
    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    async function invite(
      email: string,
      role: string,
      as: TestUser = owner,
    ): Promise<{ status: number; body: Record<string, unknown>; token: string }> {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/invitations`,
        headers: as.headers,
        payload: { email, role },
      });
      const body = res.json<Record<string, unknown>>();
      return {
        status: res.statusCode,
        body,
        token: typeof body.invite_url === 'string' ? tokenOf(body.invite_url) : '',
      };
    }

    it('sign-up is closed, but an invited address signs up with its link and lands in the workspace with its role', async () => {
      const closed = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: { email: 'stranger@example.com', password: strongPassword() },
      });
      expect(closed.statusCode).toBe(403);
      expect(closed.json()).toMatchObject({
        error: { code: 'forbidden', details: { reason: 'signup_closed' } },
      });

      const invited = await invite('New.Analyst@example.com', 'analyst');
      expect(invited.status).toBe(201);
      expect(invited.body).toMatchObject({
        email: 'New.Analyst@example.com',
        role: 'analyst',
        mailed: true,
      });
      expect(String(invited.body.invite_url)).toMatch(
        /^https:\/\/sp\.example\.test\/invite\?token=/,
      );
      // The link went out by mail, to that address, and is nowhere in the list.
      const sent = mail.find((m) => m.to === 'New.Analyst@example.com');
      expect(sent?.text).toContain(String(invited.body.invite_url));
      expect(sent?.subject).toContain('Invited');
      const list = await app.inject({
        url: `/v1/workspaces/${workspaceId}/invitations`,
        headers: owner.headers,
      });
      expect(list.json<{ data: { email: string }[] }>().data.map((i) => i.email)).toContain(
        'New.Analyst@example.com',
      );
      expect(list.body).not.toContain(invited.token);

      const preview = await app.inject({
        method: 'POST',
        url: '/v1/invitations/preview',
        payload: { token: invited.token },
      });
      expect(preview.json()).toMatchObject({
        workspace: { id: workspaceId, name: 'Invited' },
        email: 'New.Analyst@example.com',
        role: 'analyst',
      });

      // Another address cannot use the link to get an account.
      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: {
          email: 'other@example.com',
          password: strongPassword(),
          invitation_token: invited.token,
        },
      });
      expect(wrong.json()).toMatchObject({
        error: { code: 'forbidden', details: { reason: 'invitation_email_mismatch' } },
      });

      const password = strongPassword();
      const joined = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: { email: 'new.analyst@example.com', password, invitation_token: invited.token },
      });
      expect(joined.statusCode, joined.body).toBe(201);
      const headers = {
        authorization: `Bearer ${joined.json<{ access_token: string }>().access_token}`,
      };
      const workspaces = await app.inject({ url: '/v1/workspaces', headers });
      expect(workspaces.json<{ data: { id: string; role: string }[] }>().data).toEqual([
        expect.objectContaining({ id: workspaceId, role: 'analyst' }),
      ]);
      // An analyst imports; a viewer could not have.
      expect(
        (
          await app.inject({
            method: 'POST',
            url: `/v1/workspaces/${workspaceId}/imports`,
            headers: { ...headers, 'content-type': 'application/x-ndjson' },
            payload:
              '{"platform":"x","external_id":"1","text":"hi","created_at":"2026-01-01T00:00:00Z"}\n',
          })
        ).statusCode,
      ).toBe(201);

      // The link is single-use.
      const again = await app.inject({
        method: 'POST',
        url: '/v1/invitations/preview',
        payload: { token: invited.token },
      });
      expect(again.json()).toMatchObject({
        error: { code: 'not_found', details: { reason: 'invitation_used' } },
      });
      const audit = await app.inject({
        url: `/v1/workspaces/${workspaceId}/audit-log`,
        headers: owner.headers,
      });
      const actions = audit
        .json<{ data: { action: string; details: Record<string, unknown> }[] }>()
        .data.map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['invitation.created', 'member.joined']));
      expect(audit.body).not.toContain(invited.token);
    });

    it('an existing account accepts only an invitation sent to its own address', async () => {
      const member = await (async () => {
        const first = await invite('existing@example.com', 'viewer');
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/sign-up',
          payload: {
            email: 'existing@example.com',
            password: strongPassword(),
            invitation_token: first.token,
          },
        });
        expect(res.statusCode, res.body).toBe(201);
        return {
          headers: { authorization: `Bearer ${res.json<{ access_token: string }>().access_token}` },
        };
      })();
      const other = await createWorkspaceAs(app, owner, 'Second');
      const forSomeoneElse = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${other}/invitations`,
        headers: owner.headers,
        payload: { email: 'someone.else@example.com', role: 'admin' },
      });
      const refused = await app.inject({
        method: 'POST',
        url: '/v1/invitations/accept',
        headers: member.headers,
        payload: { token: tokenOf(forSomeoneElse.json<{ invite_url: string }>().invite_url) },
      });
      expect(refused.json()).toMatchObject({
        error: { code: 'forbidden', details: { reason: 'invitation_email_mismatch' } },
      });

      const mine = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${other}/invitations`,
        headers: owner.headers,
        payload: { email: 'EXISTING@example.com', role: 'admin' },
      });
      const accepted = await app.inject({
        method: 'POST',
        url: '/v1/invitations/accept',
        headers: member.headers,
        payload: { token: tokenOf(mine.json<{ invite_url: string }>().invite_url) },
      });
      expect(accepted.statusCode, accepted.body).toBe(200);
      expect(accepted.json()).toEqual({ workspace_id: other, role: 'admin' });
      // Already a member: a second invitation cannot change the role behind the owner's back.
      const twice = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${other}/invitations`,
        headers: owner.headers,
        payload: { email: 'existing@example.com', role: 'owner' },
      });
      const conflict = await app.inject({
        method: 'POST',
        url: '/v1/invitations/accept',
        headers: member.headers,
        payload: { token: tokenOf(twice.json<{ invite_url: string }>().invite_url) },
      });
      expect(conflict.statusCode).toBe(409);
    });

    it('withdrawn, replaced and expired invitations stop working; roles above the inviter cannot be granted', async () => {
      const first = await invite('late@example.com', 'viewer');
      const replacement = await invite('late@example.com', 'analyst');
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/invitations/preview',
            payload: { token: first.token },
          })
        ).json(),
      ).toMatchObject({ error: { details: { reason: 'invitation_revoked' } } });

      const withdrawn = await app.inject({
        method: 'DELETE',
        url: `/v1/workspaces/${workspaceId}/invitations/${String(replacement.body.id)}`,
        headers: owner.headers,
      });
      expect(withdrawn.statusCode).toBe(204);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/invitations/preview',
            payload: { token: replacement.token },
          })
        ).json(),
      ).toMatchObject({ error: { details: { reason: 'invitation_revoked' } } });
      expect(
        (
          await app.inject({
            method: 'DELETE',
            url: `/v1/workspaces/${workspaceId}/invitations/${String(replacement.body.id)}`,
            headers: owner.headers,
          })
        ).statusCode,
      ).toBe(404);

      const expiring = await invite('expired@example.com', 'viewer');
      await db.adminPool.query(
        "UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1",
        [expiring.body.id],
      );
      const late = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: {
          email: 'expired@example.com',
          password: strongPassword(),
          invitation_token: expiring.token,
        },
      });
      expect(late.json()).toMatchObject({
        error: { code: 'not_found', details: { reason: 'invitation_expired' } },
      });
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/invitations/preview',
            payload: { token: 'x'.repeat(43) },
          })
        ).json(),
      ).toMatchObject({ error: { details: { reason: 'invitation_invalid' } } });

      // An admin of the workspace invites, but not an owner.
      const adminInvite = await invite('workspace.admin@example.com', 'admin');
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: {
          email: 'workspace.admin@example.com',
          password: strongPassword(),
          invitation_token: adminInvite.token,
        },
      });
      const wsAdmin = {
        email: 'workspace.admin@example.com',
        password: '',
        token: '',
        refreshToken: '',
        headers: { authorization: `Bearer ${res.json<{ access_token: string }>().access_token}` },
      };
      expect((await invite('analyst2@example.com', 'analyst', wsAdmin)).status).toBe(201);
      const tooHigh = await invite('owner2@example.com', 'owner', wsAdmin);
      expect(tooHigh.status).toBe(403);
      expect(tooHigh.body).toMatchObject({
        error: { code: 'forbidden', details: { field: 'role' } },
      });
    });

    it('a mail transport failure still creates the invitation, says it was not mailed, and reset answers as usual', async () => {
      const errors: string[] = [];
      const config = loadConfig(
        { LOG_LEVEL: 'silent', DATABASE_URL: db.url, SIGNUP_ENABLED: 'false' },
        {},
      );
      const deps = createAppDeps(config, db, null, createLogger('silent'), {
        mail: { send: () => Promise.reject(new Error('554 relay refused')) },
      });
      deps.auth.onMailError = (_error, purpose) => errors.push(purpose);
      const failing = await buildApp(deps);
      try {
        const res = await failing.inject({
          method: 'POST',
          url: `/v1/workspaces/${workspaceId}/invitations`,
          headers: owner.headers,
          payload: { email: 'unmailed@example.com', role: 'viewer' },
        });
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json()).toMatchObject({ email: 'unmailed@example.com', mailed: false });
        // A reset for an existing account and for an unknown one look the same to the requester.
        const known = await failing.inject({
          method: 'POST',
          url: '/v1/auth/password/forgot',
          payload: { email: admin.email },
        });
        const unknown = await failing.inject({
          method: 'POST',
          url: '/v1/auth/password/forgot',
          payload: { email: 'nobody-here@example.com' },
        });
        expect([known.statusCode, unknown.statusCode]).toEqual([202, 202]);
        expect(known.body).toBe(unknown.body);
        expect(errors).toEqual(['invitation', 'password_reset']);
      } finally {
        await failing.close();
      }
    });

    it("account events: each user reads their own; instance admins read everyone's; others are refused", async () => {
      await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-in',
        payload: { email: admin.email, password: 'wrong password here' },
      });
      const own = await app.inject({ url: '/v1/auth/audit-log', headers: admin.headers });
      expect(own.statusCode).toBe(200);
      const ownActions = own.json<{ data: { action: string; user_id: string }[] }>().data;
      expect(ownActions.map((e) => e.action)).toEqual(
        expect.arrayContaining(['user.created', 'auth.signed_in', 'auth.sign_in_failed']),
      );
      expect(new Set(ownActions.map((e) => e.user_id)).size).toBe(1);

      const all = await app.inject({
        url: '/v1/admin/audit-log?limit=500',
        headers: admin.headers,
      });
      expect(all.statusCode).toBe(200);
      const users = new Set(
        all.json<{ data: { user_id: string | null }[] }>().data.map((e) => e.user_id),
      );
      expect(users.size).toBeGreaterThan(2);
      // Nothing secret in them: no password, no token.
      expect(all.body).not.toContain('wrong password here');
      expect(all.body).not.toMatch(/token=/);

      const member = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-in',
        payload: { email: 'new.analyst@example.com', password: 'not it, surely' },
      });
      expect(member.statusCode).toBe(401);
      const analyst = await invite('plain@example.com', 'viewer');
      const plain = await app.inject({
        method: 'POST',
        url: '/v1/auth/sign-up',
        payload: {
          email: 'plain@example.com',
          password: strongPassword(),
          invitation_token: analyst.token,
        },
      });
      const plainHeaders = {
        authorization: `Bearer ${plain.json<{ access_token: string }>().access_token}`,
      };
      const refused = await app.inject({ url: '/v1/admin/audit-log', headers: plainHeaders });
      expect(refused.json()).toMatchObject({
        error: { code: 'forbidden', details: { reason: 'instance_admin_required' } },
      });
      const mine = await app.inject({ url: '/v1/auth/audit-log', headers: plainHeaders });
      expect(
        mine
          .json<{ data: { user_id: string }[] }>()
          .data.every(
            (e) => e.user_id === mine.json<{ data: { user_id: string }[] }>().data[0]?.user_id,
          ),
      ).toBe(true);
      expect(mine.body).not.toContain(admin.email);
    });
  },
);

describe.skipIf(databaseUnavailable() !== '')('the first account of an instance', () => {
  let db: TestDatabase;
  let app: ZodApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    ({ app } = await buildTestAppWithMail(db));
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('cannot be claimed from another machine without the setup link; concurrent local sign-ups make one admin', async () => {
    const remote = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-up',
      remoteAddress: '203.0.113.9',
      payload: { email: 'attacker@example.com', password: strongPassword() },
    });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({
      error: { code: 'forbidden', details: { reason: 'setup_required' } },
    });

    const results = await Promise.all(
      ['one', 'two', 'three', 'four'].map((n) =>
        app.inject({
          method: 'POST',
          url: '/v1/auth/sign-up',
          payload: { email: `${n}@example.com`, password: strongPassword() },
        }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    const { rows } = await db.adminPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM users WHERE is_instance_admin',
    );
    expect(rows[0]?.n).toBe(1);
    // Once an account exists, sign-up from anywhere follows the instance's setting (open here).
    const later = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-up',
      remoteAddress: '203.0.113.9',
      payload: { email: 'later@example.com', password: strongPassword() },
    });
    expect(later.statusCode).toBe(201);
  });
});
