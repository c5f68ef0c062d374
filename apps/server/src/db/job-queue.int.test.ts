/**
 * The worker's own sessions on the real PostgreSQL, when the database drops them (a restart, a
 * failover, a terminated backend): a chunk slot's lock goes with its session, the process sees
 * that it no longer holds it and takes one again on a new session; a LISTEN session is reopened,
 * says so, and hears notifications again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { ChunkSlots, listen } from './job-queue.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/**
 * Ends the sessions of this database that `where` picks, as an administrator would, and waits
 * (up to 5 s) until their backends have exited. Without the wait, pg_terminate_backend returns
 * once the signal is sent: the client can see its session end before the backend has released
 * its advisory locks, and a test that then takes the slot races the exit (a CI run lost it).
 */
async function terminate(where: string): Promise<number> {
  const { rows } = await db.adminPool.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND ${where}`,
  );
  return rows[0]?.n ?? 0;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('chunk slots', () => {
  it('lose their lock with their session, and take one again on a new session', async () => {
    const first = new ChunkSlots(db.url, 1);
    const second = new ChunkSlots(db.url, 1);
    await Promise.all([first.connect(), second.connect()]);
    try {
      expect(await first.tryAcquire(0)).toBe(true);
      expect(await second.tryAcquire(0)).toBe(false);
      const lockHolder = `pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)`;
      expect(await terminate(lockHolder)).toBe(1);
      await until(() => !first.holds, 'the first sees its session lost');
      // The lock went with the session: the slot is free for anyone, the first included.
      expect(await second.tryAcquire(0)).toBe(true);
      expect(await first.tryAcquire(0)).toBe(false);
      await second.release();
      expect(await first.tryAcquire(0)).toBe(true);
      expect(first.holds).toBe(true);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('listen', () => {
  it('reopens a lost session, says so, and hears notifications again', async () => {
    const heard: string[] = [];
    let reconnects = 0;
    const listener = await listen(db.url, 'sp_test_channel', (payload) => heard.push(payload), {
      onReconnect: () => (reconnects += 1),
      retryMs: 20,
    });
    try {
      await db.adminPool.query("NOTIFY sp_test_channel, 'before'");
      await until(() => heard.includes('before'), 'the first notification arrives');
      expect(await terminate("application_name = 'socialpulse-listen'")).toBe(1);
      await until(() => reconnects === 1, 'the session is reopened');
      await db.adminPool.query("NOTIFY sp_test_channel, 'after'");
      await until(() => heard.includes('after'), 'a notification arrives on the new session');
    } finally {
      await listener.close();
    }
    // Closed on purpose: not reopened.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reconnects).toBe(1);
  });

  it('reopens a lost session once, though the client hears of the loss twice', async () => {
    // A terminated session's client emits 'error' (the FATAL message), then 'end' (the socket
    // closes): with a retry shorter than the gap between them, each could open a session.
    let reconnects = 0;
    const listener = await listen(db.url, 'sp_test_twice', () => undefined, {
      onReconnect: () => (reconnects += 1),
      retryMs: 1,
    });
    const sessions = async (): Promise<number> => {
      const { rows } = await db.adminPool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'socialpulse-listen'`,
      );
      return rows[0]?.n ?? 0;
    };
    try {
      // The last test's session, closed, may not have left pg_stat_activity yet.
      await until(async () => (await sessions()) === 1, 'only this listener is connected');
      expect(await terminate("application_name = 'socialpulse-listen'")).toBe(1);
      await until(() => reconnects >= 1, 'the session is reopened');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(reconnects).toBe(1);
      expect(await sessions()).toBe(1);
    } finally {
      await listener.close();
    }
    await until(async () => (await sessions()) === 0, 'closing ends the session');
  });
});
