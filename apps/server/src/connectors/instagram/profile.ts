import { ConnectorError } from '../errors.js';
import { classifyByStatus, type PlatformProfile } from '../http/http-client.js';
import { parseMetaUsage, readMetaUsage } from '../http/headers.js';
import { asRecord, asString, toCount } from '../mapping.js';

const throttleCodes = new Set([4, 17, 32, 613]);
const permissionCodes = new Set([3, 10]);

/**
 * Meta Graph API (Instagram): usage percentages in `X-App-Usage` / `X-Business-Use-Case-Usage`;
 * errors `{"error":{"message","type","code","error_subcode","is_transient"}}` — the code, not the
 * HTTP status (always 400 for most), says what happened.
 */
export const instagramProfile: PlatformProfile = {
  platform: 'instagram',
  budgetScope: 'credential',
  readBudget: (headers, nowMs) => readMetaUsage(headers, nowMs),
  classify({ status, headers, body }, context) {
    const error = asRecord(asRecord(body)?.error);
    if (status >= 200 && status < 300 && error === null) return null;
    const code = toCount(error?.code);
    const subcode = toCount(error?.error_subcode);
    const text =
      asString(error?.message) ??
      (typeof body === 'string' && body !== '' ? body.slice(0, 200) : `HTTP ${status}`);
    const message = `Instagram ${context.endpoint}: ${text}`;
    const base = {
      platform: 'instagram' as const,
      endpoint: context.endpoint,
      httpStatus: status,
      platformCode: code === null ? null : subcode === null ? code : `${code}/${subcode}`,
    };
    if (code === 190 || code === 102 || code === 467)
      return new ConnectorError('auth_expired', message, base);
    if (code !== null && (throttleCodes.has(code) || (code >= 80000 && code < 80100))) {
      // Throttled: Meta may say when access returns (BUC header, minutes); else back off.
      const usage = parseMetaUsage(
        headers.get('x-app-usage'),
        headers.get('x-business-use-case-usage'),
      );
      const regain = usage?.regainAccessMinutes ?? null;
      return new ConnectorError('rate_limited', message, {
        ...base,
        resetAt: regain !== null && regain > 0 ? context.nowMs + regain * 60_000 : null,
      });
    }
    if (error?.is_transient === true || code === 1 || code === 2)
      return new ConnectorError('transient', message, base);
    if (code !== null && (permissionCodes.has(code) || (code >= 200 && code < 300)))
      return new ConnectorError('forbidden', message, base);
    if (code === 100 && (subcode === 33 || /does not exist/i.test(text)))
      return new ConnectorError('not_found', message, base);
    if (code === 100) return new ConnectorError('bad_request', message, base);
    return classifyByStatus(
      'instagram',
      status >= 200 && status < 300 ? 400 : status,
      context,
      message,
      { headers, platformCode: base.platformCode },
    );
  },
};
