import type { Config } from '../../config.js';
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
