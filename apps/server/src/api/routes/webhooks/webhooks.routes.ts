import { z } from 'zod';
import { errorBodySchema } from '@socialpulse/contracts';
import { AppError } from '../../../errors.js';
import { queueDb, WEBHOOK_QUEUE } from '../../../db/job-queue.js';
import { hasConnection, insertDelivery } from '../../../db/repos/webhooks.repo.js';
import { withTenant } from '../../../db/tenant.js';
import {
  equalSecrets,
  xCrcResponse,
  type WebhookPlatform,
} from '../../../domain/webhooks/signatures.js';
import { readDeliveryBody, verifyDelivery } from '../../../domain/webhooks/webhooks.service.js';
import type { AppDeps, ZodApp } from '../../types.js';

const MAX_DELIVERY_BYTES = 1024 * 1024;
const platformParams = z.object({ platform: z.enum(['meta', 'tiktok', 'x', 'youtube']) });
const acceptedSchema = z.object({
  status: z.enum(['accepted', 'duplicate', 'refused']),
  id: z.number().int().nullable(),
  /** Why a `refused` delivery was recorded without being processed. */
  reason: z.string().optional(),
});
const notConfigured = (platform: string): AppError =>
  new AppError('not_found', `the ${platform} webhook receiver is not configured`, {
    details: { resource: 'webhook', id: platform },
  });

/**
 * Receivers for the platforms that push. Signatures are checked over the raw bytes; a delivery is
 * stored once (replays answer `duplicate`), acknowledged at once, and processed by a worker.
 * A signed delivery PostgreSQL cannot store is recorded as refused and still acknowledged: the
 * platforms retry anything but a 2xx for hours, and every retry would fail the same way.
 */
export async function registerWebhookRoutes(app: ZodApp, deps: AppDeps): Promise<void> {
  const config = deps.config.webhooks;
  await app.register((scope: ZodApp, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_DELIVERY_BYTES },
      (_request, body, next) => next(null, body),
    );

    scope.post(
      '/v1/webhooks/:platform',
      {
        bodyLimit: MAX_DELIVERY_BYTES,
        config: { auth: { public: true } },
        schema: {
          tags: ['webhooks'],
          summary:
            'Receive a signed delivery from a platform (Meta X-Hub-Signature-256, TikTok-Signature, X, YouTube WebSub)',
          params: platformParams,
          response: {
            200: acceptedSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            404: errorBodySchema,
          },
        },
      },
      async (request) => {
        const platform: WebhookPlatform = request.params.platform;
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const verified = verifyDelivery(
          config,
          platform,
          request.headers,
          body,
          Math.floor(Date.now() / 1000),
        );
        if (!verified.ok) {
          if (verified.reason === 'not_configured') throw notConfigured(platform);
          throw new AppError('unauthorized', `webhook signature refused: ${verified.detail}`, {
            details: { reason: verified.reason },
          });
        }
        const content = readDeliveryBody(platform, body);
        if (content.kind === 'malformed') {
          throw new AppError('validation_failed', content.message, {
            details: { problems: [{ in: 'body', field: null, message: content.message }] },
          });
        }
        if (content.kind === 'unstorable') {
          const id = await withTenant(deps.db.pool, { workspaceId: null, userId: null }, (c) =>
            insertDelivery(c, {
              platform,
              deliveryKey: verified.key,
              signedAt: verified.signedAt,
              payload: null,
              raw: null,
              status: 'failed',
              error: { code: 'unstorable_string', field: content.field, message: content.message },
            }),
          );
          request.log.warn(
            { platform, deliveryId: id, field: content.field },
            'webhook delivery refused: unstorable string',
          );
          return id === null
            ? { status: 'duplicate' as const, id: null }
            : { status: 'refused' as const, id, reason: content.message };
        }
        const queue = await deps.jobs.get();
        const id = await withTenant(
          deps.db.pool,
          { workspaceId: null, userId: null },
          async (c) => {
            const stored = await insertDelivery(c, {
              platform,
              deliveryKey: verified.key,
              signedAt: verified.signedAt,
              payload: content.payload,
              raw: content.raw,
            });
            if (stored !== null)
              await queue.boss.send(WEBHOOK_QUEUE, { id: stored }, { db: queueDb(c) });
            return stored;
          },
        );
        return id === null
          ? { status: 'duplicate' as const, id: null }
          : { status: 'accepted' as const, id };
      },
    );
    done();
  });

  app.get(
    '/v1/webhooks/:platform',
    {
      config: { auth: { public: true } },
      schema: {
        tags: ['webhooks'],
        summary:
          "Answer a platform's subscription check (Meta hub.challenge, X CRC, YouTube WebSub intent)",
        params: platformParams,
        querystring: z.record(z.string(), z.string()),
        response: {
          200: z.union([z.string(), z.object({ response_token: z.string() })]),
          403: errorBodySchema,
          404: errorBodySchema,
          400: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      switch (request.params.platform) {
        case 'meta': {
          if (!config.metaVerifyToken) throw notConfigured('meta');
          if (
            q['hub.mode'] !== 'subscribe' ||
            !equalSecrets(config.metaVerifyToken, q['hub.verify_token'] ?? '') ||
            !q['hub.challenge']
          ) {
            throw new AppError(
              'forbidden',
              'hub.verify_token does not match (or hub.mode is not subscribe)',
              { details: { reason: 'verify_token_mismatch' } },
            );
          }
          return reply.type('text/plain').send(q['hub.challenge']);
        }
        case 'x': {
          if (!config.xConsumerSecret) throw notConfigured('x');
          const token = q.crc_token;
          if (!token)
            throw new AppError('validation_failed', 'crc_token is required', {
              details: {
                problems: [{ in: 'querystring', field: 'crc_token', message: 'required' }],
              },
            });
          const answer = xCrcResponse(token, config.xConsumerSecret);
          if (!answer)
            throw new AppError(
              'validation_failed',
              'crc_token must be 1 to 256 base64 characters (A-Z a-z 0-9 + / = _ -)',
              {
                details: {
                  problems: [
                    {
                      in: 'querystring',
                      field: 'crc_token',
                      message: 'not a CRC token: 1 to 256 base64 characters',
                    },
                  ],
                },
              },
            );
          return answer;
        }
        case 'youtube': {
          if (!config.youtubeWebSubSecret) throw notConfigured('youtube');
          const channel =
            /^https:\/\/www\.youtube\.com\/xml\/feeds\/videos\.xml\?channel_id=([A-Za-z0-9_-]{1,64})$/.exec(
              q['hub.topic'] ?? '',
            )?.[1];
          const mode = q['hub.mode'];
          if (!channel || (mode !== 'subscribe' && mode !== 'unsubscribe') || !q['hub.challenge']) {
            throw new AppError(
              'validation_failed',
              'expected hub.mode, hub.topic (a YouTube channel feed) and hub.challenge',
              {
                details: {
                  problems: [
                    { in: 'querystring', field: 'hub.topic', message: 'not a channel feed' },
                  ],
                },
              },
            );
          }
          // Intent: confirm a subscription only for a channel we collect; any unsubscribe is fine.
          const wanted =
            mode === 'unsubscribe' ||
            (await withTenant(deps.db.pool, { workspaceId: null, userId: null }, (c) =>
              hasConnection(c, 'youtube', channel),
            ));
          if (!wanted)
            throw new AppError('not_found', `no connection collects channel ${channel}`, {
              details: { resource: 'channel', id: channel },
            });
          return reply.type('text/plain').send(q['hub.challenge']);
        }
        default:
          throw new AppError('not_found', `${request.params.platform} has no subscription check`, {
            details: { resource: 'webhook', id: request.params.platform },
          });
      }
    },
  );
}
