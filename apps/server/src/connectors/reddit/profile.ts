import { ConnectorError } from '../errors.js';
import { classifyByStatus, type PlatformProfile } from '../http/http-client.js';
import { readRedditRateLimit } from '../http/headers.js';
import { asRecord, asString } from '../mapping.js';

/** Reddit: `x-ratelimit-used/remaining/reset` (seconds) per OAuth client; 401 + `www-authenticate: error="invalid_token"`. */
export const redditProfile: PlatformProfile = {
  platform: 'reddit',
  budgetScope: 'credential',
  readBudget: (headers, nowMs) => readRedditRateLimit(headers, nowMs),
  classify({ status, headers, body }, context) {
    if (status >= 200 && status < 300) return null;
    const record = asRecord(body);
    const text =
      asString(record?.message) ??
      asString(record?.error_description) ??
      asString(record?.reason) ??
      `HTTP ${status}`;
    const message = `Reddit ${context.endpoint}: ${text}`;
    const code =
      /error="([^"]+)"/.exec(headers.get('www-authenticate') ?? '')?.[1] ??
      asString(record?.error) ??
      asString(record?.reason);
    if (status === 401 || code === 'invalid_grant')
      return new ConnectorError('auth_expired', message, {
        platform: 'reddit',
        endpoint: context.endpoint,
        httpStatus: status,
        platformCode: code ?? 'unauthorized',
      });
    if (status === 429)
      return classifyByStatus('reddit', status, context, message, {
        headers,
        resetAt: readRedditRateLimit(headers, context.nowMs)?.resetAt ?? null,
      });
    return classifyByStatus('reddit', status, context, message, { headers, platformCode: code });
  },
};
