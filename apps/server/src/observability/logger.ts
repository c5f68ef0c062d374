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

/**
 * Query parameters whose values are credentials: one-time links (`/reset-password?token=`,
 * `/invite?token=`, `/setup?token=`), OAuth callbacks (`code`, `state`), webhook handshakes
 * (`hub.verify_token`, `crc_token`), and any parameter named like a token, key or secret.
 */
const secretQueryParameter =
  /token|secret|password|passwd|api[_-]?key|signature|^code$|^state$|^sig$|^key$/i;

/** A request URL for a log line: the values of credential-like query parameters replaced. */
export function redactQuery(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const parts = url
    .slice(at + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const rawName = eq < 0 ? part : part.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: judged by its raw name.
      }
      return eq >= 0 && secretQueryParameter.test(name) ? `${rawName}=[redacted]` : part;
    });
  return `${url.slice(0, at)}?${parts.join('&')}`;
}

/** The parts of a request (Fastify's or Node's) that a log line shows. */
interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, string | string[] | undefined>;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request serializer (method, URL, host, client address), with the URL's credential-like
 * query values redacted: `redact` paths cannot reach inside a URL string.
 */
export function serializeRequest(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: request.url === undefined ? undefined : redactQuery(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'socialpulse' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    serializers: { req: serializeRequest },
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
