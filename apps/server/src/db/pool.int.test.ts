/**
 * withTransaction on the real PostgreSQL: a statement that failed inside the transaction makes
 * the whole call fail, even when the error was caught in between (PostgreSQL then answers COMMIT
 * with ROLLBACK, which is not an error by itself). The same on a pipelined pool, whose
 * transactions send BEGIN together with their first statement. withTransactionTail: a tail
 * statement that fails makes COMMIT roll back, and nothing of a tail runs after the transaction.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import {
  CommitOutcomeUnknownError,
  createPool,
  withTransaction,
  withTransactionTail,
  type TransactionTail,
} from './pool.js';
import { tailQueueDb } from './job-queue.js';
import { withTenant } from './tenant.js';

let db: TestDatabase;
let pipelined: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.adminPool.query('CREATE TABLE tx_probe (id int PRIMARY KEY)');
  await db.adminPool.query('GRANT SELECT, INSERT ON tx_probe TO socialpulse_app');
  // A reference checked only at COMMIT: COMMIT itself then fails, with the server's answer.
  await db.adminPool.query(
    'CREATE TABLE tx_deferred (id int PRIMARY KEY REFERENCES tx_probe DEFERRABLE INITIALLY DEFERRED)',
  );
  await db.adminPool.query('GRANT SELECT, INSERT ON tx_deferred TO socialpulse_app');
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

const exists = async (id: number): Promise<boolean> =>
  (await db.adminPool.query('SELECT 1 FROM tx_probe WHERE id = $1', [id])).rows.length === 1;

/** A tail of plain statements, issued at once. */
function tailOf(c: pg.PoolClient, statements: [string, unknown[]][]): TransactionTail<number> {
  const answers = statements.map(([text, values]) => c.query(text, values));
  return { issued: Promise.resolve(), answered: Promise.all(answers).then((r) => r.length) };
}

describe.each([
  ['a plain pool', () => db.pool, 200],
  ['a pipelined pool', () => pipelined, 300],
])('withTransactionTail on %s', (_name, pool, base) => {
  it("commits the work and its tail and returns the tail's result", async () => {
    const result = await withTransactionTail(pool(), async (c) => {
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 1]);
      return () => tailOf(c, [['INSERT INTO tx_probe VALUES ($1)', [base + 2]]]);
    });
    expect(result).toBe(1);
    expect([await exists(base + 1), await exists(base + 2)]).toEqual([true, true]);
  });

  it('rolls back when a statement of the tail fails, and throws its error', async () => {
    const attempt = withTransactionTail(pool(), async (c) => {
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 3]);
      return () =>
        tailOf(c, [
          ['INSERT INTO tx_probe VALUES ($1)', [base + 4]],
          ['SELECT CASE WHEN $1 THEN 1 / 0 END AS x', [true]],
        ]);
    });
    await expect(attempt).rejects.toThrow(/division by zero/);
    expect([await exists(base + 3), await exists(base + 4)]).toEqual([false, false]);
  });

  it('rolls back when the tail cannot be issued, and refuses a statement issued after that', async () => {
    let late: Promise<unknown> = Promise.resolve();
    const attempt = withTransactionTail(pool(), async (c) => {
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 5]);
      return () => {
        const first = tailQueueDb(c, () =>
          Promise.reject(new Error('the queue refused before any statement')),
        );
        let proceed!: () => void;
        const second = tailQueueDb(c, async (queue) => {
          await new Promise<void>((resolve) => (proceed = resolve));
          return queue.executeSql('INSERT INTO tx_probe VALUES ($1)', [base + 6]);
        });
        late = second.result;
        const issued = Promise.all([first.issued, second.issued]).finally(() => {
          first.close();
          second.close();
          proceed();
        });
        return {
          issued: issued.then(() => undefined),
          answered: issued.then(() => 0),
        };
      };
    });
    await expect(attempt).rejects.toThrow(/refused before any statement/);
    await expect(late).rejects.toThrow(/transaction was already ended/);
    expect([await exists(base + 5), await exists(base + 6)]).toEqual([false, false]);
  });

  it('rolls back, and says it is known, when COMMIT itself fails (a deferred constraint)', async () => {
    const attempt = withTransactionTail(pool(), async (c) => {
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 8]);
      return () => tailOf(c, [['INSERT INTO tx_deferred VALUES ($1)', [base + 9]]]);
    });
    const error: unknown = await attempt.catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(CommitOutcomeUnknownError);
    expect(error).toMatchObject({ code: '23503' });
    expect(await exists(base + 8)).toBe(false);
  });

  it('says so when the tail reports failure after its statements succeeded', async () => {
    const attempt = withTransactionTail(pool(), async (c) => {
      await c.query('INSERT INTO tx_probe VALUES ($1)', [base + 7]);
      return () => {
        const answered = c.query('SELECT 1').then(() => {
          throw new Error('a check made only in JavaScript');
        });
        return { issued: Promise.resolve(), answered };
      };
    });
    if (pool() === pipelined) {
      // COMMIT went with the tail: the check came too late to stop it, and the caller is told.
      await expect(attempt).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
      expect(await exists(base + 7)).toBe(true);
    } else {
      await expect(attempt).rejects.toThrow(/only in JavaScript/);
      expect(await exists(base + 7)).toBe(false);
    }
  });
});

describe('writes on a pipelined connection', () => {
  type WriteFn = (this: unknown, ...args: unknown[]) => unknown;
  /** Counts the socket writes of the next client checked out of `pool`. */
  async function countingWrites(pool: pg.Pool): Promise<{ writes: () => number }> {
    const client = await pool.connect();
    // pg's socket is not in its types; writes reach it through _write or _writev.
    const stream = (
      client as unknown as {
        connection: { stream: Record<'_write' | '_writev', WriteFn | undefined> };
      }
    ).connection.stream;
    let writes = 0;
    for (const name of ['_write', '_writev'] as const) {
      const original = stream[name];
      if (typeof original !== 'function') continue;
      stream[name] = function (this: unknown, ...args: unknown[]): unknown {
        writes += 1;
        return original.apply(this, args);
      } satisfies WriteFn;
    }
    client.release();
    return { writes: () => writes };
  }

  it('sends BEGIN with the first statement, and a tail with COMMIT, in one write each', async () => {
    const single = createPool(db.url, 1, { applicationName: 'socialpulse-test', pipeline: true });
    try {
      const counter = await countingWrites(single);
      await withTransactionTail(single, async (c) => {
        await c.query('INSERT INTO tx_probe VALUES ($1)', [401]);
        return () =>
          tailOf(c, [
            ['INSERT INTO tx_probe VALUES ($1)', [402]],
            ['INSERT INTO tx_probe VALUES ($1)', [403]],
          ]);
      });
      expect(counter.writes()).toBe(2);
      expect([await exists(401), await exists(402), await exists(403)]).toEqual([true, true, true]);
    } finally {
      await single.end();
    }
  });
});
