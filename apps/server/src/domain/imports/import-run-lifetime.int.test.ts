import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../db/pool.js';
import {
  findImportRun,
  INTERRUPTED_IMPORT_ERROR,
  listImportRuns,
  listRejects,
} from '../../db/repos/imports.repo.js';
import { withTenant } from '../../db/tenant.js';
import { createWorkspace } from '../workspaces/workspaces.service.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { postRecord, toJsonl } from '../../../test/support/factories.js';
import { importPosts } from './import.service.js';

/** Settles with `work`, or rejects after `ms`: a deadlocked import must fail the test, not hang it. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(databaseUnavailable() !== '')('an import run and its connection', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const tenant = (workspaceId: string) => ({ workspaceId, userId: null });
  const options = (workspaceId: string) => ({
    workspaceId,
    source: 'test',
    batchSize: 5,
    maxRecordBytes: 65536,
  });

  it('needs one connection only: a pool of one imports batches, refused rows and many rejects', async () => {
    const ws = await createWorkspace(db.pool, 'pool of one', null, { userId: null, label: 'test' });
    const records = [
      ...Array.from({ length: 23 }, (_, i) => postRecord({ external_id: `ok${i}` })),
      // Passes validation, refused by PostgreSQL: the batch is bisected on the run's connection.
      postRecord({ external_id: 'year0', created_at: '0000-01-01T00:00:00Z' }),
      // More rejects than are held in memory at once: some are written during the run.
      ...Array.from({ length: 1200 }, (_, i) => postRecord({ external_id: `neg${i}`, likes: -1 })),
    ];
    const pool: Pool = createPool(db.url, 1, { applicationName: 'socialpulse-test-pool-of-one' });
    let finished = false;
    try {
      const run = await within(
        20_000,
        'the import on a pool of one connection',
        importPosts(
          pool,
          { fileName: 'one.jsonl', format: 'jsonl', stream: Readable.from([toJsonl(records)]) },
          options(ws.id),
        ),
      );
      finished = true;
      expect(run).toMatchObject({ status: 'completed', read: 1224, inserted: 23, rejected: 1201 });
      const rejects = await withTenant(pool, tenant(ws.id), (c) => listRejects(c, run.id, 0, 2000));
      expect(rejects).toHaveLength(1201);
    } finally {
      // A deadlocked pool never ends; dropping the database closes its connection.
      if (finished) await pool.end();
    }
  });

  it('a run whose importer is gone is reported failed, with what it wrote; a live one is not', async () => {
    const ws = await createWorkspace(db.pool, 'interrupted', null, { userId: null, label: 'test' });
    let resume: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (resume = resolve));
    async function* stalled(): AsyncGenerator<string> {
      for (let i = 0; i < 10; i += 1) yield toJsonl([postRecord({ external_id: `s${i}` })]);
      await gate; // The importer is alive but waits for its source.
    }
    const importer = createPool(db.url, 2, { applicationName: 'socialpulse-test-importer' });
    try {
      const importing = importPosts(
        importer,
        { fileName: 'stalled.jsonl', format: 'jsonl', stream: stalled() },
        options(ws.id),
      ).then(
        () => null,
        (error: unknown) => error,
      );
      const stored = async () =>
        (
          await db.adminPool.query<{ id: string; inserted: number; status: string }>(
            'SELECT id, inserted, status FROM imports WHERE workspace_id = $1',
            [ws.id],
          )
        ).rows[0];
      for (let polls = 0; (await stored())?.inserted !== 10; polls += 1) {
        if (polls > 20_000) throw new Error('the two batches were never written');
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const id = (await stored())?.id as string;

      // Alive: every reader sees it running.
      const live = await withTenant(db.pool, tenant(ws.id), async (c) => ({
        listed: await listImportRuns(c, ws.id, 100),
        found: await findImportRun(c, ws.id, id),
      }));
      expect(live.listed.map((r) => r.status)).toEqual(['running']);
      expect(live.found).toMatchObject({ status: 'running', finishedAt: null });

      // Its connection is lost (as when its process is killed).
      await db.adminPool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'socialpulse-test-importer'",
      );
      for (let polls = 0; ; polls += 1) {
        if (polls > 20_000) throw new Error('the importer session never ended');
        const { rows } = await db.adminPool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'socialpulse-test-importer'",
        );
        if (rows[0]?.n === 0) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }

      const [listed] = await withTenant(db.pool, tenant(ws.id), (c) =>
        listImportRuns(c, ws.id, 100),
      );
      expect(listed).toMatchObject({
        id,
        status: 'failed',
        error: INTERRUPTED_IMPORT_ERROR,
        read: 10,
        inserted: 10,
      });
      expect(listed?.finishedAt).toBeInstanceOf(Date);
      const found = await withTenant(db.pool, tenant(ws.id), (c) => findImportRun(c, ws.id, id));
      expect(found).toMatchObject({ status: 'failed', error: INTERRUPTED_IMPORT_ERROR });
      const { rows: posts } = await db.adminPool.query(
        'SELECT 1 FROM posts WHERE workspace_id = $1',
        [ws.id],
      );
      expect(posts).toHaveLength(10);

      // The importer, woken up, fails on its lost connection and records why on another one.
      resume();
      const failure = await within(20_000, 'the interrupted importer', importing);
      expect(failure).toMatchObject({ code: 'internal_error' });
      expect(await stored()).toMatchObject({ status: 'failed', inserted: 10 });
    } finally {
      resume();
      await importer.end();
    }
  });

  it("a run cut off between a batch's posts and its counts still counts every post it wrote", async () => {
    const ws = await createWorkspace(db.pool, 'cut off', null, { userId: null, label: 'test' });
    let resume: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (resume = resolve));
    async function* twoBatches(): AsyncGenerator<string> {
      for (let i = 0; i < 5; i += 1) yield toJsonl([postRecord({ external_id: `c${i}` })]);
      await gate;
      for (let i = 5; i < 10; i += 1) yield toJsonl([postRecord({ external_id: `c${i}` })]);
    }
    const importer = createPool(db.url, 2, { applicationName: 'socialpulse-test-cut-off' });
    const holder = await db.adminPool.connect();
    try {
      const importing = importPosts(
        importer,
        { fileName: 'cut.jsonl', format: 'jsonl', stream: twoBatches() },
        options(ws.id),
      ).catch(() => null);
      const stored = async () =>
        (
          await db.adminPool.query<{ id: string; inserted: number }>(
            'SELECT id, inserted FROM imports WHERE workspace_id = $1',
            [ws.id],
          )
        ).rows[0];
      for (let polls = 0; (await stored())?.inserted !== 5; polls += 1) {
        if (polls > 20_000) throw new Error('the first batch was never written');
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // The run's row is held, so the next write of its counts waits: that is where the process
      // dies (killed, or a second Ctrl+C).
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM imports WHERE workspace_id = $1 FOR UPDATE', [ws.id]);
      resume();
      for (let polls = 0; ; polls += 1) {
        if (polls > 20_000) throw new Error('the importer never waited for the run row');
        const { rows } = await db.adminPool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'socialpulse-test-cut-off' AND wait_event_type = 'Lock'",
        );
        if (rows[0]?.n === 1) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // The process dies: its connection ends, and nothing of it gets another one to correct
      // the counts (an ending pool refuses new clients).
      const ended = importer.end();
      await db.adminPool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'socialpulse-test-cut-off'",
      );
      await holder.query('ROLLBACK');
      await within(20_000, 'the cut-off importer', importing);
      await ended;

      const { rows: posts } = await db.adminPool.query(
        'SELECT 1 FROM posts WHERE workspace_id = $1',
        [ws.id],
      );
      expect((await stored())?.inserted).toBe(posts.length);
    } finally {
      resume();
      holder.release();
      if (!importer.ending) await importer.end();
    }
  });

  it('never takes a run that is starting or finishing for an interrupted one', async () => {
    const ws = await createWorkspace(db.pool, 'busy', null, { userId: null, label: 'test' });
    const importer = createPool(db.url, 3, { applicationName: 'socialpulse-test-busy' });
    try {
      let done = false;
      const imports = Promise.all(
        Array.from({ length: 12 }, (_, n) =>
          importPosts(
            importer,
            {
              fileName: `busy${n}.jsonl`,
              format: 'jsonl',
              stream: Readable.from([
                toJsonl(
                  Array.from({ length: 7 }, (_, i) => postRecord({ external_id: `b${n}-${i}` })),
                ),
              ]),
            },
            options(ws.id),
          ),
        ),
      ).finally(() => (done = true));
      const seen = new Set<string>();
      while (!done) {
        for (const r of await withTenant(db.pool, tenant(ws.id), (c) =>
          listImportRuns(c, ws.id, 100),
        ))
          seen.add(r.status);
      }
      const runs = await imports;
      expect(runs.map((r) => r.status)).toEqual(Array.from({ length: 12 }, () => 'completed'));
      const listed = await withTenant(db.pool, tenant(ws.id), (c) => listImportRuns(c, ws.id, 100));
      expect(listed.map((r) => r.status)).toEqual(Array.from({ length: 12 }, () => 'completed'));
      expect(seen.has('failed')).toBe(false);
    } finally {
      await importer.end();
    }
  });
});
