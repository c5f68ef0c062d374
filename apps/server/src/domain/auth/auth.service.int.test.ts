import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { buildTestAppWithDeps, type TestAppWithDeps } from '../../../test/support/app-deps.js';
import { strongPassword } from '../../../test/support/app.js';
import { signUp } from './auth.service.js';

describe.skipIf(databaseUnavailable() !== '')('signUp', () => {
  let db: TestDatabase;
  let built: TestAppWithDeps;
  const meta = { ip: null, userAgent: 'test', requestId: null };
  beforeAll(async () => {
    db = await createTestDatabase();
    built = await buildTestAppWithDeps(db);
  });
  afterAll(async () => {
    await built?.app.close();
    await db?.drop();
  });

  it('refuses an invalid email with the HTTP schema’s rule, on every path', async () => {
    for (const options of [{ viaAdmin: true, makeAdmin: true }, {}]) {
      const refused = await signUp(
        built.deps.auth,
        { email: 'not-an-address', password: strongPassword() },
        { ...meta, fromThisMachine: true },
        options,
      ).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({
        code: 'validation_failed',
        message: 'email "not-an-address" is not a valid email address',
        details: { field: 'email', value: 'not-an-address' },
      });
    }
    const { rows } = await db.adminPool.query('SELECT 1 FROM users');
    expect(rows).toEqual([]);
  });
});
