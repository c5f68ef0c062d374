import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deliveryKey,
  equalSecrets,
  verifyMeta,
  verifyTikTok,
  verifyWebSub,
  verifyX,
  xCrcResponse,
} from './signatures.js';
import { readDeliveryBody } from './webhooks.service.js';

const secret = 'app-secret-123';
const body = Buffer.from(
  '{"object":"instagram","entry":[{"id":"1784","time":1700000000,"changes":[]}]}',
);
const sign = (alg: 'sha256' | 'sha1', key: string, ...parts: (string | Buffer)[]): Buffer => {
  const h = createHmac(alg, key);
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('webhook signatures', () => {
  it('Meta: accepts the hex HMAC-SHA256 of the raw bytes, refuses anything else', () => {
    const good = `sha256=${sign('sha256', secret, body).toString('hex')}`;
    expect(verifyMeta({ 'x-hub-signature-256': good }, body, secret)).toEqual({
      ok: true,
      timestamp: null,
    });
    expect(
      verifyMeta(
        { 'x-hub-signature-256': good.toUpperCase().replace('SHA256', 'sha256') },
        body,
        secret,
      ).ok,
    ).toBe(true);
    expect(verifyMeta({}, body, secret)).toMatchObject({ ok: false, reason: 'missing_signature' });
    expect(verifyMeta({ 'x-hub-signature-256': 'sha1=abc' }, body, secret)).toMatchObject({
      ok: false,
      reason: 'malformed_signature',
    });
    expect(
      verifyMeta({ 'x-hub-signature-256': good }, Buffer.concat([body, Buffer.from(' ')]), secret),
    ).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyMeta({ 'x-hub-signature-256': good }, body, 'other-secret')).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('TikTok: signs t.body, and refuses stale or future timestamps even when the signature is right', () => {
    const t = 1_700_000_000;
    const header = `t=${t},s=${sign('sha256', secret, `${t}.`, body).toString('hex')}`;
    expect(verifyTikTok({ 'tiktok-signature': header }, body, secret, t + 10)).toEqual({
      ok: true,
      timestamp: t,
    });
    expect(verifyTikTok({ 'tiktok-signature': header }, body, secret, t + 301)).toMatchObject({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verifyTikTok({ 'tiktok-signature': header }, body, secret, t - 301)).toMatchObject({
      ok: false,
      reason: 'stale_timestamp',
    });
    // The timestamp is signed: moving it breaks the signature.
    const moved = header.replace(`t=${t}`, `t=${t + 100}`);
    expect(verifyTikTok({ 'tiktok-signature': moved }, body, secret, t + 100)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyTikTok({ 'tiktok-signature': 's=zz,t=x' }, body, secret, t)).toMatchObject({
      ok: false,
      reason: 'malformed_signature',
    });
  });

  it('X: base64 HMAC-SHA256 signature and the CRC response token', () => {
    const good = `sha256=${sign('sha256', secret, body).toString('base64')}`;
    expect(verifyX({ 'x-twitter-webhooks-signature': good }, body, secret).ok).toBe(true);
    expect(verifyX({ 'x-twitter-webhooks-signature': 'sha256=###' }, body, secret)).toMatchObject({
      reason: 'malformed_signature',
    });
    expect(verifyX({ 'x-twitter-webhooks-signature': good }, body, 'nope')).toMatchObject({
      reason: 'bad_signature',
    });
    expect(xCrcResponse('challenge-abc', secret)).toEqual({
      response_token: `sha256=${sign('sha256', secret, 'challenge-abc').toString('base64')}`,
    });
  });

  it('X CRC: answers base64 tokens only, so its answer never signs a JSON object', () => {
    for (const token of ['M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0', 'a+b/c==', 'x_y-z']) {
      expect(xCrcResponse(token, secret)?.response_token).toBe(
        `sha256=${sign('sha256', secret, token).toString('base64')}`,
      );
    }
    for (const token of ['', '{"for_user_id":"1"}', '["1"]', 'a b', 'a'.repeat(257), 'é'])
      expect(xCrcResponse(token, secret), token).toBeNull();
    // Whatever the CRC still answers (JSON numbers among them), its signature never delivers an event.
    const answerable = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9+/=_-]{1,40}$/),
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    );
    fc.assert(
      fc.property(answerable, (token) => {
        fc.pre(xCrcResponse(token, secret) !== null);
        expect(readDeliveryBody('x', Buffer.from(token)).kind).toBe('malformed');
      }),
    );
  });

  it('compares verify tokens exactly, whatever their lengths', () => {
    expect(equalSecrets('verify-me', 'verify-me')).toBe(true);
    for (const given of ['verify-mE', 'verify-me ', 'verify-m', '', 'verify-mé'])
      expect(equalSecrets('verify-me', given), given).toBe(false);
  });

  it('YouTube WebSub: sha1 (and sha256) hex signatures', () => {
    expect(
      verifyWebSub(
        { 'x-hub-signature': `sha1=${sign('sha1', secret, body).toString('hex')}` },
        body,
        secret,
      ).ok,
    ).toBe(true);
    expect(
      verifyWebSub(
        { 'x-hub-signature': `sha256=${sign('sha256', secret, body).toString('hex')}` },
        body,
        secret,
      ).ok,
    ).toBe(true);
    expect(verifyWebSub({ 'x-hub-signature': `md5=00` }, body, secret)).toMatchObject({
      reason: 'malformed_signature',
    });
  });

  it('never accepts a random signature and never throws on arbitrary headers and bodies', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 200 }), (sig, bytes) => {
        const b = Buffer.from(bytes);
        for (const result of [
          verifyMeta({ 'x-hub-signature-256': sig }, b, secret),
          verifyTikTok({ 'tiktok-signature': sig }, b, secret, 1_700_000_000),
          verifyX({ 'x-twitter-webhooks-signature': sig }, b, secret),
          verifyWebSub({ 'x-hub-signature': sig }, b, secret),
        ]) {
          expect(result.ok).toBe(false);
        }
      }),
    );
  });

  it('gives the same delivery the same key and different deliveries different keys', () => {
    expect(deliveryKey('meta', body, null)).toBe(deliveryKey('meta', Buffer.from(body), null));
    expect(deliveryKey('meta', body, null)).not.toBe(deliveryKey('x', body, null));
    expect(deliveryKey('tiktok', body, 1)).not.toBe(deliveryKey('tiktok', body, 2));
  });
});
