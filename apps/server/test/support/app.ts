import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { buildApp } from '../../src/api/app.js';
import type { ZodApp } from '../../src/api/types.js';
import type { RedisHealth } from '../../src/observability/redis-health.js';
import type { TestDatabase } from './db.js';

/** The real app on a test database, silent, for inject()-based tests. */
export async function buildTestApp(db: TestDatabase, overrides: ConfigOverrides = {}, redis: RedisHealth | null = null): Promise<ZodApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...overrides }, {});
  return buildApp({ config, db: { pool: db.pool }, redis });
}
