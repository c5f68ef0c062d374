import { AppError } from '../errors.js';
import type { LlmCallRecord } from './call-record.js';

export type LlmErrorCode =
  | 'llm_rate_limited'
  | 'llm_quota_exceeded'
  | 'llm_timeout'
  | 'llm_unavailable'
  | 'llm_circuit_open'
  | 'llm_auth_failed'
  | 'llm_bad_request'
  | 'llm_malformed_output'
  /** The base URL leads to an address the client's dispatcher refuses (not public, not trusted). */
  | 'llm_address_refused';

/**
 * A failure talking to the LLM provider. `retryable` says whether trying again later can help
 * (the chunk worker may reschedule); `retryAfterMs` is the provider's own hint when it gave one.
 * `calls` holds the call records of every attempt made before giving up, so the caller can
 * still write its traces when an operation throws.
 *
 * Messages and details never contain the API key: provider messages are scrubbed first.
 */
export class LlmError extends AppError {
  declare readonly code: LlmErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
  readonly httpStatus: number | null;
  calls: LlmCallRecord[] = [];

  constructor(
    code: LlmErrorCode,
    message: string,
    options: {
      retryable: boolean;
      retryAfterMs?: number | null;
      httpStatus?: number | null;
      cause?: unknown;
      details?: Record<string, unknown>;
    },
  ) {
    super(code, message, {
      cause: options.cause,
      details: {
        ...options.details,
        retryable: options.retryable,
        ...(options.retryAfterMs == null ? {} : { retryAfterMs: options.retryAfterMs }),
        ...(options.httpStatus == null ? {} : { httpStatus: options.httpStatus }),
      },
    });
    this.name = 'LlmError';
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.httpStatus = options.httpStatus ?? null;
  }
}

export function isLlmError(error: unknown): error is LlmError {
  return error instanceof LlmError;
}

const secretLike = /\b(sk-[A-Za-z0-9_*-]{6,}|Bearer\s+\S+)/g;

/** Removes the API key (and anything shaped like one) from text that came from the provider. */
export function scrubSecrets(text: string, apiKey: string | undefined): string {
  let out = text;
  if (apiKey) out = out.split(apiKey).join('[redacted]');
  return out.replace(secretLike, '[redacted]');
}
