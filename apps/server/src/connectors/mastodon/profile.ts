import { ConnectorError } from '../errors.js';
import { classifyByStatus, type PlatformProfile } from '../http/http-client.js';
import { readMastodonRateLimit } from '../http/headers.js';
import { asRecord, asString } from '../mapping.js';

/** Mastodon: `X-RateLimit-*` (reset is ISO 8601) per account across endpoints; errors `{"error"}` + status. */
export const mastodonProfile: PlatformProfile = {
  platform: 'mastodon',
  budgetScope: 'credential',
  readBudget: (headers) => readMastodonRateLimit(headers),
  conditionalRequests: true,
  classify({ status, headers, body }, context) {
    if (status >= 200 && status < 300) return null;
    const text =
      asString(asRecord(body)?.error_description) ??
      asString(asRecord(body)?.error) ??
      `HTTP ${status}`;
    const message = `Mastodon ${context.endpoint}: ${text}`;
    const challenge = headers.get('www-authenticate') ?? '';
    const code = /error="([^"]+)"/.exec(challenge)?.[1] ?? null;
    if (status === 401)
      return new ConnectorError('auth_expired', message, {
        platform: 'mastodon',
        endpoint: context.endpoint,
        httpStatus: status,
        platformCode: code ?? 'unauthorized',
      });
    if (status === 429)
      return classifyByStatus('mastodon', status, context, message, {
        headers,
        resetAt: readMastodonRateLimit(headers)?.resetAt ?? null,
      });
    return classifyByStatus('mastodon', status, context, message, { headers, platformCode: code });
  },
};
