import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signature checks of the platforms that push (PLATFORM-APIS.md "Webhooks"). Every check runs
 * over the raw body bytes exactly as received, and compares in constant time.
 */
export type WebhookPlatform = 'meta' | 'tiktok' | 'x' | 'youtube';
export const webhookPlatforms: readonly WebhookPlatform[] = ['meta', 'tiktok', 'x', 'youtube'];

export type VerifyResult =
  { ok: true; timestamp: number | null } | { ok: false; reason: WebhookRejection; detail: string };
export type WebhookRejection =
  | 'missing_signature'
  | 'malformed_signature'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'not_configured';

/** How far a signed timestamp may be from now (either way) before the delivery is refused. */
export const MAX_SKEW_SECONDS = 300;

function equalConstantTime(expected: Buffer, given: Buffer): boolean {
  // timingSafeEqual needs equal lengths; comparing against itself keeps the time independent of where they differ.
  if (expected.length !== given.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, given);
}

const hmac = (
  algorithm: 'sha256' | 'sha1',
  secret: string,
  ...parts: (string | Buffer)[]
): Buffer => {
  const h = createHmac(algorithm, secret);
  for (const part of parts) h.update(part);
  return h.digest();
};

const HEX = /^[0-9a-f]+$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Meta (Instagram, Facebook): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`. */
export function verifyMeta(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  appSecret: string,
): VerifyResult {
  const value = header(headers, 'x-hub-signature-256');
  if (!value)
    return {
      ok: false,
      reason: 'missing_signature',
      detail: 'X-Hub-Signature-256 header is missing',
    };
  const match = /^sha256=([0-9a-f]{64})$/i.exec(value.trim());
  if (!match?.[1])
    return {
      ok: false,
      reason: 'malformed_signature',
      detail: 'X-Hub-Signature-256 must be sha256=<64 hex digits>',
    };
  const ok = equalConstantTime(hmac('sha256', appSecret, body), Buffer.from(match[1], 'hex'));
  return ok
    ? { ok: true, timestamp: null }
    : { ok: false, reason: 'bad_signature', detail: 'X-Hub-Signature-256 does not match the body' };
}

/** TikTok: `TikTok-Signature: t=<unix s>,s=<hex HMAC-SHA256(client secret, t + "." + body)>`, t within 5 minutes. */
export function verifyTikTok(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  clientSecret: string,
  nowSeconds: number,
): VerifyResult {
  const value = header(headers, 'tiktok-signature');
  if (!value)
    return { ok: false, reason: 'missing_signature', detail: 'TikTok-Signature header is missing' };
  const fields = new Map(
    value.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = fields.get('t');
  const s = fields.get('s');
  if (!t || !/^\d{1,12}$/.test(t) || !s || !HEX.test(s) || s.length !== 64) {
    return {
      ok: false,
      reason: 'malformed_signature',
      detail: 'TikTok-Signature must be t=<unix seconds>,s=<64 hex digits>',
    };
  }
  const timestamp = Number(t);
  const ok = equalConstantTime(hmac('sha256', clientSecret, `${t}.`, body), Buffer.from(s, 'hex'));
  if (!ok)
    return {
      ok: false,
      reason: 'bad_signature',
      detail: 'TikTok-Signature does not match the body',
    };
  if (Math.abs(nowSeconds - timestamp) > MAX_SKEW_SECONDS) {
    return {
      ok: false,
      reason: 'stale_timestamp',
      detail: `signed at ${t}, ${Math.abs(nowSeconds - timestamp)} s from now (max ${MAX_SKEW_SECONDS})`,
    };
  }
  return { ok: true, timestamp };
}

/** X: `x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(consumer secret, body)>`. */
export function verifyX(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  consumerSecret: string,
): VerifyResult {
  const value = header(headers, 'x-twitter-webhooks-signature');
  if (!value)
    return {
      ok: false,
      reason: 'missing_signature',
      detail: 'x-twitter-webhooks-signature header is missing',
    };
  const match = /^sha256=(.+)$/.exec(value.trim());
  if (!match?.[1] || !BASE64.test(match[1]))
    return {
      ok: false,
      reason: 'malformed_signature',
      detail: 'x-twitter-webhooks-signature must be sha256=<base64>',
    };
  const ok = equalConstantTime(
    hmac('sha256', consumerSecret, body),
    Buffer.from(match[1], 'base64'),
  );
  return ok
    ? { ok: true, timestamp: null }
    : {
        ok: false,
        reason: 'bad_signature',
        detail: 'x-twitter-webhooks-signature does not match the body',
      };
}

/**
 * The CRC tokens we answer. The CRC answer is the very HMAC that signs a delivery, so answering
 * any string would sign any body for whoever asks; X's tokens are base64 (url) text, and no JSON
 * object or array can be written in these characters.
 */
const X_CRC_TOKEN = /^[A-Za-z0-9+/=_-]{1,256}$/;

export const isXCrcToken = (token: string): boolean => X_CRC_TOKEN.test(token);

/**
 * X's challenge-response check (CRC): the token to answer `GET ?crc_token=`, or null for a token
 * that is not one X sends (see {@link isXCrcToken}).
 */
export function xCrcResponse(
  crcToken: string,
  consumerSecret: string,
): { response_token: string } | null {
  if (!isXCrcToken(crcToken)) return null;
  return {
    response_token: `sha256=${hmac('sha256', consumerSecret, crcToken).toString('base64')}`,
  };
}

/**
 * Compares a shared secret (a verify token) in constant time. Hashing first gives both sides the
 * same length, so neither the length nor the first differing character shows in the timing.
 */
export function equalSecrets(expected: string, given: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** YouTube (WebSub): `X-Hub-Signature: sha1=<hex HMAC-SHA1(hub.secret, body)>` when we subscribed with a secret. */
export function verifyWebSub(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  secret: string,
): VerifyResult {
  const value = header(headers, 'x-hub-signature');
  if (!value)
    return { ok: false, reason: 'missing_signature', detail: 'X-Hub-Signature header is missing' };
  const match = /^(sha1|sha256)=([0-9a-f]+)$/i.exec(value.trim());
  if (!match?.[1] || !match[2])
    return {
      ok: false,
      reason: 'malformed_signature',
      detail: 'X-Hub-Signature must be sha1=<hex> or sha256=<hex>',
    };
  const algorithm = match[1].toLowerCase() as 'sha1' | 'sha256';
  const ok = equalConstantTime(hmac(algorithm, secret, body), Buffer.from(match[2], 'hex'));
  return ok
    ? { ok: true, timestamp: null }
    : { ok: false, reason: 'bad_signature', detail: 'X-Hub-Signature does not match the body' };
}

/** Identity of a delivery for replay detection: the platform and the hash of what was signed. */
export function deliveryKey(
  platform: WebhookPlatform,
  body: Buffer,
  timestamp: number | null,
): string {
  return createHash('sha256')
    .update(`${platform}\u0000${timestamp ?? ''}\u0000`)
    .update(body)
    .digest('hex');
}
