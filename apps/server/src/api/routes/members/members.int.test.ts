import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOKUP_MISSES } from '../../../domain/auth/login-throttle.js';
import { buildTestApp, createWorkspaceAs, signUpUser } from '../../../../test/support/app.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import type { ZodApp } from '../../types.js';

const dbReason = databaseUnavailable();

describe.skipIf(dbReason !== '')('adding a member by email', () => {
  let db: TestDatabase;
  let app: ZodApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db);
  });

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('limits the emails without an account one asker may look up, so accounts cannot be listed', async () => {
    const [owner, other, existing] = await Promise.all([
      signUpUser(app),
      signUpUser(app),
      signUpUser(app),
    ]);
    const ws = await createWorkspaceAs(app, owner);
    const otherWs = await createWorkspaceAs(app, other);
    const add = (asker: typeof owner, workspace: string, email: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspace}/members`,
        headers: asker.headers,
        payload: { email, role: 'viewer' },
      });

    for (let i = 0; i < LOOKUP_MISSES; i++) {
      const miss = await add(owner, ws, `nobody-${i}@example.com`);
      expect(miss.statusCode, miss.body).toBe(404);
    }
    // Spent: the next answer is the same whether the email has an account or not.
    const limited = await add(owner, ws, 'nobody-else@example.com');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await add(owner, ws, existing.email)).statusCode).toBe(429);
    // Per asker: someone else's lookups are not affected.
    const added = await add(other, otherWs, existing.email);
    expect(added.statusCode, added.body).toBe(201);
  });
});
