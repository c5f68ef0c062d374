import { pino, type Logger, type LoggerOptions } from 'pino';

/** Paths pino replaces with "[redacted]": credentials never reach a log line. */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  // Top-level and one level down, in both spellings the code and the API use.
  ...[
    'password',
    'new_password',
    'current_password',
    'newPassword',
    'currentPassword',
    'token',
    'accessToken',
    'access_token',
    'refreshToken',
    'refresh_token',
    'mfaToken',
    'mfa_token',
    'recoveryCode',
    'recovery_code',
    'apiKey',
    'api_key',
    'secret',
    'clientSecret',
    'client_secret',
    'encryptionKey',
    'jwtSecret',
    'databaseUrl',
    'csrf_token',
  ].flatMap((field) => [field, `*.${field}`]),
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'socialpulse' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

/** Strips the password from a connection URL before it is printed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

export type { Logger };
