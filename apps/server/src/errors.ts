/**
 * Typed application errors with stable snake_case codes. The API turns every AppError into
 * `{"error":{"code","message","details"}}`; anything else becomes `internal_error`.
 */
export const errorStatus = {
  validation_failed: 400,
  invalid_cursor: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  config_invalid: 500,
  data_dir_locked: 500,
  database_unavailable: 503,
  not_ready: 503,
  internal_error: 500,
  // LLM provider (src/ai/): the provider's failures are ours to report, never the caller's 4xx.
  llm_rate_limited: 503,
  llm_quota_exceeded: 503,
  llm_timeout: 504,
  llm_unavailable: 502,
  llm_circuit_open: 503,
  llm_auth_failed: 502,
  llm_bad_request: 502,
  llm_malformed_output: 502,
  llm_address_refused: 502,
  // The caller asked for the LLM where no server and model are configured: theirs to fix.
  llm_not_configured: 409,
  // Social platforms (src/connectors/): a platform's refusal is ours to report; see ConnectorError.kind.
  platform_rate_limited: 503,
  platform_usage_capped: 503,
  platform_quota_exceeded: 503,
  platform_auth_expired: 502,
  platform_not_found: 404,
  platform_forbidden: 502,
  platform_bad_request: 502,
  platform_unavailable: 502,
  platform_circuit_open: 503,
  platform_malformed_response: 502,
  // OAuth flows (domain/connections/oauth.service.ts).
  oauth_not_configured: 409,
  oauth_state_invalid: 400,
  oauth_denied: 400,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorStatus[code];
    this.details = options.details;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export const notFound = (what: string, id: string): AppError =>
  new AppError('not_found', `${what} ${id} was not found`, { details: { resource: what, id } });

export const validationFailed = (message: string, details?: unknown): AppError =>
  new AppError('validation_failed', message, { details });

export const conflict = (message: string, details?: unknown): AppError =>
  new AppError('conflict', message, { details });

/** Wraps anything thrown into an AppError, keeping the original as `cause`. */
export function coerceError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('internal_error', message, { cause: error });
}

/** The errno code of a Node system error (`ENOENT`…), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** A file system error in words, without the syscall and path Node puts in its message. */
export function describeIoError(error: unknown): string {
  switch (errnoCode(error)) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'the file name is too long';
    case 'EIO':
      return 'input/output error (a failing disk or network file system?)';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'read-only file system';
    case 'EPIPE':
      return 'the reader closed it';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
