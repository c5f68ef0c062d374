import type { FastifyError, FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
} from 'fastify-type-provider-zod';
import { AppError, type ErrorCode } from '../../errors.js';

interface ErrorReply {
  status: number;
  code: ErrorCode;
  message: string;
  /** An object saying more (the field, the problems, the limit), or null when there is nothing to add. */
  details: Record<string, unknown> | null;
}

/**
 * The body always has `details`: an object, or null. An AppError made without details has
 * none to give; a value that is not an object (no code makes one today) is wrapped rather
 * than dropped.
 */
function detailsOf(details: unknown): Record<string, unknown> | null {
  if (details === undefined || details === null) return null;
  if (typeof details === 'object' && !Array.isArray(details))
    return details as Record<string, unknown>;
  return { value: details };
}

/** Fastify's own errors mapped to our stable codes. */
const fastifyCodes: Record<string, { code: ErrorCode; status: number }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', status: 415 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'validation_failed', status: 400 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'validation_failed', status: 400 },
  FST_ERR_VALIDATION: { code: 'validation_failed', status: 400 },
};

function describe(error: FastifyError): ErrorReply | null {
  if (error instanceof AppError)
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      details: detailsOf(error.details),
    };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request';
    const problems = error.validation.map((v) => {
      const field =
        v.instancePath.replace(/^\//, '').replaceAll('/', '.') ||
        String((v.params as { issue?: { path?: unknown[] } }).issue?.path?.join('.') ?? '');
      return { in: where, field: field || null, message: v.message ?? 'is invalid' };
    });
    const first = problems[0];
    return {
      status: 400,
      code: 'validation_failed',
      message: first
        ? `${where}${first.field ? `.${first.field}` : ''}: ${first.message}`
        : `invalid ${where}`,
      details: { problems },
    };
  }
  if (
    error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    (error.statusCode === 400 && error instanceof SyntaxError)
  ) {
    return {
      status: 400,
      code: 'validation_failed',
      message: `body is not valid JSON: ${error.message}`,
      details: { field: 'body' },
    };
  }
  const mapped = fastifyCodes[error.code];
  if (mapped)
    return { status: mapped.status, code: mapped.code, message: error.message, details: null };
  if (error.statusCode === 429)
    return { status: 429, code: 'rate_limited', message: error.message, details: null };
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return {
      status: error.statusCode,
      code: 'validation_failed',
      message: error.message,
      details: null,
    };
  }
  return null;
}

/** One error body everywhere: {"error":{"code","message","details"}}. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = describe(error);
    if (!known || known.status >= 500) {
      const serialization = isResponseSerializationError(error);
      request.log.error({ err: error, serialization }, 'request failed');
      const status = known?.status ?? 500;
      return reply.status(status).send({
        error: {
          code: known?.code ?? 'internal_error',
          message:
            known?.message ??
            'Something went wrong on our side; the request id identifies it in the logs.',
          details: { requestId: request.id },
        },
      });
    }
    const retryAfter = known.details?.retryAfterSeconds;
    if (known.status === 429 && typeof retryAfter === 'number')
      void reply.header('retry-after', String(retryAfter));
    return reply
      .status(known.status)
      .send({ error: { code: known.code, message: known.message, details: known.details } });
  });
}
