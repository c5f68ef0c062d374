/**
 * withTransaction on the real PostgreSQL: a statement that failed inside the transaction makes
 * the whole call fail, even when the error was caught in between (PostgreSQL then answers COMMIT
 * with ROLLBACK, which is not an error by itself). The same on a pipelined pool, whose
 * transactions send BEGIN together with their first statement.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { createPool, withTransaction } from './pool.js';
import { withTenant } from './tenant.js';

let db: TestDatabase;
let pipelined: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.adminPool.query('CREATE TABLE tx_probe (id int PRIMARY KEY)');
  await db.adminPool.query('GRANT SELECT, INSERT ON tx_probe TO socialpulse_app');
  pipelined = createPool(db.url, 2, { applicationName: 'socialpulse-test', pipeline: true });
});
afterAll(async () => {
  await pipelined?.end();
  await db?.drop();
});

describe.each([
  ['a plain pool', () => db.pool, 0],
  ['a pipelined pool', () => pipelined, 100],
])('withTransaction on %s', (_name, pool, base) => {
  it('commits the work and returns its result', async () => {
    const result = await withTransaction(pool(), async (c) => {
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 1]);
      return 'done';
    });
    expect(result).toBe('done');
    const { rows } = await db.adminPool.query('SELECT id FROM tx_probe WHERE id = $1', [base + 1]);
    expect(rows).toHaveLength(1);
  });

  it('fails when a statement failed inside, even if its error was swallowed, and keeps nothing', async () => {
    const attempt = withTransaction(pool(), async (c) => {
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 2]);
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 1]).catch(() => undefined); // duplicate key
      return 'looked fine';
    });
    await expect(attempt).rejects.toThrow(/rolled back/);
    const { rows } = await db.adminPool.query('SELECT id FROM tx_probe WHERE id = $1', [base + 2]);
    expect(rows).toHaveLength(0);
  });

  it('runs the first statement inside the scoped transaction, and independent ones at once', async () => {
    const workspace = '00000000-0000-4000-8000-000000000001';
    const [scope, inTransaction] = await withTenant(
      pool(),
      { workspaceId: workspace, userId: null },
      async (c) => {
        const first = await c.query<{ ws: string }>(
          "SELECT current_setting('app.workspace_id', true) AS ws",
        );
        const [a, b] = await Promise.all([
          c.query<{ x: string }>('SELECT txid_current()::text AS x'),
          c.query<{ x: string }>('SELECT txid_current()::text AS x'),
        ]);
        return [first.rows[0]?.ws, a.rows[0]?.x === b.rows[0]?.x];
      },
    );
    expect(scope).toBe(workspace);
    expect(inTransaction).toBe(true);
  });
});
