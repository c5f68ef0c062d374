import { AnalysisEventHub } from '../domain/analyses/event-hub.js';
import { jobQueueSettings, lazyJobQueue, type JobQueueHandle } from '../db/job-queue.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { createLoginThrottle } from '../domain/auth/login-throttle.js';
import {
  createLogMailTransport,
  createSmtpMailTransport,
  type MailTransport,
} from '../domain/auth/mail.js';
import { createSecretBox } from '../domain/auth/secret-box.js';
import type { Logger } from '../observability/logger.js';
import type { RedisHealth } from '../observability/redis-health.js';
import type { AppDeps } from './types.js';

/** The base URL people reach this instance at (links in mail, the setup link). */
export function publicUrlOf(config: Config): string {
  if (config.api.publicUrl) return config.api.publicUrl.replace(/\/$/, '');
  const host =
    config.host === '0.0.0.0' || config.host === '::'
      ? '127.0.0.1'
      : config.host.includes(':')
        ? `[${config.host}]`
        : config.host;
  return `http://${host}:${config.port}`;
}

/** Wires the services the routes use from config, database secrets and (optional) Redis. */
export function createAppDeps(
  config: Config,
  db: Pick<Database, 'pool' | 'secrets' | 'url'>,
  redis: RedisHealth | null,
  logger: Logger,
  overrides: { mail?: MailTransport; jobs?: JobQueueHandle } = {},
): AppDeps {
  return {
    analysisEvents: new AnalysisEventHub(db.pool, db.url),
    jobs:
      overrides.jobs ??
      lazyJobQueue(db.url, jobQueueSettings(config), {
        supervise: false,
        onError: (error) => logger.error({ err: error }, 'job queue error'),
      }),
    config,
    db,
    redis,
    auth: {
      pool: db.pool,
      secretBox: createSecretBox(db.secrets.encryptionKey, config.auth.previousEncryptionKeys),
      jwtSecret: config.auth.jwtSecret ?? db.secrets.jwtSecret,
      throttle: createLoginThrottle(redis?.client ?? null, {
        probesPerMinute: config.rateLimits.authPerMinute,
      }),
      mail:
        overrides.mail ??
        (config.mail.smtpUrl
          ? createSmtpMailTransport(config.mail.smtpUrl, config.mail.from)
          : createLogMailTransport(logger)),
      signupEnabled: config.auth.signupEnabled,
      publicUrl: publicUrlOf(config),
      onMailError: (error, purpose) => logger.error({ err: error, purpose }, 'could not send mail'),
    },
  };
}
