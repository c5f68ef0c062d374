/**
 * withTransaction on the real PostgreSQL: a statement that failed inside the transaction makes
 * the whole call fail, even when the error was caught in between (PostgreSQL then answers COMMIT
 * with ROLLBACK, which is not an error by itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { withTransaction } from './pool.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.adminPool.query('CREATE TABLE tx_probe (id int PRIMARY KEY)');
  await db.adminPool.query('GRANT SELECT, INSERT ON tx_probe TO socialpulse_app');
});
afterAll(async () => {
  await db?.drop();
});

describe('withTransaction', () => {
  it('commits the work and returns its result', async () => {
    const result = await withTransaction(db.pool, async (c) => {
      await c.query('INSERT INTO tx_probe VALUES (1)');
      return 'done';
    });
    expect(result).toBe('done');
    const { rows } = await db.adminPool.query('SELECT id FROM tx_probe WHERE id = 1');
    expect(rows).toHaveLength(1);
  });

  it('fails when a statement failed inside, even if its error was swallowed, and keeps nothing', async () => {
    const attempt = withTransaction(db.pool, async (c) => {
      await c.query('INSERT INTO tx_probe VALUES (2)');
      await c.query('INSERT INTO tx_probe VALUES (1)').catch(() => undefined); // duplicate key
      return 'looked fine';
    });
    await expect(attempt).rejects.toThrow(/rolled back/);
    const { rows } = await db.adminPool.query('SELECT id FROM tx_probe WHERE id = 2');
    expect(rows).toHaveLength(0);
  });
});
