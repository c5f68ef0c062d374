import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import {
  buildTestApp,
  createWorkspaceAs,
  noRateLimits,
  signUpUser,
} from '../../../../test/support/app.js';
import { startTestWorker, testQueueConfig } from '../../../../test/support/analyses.js';
import type { ZodApp } from '../../types.js';

const secrets = {
  META_APP_SECRET: 'meta-app-secret',
  META_WEBHOOK_VERIFY_TOKEN: 'verify-me-please',
  TIKTOK_CLIENT_SECRET: 'tiktok-client-secret',
  X_CONSUMER_SECRET: 'x-consumer-secret',
  YOUTUBE_WEBSUB_SECRET: 'youtube-websub-secret',
};
const hmac = (alg: 'sha256' | 'sha1', key: string, data: string): Buffer =>
  createHmac(alg, key).update(data).digest();

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')('webhooks in', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let connectionId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, { ...noRateLimits, ...testQueueConfig, ...secrets });
    const owner = await signUpUser(app);
    const ws = await createWorkspaceAs(app, owner);
    const rows = await db.adminPool.query<{ id: string }>(
      `INSERT INTO platform_connections (workspace_id, platform, external_account_id, handle, status) VALUES
        ($1, 'instagram', '17841400000000001', 'acme', 'active'), ($1, 'youtube', 'UCabcdefghijklmnop', 'acme', 'active') RETURNING id`,
      [ws],
    );
    connectionId = rows.rows[0]?.id ?? '';
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it("answers Meta's subscription check only with the right verify token", async () => {
    const ok = await app.inject({
      url: '/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('1158201444');
    const bad = await app.inject({
      url: '/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1',
    });
    expect(bad.statusCode).toBe(403);
    // Same length, one character off; and the right token with more after it.
    for (const token of ['verify-me-pleasE', 'verify-me-please!', '']) {
      const res = await app.inject({
        url: `/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1`,
      });
      expect(res.statusCode, token).toBe(403);
    }
  });

  it('accepts a signed Meta delivery once, refuses replays and bad signatures, and makes the account due for a sync', async () => {
    const body = JSON.stringify({
      object: 'instagram',
      entry: [
        {
          id: '17841400000000001',
          time: 1_700_000_000,
          changes: [{ field: 'comments', value: { id: '1' } }],
        },
      ],
    });
    const headers = {
      'content-type': 'application/json',
      'x-hub-signature-256': `sha256=${hmac('sha256', secrets.META_APP_SECRET, body).toString('hex')}`,
    };
    const first = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/meta',
      headers,
      payload: body,
    });
    expect(first.statusCode, first.body).toBe(200);
    const { id } = first.json<{ status: string; id: number }>();
    expect(first.json()).toMatchObject({ status: 'accepted' });
    const replay = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/meta',
      headers,
      payload: body,
    });
    expect(replay.json()).toEqual({ status: 'duplicate', id: null });
    const tampered = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/meta',
      headers,
      payload: body.replace('comments', 'mentions'),
    });
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json()).toMatchObject({
      error: { code: 'unauthorized', details: { reason: 'bad_signature' } },
    });
    const unsigned = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/meta',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(unsigned.json()).toMatchObject({ error: { details: { reason: 'missing_signature' } } });

    const worker = await startTestWorker(db);
    try {
      await expect
        .poll(
          async () =>
            (
              await db.adminPool.query<{ status: string; connections: string[] }>(
                'SELECT status, connections FROM webhook_deliveries WHERE id = $1',
                [id],
              )
            ).rows[0],
          { timeout: 20_000 },
        )
        .toEqual({ status: 'processed', connections: [connectionId] });
      const due = await db.adminPool.query<{ due: boolean }>(
        'SELECT next_sync_at <= now() AS due FROM platform_connections WHERE id = $1',
        [connectionId],
      );
      expect(due.rows[0]?.due).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it('TikTok: checks t.body with the client secret and refuses a stale timestamp', async () => {
    const body = JSON.stringify({
      client_key: 'ck',
      event: 'video.publish.complete',
      create_time: 1,
      user_openid: 'open-1',
      content: '{}',
    });
    const sign = (t: number): string =>
      `t=${t},s=${hmac('sha256', secrets.TIKTOK_CLIENT_SECRET, `${t}.${body}`).toString('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    const fresh = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/tiktok',
      headers: { 'content-type': 'application/json', 'tiktok-signature': sign(now) },
      payload: body,
    });
    expect(fresh.json()).toMatchObject({ status: 'accepted' });
    const stale = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/tiktok',
      headers: { 'content-type': 'application/json', 'tiktok-signature': sign(now - 3600) },
      payload: body,
    });
    expect(stale.statusCode).toBe(401);
    expect(stale.json()).toMatchObject({ error: { details: { reason: 'stale_timestamp' } } });
  });

  it('X: answers the CRC challenge and checks the base64 signature', async () => {
    const crc = await app.inject({ url: '/v1/webhooks/x?crc_token=abc123' });
    expect(crc.json()).toEqual({
      response_token: `sha256=${hmac('sha256', secrets.X_CONSUMER_SECRET, 'abc123').toString('base64')}`,
    });
    const body = JSON.stringify({ for_user_id: '2244994945', tweet_create_events: [] });
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/x',
      headers: {
        'content-type': 'application/json',
        'x-twitter-webhooks-signature': `sha256=${hmac('sha256', secrets.X_CONSUMER_SECRET, body).toString('base64')}`,
      },
      payload: body,
    });
    expect(ok.json()).toMatchObject({ status: 'accepted' });
  });

  it('X: refuses to sign a JSON body through the CRC, so a forged delivery cannot make an account due', async () => {
    const victim = '2244994945';
    const forged = JSON.stringify({ for_user_id: victim });
    const crc = await app.inject({
      url: `/v1/webhooks/x?crc_token=${encodeURIComponent(forged)}`,
    });
    expect(crc.statusCode, crc.body).toBe(400);
    expect(crc.json()).toMatchObject({
      error: { code: 'validation_failed', details: { problems: [{ field: 'crc_token' }] } },
    });
    // Were the CRC answered, its token is exactly the delivery signature of that body.
    const token = crc.json<{ response_token?: string }>().response_token;
    if (token !== undefined) {
      await app.inject({
        method: 'POST',
        url: '/v1/webhooks/x',
        headers: { 'content-type': 'application/json', 'x-twitter-webhooks-signature': token },
        payload: forged,
      });
    }
    const stored = await db.adminPool.query(
      `SELECT 1 FROM webhook_deliveries WHERE platform = 'x' AND payload = $1::jsonb`,
      [forged],
    );
    expect(stored.rowCount).toBe(0);

    // A real CRC request (base64url token with a nonce, as X sends it) is still answered.
    const real = 'M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0';
    const answered = await app.inject({
      url: `/v1/webhooks/x?crc_token=${real}&nonce=MTc2OTUxODI5MjkxNA`,
    });
    expect(answered.statusCode).toBe(200);
    expect(answered.json()).toEqual({
      response_token: `sha256=${hmac('sha256', secrets.X_CONSUMER_SECRET, real).toString('base64')}`,
    });
  });

  it('X: a body the CRC can still sign (a bare JSON number) is not a deliverable event', async () => {
    const crc = await app.inject({ url: '/v1/webhooks/x?crc_token=2244994945' });
    expect(crc.statusCode).toBe(200);
    const signature = crc.json<{ response_token: string }>().response_token;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/x',
      headers: { 'content-type': 'application/json', 'x-twitter-webhooks-signature': signature },
      payload: '2244994945',
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'validation_failed', details: { problems: [{ in: 'body' }] } },
    });
  });

  it('records a signed delivery PostgreSQL cannot store as refused (2xx, so the platform stops retrying)', async () => {
    const signX = (body: string): Record<string, string> => ({
      'content-type': 'application/json',
      'x-twitter-webhooks-signature': `sha256=${hmac('sha256', secrets.X_CONSUMER_SECRET, body).toString('base64')}`,
    });
    const cases = [
      {
        body: '{"for_user_id":"2244994945","tweet_create_events":[{"text":"a\\u0000b"}]}',
        field: 'tweet_create_events[0].text',
        reason: 'NUL',
      },
      {
        body: '{"for_user_id":"2244994945","tweet_create_events":[{"text":"\\ud800"}]}',
        field: 'tweet_create_events[0].text',
        reason: 'surrogate',
      },
      // Named by a path of over 100 characters whose cut falls inside an emoji: the excerpt in
      // the stored error must not split it (half a pair cannot be stored either).
      {
        body: JSON.stringify({
          for_user_id: '2244994945',
          tweet_create_events: [{ [`${'x'.repeat(76)}😀y`]: 'a\u0000' }],
        }),
        field: `tweet_create_events[0].${'x'.repeat(76)}… (102 chars)`,
        reason: 'NUL',
      },
    ];
    for (const { body, field, reason } of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/webhooks/x',
        headers: signX(body),
        payload: body,
      });
      expect(res.statusCode, res.body).toBe(200);
      const answer = res.json<{ status: string; id: number; reason: string }>();
      expect(answer).toMatchObject({ status: 'refused' });
      expect(answer.reason).toContain(field);
      expect(answer.reason).toContain(reason);
      const row = await db.adminPool.query<{
        status: string;
        payload: unknown;
        error: { code: string; field: string };
      }>('SELECT status, payload, error FROM webhook_deliveries WHERE id = $1', [answer.id]);
      expect(row.rows[0]).toMatchObject({
        status: 'failed',
        payload: null,
        error: { code: 'unstorable_string', field },
      });
      const replay = await app.inject({
        method: 'POST',
        url: '/v1/webhooks/x',
        headers: signX(body),
        payload: body,
      });
      expect(replay.json()).toEqual({ status: 'duplicate', id: null });
    }

    // YouTube keeps the raw Atom text: a NUL byte in it cannot be stored either.
    const atom =
      '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"><entry><title>a\u0000b</title><yt:channelId>UCabcdefghijklmnop</yt:channelId></entry></feed>';
    const posted = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/youtube',
      headers: {
        'content-type': 'application/atom+xml',
        'x-hub-signature': `sha1=${hmac('sha1', secrets.YOUTUBE_WEBSUB_SECRET, atom).toString('hex')}`,
      },
      payload: atom,
    });
    expect(posted.statusCode, posted.body).toBe(200);
    expect(posted.json()).toMatchObject({ status: 'refused' });
  });

  it('YouTube: confirms WebSub subscriptions only for connected channels, and takes signed Atom', async () => {
    const topic = (channel: string): string =>
      encodeURIComponent(`https://www.youtube.com/xml/feeds/videos.xml?channel_id=${channel}`);
    const yes = await app.inject({
      url: `/v1/webhooks/youtube?hub.mode=subscribe&hub.topic=${topic('UCabcdefghijklmnop')}&hub.challenge=xyz&hub.lease_seconds=432000`,
    });
    expect(yes.body).toBe('xyz');
    const no = await app.inject({
      url: `/v1/webhooks/youtube?hub.mode=subscribe&hub.topic=${topic('UCsomebodyelse')}&hub.challenge=xyz`,
    });
    expect(no.statusCode).toBe(404);
    const atom =
      '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"><entry><yt:videoId>VID</yt:videoId><yt:channelId>UCabcdefghijklmnop</yt:channelId></entry></feed>';
    const posted = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/youtube',
      headers: {
        'content-type': 'application/atom+xml',
        'x-hub-signature': `sha1=${hmac('sha1', secrets.YOUTUBE_WEBSUB_SECRET, atom).toString('hex')}`,
      },
      payload: atom,
    });
    expect(posted.json()).toMatchObject({ status: 'accepted' });
  });

  it('keeps a receiver without its secret switched off', async () => {
    const bare = await buildTestApp(db, { ...noRateLimits });
    try {
      const res = await bare.inject({
        method: 'POST',
        url: '/v1/webhooks/meta',
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(res.statusCode).toBe(404);
      expect((await bare.inject({ url: '/v1/webhooks/x?crc_token=a' })).statusCode).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
