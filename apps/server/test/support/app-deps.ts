/**
 * The real app together with the services it was built from, for tests that must reach a
 * service the HTTP API does not expose (the setup link, the operator's `users create`) or that
 * choose the mail transport and the logger (the SMTP and log transports as configured).
 */
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { buildApp } from '../../src/api/app.js';
import { createAppDeps } from '../../src/api/deps.js';
import type { AppDeps, ZodApp } from '../../src/api/types.js';
import type { MailTransport } from '../../src/domain/auth/mail.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import type { RedisHealth } from '../../src/observability/redis-health.js';
import type { TestDatabase } from './db.js';

export interface TestAppWithDeps {
  app: ZodApp;
  deps: AppDeps;
}

export interface TestAppDepsOptions {
  redis?: RedisHealth | null;
  /** The services' logger (the log mail transport writes here); silent when not given. */
  logger?: Logger;
  /** A mail transport; when not given, the configured one (SMTP_URL, else the log). */
  mail?: MailTransport;
}

export async function buildTestAppWithDeps(
  db: TestDatabase,
  overrides: ConfigOverrides = {},
  options: TestAppDepsOptions = {},
): Promise<TestAppWithDeps> {
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...overrides }, {});
  const deps = createAppDeps(
    config,
    db,
    options.redis ?? null,
    options.logger ?? createLogger('silent'),
    options.mail ? { mail: options.mail } : {},
  );
  return { app: await buildApp(deps), deps };
}
