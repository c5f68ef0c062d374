import { ConnectorError } from '../errors.js';
import { classifyByStatus, type PlatformProfile } from '../http/http-client.js';
import { asRecord, asString } from '../mapping.js';

/**
 * TikTok v2 (Display and Research): every answer carries `error{code,message,log_id}`, `ok` on
 * success, and a failure may come inside a 200. No rate-limit headers (600 requests/min/endpoint).
 */
export function createTiktokProfile(
  declaredLimit: { limit: number; windowMs: number } = { limit: 600, windowMs: 60_000 },
): PlatformProfile {
  return { ...tiktokBase, declaredLimit };
}

const tiktokBase: PlatformProfile = {
  platform: 'tiktok',
  budgetScope: 'endpoint',
  readBudget: () => null,
  classify({ status, headers, body }, context) {
    const error = asRecord(asRecord(body)?.error);
    const code = asString(error?.code);
    if (status >= 200 && status < 300 && (code === null || code === 'ok')) return null;
    const text =
      asString(error?.message) ||
      (typeof body === 'string' && body !== '' ? body.slice(0, 200) : `HTTP ${status}`);
    const message = `TikTok ${context.endpoint}: ${text}${code && code !== 'ok' ? ` (${code})` : ''}`;
    const base = {
      platform: 'tiktok' as const,
      endpoint: context.endpoint,
      httpStatus: status,
      platformCode: code,
      details: { logId: asString(error?.log_id) },
    };
    switch (code) {
      case 'access_token_invalid':
      case 'token_expired':
        return new ConnectorError('auth_expired', message, base);
      case 'scope_not_authorized':
      case 'scope_permission_missed':
        return new ConnectorError('forbidden', message, base);
      case 'rate_limit_exceeded':
        return classifyByStatus('tiktok', 429, context, message, { headers, platformCode: code });
      case 'internal_error':
        return new ConnectorError('transient', message, base);
      case 'invalid_params':
        // Research API quirk: a valid cursor/search_id is refused mid-pagination; the same call succeeds later.
        if (/cursor|search.?id/i.test(text))
          return new ConnectorError('transient', message, { ...base, retryable: true });
        return new ConnectorError('bad_request', message, base);
      default:
        return classifyByStatus(
          'tiktok',
          status >= 200 && status < 300 ? 400 : status,
          context,
          message,
          { headers, platformCode: code },
        );
    }
  },
};

export const tiktokProfile = createTiktokProfile();
