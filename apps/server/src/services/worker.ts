import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { jobQueueSettings, openJobQueue, WEBHOOK_QUEUE } from '../db/job-queue.js';
import { processDelivery } from '../domain/webhooks/webhook-processor.js';
import { createPool } from '../db/pool.js';
import { createSecretBox } from '../domain/auth/secret-box.js';
import { ChunkWorker, type ChunkWorkerOptions } from '../domain/analyses/chunk-worker.js';
import { createLlmResolver, preloadLlm } from '../domain/analyses/llm-runtime.js';
import type { Logger } from '../observability/logger.js';
import { startCollection, type CollectionOptions } from '../domain/collection/sync-queue.js';
import { connectorProviderFromConfig } from '../domain/collection/connectors.js';

export interface RunningWorker {
  stop(): Promise<void>;
}

/** The analysis worker: runs chunk jobs from the shared queue until stopped. */
export async function startWorker(
  config: Config,
  db: Pick<Database, 'url' | 'secrets'> & Partial<Pick<Database, 'appUrl'>>,
  logger: Logger,
  overrides: Partial<Pick<ChunkWorkerOptions, 'onChunk' | 'llmFor'>> & {
    collection?: Partial<Omit<CollectionOptions, 'pool' | 'boss' | 'secretBox'>>;
  } = {},
): Promise<RunningWorker> {
  const queue = await openJobQueue(db.url, jobQueueSettings(config), {
    supervise: true,
    synchronousCommit: false,
    poolSize: config.analysis.workerConcurrency + 2,
    onError: (error) => logger.error({ err: error }, 'job queue error'),
  });
  // The chunk loops' own pool (on the application's login; tests that pass only the owner URL
  // get the role switch): one connection per loop, pipelined (a chunk's commit sends BEGIN with
  // its first statement, and independent statements together), and commits that do not wait for
  // the WAL flush (a chunk's results and its job's completion are one atomic, repeatable
  // transaction).
  const chunkPool = createPool(db.appUrl ?? db.url, config.analysis.workerConcurrency + 3, {
    applicationName: 'socialpulse-worker',
    synchronousCommit: false,
    pipeline: true,
  });
  // Collection syncs and webhook deliveries: plain connections (a sync stores posts with COPY,
  // which a pipelined connection refuses) and ordinary commits.
  const pool = createPool(db.appUrl ?? db.url, config.collection.concurrency + 2, {
    applicationName: 'socialpulse-worker-sync',
  });
  const secretBox = createSecretBox(db.secrets.encryptionKey, config.auth.previousEncryptionKeys);
  const worker = new ChunkWorker({
    pool: chunkPool,
    ownerUrl: db.url,
    queue,
    slots: config.analysis.slots,
    concurrency: config.analysis.workerConcurrency,
    pollIntervalMs: config.analysis.pollIntervalMs,
    logger,
    llmFor:
      overrides.llmFor ??
      createLlmResolver(config.llm, (sealed, workspaceId) =>
        secretBox.decrypt(sealed, `llm_api_key:${workspaceId}`),
      ),
    ...(overrides.onChunk ? { onChunk: overrides.onChunk } : {}),
  });
  if (config.llm.baseUrl && config.llm.model) await preloadLlm(config.llm.model);
  await worker.start();
  // Webhook deliveries: acknowledged by the API, processed here.
  await queue.boss.work<{ id: number }>(
    WEBHOOK_QUEUE,
    { batchSize: 10, pollingIntervalSeconds: Math.max(0.5, config.analysis.pollIntervalMs / 1000) },
    async (jobs) => {
      for (const job of jobs) await processDelivery(pool, job.data.id);
    },
  );
  // Platform collection (domain/collection): sync jobs and the scheduler that queues due ones.
  // Rate-limit budgets live in Redis when it is configured, shared with the API and other workers.
  const redis =
    config.redisUrl && !overrides.collection?.connectors
      ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false })
      : null;
  redis?.on('error', (error) =>
    logger.warn({ err: error, component: 'collection' }, 'redis error (budgets)'),
  );
  const collection = await startCollection({
    pool,
    boss: queue.boss,
    secretBox,
    logger,
    connectors: connectorProviderFromConfig(config, redis),
    schedulerIntervalMs: config.collection.schedulerIntervalMs,
    concurrency: config.collection.concurrency,
    ...overrides.collection,
  });
  logger.info(
    { slots: config.analysis.slots, concurrency: config.analysis.workerConcurrency },
    'analysis worker started',
  );
  return {
    stop: async () => {
      await collection.stop();
      redis?.disconnect();
      await worker.stop();
      await queue.stop();
      await Promise.all([chunkPool.end(), pool.end()]);
    },
  };
}
