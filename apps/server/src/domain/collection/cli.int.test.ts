/**
 * `socialpulse sync` and `socialpulse dlq list|replay` as a user runs them (the built CLI in a
 * child process), with a worker in this process whose connectors call the simulator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectionView, DeadLetterView, SyncRunView } from '@socialpulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createAppDeps } from '../../api/deps.js';
import type { ZodApp } from '../../api/types.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../observability/logger.js';
import { startWorker, type RunningWorker } from '../../services/worker.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
  type TestUser,
} from '../../../test/support/app.js';
import { testQueueConfig } from '../../../test/support/analyses.js';
import { runCli } from '../../../test/support/server-process.js';
import { startSimulator, type Simulator } from '../../../test/simulator/index.js';
import { createConnectorProvider } from './connectors.js';

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')(
  'socialpulse sync and dlq',
  () => {
    let db: TestDatabase;
    let sim: Simulator;
    let app: ZodApp;
    let worker: RunningWorker;
    let owner: TestUser;
    let workspaceId: string;
    let connection: ConnectionView;
    const name = `CLI sync ${Date.now()}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'sp-cli-sync-'));
    const env = (): Record<string, string> => ({
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      ENCRYPTION_KEY: db.secrets.encryptionKey,
      ...(testQueueConfig as Record<string, string>),
    });

    beforeAll(async () => {
      db = await createTestDatabase();
      sim = await startSimulator({ seed: 11, accounts: { x: 1 }, postsPerAccount: 30 });
      const connectors = createConnectorProvider({
        baseUrls: sim.baseUrls,
        backoffBaseMs: 10,
        backoffMaxMs: 50,
        maxWaitMs: 2_000,
        maxAttempts: 2,
      });
      const config = loadConfig(
        { LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...noRateLimits, ...testQueueConfig },
        {},
      );
      app = await buildApp(
        Object.assign(createAppDeps(config, db, null, createLogger('silent')), {
          collection: { connectors },
        }),
      );
      worker = await startWorker(
        config,
        { url: db.url, secrets: db.secrets },
        createLogger('silent'),
        { collection: { connectors, schedulerIntervalMs: 3_600_000, pollIntervalSeconds: 0.5 } },
      );
      owner = await signUpUser(app);
      workspaceId = await createWorkspaceAs(app, owner, name);
      const account = sim.accounts.x[0];
      const res = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/connections`,
        headers: owner.headers,
        payload: {
          platform: 'x',
          account: `@${account?.handle ?? ''}`,
          credentials: { access_token: account?.accessToken ?? '' },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      connection = res.json<ConnectionView>();
    }, 60_000);

    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await sim?.close();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('sync runs now and reports the run; an outage lands in dlq list; dlq replay collects it', async () => {
      sim.setFaults([{ platform: 'x', kind: 'server_error', status: 503, times: Infinity }]);
      const failed = await runCli(['sync', '--workspace', name, '--timeout', '60'], env());
      sim.setFaults([]);
      expect(failed.code, failed.stderr).toBe(1);
      const report = JSON.parse(failed.stdout.trim()) as { status: string; run_id: string };
      expect(report.status).toBe('failed');
      expect(failed.stderr).toContain('x ');

      const listed = await runCli(['dlq', 'list', '--workspace', name, '--json'], env());
      expect(listed.code, listed.stderr).toBe(0);
      const letters = listed.stdout
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              id: string;
              operation: string;
              connectionId: string;
              attempts: number;
            },
        );
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        operation: 'list_posts',
        connectionId: connection.id,
        attempts: 2,
      });
      expect(listed.stdout).not.toContain(sim.accounts.x[0]?.accessToken ?? 'never');
      const everywhere = await runCli(['dlq', 'list'], env());
      expect(everywhere.stdout).toContain(letters[0]?.id ?? 'missing');

      const replayed = await runCli(['dlq', 'replay', letters[0]?.id ?? '', '999999'], env());
      expect(replayed.code).toBe(1); // the unknown id is refused, the real one queued
      expect(replayed.stdout).toMatch(/queued\trun=/);
      expect(replayed.stdout).toMatch(/999999\trefused/);
      const runId = /run=([0-9a-f-]{36})/.exec(replayed.stdout)?.[1] ?? '';
      const deadline = Date.now() + 30_000;
      let run: SyncRunView | undefined;
      while (Date.now() < deadline) {
        run = (
          await app.inject({
            url: `/v1/workspaces/${workspaceId}/sync-runs/${runId}`,
            headers: owner.headers,
          })
        ).json<SyncRunView>();
        if (['completed', 'partial', 'failed'].includes(run.status)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(run).toMatchObject({ status: 'completed', trigger: 'replay' });
      const letter = (
        await app.inject({
          url: `/v1/workspaces/${workspaceId}/dead-letters/${letters[0]?.id ?? ''}`,
          headers: owner.headers,
        })
      ).json<DeadLetterView>();
      expect(letter.status).toBe('replayed');

      // dlq discard: an open letter is closed for the record; a replayed one is refused.
      const { rows: inserted } = await db.adminPool.query<{ id: string }>(
        `INSERT INTO dead_letters (workspace_id, connection_id, operation, request, error, attempts) VALUES ($1, $2, 'refresh_metrics', '{}', '{"kind":"bad_request"}', 1) RETURNING id::text AS id`,
        [workspaceId, connection.id],
      );
      const openId = inserted[0]?.id ?? '';
      const discarded = await runCli(['dlq', 'discard', openId, letters[0]?.id ?? ''], env());
      expect(discarded.code).toBe(1);
      expect(discarded.stdout).toContain(`${openId}\tdiscarded`);
      expect(discarded.stdout).toMatch(new RegExp(`${letters[0]?.id ?? ''}\trefused\t.*replayed`));
      const afterDiscard = await runCli(
        ['dlq', 'list', '--workspace', name, '--status', 'discarded', '--json'],
        env(),
      );
      expect(afterDiscard.stdout).toContain(`"id":"${openId}"`);

      const ok = await runCli(['sync', '--workspace', name, '--connection', connection.id], env());
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout.trim())).toMatchObject({
        status: 'completed',
        connection_id: connection.id,
      });
      const { rows } = await db.adminPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM posts WHERE workspace_id = $1',
        [workspaceId],
      );
      expect(rows[0]?.n).toBe(sim.postIds('x', sim.accounts.x[0]?.id ?? '').length);
    }, 120_000);
  },
);

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')(
  'socialpulse sync with no worker running',
  () => {
    let db: TestDatabase;
    let sim: Simulator;
    let app: ZodApp;
    const name = `CLI sync alone ${Date.now()}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'sp-cli-sync-alone-'));
    const env = (): Record<string, string> => ({
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      ENCRYPTION_KEY: db.secrets.encryptionKey,
      ...(testQueueConfig as Record<string, string>),
    });
    const connectionIds: string[] = [];

    beforeAll(async () => {
      db = await createTestDatabase();
      sim = await startSimulator({ seed: 12, accounts: { x: 2 }, postsPerAccount: 3 });
      const connectors = createConnectorProvider({ baseUrls: sim.baseUrls });
      const config = loadConfig(
        { LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...noRateLimits, ...testQueueConfig },
        {},
      );
      app = await buildApp(
        Object.assign(createAppDeps(config, db, null, createLogger('silent')), {
          collection: { connectors },
        }),
      );
      const owner = await signUpUser(app);
      const workspaceId = await createWorkspaceAs(app, owner, name);
      for (const account of sim.accounts.x) {
        const res = await app.inject({
          method: 'POST',
          url: `/v1/workspaces/${workspaceId}/connections`,
          headers: owner.headers,
          payload: {
            platform: 'x',
            account: `@${account.handle}`,
            credentials: { access_token: account.accessToken },
          },
        });
        expect(res.statusCode, res.body).toBe(201);
        connectionIds.push(res.json<ConnectionView>().id);
      }
    }, 60_000);

    afterAll(async () => {
      await app?.close();
      await sim?.close();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reports every run as it is once --timeout has passed, and refuses a bad --timeout', async () => {
      // 0: no wait at all; 0.3: the first run uses up the wait, the second is read after it.
      for (const timeout of ['0', '0.3']) {
        const result = await runCli(['sync', '--workspace', name, '--timeout', timeout], env());
        expect(result.code).toBe(1);
        expect(result.stderr).not.toContain('not found');
        expect(result.stderr.match(/: still queued \(is a worker running\?/g)).toHaveLength(2);
        const reports = result.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { status: string; connection_id: string });
        expect(reports.map((r) => r.status)).toEqual(['queued', 'queued']);
        expect(reports.map((r) => r.connection_id).sort()).toEqual([...connectionIds].sort());
      }
      for (const timeout of ['soon', '-1', '']) {
        const bad = await runCli(['sync', '--workspace', name, '--timeout', timeout], env());
        expect(bad.code).toBe(1);
        expect(bad.stderr).toBe(
          `socialpulse: --timeout must be a number of seconds, 0 or more (got "${timeout}")\n`,
        );
      }
    });
  },
);
