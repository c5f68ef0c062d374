import { z } from 'zod';
import {
  apiKeyListSchema,
  createApiKeySchema,
  createdApiKeySchema,
  errorBodySchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { notFound } from '../../../errors.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
import {
  findApiKeyByPrefixInWorkspace,
  listApiKeys,
  revokeApiKey,
  type ApiKeyRecord,
} from '../../../db/repos/api-keys.repo.js';
import { createApiKey } from '../../../domain/auth/auth.service.js';
import type { AppDeps, ZodApp } from '../../types.js';

export const presentApiKey = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  created_at: k.createdAt.toISOString(),
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
  expires_at: k.expiresAt?.toISOString() ?? null,
  revoked_at: k.revokedAt?.toISOString() ?? null,
  // Null only for keys nobody signed in made (the operator's CLI) and their descendants.
  created_by:
    k.createdBy || k.createdByKey
      ? {
          user_id: k.createdBy,
          email: k.createdByEmail,
          api_key_prefix: k.createdByKeyPrefix,
        }
      : null,
});
const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  404: errorBodySchema,
};

export function registerApiKeyRoutes(app: ZodApp, deps: AppDeps): void {
  app.get(
    '/v1/workspaces/:workspaceId/api-keys',
    {
      config: { auth: { permission: 'manage_api_keys' } },
      schema: {
        tags: ['api keys'],
        summary: 'API keys of the workspace (never the secret)',
        params: workspaceParamsSchema,
        response: { 200: apiKeyListSchema, ...errors },
      },
    },
    async (request) => ({
      data: (await request.scoped((c) => listApiKeys(c, request.params.workspaceId))).map(
        presentApiKey,
      ),
    }),
  );

  app.post(
    '/v1/workspaces/:workspaceId/api-keys',
    {
      config: { auth: { permission: 'manage_api_keys' } },
      schema: {
        tags: ['api keys'],
        summary: 'Create an API key; the full key is in this answer only',
        params: workspaceParamsSchema,
        body: createApiKeySchema,
        response: { 201: createdApiKeySchema, ...errors },
      },
    },
    async (request, reply) => {
      const actor = request.actor();
      const principal = request.principal;
      const { key, record } = await createApiKey(
        deps.db.pool,
        {
          workspaceId: request.params.workspaceId,
          name: request.body.name,
          scopes: [...new Set(request.body.scopes)],
          expiresAt: request.body.expires_at ? new Date(request.body.expires_at) : null,
          createdBy: actor.userId,
          mintedByKey: principal?.kind === 'api_key' ? principal.keyId : null,
          actor: actor.label,
        },
        { ip: request.ip, userAgent: null, requestId: request.id },
      );
      return reply.status(201).send({ ...presentApiKey(record), key });
    },
  );

  app.delete(
    '/v1/workspaces/:workspaceId/api-keys/:keyId',
    {
      config: { auth: { permission: 'manage_api_keys' } },
      schema: {
        tags: ['api keys'],
        summary: 'Revoke an API key (at once)',
        params: workspaceParamsSchema.extend({ keyId: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, keyId } = request.params;
      await request.scoped(async (c) => {
        const key = await findApiKeyByPrefixInWorkspace(c, workspaceId, keyId);
        if (!key) throw notFound('api key', keyId);
        await revokeApiKey(c, workspaceId, key.id);
        await insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'api_key.revoked',
          target: key.prefix,
        });
      });
      return reply.status(204).send(null);
    },
  );
}
