import type { Platform } from '@socialpulse/contracts';
import { AppError, type ErrorCode } from '../errors.js';

/**
 * What went wrong talking to a platform, by the handling it implies (not by HTTP status: X's
 * usage cap and its rate limit are both 429; YouTube's quota and a blocked key are both 403).
 */
export const connectorErrorKinds = [
  'rate_limited',
  'usage_cap_exceeded',
  'quota_exceeded',
  'auth_expired',
  'not_found',
  'forbidden',
  'bad_request',
  'transient',
  'circuit_open',
  'malformed_response',
] as const;
export type ConnectorErrorKind = (typeof connectorErrorKinds)[number];

interface KindRule {
  code: ErrorCode;
  /** Worth trying the same request again later (after retryAfterMs / resetAt when given). */
  retryable: boolean;
  /** What the caller (the sync service, the scheduler) should do. */
  handling: string;
}

export const kindRules: Record<ConnectorErrorKind, KindRule> = {
  rate_limited: {
    code: 'platform_rate_limited',
    retryable: true,
    handling:
      'wait until resetAt (or retryAfterMs), then retry; the budget of this platform+endpoint+credential is spent',
  },
  usage_cap_exceeded: {
    code: 'platform_usage_capped',
    retryable: false,
    handling:
      'stop collecting with this app until the billing period resets; rate-limit headers still show headroom, so do not retry',
  },
  quota_exceeded: {
    code: 'platform_quota_exceeded',
    retryable: false,
    handling: 'the daily quota is spent: do not retry before resetAt (YouTube: midnight Pacific)',
  },
  auth_expired: {
    code: 'platform_auth_expired',
    retryable: false,
    handling:
      'refresh the token once; if that fails, mark the account platform_auth_expired and ask the user to reconnect',
  },
  not_found: {
    code: 'platform_not_found',
    retryable: false,
    handling:
      'the account or post is gone (deleted, suspended or never existed): record it, stop asking for it',
  },
  forbidden: {
    code: 'platform_forbidden',
    retryable: false,
    handling:
      'the credential lacks a permission or the resource is private/blocked: record it, do not retry',
  },
  bad_request: {
    code: 'platform_bad_request',
    retryable: false,
    handling:
      'our request is wrong (a bug or an unsupported parameter): send to the dead-letter table, do not retry',
  },
  transient: {
    code: 'platform_unavailable',
    retryable: true,
    handling: 'retry with exponential back-off; repeated failures open the circuit',
  },
  circuit_open: {
    code: 'platform_circuit_open',
    retryable: true,
    handling:
      'the platform has been failing for this credential: try again after the breaker half-opens',
  },
  malformed_response: {
    code: 'platform_malformed_response',
    retryable: false,
    handling:
      'the platform answered in a shape we do not understand: dead-letter the request with the response for inspection',
  },
};

export interface ConnectorErrorOptions {
  platform: Platform;
  /** Route template, never the URL with its query (which may carry ids of private resources or keys). */
  endpoint?: string;
  httpStatus?: number | null;
  /** The platform's own error code or reason (`usage-capped`, `quotaExceeded`, 190, `invalid_token`). */
  platformCode?: string | number | null;
  /** When the platform says the limit resets (epoch ms). */
  resetAt?: number | null;
  /** How long to wait before retrying, when known. */
  retryAfterMs?: number | null;
  /** Overrides the kind's default (a TikTok `invalid_params` for a stale cursor is retryable). */
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** A platform failure with a stable `kind`; also an AppError with code `platform_*`. */
export class ConnectorError extends AppError {
  readonly kind: ConnectorErrorKind;
  readonly platform: Platform;
  readonly endpoint: string | null;
  readonly retryable: boolean;
  readonly handling: string;
  readonly httpStatus: number | null;
  readonly platformCode: string | number | null;
  readonly resetAt: number | null;
  readonly retryAfterMs: number | null;
  /**
   * Requests the HTTP layer sent to the platform before giving up (retries included; 0 when a
   * local budget, quota or open circuit refused it first); null when the error did not come out
   * of the HTTP layer. Set by the HTTP layer, which alone knows it.
   */
  requestsSent: number | null = null;

  constructor(kind: ConnectorErrorKind, message: string, options: ConnectorErrorOptions) {
    const rule = kindRules[kind];
    super(rule.code, message, {
      details: {
        kind,
        platform: options.platform,
        endpoint: options.endpoint ?? null,
        httpStatus: options.httpStatus ?? null,
        platformCode: options.platformCode ?? null,
        resetAt: options.resetAt == null ? null : new Date(options.resetAt).toISOString(),
        retryAfterMs: options.retryAfterMs ?? null,
        ...options.details,
      },
      cause: options.cause,
    });
    this.name = 'ConnectorError';
    this.kind = kind;
    this.platform = options.platform;
    this.endpoint = options.endpoint ?? null;
    this.retryable = options.retryable ?? rule.retryable;
    this.handling = rule.handling;
    this.httpStatus = options.httpStatus ?? null;
    this.platformCode = options.platformCode ?? null;
    this.resetAt = options.resetAt ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** A plain, secret-free description (for the dead-letter table, the CLI and logs). */
  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      platform: this.platform,
      endpoint: this.endpoint,
      retryable: this.retryable,
      httpStatus: this.httpStatus,
      platformCode: this.platformCode,
      resetAt: this.resetAt === null ? null : new Date(this.resetAt).toISOString(),
      retryAfterMs: this.retryAfterMs,
      handling: this.handling,
    };
  }
}

/**
 * A 2xx whose body is not the shape the endpoint documents (no `data`/`items`/`feed` where the
 * platform always sends one). Never read as an empty page: that ends a sync as if the account's
 * history were over, and a metrics batch as if every post had been deleted.
 */
export function malformedResponse(
  platform: Platform,
  endpoint: string,
  what: string,
  httpStatus: number | null = null,
): ConnectorError {
  return new ConnectorError('malformed_response', `${platform} ${endpoint}: ${what}`, {
    platform,
    endpoint,
    httpStatus,
    platformCode: 'unexpected_shape',
  });
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return error instanceof ConnectorError;
}

const secretParams =
  /([?&](?:access_token|key|api_key|token|client_secret|code|refresh_token|input_token|fb_exchange_token)=)[^&#]*/gi;

/** A URL safe to print: credential-bearing query parameters replaced. */
export function redactUrl(url: string): string {
  return url.replace(secretParams, '$1[redacted]');
}

/** Removes every occurrence of the given secrets (and bearer-looking tokens) from a text. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = redactUrl(text);
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out.replace(/\bBearer\s+[A-Za-z0-9._~+/=%-]{8,}/g, 'Bearer [redacted]');
}
