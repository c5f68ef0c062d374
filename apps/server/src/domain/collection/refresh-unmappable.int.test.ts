/**
 * A metrics refresh, through the sync service against the simulator: a post the platform returns
 * but the mapper cannot read is skipped as `unmappable` with its reason and stays planned; only a
 * post missing from the platform's answer, or one the platform marks removed (Reddit's
 * `removed_by_category`), is taken for deleted and leaves the plan.
 */
import type { ConnectionView } from '@socialpulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodApp } from '../../api/types.js';
import { createSecretBox, type SecretBox } from '../auth/secret-box.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import {
  buildCollectionTestApp,
  createWorkspaceAs,
  signUpUser,
  type TestUser,
} from '../../../test/support/app.js';
import { startSimulator, type Simulator } from '../../../test/simulator/index.js';
import { createConnectorProvider, type ConnectorProvider } from './connectors.js';
import { syncConnection } from './sync.service.js';

describe.skipIf(databaseUnavailable() !== '')(
  'collection: a refreshed post the mapper cannot read is not deleted',
  () => {
    let db: TestDatabase;
    let sim: Simulator;
    let app: ZodApp;
    let box: SecretBox;
    let connectors: ConnectorProvider;
    let owner: TestUser;
    let workspaceId: string;

    const connect = async (platform: 'reddit' | 'tiktok'): Promise<ConnectionView> => {
      const account = sim.accounts[platform][0];
      if (!account) throw new Error(`no simulated ${platform} account`);
      const res = await app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/connections`,
        headers: owner.headers,
        payload: {
          platform,
          account: account.handle,
          credentials: { access_token: account.accessToken },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json<ConnectionView>();
    };

    const sync = (connectionId: string, kind: 'posts' | 'metrics') =>
      syncConnection(
        { pool: db.pool, secretBox: box, connectors },
        { workspaceId, connectionId, kind, trigger: 'manual' },
      );

    /** The connection's planned posts (external id → stage), all made due now. */
    const planAllDue = async (connectionId: string): Promise<Map<string, number>> => {
      await db.adminPool.query(
        "UPDATE post_refresh_schedule SET due_at = now() - interval '1 second' WHERE connection_id = $1",
        [connectionId],
      );
      return plan(connectionId);
    };
    const plan = async (connectionId: string): Promise<Map<string, number>> => {
      const { rows } = await db.adminPool.query<{ external_id: string; stage: number }>(
        `SELECT p.external_id, s.stage FROM post_refresh_schedule s JOIN posts p ON p.id = s.post_id
          WHERE s.connection_id = $1`,
        [connectionId],
      );
      return new Map(rows.map((r) => [r.external_id, r.stage]));
    };

    beforeAll(async () => {
      db = await createTestDatabase();
      sim = await startSimulator({
        seed: 67,
        accounts: { reddit: 1, tiktok: 1 },
        postsPerAccount: 12,
        tokenTtlSeconds: { tiktok: 60 * 86_400, reddit: 60 * 86_400 },
      });
      connectors = createConnectorProvider({
        baseUrls: sim.baseUrls,
        backoffBaseMs: 10,
        backoffMaxMs: 50,
        maxWaitMs: 2_000,
        maxAttempts: 2,
      });
      box = createSecretBox(db.secrets.encryptionKey);
      app = await buildCollectionTestApp(db, connectors);
      owner = await signUpUser(app);
      workspaceId = await createWorkspaceAs(app, owner);
    }, 60_000);

    afterAll(async () => {
      await app?.close();
      await sim?.close();
      await db?.drop();
    });

    it.each(['reddit', 'tiktok'] as const)(
      '%s: an unmappable refreshed post is skipped with its reason and stays planned; a post gone from the answer or marked removed leaves the plan',
      async (platform) => {
        const connection = await connect(platform);
        expect((await sync(connection.id, 'posts')).status).toBe('completed');
        const before = await planAllDue(connection.id);
        const ids = [...before.keys()].sort();
        const [unmappable, removed, absent] = ids;
        if (!unmappable || !removed || !absent) throw new Error('too few posts planned');
        // A creation time no date holds: the platform returns the post, the mapper cannot read it.
        sim.setPostCreatedAt(platform, unmappable, -9e15);
        // Reddit still returns a deleted submission, marked removed; TikTok leaves it out.
        sim.deletePosts(platform, [removed]);
        // Dated in the future: missing from the platform's answer.
        sim.setPostCreatedAt(platform, absent, Date.now() + 30 * 86_400_000);

        const run = await sync(connection.id, 'metrics');
        expect(run.status, JSON.stringify(run)).toBe('completed');
        const unmappableGaps = run.gaps.filter((g) => g.reason === 'unmappable');
        expect(unmappableGaps.flatMap((g) => g.resourceIds ?? [])).toEqual([unmappable]);
        expect(unmappableGaps[0]?.detail).toMatch(/without id or create/);
        const deleted = run.gaps
          .filter((g) => g.reason === 'deleted')
          .flatMap((g) => g.resourceIds ?? []);
        expect(deleted.sort()).toEqual([removed, absent].sort());
        // Counted as skipped with the ids that got no snapshot (Reddit reads a removed post's metrics).
        expect(run.skipped).toBe(platform === 'reddit' ? 2 : 3);
        expect(run.snapshots).toBe(ids.length - run.skipped);

        const after = await plan(connection.id);
        expect(after.has(removed)).toBe(false);
        expect(after.has(absent)).toBe(false);
        // Still planned, at its next stage: asked for again then.
        expect(after.get(unmappable)).toBeGreaterThan(before.get(unmappable) ?? 0);
        expect(after.size).toBe(before.size - 2);
      },
      60_000,
    );
  },
);
