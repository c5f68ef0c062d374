/**
 * What a member handed out goes with them: removing a member revokes the API keys they created
 * (with the keys those keys minted) and their open invitations; a demotion revokes the keys
 * whose scopes the new role does not cover; an invitation whose sender could no longer send it
 * is refused at acceptance. The key list names each key's creator.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import {
  addMember,
  buildTestApp,
  createApiKeyAs,
  createWorkspaceAs,
  noRateLimitsAtAll,
  signUpUser,
  type TestUser,
  userIdOf,
} from '../../../../test/support/app.js';

type Scope = 'read' | 'write' | 'admin';
interface Key {
  id: string;
  key: string;
  prefix: string;
  headers: { authorization: string };
}

const tokenOf = (url: string): string => new URL(url).searchParams.get('token') ?? '';

describe.skipIf(databaseUnavailable() !== '')('what a member handed out', () => {
  let db: TestDatabase;
  let app: ZodApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, noRateLimitsAtAll);
    await signUpUser(app); // the instance admin
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const keyAs = async (creator: TestUser, workspaceId: string, scopes: Scope[]): Promise<Key> => {
    const k = await createApiKeyAs(app, creator, workspaceId, scopes);
    return { ...k, prefix: k.key.split('_').slice(0, 2).join('_') };
  };

  /** A key created with another key's credentials. */
  const mintWith = async (parent: Key, workspaceId: string, scopes: Scope[]): Promise<Key> => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/api-keys`,
      headers: parent.headers,
      payload: { name: `minted ${Date.now()}`, scopes },
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<{ id: string; key: string; prefix: string }>();
    return {
      id: body.id,
      key: body.key,
      prefix: body.prefix,
      headers: { authorization: `Bearer ${body.key}` },
    };
  };

  const readPosts = (key: Key, workspaceId: string) =>
    app.inject({ method: 'GET', url: `/v1/workspaces/${workspaceId}/posts`, headers: key.headers });

  const expectRevoked = async (key: Key, workspaceId: string): Promise<void> => {
    const res = await readPosts(key, workspaceId);
    expect(res.statusCode, `${key.prefix}: ${res.body}`).toBe(401);
    expect(res.json()).toMatchObject({ error: { details: { reason: 'api_key_revoked' } } });
  };
  const expectWorking = async (key: Key, workspaceId: string): Promise<void> => {
    const res = await readPosts(key, workspaceId);
    expect(res.statusCode, `${key.prefix}: ${res.body}`).toBe(200);
  };

  const invite = async (as: TestUser, workspaceId: string, email: string, role: string) => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/invitations`,
      headers: as.headers,
      payload: { email, role },
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<{ id: string; invite_url: string }>();
    return { id: body.id, token: tokenOf(body.invite_url) };
  };

  const setRole = (owner: TestUser, workspaceId: string, userId: string, role: string) =>
    app.inject({
      method: 'PATCH',
      url: `/v1/workspaces/${workspaceId}/members/${userId}`,
      headers: owner.headers,
      payload: { role },
    });

  it('lists who created each key: a member, or a key (with the member behind it)', async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const ownerId = await userIdOf(app, owner);
    const parent = await keyAs(owner, workspaceId, ['admin']);
    const child = await mintWith(parent, workspaceId, ['admin']);
    const grandchild = await mintWith(child, workspaceId, ['read']);
    const list = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/api-keys`,
      headers: owner.headers,
    });
    expect(list.statusCode).toBe(200);
    const byId = new Map(
      list.json<{ data: { id: string; created_by: unknown }[] }>().data.map((k) => [k.id, k]),
    );
    expect(byId.get(parent.id)?.created_by).toEqual({
      user_id: ownerId,
      email: owner.email,
      api_key_prefix: null,
    });
    for (const [minted, by] of [
      [child, parent],
      [grandchild, child],
    ] as const)
      expect(byId.get(minted.id)?.created_by).toEqual({
        user_id: ownerId,
        email: owner.email,
        api_key_prefix: by.prefix,
      });
  });

  it("removing a member revokes their keys, the keys those keys minted, and their invitations; others' keys stay", async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const admin = await signUpUser(app);
    await addMember(app, owner, workspaceId, admin, 'admin');
    const adminId = await userIdOf(app, admin);

    const ownersKey = await keyAs(owner, workspaceId, ['admin']);
    const adminsKey = await keyAs(admin, workspaceId, ['admin']);
    const minted = await mintWith(adminsKey, workspaceId, ['admin']);
    const mintedByMinted = await mintWith(minted, workspaceId, ['read']);
    // A key the owner's key made is the owner's: it stays.
    const ownersMinted = await mintWith(ownersKey, workspaceId, ['read']);
    const invitation = await invite(
      admin,
      workspaceId,
      `friend-${Date.now()}@example.com`,
      'admin',
    );

    const removed = await app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/members/${adminId}`,
      headers: owner.headers,
    });
    expect(removed.statusCode, removed.body).toBe(204);

    for (const k of [adminsKey, minted, mintedByMinted]) await expectRevoked(k, workspaceId);
    for (const k of [ownersKey, ownersMinted]) await expectWorking(k, workspaceId);

    // The invitation was withdrawn with the membership.
    const preview = await app.inject({
      method: 'POST',
      url: '/v1/invitations/preview',
      payload: { token: invitation.token },
    });
    expect(preview.statusCode).toBe(404);
    expect(preview.json()).toMatchObject({ error: { details: { reason: 'invitation_revoked' } } });
    const open = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/invitations`,
      headers: owner.headers,
    });
    expect(open.json<{ data: { id: string }[] }>().data.map((i) => i.id)).not.toContain(
      invitation.id,
    );

    // Audited, in the workspace's log.
    const { rows } = await db.adminPool.query<{
      action: string;
      target: string;
      details: Record<string, unknown>;
    }>(
      `SELECT action, target, details FROM audit_log
        WHERE workspace_id = $1 AND action IN ('api_key.revoked', 'invitation.revoked', 'member.removed')
        ORDER BY id`,
      [workspaceId],
    );
    expect(
      rows
        .filter((r) => r.action === 'api_key.revoked')
        .map((r) => r.target)
        .sort(),
    ).toEqual([adminsKey.prefix, minted.prefix, mintedByMinted.prefix].sort());
    for (const r of rows.filter((x) => x.action !== 'member.removed'))
      expect(r.details).toMatchObject({ reason: 'member_removed', member: adminId });
    expect(rows.filter((r) => r.action === 'invitation.revoked').map((r) => r.target)).toEqual([
      invitation.id,
    ]);
    expect(rows.find((r) => r.action === 'member.removed')?.details).toMatchObject({
      role: 'admin',
      revoked_invitations: [invitation.id],
    });
  });

  it('a demotion revokes the keys whose scopes the new role does not cover, and only those', async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const admin = await signUpUser(app);
    await addMember(app, owner, workspaceId, admin, 'admin');
    const adminId = await userIdOf(app, admin);
    const adminKey = await keyAs(admin, workspaceId, ['admin']);
    const mixedKey = await keyAs(admin, workspaceId, ['read', 'admin']);
    const writeKey = await keyAs(admin, workspaceId, ['write']);
    const readKey = await keyAs(admin, workspaceId, ['read']);
    const mintedWrite = await mintWith(adminKey, workspaceId, ['write']);
    const mintedAdmin = await mintWith(adminKey, workspaceId, ['admin']);

    // admin → owner and back: both roles cover every key scope.
    expect((await setRole(owner, workspaceId, adminId, 'owner')).statusCode).toBe(200);
    expect((await setRole(owner, workspaceId, adminId, 'admin')).statusCode).toBe(200);
    for (const k of [adminKey, mixedKey, writeKey, readKey, mintedWrite, mintedAdmin])
      await expectWorking(k, workspaceId);

    // admin → analyst: the admin scope goes (the minted admin key too), read and write stay.
    const analyst = await setRole(owner, workspaceId, adminId, 'analyst');
    expect(analyst.statusCode, analyst.body).toBe(200);
    for (const k of [adminKey, mixedKey, mintedAdmin]) await expectRevoked(k, workspaceId);
    for (const k of [writeKey, readKey, mintedWrite]) await expectWorking(k, workspaceId);

    // analyst → viewer: the write scope goes too.
    expect((await setRole(owner, workspaceId, adminId, 'viewer')).statusCode).toBe(200);
    for (const k of [writeKey, mintedWrite]) await expectRevoked(k, workspaceId);
    await expectWorking(readKey, workspaceId);

    const { rows } = await db.adminPool.query<{ target: string; details: { reason: string } }>(
      "SELECT target, details FROM audit_log WHERE workspace_id = $1 AND action = 'api_key.revoked'",
      [workspaceId],
    );
    expect(rows.map((r) => r.target).sort()).toEqual(
      [adminKey, mixedKey, mintedAdmin, writeKey, mintedWrite].map((k) => k.prefix).sort(),
    );
    expect(new Set(rows.map((r) => r.details.reason))).toEqual(new Set(['member_role_changed']));
  });

  it('an invitation whose sender is no longer a member who could grant its role is refused', async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const admin = await signUpUser(app);
    await addMember(app, owner, workspaceId, admin, 'admin');
    const adminId = await userIdOf(app, admin);
    const invitee = await signUpUser(app);
    const invitation = await invite(admin, workspaceId, invitee.email, 'analyst');
    // The sender's membership ends without the removal route (as a removal before this check
    // existed did, leaving the invitation open).
    await db.adminPool.query('DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2', [
      workspaceId,
      adminId,
    ]);
    const refusal = {
      error: {
        code: 'forbidden',
        details: { resource: 'invitation', reason: 'invitation_inviter_cannot_grant' },
      },
    };
    const preview = await app.inject({
      method: 'POST',
      url: '/v1/invitations/preview',
      payload: { token: invitation.token },
    });
    expect(preview.statusCode).toBe(403);
    expect(preview.json()).toMatchObject(refusal);
    const accept = await app.inject({
      method: 'POST',
      url: '/v1/invitations/accept',
      headers: invitee.headers,
      payload: { token: invitation.token },
    });
    expect(accept.statusCode).toBe(403);
    expect(accept.json()).toMatchObject(refusal);
    const members = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/members`,
      headers: owner.headers,
    });
    expect(members.json<{ data: { email: string }[] }>().data.map((m) => m.email)).not.toContain(
      invitee.email,
    );

    // A sender who is still a member but may no longer grant the role: refused the same way.
    const admin2 = await signUpUser(app);
    await addMember(app, owner, workspaceId, admin2, 'admin');
    const invitee2 = await signUpUser(app);
    const second = await invite(admin2, workspaceId, invitee2.email, 'admin');
    await db.adminPool.query(
      "UPDATE memberships SET role = 'analyst' WHERE workspace_id = $1 AND user_id = $2",
      [workspaceId, await userIdOf(app, admin2)],
    );
    const accept2 = await app.inject({
      method: 'POST',
      url: '/v1/invitations/accept',
      headers: invitee2.headers,
      payload: { token: second.token },
    });
    expect(accept2.statusCode).toBe(403);
    expect(accept2.json()).toMatchObject(refusal);

    // An invitation from a member who still may send it is accepted as before.
    const invitee3 = await signUpUser(app);
    const third = await invite(owner, workspaceId, invitee3.email, 'viewer');
    const accept3 = await app.inject({
      method: 'POST',
      url: '/v1/invitations/accept',
      headers: invitee3.headers,
      payload: { token: third.token },
    });
    expect(accept3.statusCode, accept3.body).toBe(200);
  });

  it('a demotion withdraws the invitations to roles the member can no longer grant', async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const admin = await signUpUser(app);
    await addMember(app, owner, workspaceId, admin, 'admin');
    const invitation = await invite(admin, workspaceId, `x-${Date.now()}@example.com`, 'viewer');
    expect(
      (await setRole(owner, workspaceId, await userIdOf(app, admin), 'analyst')).statusCode,
    ).toBe(200);
    const preview = await app.inject({
      method: 'POST',
      url: '/v1/invitations/preview',
      payload: { token: invitation.token },
    });
    expect(preview.statusCode).toBe(404);
    expect(preview.json()).toMatchObject({ error: { details: { reason: 'invitation_revoked' } } });
  });

  it('0022 restores the lineage of keys minted by keys before it, from their audit entries', async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const admin = await signUpUser(app);
    await addMember(app, owner, workspaceId, admin, 'admin');
    const adminId = await userIdOf(app, admin);
    const parent = await keyAs(admin, workspaceId, ['admin']);
    const child = await mintWith(parent, workspaceId, ['admin']);
    const grandchild = await mintWith(child, workspaceId, ['read']);
    // As the keys minted by keys were stored before 0022: no creator at all.
    await db.adminPool.query(
      'UPDATE api_keys SET created_by = NULL, created_by_key = NULL WHERE id = ANY($1)',
      [[child.id, grandchild.id]],
    );
    const sql = await readFile(
      new URL('../../../db/migrations/0022_api_key_lineage.sql', import.meta.url),
      'utf8',
    );
    const backfill = sql.slice(sql.indexOf('-- Keys minted by keys before this migration'));
    expect(backfill).toContain('UPDATE api_keys');
    await db.adminPool.query(backfill);
    const { rows } = await db.adminPool.query<{
      id: string;
      created_by: string | null;
      created_by_key: string | null;
    }>('SELECT id, created_by, created_by_key FROM api_keys WHERE id = ANY($1)', [
      [child.id, grandchild.id],
    ]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(child.id)).toMatchObject({ created_by: adminId, created_by_key: parent.id });
    expect(byId.get(grandchild.id)).toMatchObject({
      created_by: adminId,
      created_by_key: child.id,
    });
  });
  it('0022 revokes the keys of members removed or demoted before it, as the routes now do', async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const gone = await signUpUser(app);
    const demoted = await signUpUser(app);
    await addMember(app, owner, workspaceId, gone, 'admin');
    await addMember(app, owner, workspaceId, demoted, 'admin');
    const goneKey = await keyAs(gone, workspaceId, ['admin']);
    const goneMinted = await mintWith(goneKey, workspaceId, ['read']);
    const demotedAdminKey = await keyAs(demoted, workspaceId, ['admin']);
    const demotedWriteKey = await keyAs(demoted, workspaceId, ['write']);
    const ownerKey = await keyAs(owner, workspaceId, ['admin']);
    // As the routes did before 0022: the membership changed, the keys stayed.
    await db.adminPool.query('DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2', [
      workspaceId,
      await userIdOf(app, gone),
    ]);
    await db.adminPool.query(
      "UPDATE memberships SET role = 'analyst' WHERE workspace_id = $1 AND user_id = $2",
      [workspaceId, await userIdOf(app, demoted)],
    );
    const sql = await readFile(
      new URL('../../../db/migrations/0022_api_key_lineage.sql', import.meta.url),
      'utf8',
    );
    const revocation = sql.slice(sql.indexOf('-- What the routes now do at a removal'));
    expect(revocation).toContain('SET revoked_at = now()');
    await db.adminPool.query(revocation);

    await expectRevoked(goneKey, workspaceId);
    await expectRevoked(goneMinted, workspaceId);
    await expectRevoked(demotedAdminKey, workspaceId);
    await expectWorking(demotedWriteKey, workspaceId);
    await expectWorking(ownerKey, workspaceId);
  });
  it('a key asked for while its member is being removed is refused, not left live', async () => {
    const owner = await signUpUser(app);
    const workspaceId = await createWorkspaceAs(app, owner);
    const leaving = await signUpUser(app);
    await addMember(app, owner, workspaceId, leaving, 'admin');
    const leavingId = await userIdOf(app, leaving);
    // The removal is under way: its transaction holds the membership row.
    const removal = await db.adminPool.connect();
    try {
      await removal.query('BEGIN');
      await removal.query('DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2', [
        workspaceId,
        leavingId,
      ]);
      const asked = app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/api-keys`,
        headers: leaving.headers,
        payload: { name: 'in the nick of time', scopes: ['admin'] },
      });
      for (let polls = 0; ; polls += 1) {
        if (polls > 2000) throw new Error('the key creation never waited for the removal');
        const { rows } = await db.adminPool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if ((rows[0]?.n ?? 0) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await removal.query('COMMIT');
      const res = await asked;
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json()).toMatchObject({ error: { details: { reason: 'creator_cannot_grant' } } });
    } finally {
      removal.release();
    }
    const { rows } = await db.adminPool.query(
      'SELECT 1 FROM api_keys WHERE workspace_id = $1 AND created_by = $2 AND revoked_at IS NULL',
      [workspaceId, leavingId],
    );
    expect(rows).toEqual([]);
  });
});
