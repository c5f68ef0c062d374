import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
} from 'fastify-type-provider-zod';
import { maskUrlCredentials } from '@socialpulse/contracts';
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

/**
 * Names whose values may be credentials (passwords, tokens, API keys, TOTP and recovery codes,
 * a connection's credentials): a validation problem never echoes them back, where a proxy or a
 * client's error log would keep them.
 */
const SECRET_NAME = /password|token|secret|key|authorization|cookie|credential|code|signature/i;
const MAX_VALUE_CHARS = 100;

const cut = (text: string): string => {
  const chars = Array.from(text); // code points: a cut never splits a surrogate pair
  return chars.length <= MAX_VALUE_CHARS
    ? text
    : `${chars.slice(0, MAX_VALUE_CHARS - 1).join('')}…`;
};

/**
 * The received value as a problem shows it: scalars as they came (a string cut to 100
 * characters), an object or array as itself when its JSON is that short, else its JSON cut;
 * secret-named members inside are redacted, and so are the user names and passwords of URLs.
 */
function shown(value: unknown): unknown {
  if (typeof value === 'string') return cut(maskUrlCredentials(value));
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return undefined;
  const json = JSON.stringify(value, (name, member: unknown) =>
    name !== '' && SECRET_NAME.test(name)
      ? '[redacted]'
      : typeof member === 'string'
        ? maskUrlCredentials(member)
        : member,
  );
  return json.length <= MAX_VALUE_CHARS ? (JSON.parse(json) as unknown) : cut(json);
}

/** What the request held at `path`, or undefined (absent, or nothing to show). */
function receivedAt(source: unknown, path: readonly string[]): unknown {
  let at = source;
  for (const name of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, name)) return undefined;
    at = (at as Record<string, unknown>)[name];
  }
  return at;
}

/**
 * The request part a validation context names. Headers are never echoed: credentials and
 * signatures travel in them under all sorts of names.
 */
function partOf(request: FastifyRequest, where: string): unknown {
  if (where === 'body') return request.body;
  if (where === 'querystring') return request.query;
  if (where === 'params') return request.params;
  return undefined;
}

interface Problem {
  in: string;
  field: string | null;
  message: string;
  value?: unknown;
}

function problem(source: unknown, where: string, path: string[], message: string): Problem {
  const field = path.join('.') || null;
  if (path.some((name) => SECRET_NAME.test(name))) return { in: where, field, message };
  const value = shown(receivedAt(source, path));
  return value === undefined ? { in: where, field, message } : { in: where, field, message, value };
}

function validationProblems(
  error: Pick<FastifyError, 'validationContext'> & { validation: FastifySchemaValidationError[] },
  request: FastifyRequest,
): Problem[] {
  const where = error.validationContext ?? 'request';
  const source = partOf(request, where);
  return error.validation.flatMap((v) => {
    const path = v.instancePath.split('/').filter(Boolean);
    // Zod reports unknown keys as one issue on their object: name each key, as a misspelt
    // filter is found by its name.
    const keys = (v.params as { keys?: unknown }).keys;
    // Their values are never shown: an unexpected name ("passwd", "otp") may hold a secret that
    // the names the server knows to hide would not catch.
    if (v.keyword === 'unrecognized_keys' && Array.isArray(keys))
      return keys.map((key): Problem => ({
        in: where,
        field: [...path, String(key)].join('.'),
        message: 'Unrecognized key',
      }));
    return [problem(source, where, path, v.message ?? 'is invalid')];
  });
}

function describe(error: FastifyError, request: FastifyRequest): ErrorReply | null {
  if (error instanceof AppError)
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      details: detailsOf(error.details),
    };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request';
    const problems = validationProblems(error, request);
    const first = problems[0];
    const got = first && 'value' in first ? ` (got ${JSON.stringify(first.value)})` : '';
    return {
      status: 400,
      code: 'validation_failed',
      message: first
        ? `${where}${first.field ? `.${first.field}` : ''}: ${first.message}${got}`
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
  app.setErrorHandler(replyWithError);
}

/** Answers `error` in the one error body (the error handler; also Fastify's own early errors). */
export function replyWithError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const known = describe(error, request);
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
}
