import { ConnectorError } from '../errors.js';
import { classifyByStatus, type PlatformProfile } from '../http/http-client.js';
import { nextPacificMidnight } from '../http/headers.js';
import { asArray, asRecord, asString } from '../mapping.js';

/** Quota units per method (determine_quota_cost): list methods 1, search 100, writes 50. */
export const youtubeQuotaCost: Record<string, number> = {
  'GET /youtube/v3/channels': 1,
  'GET /youtube/v3/playlistItems': 1,
  'GET /youtube/v3/videos': 1,
  'GET /youtube/v3/commentThreads': 1,
  'GET /youtube/v3/comments': 1,
  'GET /youtube/v3/activities': 1,
  'GET /youtube/v3/search': 100,
};

export const YOUTUBE_DAILY_QUOTA = 10_000;

const authReasons = new Set([
  'keyInvalid',
  'authError',
  'required',
  'invalidCredentials',
  'unauthorized',
  'keyExpired',
]);
const notFoundReasons = new Set([
  'videoNotFound',
  'playlistNotFound',
  'channelNotFound',
  'commentThreadNotFound',
  'notFound',
]);
const rateReasons = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
const transientReasons = new Set(['backendError', 'internalError', 'serviceUnavailable']);

export function createYoutubeProfile(dailyQuota = YOUTUBE_DAILY_QUOTA): PlatformProfile {
  return {
    platform: 'youtube',
    budgetScope: 'credential',
    // YouTube announces nothing in headers; the daily quota is counted locally.
    readBudget: () => null,
    quota: {
      limit: dailyQuota,
      cost: (endpoint) => youtubeQuotaCost[endpoint] ?? 1,
      resetAt: nextPacificMidnight,
    },
    conditionalRequests: true,
    classify({ status, headers, body }, context) {
      if (status >= 200 && status < 300) return null;
      const record = asRecord(body);
      const error = asRecord(record?.error);
      const base = { platform: 'youtube' as const, endpoint: context.endpoint, httpStatus: status };
      // OAuth token endpoint: {"error":"invalid_grant","error_description":"Token has been expired or revoked."}
      const oauthError = asString(record?.error);
      if (oauthError !== null) {
        const description = asString(record?.error_description) ?? oauthError;
        if (
          oauthError === 'invalid_grant' ||
          oauthError === 'invalid_client' ||
          oauthError === 'unauthorized_client'
        ) {
          return new ConnectorError('auth_expired', `YouTube ${context.endpoint}: ${description}`, {
            ...base,
            platformCode: oauthError,
          });
        }
        return classifyByStatus(
          'youtube',
          status,
          context,
          `YouTube ${context.endpoint}: ${description}`,
          { headers, platformCode: oauthError },
        );
      }
      const first = asRecord(asArray(error?.errors)[0]);
      const reason = asString(first?.reason);
      const detailReasons = asArray(error?.details)
        .map((d) => asString(asRecord(d)?.reason))
        .filter((r): r is string => r !== null);
      const statusText = asString(error?.status);
      const text = (asString(error?.message) ?? `HTTP ${status}`).replace(/<[^>]+>/g, '');
      const message = `YouTube ${context.endpoint}: ${text}`;
      const platformCode = detailReasons[0] ?? reason ?? statusText;
      if (reason === 'quotaExceeded' || reason === 'dailyLimitExceeded') {
        return new ConnectorError('quota_exceeded', message, {
          ...base,
          platformCode: reason,
          resetAt: nextPacificMidnight(context.nowMs),
        });
      }
      if (reason !== null && rateReasons.has(reason))
        return classifyByStatus('youtube', 429, context, message, {
          headers,
          platformCode: reason,
        });
      if (
        (reason !== null && authReasons.has(reason)) ||
        statusText === 'UNAUTHENTICATED' ||
        status === 401
      ) {
        return new ConnectorError('auth_expired', message, { ...base, platformCode });
      }
      if (reason !== null && notFoundReasons.has(reason))
        return new ConnectorError('not_found', message, { ...base, platformCode: reason });
      if (reason !== null && transientReasons.has(reason))
        return new ConnectorError('transient', message, { ...base, platformCode: reason });
      if (status === 403 || statusText === 'PERMISSION_DENIED')
        return new ConnectorError('forbidden', message, { ...base, platformCode });
      return classifyByStatus('youtube', status, context, message, { headers, platformCode });
    },
  };
}

export const youtubeProfile = createYoutubeProfile();
