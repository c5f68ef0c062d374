/**
 * The only module that reads process.env. Every setting is declared once here, validated
 * with zod, and all problems are reported together.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import {
  callableUrlSchema,
  maskUrlCredentials,
  platforms,
  type Platform,
} from '@socialpulse/contracts';
import { AppError, describeIoError, errnoCode } from './errors.js';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const postgresUrl = z
  .string()
  .url()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL');

/** A comma-separated list in one variable: its entries, trimmed, empty ones dropped. */
const commaList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** `x=http://127.0.0.1:4010/x,youtube=…`: where a platform's API is reached (the simulator, a proxy). */
const platformBaseUrls = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const out: Partial<Record<Platform, string>> = {};
    for (const entry of v
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')) {
      const at = entry.indexOf('=');
      const name = entry.slice(0, at).trim();
      const url = entry.slice(at + 1).trim();
      if (at < 1 || !(platforms as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}" is not platform=URL with a platform of ${platforms.join(', ')}`,
        });
        continue;
      }
      if (!/^https?:\/\/[^\s]+$/.test(url) || !URL.canParse(url)) {
        ctx.addIssue({ code: 'custom', message: `${name}: "${url}" is not an http(s) URL` });
        continue;
      }
      out[name as Platform] = url.replace(/\/+$/, '');
    }
    return out;
  });

const redisUrl = z
  .string()
  .url()
  .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL');

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  // Without its trailing slash, so that every link built as `${publicUrl}/path` has one slash.
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  TRUST_PROXY: booleanFromEnv.default(false),
  CORS_ORIGINS: commaList.pipe(z.array(z.url({ protocol: /^https?$/ }))),
  // Decimal digits only: coercion would read " " as 0 (a random port) and 0x1F90 as 8080.
  PORT: z
    .string()
    .regex(/^\d+$/, 'must be a port number from 0 to 65535 in decimal digits')
    .transform(Number)
    .pipe(z.number().max(65535, 'must be a port number from 0 to 65535'))
    .default(8080),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_APP_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).default(10),
  DATA_DIR: z.string().min(1).default('./.data'),
  REDIS_URL: redisUrl.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ENCRYPTION_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes in base64 (openssl rand -base64 32)')
    .optional(),
  IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024 * 1024),
  IMPORT_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
  IMPORT_MAX_RECORD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  // A zip's entries, as they are read: the inflated bytes in all (and so per entry), how many
  // entries are listed, and how far one entry may inflate per compressed byte. A 100k-tweet X
  // archive's tweets.js is some 100-400 MB, 10-20:1, beside tens of thousands of media entries;
  // deflate reaches 1000:1 on filler, which these refuse (see docs/security.md).
  IMPORT_MAX_INFLATED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024 * 1024),
  IMPORT_MAX_ARCHIVE_ENTRIES: z.coerce.number().int().min(1).default(200_000),
  IMPORT_MAX_COMPRESSION_RATIO: z.coerce.number().int().min(2).default(100),
  API_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().min(0).max(3600).default(8),
  DEMO_WORKSPACE: booleanFromEnv.default(true),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ENCRYPTION_KEYS_PREVIOUS: commaList.pipe(
    z.array(z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'each must be 32 bytes in base64')),
  ),
  SIGNUP_ENABLED: booleanFromEnv.default(true),
  MFA_REQUIRED_ROLES: commaList.pipe(z.array(z.enum(['owner', 'admin', 'analyst', 'viewer']))),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('SocialPulse <socialpulse@localhost>'),
  RATE_LIMIT_READ_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_WRITE_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  RATE_LIMIT_AUTH_PER_MINUTE: z.coerce.number().int().min(1).default(20),
  ANALYSIS_SLOTS: z.coerce.number().int().min(1).max(1000).default(10),
  ANALYSIS_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).optional(),
  ANALYSIS_CHUNK_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  ANALYSIS_RETRY_DELAY_SECONDS: z.coerce.number().int().min(0).max(3600).default(2),
  ANALYSIS_RETRY_DELAY_MAX_SECONDS: z.coerce.number().int().min(1).max(86400).default(120),
  ANALYSIS_LEASE_SECONDS: z.coerce.number().int().min(10).max(3600).default(30),
  ANALYSIS_SUPERVISE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  ANALYSIS_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  ANALYSIS_STREAM_KEEPALIVE_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  LLM_BASE_URL: callableUrlSchema('give the key as LLM_API_KEY').optional(),
  LLM_API_KEY: z.string().min(1).optional(),
  LLM_MODEL: z.string().min(1).optional(),
  LLM_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(60_000),
  LLM_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  // Origins on private addresses (a LAN Ollama, vLLM) that workspaces may set as their LLM; the
  // instance's own LLM_BASE_URL is always allowed.
  LLM_TRUSTED_ORIGINS: commaList.pipe(z.array(z.url({ protocol: /^https?$/ }))),
  META_APP_SECRET: z.string().min(8).optional(),
  META_WEBHOOK_VERIFY_TOKEN: z.string().min(8).optional(),
  TIKTOK_CLIENT_SECRET: z.string().min(8).optional(),
  X_CONSUMER_SECRET: z.string().min(8).optional(),
  YOUTUBE_WEBSUB_SECRET: z.string().min(8).optional(),
  X_CLIENT_ID: z.string().min(1).optional(),
  X_CLIENT_SECRET: z.string().min(8).optional(),
  YOUTUBE_CLIENT_ID: z.string().min(1).optional(),
  YOUTUBE_CLIENT_SECRET: z.string().min(8).optional(),
  META_APP_ID: z.string().min(1).optional(),
  TIKTOK_CLIENT_KEY: z.string().min(1).optional(),
  REDDIT_CLIENT_ID: z.string().min(1).optional(),
  REDDIT_CLIENT_SECRET: z.string().min(8).optional(),
  PLATFORM_BASE_URLS: platformBaseUrls,
  COLLECTION_SCHEDULER_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(15),
  COLLECTION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  OAUTH_STATE_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(600),
});

type RawConfig = z.infer<typeof configSchema>;

export interface Config {
  env: RawConfig['NODE_ENV'];
  host: string;
  port: number;
  database: {
    url: string | undefined;
    /** The application's own login (member of socialpulse_app, not the owner); external databases only. */
    appUrl: string | undefined;
    poolMax: number;
  };
  dataDir: string;
  redisUrl: string | undefined;
  logLevel: RawConfig['LOG_LEVEL'];
  encryptionKey: string | undefined;
  import: {
    maxBytes: number;
    batchSize: number;
    maxRecordBytes: number;
    /** The zip limits (domain/imports/zip-archive.ts ArchiveLimits), passed to prepare*Import as `limits`. */
    maxInflatedBytes: number;
    maxArchiveEntries: number;
    maxCompressionRatio: number;
  };
  api: {
    bodyLimitBytes: number;
    /** How long shutdown lets requests finish before cutting the connections still open. */
    drainMs: number;
    publicUrl: string | undefined;
    trustProxy: boolean;
    corsOrigins: string[];
  };
  demoWorkspace: boolean;
  auth: {
    jwtSecret: string | undefined;
    previousEncryptionKeys: string[];
    signupEnabled: boolean;
    mfaRequiredRoles: ('owner' | 'admin' | 'analyst' | 'viewer')[];
  };
  mail: { smtpUrl: string | undefined; from: string };
  rateLimits: { readPerMinute: number; writePerMinute: number; authPerMinute: number };
  analysis: {
    /** Chunks in flight across every worker process (so requesters in flight, one chunk each). */
    slots: number;
    /** Chunks one worker process runs at once. */
    workerConcurrency: number;
    attempts: number;
    retryDelaySeconds: number;
    retryDelayMaxSeconds: number;
    leaseSeconds: number;
    superviseIntervalSeconds: number;
    pollIntervalMs: number;
    /** Progress streams: an SSE comment, or a WebSocket ping, this often (a peer that misses a pong is dropped). */
    streamKeepAliveMs: number;
  };
  /** The instance's default LLM (workspaces may set their own). */
  llm: {
    baseUrl: string | undefined;
    apiKey: string | undefined;
    model: string | undefined;
    timeoutMs: number;
    maxConcurrency: number;
    /** Origins on non-public addresses a workspace's own LLM base URL may use (LLM_TRUSTED_ORIGINS). */
    trustedOrigins: string[];
  };
  /** Platform collection: where the APIs are, the OAuth clients, the scheduler. */
  collection: {
    baseUrls: Partial<Record<Platform, string>>;
    /** OAuth clients per platform (Mastodon registers one per instance instead). A platform without one cannot start an OAuth flow. */
    oauthClients: Partial<Record<Platform, { clientId: string; clientSecret: string }>>;
    oauthStateTtlSeconds: number;
    schedulerIntervalMs: number;
    concurrency: number;
  };
  /** Secrets the platforms sign their webhook deliveries with (a receiver without one is off). */
  webhooks: {
    metaAppSecret: string | undefined;
    metaVerifyToken: string | undefined;
    tiktokClientSecret: string | undefined;
    xConsumerSecret: string | undefined;
    youtubeWebSubSecret: string | undefined;
  };
}

export type ConfigOverrides = Partial<Record<keyof RawConfig, string>>;

/** Formats every zod issue as `NAME: problem (got "value")`, secrets masked. */
function describeIssues(error: z.ZodError, source: Record<string, string | undefined>): string[] {
  return error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(root)');
    const value = source[name];
    const shown =
      value === undefined
        ? ''
        : /KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL|DATABASE_APP_URL|REDIS_URL|SMTP_URL/.test(name)
          ? ' (value hidden)'
          : ` (got "${maskUrlCredentials(value)}")`;
    return `${name}: ${issue.message}${shown}`;
  });
}

/**
 * Reads and validates configuration from the environment plus explicit overrides (CLI flags
 * and tests). Throws AppError('config_invalid') listing every problem at once.
 */
export function loadConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const source: Record<string, string | undefined> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = overrides[key as keyof RawConfig] ?? env[key];
    // An empty variable means "unset", as in most twelve-factor tools.
    source[key] = value === '' ? undefined : value;
  }
  const parsed = configSchema.safeParse(source);
  const problems = parsed.success ? [] : describeIssues(parsed.error, source);
  // Checked here as well as where the database opens, so that it is reported with the others
  // before an embedded cluster is created for nothing.
  if (source.DATABASE_APP_URL !== undefined && source.DATABASE_URL === undefined)
    problems.push(
      'DATABASE_APP_URL: is set without DATABASE_URL: the embedded database makes its own application login; set both or neither',
    );
  if (!parsed.success || problems.length > 0) {
    throw new AppError('config_invalid', `Invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  const c = parsed.data;
  return {
    env: c.NODE_ENV,
    host: c.HOST,
    port: c.PORT,
    database: { url: c.DATABASE_URL, appUrl: c.DATABASE_APP_URL, poolMax: c.DATABASE_POOL_MAX },
    dataDir: path.resolve(c.DATA_DIR),
    redisUrl: c.REDIS_URL,
    logLevel: c.LOG_LEVEL,
    encryptionKey: c.ENCRYPTION_KEY,
    import: {
      maxBytes: c.IMPORT_MAX_BYTES,
      batchSize: c.IMPORT_BATCH_SIZE,
      maxRecordBytes: c.IMPORT_MAX_RECORD_BYTES,
      maxInflatedBytes: c.IMPORT_MAX_INFLATED_BYTES,
      maxArchiveEntries: c.IMPORT_MAX_ARCHIVE_ENTRIES,
      maxCompressionRatio: c.IMPORT_MAX_COMPRESSION_RATIO,
    },
    api: {
      bodyLimitBytes: c.API_BODY_LIMIT_BYTES,
      drainMs: c.SHUTDOWN_DRAIN_SECONDS * 1000,
      publicUrl: c.PUBLIC_URL,
      trustProxy: c.TRUST_PROXY,
      corsOrigins: c.CORS_ORIGINS,
    },
    demoWorkspace: c.DEMO_WORKSPACE,
    auth: {
      jwtSecret: c.JWT_SECRET,
      previousEncryptionKeys: c.ENCRYPTION_KEYS_PREVIOUS,
      signupEnabled: c.SIGNUP_ENABLED,
      mfaRequiredRoles: c.MFA_REQUIRED_ROLES,
    },
    mail: { smtpUrl: c.SMTP_URL, from: c.MAIL_FROM },
    rateLimits: {
      readPerMinute: c.RATE_LIMIT_READ_PER_MINUTE,
      writePerMinute: c.RATE_LIMIT_WRITE_PER_MINUTE,
      authPerMinute: c.RATE_LIMIT_AUTH_PER_MINUTE,
    },
    analysis: {
      slots: c.ANALYSIS_SLOTS,
      workerConcurrency: Math.min(
        c.ANALYSIS_WORKER_CONCURRENCY ?? c.ANALYSIS_SLOTS,
        c.ANALYSIS_SLOTS,
      ),
      attempts: c.ANALYSIS_CHUNK_ATTEMPTS,
      retryDelaySeconds: c.ANALYSIS_RETRY_DELAY_SECONDS,
      retryDelayMaxSeconds: c.ANALYSIS_RETRY_DELAY_MAX_SECONDS,
      leaseSeconds: c.ANALYSIS_LEASE_SECONDS,
      superviseIntervalSeconds: c.ANALYSIS_SUPERVISE_INTERVAL_SECONDS,
      pollIntervalMs: c.ANALYSIS_POLL_INTERVAL_MS,
      streamKeepAliveMs: c.ANALYSIS_STREAM_KEEPALIVE_MS,
    },
    llm: {
      baseUrl: c.LLM_BASE_URL,
      apiKey: c.LLM_API_KEY,
      model: c.LLM_MODEL,
      timeoutMs: c.LLM_TIMEOUT_MS,
      maxConcurrency: c.LLM_MAX_CONCURRENCY,
      trustedOrigins: c.LLM_TRUSTED_ORIGINS,
    },
    collection: {
      baseUrls: c.PLATFORM_BASE_URLS,
      oauthClients: oauthClientsOf(c),
      oauthStateTtlSeconds: c.OAUTH_STATE_TTL_SECONDS,
      schedulerIntervalMs: c.COLLECTION_SCHEDULER_INTERVAL_SECONDS * 1000,
      concurrency: c.COLLECTION_CONCURRENCY,
    },
    webhooks: {
      metaAppSecret: c.META_APP_SECRET,
      metaVerifyToken: c.META_WEBHOOK_VERIFY_TOKEN,
      tiktokClientSecret: c.TIKTOK_CLIENT_SECRET,
      xConsumerSecret: c.X_CONSUMER_SECRET,
      youtubeWebSubSecret: c.YOUTUBE_WEBSUB_SECRET,
    },
  };
}

/** The OAuth client of each platform whose id and secret are both set (Meta and TikTok apps sign webhooks with the same secret). */
function oauthClientsOf(c: RawConfig): Config['collection']['oauthClients'] {
  const pairs: [Platform, string | undefined, string | undefined][] = [
    ['x', c.X_CLIENT_ID, c.X_CLIENT_SECRET],
    ['youtube', c.YOUTUBE_CLIENT_ID, c.YOUTUBE_CLIENT_SECRET],
    ['instagram', c.META_APP_ID, c.META_APP_SECRET],
    ['tiktok', c.TIKTOK_CLIENT_KEY, c.TIKTOK_CLIENT_SECRET],
    ['reddit', c.REDDIT_CLIENT_ID, c.REDDIT_CLIENT_SECRET],
  ];
  const out: Config['collection']['oauthClients'] = {};
  for (const [platform, clientId, clientSecret] of pairs)
    if (clientId !== undefined && clientSecret !== undefined)
      out[platform] = { clientId, clientSecret };
  return out;
}

/**
 * A .env file in the working directory is read like the environment (see .env.example);
 * variables already set in the environment win, as with process.loadEnvFile. Having none is
 * fine; one that cannot be read is configuration the operator meant to give, so it stops every
 * command, even --version. Read here rather than by process.loadEnvFile, whose error for a
 * directory ("should be a valid string") does not say what is wrong.
 */
export function loadDotEnv(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw new AppError(
      'config_invalid',
      `Cannot read ${path.resolve(file)}: ${describeIoError(error)}`,
      { cause: error },
    );
  }
  for (const [name, value] of Object.entries(parseEnv(text)))
    if (process.env[name] === undefined && value !== undefined) process.env[name] = value;
}

/** Whether stdout is an interactive terminal (progress bars only then). */
export function isInteractiveTerminal(): boolean {
  return Boolean(process.stdout.isTTY) && process.env.CI !== 'true';
}

/**
 * The directory the command line's relative paths are relative to. `npm run socialpulse` runs
 * the CLI in the repository's root whatever directory it was typed in, and names that directory
 * in INIT_CWD: a file named from apps/ must be found there. Only under that script: any process
 * an npm script starts inherits INIT_CWD, and one started elsewhere (a bench, a test, a script
 * of the operator's that cds) means its paths from where it runs.
 */
export function commandLineDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const invokedIn = env.INIT_CWD;
  return env.npm_lifecycle_event === 'socialpulse' && invokedIn ? invokedIn : process.cwd();
}
