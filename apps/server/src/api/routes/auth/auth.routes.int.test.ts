import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../../types.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import {
  buildTestApp,
  createApiKeyAs,
  createWorkspaceAs,
  signUpUser,
  strongPassword,
} from '../../../../test/support/app.js';
import { postRecord, toJsonl } from '../../../../test/support/factories.js';
import { ageRefreshRotation } from '../../../../test/support/auth.js';

describe.skipIf(databaseUnavailable() !== '')('authentication flows', () => {
  let db: TestDatabase;
  let app: ZodApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('signs up (first user is instance admin), works in a workspace, and signs out for good', async () => {
    const admin = await signUpUser(app, 'first@example.com');
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: admin.headers });
    expect(me.json()).toMatchObject({
      email: 'first@example.com',
      is_instance_admin: true,
      mfa_enabled: false,
    });
    const second = await signUpUser(app);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: second.headers })).json(),
    ).toMatchObject({ is_instance_admin: false });

    const ws = await createWorkspaceAs(app, admin, 'Flows');
    const upload = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/imports`,
      headers: { ...admin.headers, 'content-type': 'application/x-ndjson' },
      payload: toJsonl([postRecord(), postRecord()]),
    });
    expect(upload.statusCode).toBe(201);
    const posts = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws}/posts`,
      headers: admin.headers,
    });
    expect(posts.json<{ data: unknown[] }>().data).toHaveLength(2);
    // Another user does not even learn that the workspace exists.
    expect(
      (
        await app.inject({
          method: 'GET',
          url: `/v1/workspaces/${ws}/posts`,
          headers: second.headers,
        })
      ).statusCode,
    ).toBe(404);

    const out = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-out',
      headers: admin.headers,
    });
    expect(out.statusCode).toBe(204);
    const after = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: admin.headers });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({
      error: { code: 'unauthorized', details: { reason: 'session_revoked' } },
    });
  });

  it('rotates refresh tokens and revokes the whole session when an old one is reused', async () => {
    const user = await signUpUser(app);
    const first = await app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refresh_token: user.refreshToken },
    });
    expect(first.statusCode).toBe(200);
    const rotated = first.json<{ access_token: string; refresh_token: string }>();
    expect(rotated.refresh_token).not.toBe(user.refreshToken);

    // Past the grace window for renewals racing each other.
    await ageRefreshRotation(db, user.refreshToken, 60);
    const reuse = await app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refresh_token: user.refreshToken },
    });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json()).toMatchObject({ error: { details: { reason: 'refresh_token_reused' } } });
    // The thief's and the owner's tokens of that session are all dead now.
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/auth/refresh',
          payload: { refresh_token: rotated.refresh_token },
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/v1/auth/me',
          headers: { authorization: `Bearer ${rotated.access_token}` },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('API keys: scoped, bound to their workspace, shown once, revocable', async () => {
    const owner = await signUpUser(app);
    const ws = await createWorkspaceAs(app, owner);
    const other = await createWorkspaceAs(app, owner);
    const reader = await createApiKeyAs(app, owner, ws, ['read']);
    expect(reader.key).toMatch(/^sp_[A-Za-z0-9]{8}_/);

    expect(
      (
        await app.inject({
          method: 'GET',
          url: `/v1/workspaces/${ws}/posts`,
          headers: reader.headers,
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await app.inject({
          method: 'GET',
          url: `/v1/workspaces/${other}/posts`,
          headers: reader.headers,
        })
      ).statusCode,
    ).toBe(404);
    const write = await app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws}/imports`,
      headers: { ...reader.headers, 'content-type': 'application/x-ndjson' },
      payload: toJsonl([postRecord()]),
    });
    expect(write.statusCode).toBe(403);
    const listed = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws}/api-keys`,
      headers: owner.headers,
    });
    expect(listed.body).not.toContain(reader.key);
    expect(
      listed.json<{ data: { prefix: string; last_used_at: string | null }[] }>().data[0]
        ?.last_used_at,
    ).not.toBeNull();

    expect(
      (
        await app.inject({
          method: 'DELETE',
          url: `/v1/workspaces/${ws}/api-keys/${reader.id}`,
          headers: owner.headers,
        })
      ).statusCode,
    ).toBe(204);
    const revoked = await app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws}/posts`,
      headers: reader.headers,
    });
    expect(revoked.json()).toMatchObject({
      error: { code: 'unauthorized', details: { reason: 'api_key_revoked' } },
    });
  });

  it('refuses weak passwords and wrong credentials without telling which part was wrong', async () => {
    const weak = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-up',
      payload: { email: 'weak@example.com', password: 'password1234' },
    });
    expect(weak.json()).toMatchObject({
      error: { code: 'validation_failed', details: { field: 'password' } },
    });
    const user = await signUpUser(app);
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-in',
      payload: { email: user.email, password: strongPassword() },
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-in',
      payload: { email: 'nobody@example.com', password: strongPassword() },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());
  });
});
