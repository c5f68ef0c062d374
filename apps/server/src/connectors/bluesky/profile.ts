import { ConnectorError } from '../errors.js';
import { classifyByStatus, type PlatformProfile } from '../http/http-client.js';
import { readBlueskyRateLimit } from '../http/headers.js';
import { asRecord, asString } from '../mapping.js';

const authErrors = new Set(['ExpiredToken', 'InvalidToken', 'AuthMissing', 'AuthRequired']);
const notFoundErrors = new Set([
  'ActorNotFound',
  'NotFound',
  'RecordNotFound',
  'AccountTakedown',
  'AccountDeactivated',
]);

/** AT Protocol XRPC: `RateLimit-*` headers (any case), errors `{"error":"Name","message"}`. */
export const blueskyProfile: PlatformProfile = {
  platform: 'bluesky',
  budgetScope: 'credential',
  readBudget: (headers, nowMs) => readBlueskyRateLimit(headers, nowMs),
  classify({ status, headers, body }, context) {
    if (status >= 200 && status < 300) return null;
    const name = asString(asRecord(body)?.error);
    const text = asString(asRecord(body)?.message) ?? name ?? `HTTP ${status}`;
    const message = `Bluesky ${context.endpoint}: ${text}`;
    const base = {
      platform: 'bluesky' as const,
      endpoint: context.endpoint,
      httpStatus: status,
      platformCode: name,
    };
    if (name !== null && authErrors.has(name))
      return new ConnectorError('auth_expired', message, base);
    if (name === 'BlockedActor' || name === 'BlockedByActor')
      return new ConnectorError('forbidden', message, base);
    if ((name !== null && notFoundErrors.has(name)) || /not found/i.test(text))
      return new ConnectorError('not_found', message, base);
    if (name === 'RateLimitExceeded' || status === 429) {
      return classifyByStatus('bluesky', 429, context, message, {
        headers,
        platformCode: name,
        resetAt: readBlueskyRateLimit(headers, context.nowMs)?.resetAt ?? null,
      });
    }
    return classifyByStatus('bluesky', status, context, message, { headers, platformCode: name });
  },
};
