import type { Config } from '../../config.js';
import { excerpt, findUnstorableString, mayHoldUnstorable } from '../imports/parsed-item.js';
import {
  deliveryKey,
  verifyMeta,
  verifyTikTok,
  verifyWebSub,
  verifyX,
  type VerifyResult,
  type WebhookPlatform,
} from './signatures.js';

/** Which platform accounts a delivery concerns, by platform (the connections' external ids). */
export function accountsOf(
  platform: WebhookPlatform,
  payload: unknown,
  raw: string | null,
): string[] {
  const ids = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string' && v !== '') ids.add(v);
    else if (typeof v === 'number' && Number.isFinite(v)) ids.add(String(v));
  };
  const record = (v: unknown): Record<string, unknown> | null =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : null;
  const body = record(payload);
  switch (platform) {
    case 'meta':
      // {"object": "instagram", "entry": [{"id": "<ig user id>", "time": ..., "changes": [...]}]}
      for (const entry of Array.isArray(body?.entry) ? body.entry : []) add(record(entry)?.id);
      break;
    case 'x':
      // Account Activity: {"for_user_id": "...", "tweet_create_events": [...]}
      add(body?.for_user_id);
      break;
    case 'tiktok':
      // {"client_key", "event": "video.publish.complete", "create_time", "user_openid", "content"}
      add(body?.user_openid);
      break;
    case 'youtube':
      // Atom: <yt:channelId>UC...</yt:channelId>
      for (const m of (raw ?? '').matchAll(
        /<yt:channelId>\s*([A-Za-z0-9_-]{1,64})\s*<\/yt:channelId>/g,
      ))
        add(m[1]);
      break;
  }
  return [...ids];
}

export type Verified =
  | { ok: true; platform: WebhookPlatform; key: string; signedAt: Date | null }
  | (Extract<VerifyResult, { ok: false }> & { platform: WebhookPlatform });

/** Checks a delivery's signature with the platform's secret; `not_configured` when there is none. */
export function verifyDelivery(
  config: Config['webhooks'],
  platform: WebhookPlatform,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  nowSeconds: number,
): Verified {
  const secret = {
    meta: config.metaAppSecret,
    tiktok: config.tiktokClientSecret,
    x: config.xConsumerSecret,
    youtube: config.youtubeWebSubSecret,
  }[platform];
  if (!secret)
    return {
      ok: false,
      platform,
      reason: 'not_configured',
      detail: `the ${platform} webhook receiver has no secret configured`,
    };
  const result =
    platform === 'meta'
      ? verifyMeta(headers, body, secret)
      : platform === 'tiktok'
        ? verifyTikTok(headers, body, secret, nowSeconds)
        : platform === 'x'
          ? verifyX(headers, body, secret)
          : verifyWebSub(headers, body, secret);
  if (!result.ok) return { ...result, platform };
  return {
    ok: true,
    platform,
    key: deliveryKey(platform, body, result.timestamp),
    signedAt: result.timestamp === null ? null : new Date(result.timestamp * 1000),
  };
}

/**
 * What a verified delivery's body holds: the JSON payload (every platform but YouTube) or the raw
 * Atom text (YouTube); `malformed` when it is not what the platform sends; `unstorable` when it
 * holds a string PostgreSQL cannot store (a NUL, an unpaired surrogate).
 */
export type DeliveryBody =
  | { kind: 'ok'; payload: unknown; raw: string | null }
  | { kind: 'malformed'; message: string }
  | { kind: 'unstorable'; field: string | null; message: string };

export function readDeliveryBody(platform: WebhookPlatform, body: Buffer): DeliveryBody {
  const text = body.toString('utf8');
  if (platform === 'youtube') {
    const problem = findUnstorableString(text);
    return problem
      ? { kind: 'unstorable', field: null, message: `the Atom body ${problem.reason}` }
      : { kind: 'ok', payload: null, raw: text };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    return { kind: 'malformed', message: `webhook body is not JSON: ${(error as Error).message}` };
  }
  // Every platform's events are JSON objects. Refusing anything else also keeps X's CRC answer
  // (an HMAC over a token of base64 characters, which can spell a JSON number) from being a
  // delivery signature.
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    return { kind: 'malformed', message: 'webhook body must be a JSON object' };
  const problem = mayHoldUnstorable(text) ? findUnstorableString(payload) : null;
  if (problem) {
    // Excerpted: the path itself may hold what cannot be stored (a key with a NUL).
    const field = problem.path ? excerpt(problem.path, 100) : null;
    return {
      kind: 'unstorable',
      field,
      message: `the JSON body${field ? ` at ${field}` : ''} ${problem.reason}`,
    };
  }
  return { kind: 'ok', payload, raw: null };
}
