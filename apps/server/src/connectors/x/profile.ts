import { ConnectorError } from '../errors.js';
import { classifyByStatus, type PlatformProfile } from '../http/http-client.js';
import { readXRateLimit } from '../http/headers.js';
import { asArray, asRecord, asString } from '../mapping.js';

const PROBLEM = 'https://api.twitter.com/2/problems/';

function problemType(body: unknown): string | null {
  const type = asString(asRecord(body)?.type);
  return type === null
    ? null
    : type.replace(/^https:\/\/api\.(twitter|x)\.com\/2\/problems\//, PROBLEM);
}

function describe(body: unknown, status: number): string {
  const record = asRecord(body);
  if (record === null)
    return typeof body === 'string' && body.trim() !== ''
      ? body.trim().slice(0, 200)
      : `HTTP ${status}`;
  const first = asRecord(asArray(record.errors)[0]);
  return (
    asString(record.detail) ??
    asString(record.title) ??
    asString(first?.message) ??
    asString(first?.detail) ??
    `HTTP ${status}`
  );
}

/**
 * X API v2: per-endpoint `x-rate-limit-*` windows; problem+json errors. A 429 whose problem type
 * is `usage-capped` is the monthly cap, not the window (the headers then still show headroom).
 */
export const xProfile: PlatformProfile = {
  platform: 'x',
  budgetScope: 'endpoint',
  readBudget: (headers) => readXRateLimit(headers),
  classify({ status, headers, body }, context) {
    if (status >= 200 && status < 300) return null;
    const type = problemType(body);
    const message = `X ${context.endpoint}: ${describe(body, status)}`;
    const base = { platform: 'x' as const, endpoint: context.endpoint, httpStatus: status };
    const title = asString(asRecord(body)?.title);
    if (status === 429 && (type === `${PROBLEM}usage-capped` || title === 'UsageCapExceeded')) {
      return new ConnectorError('usage_cap_exceeded', message, {
        ...base,
        platformCode: 'usage-capped',
        details: {
          period: asString(asRecord(body)?.period),
          scope: asString(asRecord(body)?.scope),
        },
      });
    }
    const budget = readXRateLimit(headers);
    if (status === 429) {
      return classifyByStatus('x', status, context, message, {
        headers,
        platformCode: type ?? 'rate-limit',
        resetAt: budget?.resetAt ?? null,
      });
    }
    if (type === `${PROBLEM}resource-not-found`)
      return new ConnectorError('not_found', message, {
        ...base,
        platformCode: 'resource-not-found',
      });
    if (type === `${PROBLEM}not-authorized-for-resource` || type === `${PROBLEM}client-forbidden`) {
      return new ConnectorError('forbidden', message, {
        ...base,
        platformCode: type.slice(PROBLEM.length),
      });
    }
    if (type === `${PROBLEM}invalid-request`)
      return new ConnectorError('bad_request', message, {
        ...base,
        platformCode: 'invalid-request',
      });
    return classifyByStatus('x', status, context, message, { headers, platformCode: type });
  },
};
