import { z } from 'zod';
import { platformSchema } from './posts.js';
import { workspaceParamsSchema } from './workspaces.js';

export const connectionStatuses = [
  'pending',
  'active',
  'platform_auth_expired',
  'paused',
  'error',
  'disconnected',
] as const;
export const connectionApis = ['display', 'research'] as const;
export const syncKinds = ['posts', 'metrics'] as const;
export const syncTriggers = ['schedule', 'manual', 'webhook', 'replay'] as const;
export const syncStatuses = ['queued', 'running', 'completed', 'partial', 'failed'] as const;
export const deadLetterStatuses = ['open', 'replayed', 'discarded'] as const;

/**
 * A credential sent to the platform as an HTTP header value, which may hold only visible ASCII: a
 * curly quote or a line break picked up on the way (a chat, a document) would otherwise fail every
 * request. Blanks around it (the newline a copy from a terminal brings) are trimmed, as fetch
 * trims a header value. The message names the field, never the value.
 */
const headerCredential = (field: string, max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, {
      message: `${field} may hold only visible ASCII characters (no spaces, line breaks, curly quotes or accented letters): paste the token again exactly as the platform shows it`,
    });

/**
 * A connection made from a token the user pasted (an app bearer token, an API key or a user
 * access token). OAuth flows store into the same connections later; the input stays generic.
 */
export const connectionCreateSchema = z
  .object({
    platform: platformSchema,
    account: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .describe('The account: a handle (`@name`, `name`, `user@instance`) or the platform id'),
    api: z
      .enum(connectionApis)
      .optional()
      .describe(
        "TikTok only. `display` (default): the creator's own videos, with their user token. `research`: any public account's videos through the Research API, with the client token of the instance's approved research app (TIKTOK_CLIENT_KEY/SECRET), obtained and renewed by SocialPulse when no access_token is given",
      ),
    credentials: z
      .object({
        access_token: headerCredential('access_token', 8192).optional(),
        refresh_token: headerCredential('refresh_token', 8192).optional(),
        expires_at: z.iso.datetime({ offset: true }).optional(),
        api_key: headerCredential('api_key', 1024).optional(),
      })
      .strict()
      .refine((c) => c.access_token !== undefined || c.api_key !== undefined, {
        message: 'give an access_token or an api_key',
      })
      .optional()
      .describe(
        "Required, except for a TikTok Research connection (the instance's client token is used)",
      ),
    poll_minutes: z
      .number()
      .int()
      .min(5)
      .max(1440)
      .optional()
      .describe(
        'New posts are collected this often, in minutes. Left out: 30 for a new connection; an account connected again keeps its interval',
      ),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.api !== undefined && input.platform !== 'tiktok')
      ctx.addIssue({
        code: 'custom',
        path: ['api'],
        message: `api is for TikTok (display or research), not ${input.platform}`,
      });
    if (input.credentials === undefined && input.api !== 'research')
      ctx.addIssue({
        code: 'custom',
        path: ['credentials'],
        message: 'give credentials: an access_token or an api_key',
      });
  })
  .meta({ id: 'ConnectionCreate' });
export type ConnectionCreate = z.infer<typeof connectionCreateSchema>;

export const connectionPatchSchema = z
  .object({
    poll_minutes: z.number().int().min(5).max(1440).optional(),
    paused: z.boolean().optional().describe('true pauses collection; false resumes it'),
  })
  .strict()
  .refine((p) => p.poll_minutes !== undefined || p.paused !== undefined, {
    message: 'nothing to change',
  })
  .meta({ id: 'ConnectionPatch' });
export type ConnectionPatch = z.infer<typeof connectionPatchSchema>;

export const connectionSchema = z
  .object({
    id: z.uuid(),
    workspace_id: z.uuid(),
    platform: z.string(),
    account: z.object({ external_id: z.string().nullable(), handle: z.string().nullable() }),
    api: z
      .enum(connectionApis)
      .nullable()
      .describe(
        "Which of the platform's APIs the connection reads (TikTok); null: the platform's default",
      ),
    status: z
      .enum(connectionStatuses)
      .describe('`platform_auth_expired`: the platform refused the token; reconnect the account'),
    poll_minutes: z.number().int(),
    last_sync_at: z.iso.datetime().nullable(),
    next_sync_at: z.iso.datetime().nullable(),
    blocked_until: z.iso
      .datetime()
      .nullable()
      .describe('A platform limit was reached: no request before this instant'),
    last_error: z.record(z.string(), z.unknown()).nullable(),
    token_expires_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'Connection' });
export type ConnectionView = z.infer<typeof connectionSchema>;

export const connectionListSchema = z
  .object({ data: z.array(connectionSchema) })
  .meta({ id: 'ConnectionList' });

export const connectionParamsSchema = workspaceParamsSchema.extend({ connectionId: z.uuid() });

export const syncTriggerSchema = z
  .object({
    kind: z
      .enum(syncKinds)
      .default('posts')
      .describe('`posts`: new posts; `metrics`: refresh the metrics that are due'),
  })
  .strict()
  .default({ kind: 'posts' })
  .meta({ id: 'SyncTrigger' });

export const syncGapSchema = z.object({
  what: z.string(),
  reason: z.string(),
  detail: z.string(),
  count: z.number().int(),
  resource_ids: z.array(z.string()).optional(),
  reset_at: z.string().nullable().optional(),
});

export const syncRunSchema = z
  .object({
    id: z.uuid(),
    workspace_id: z.uuid(),
    connection_id: z.uuid(),
    kind: z.enum(syncKinds),
    trigger: z.enum(syncTriggers),
    status: z.enum(syncStatuses).describe('`partial`: stopped early (a limit, an error); see gaps'),
    requests: z.number().int(),
    posts_collected: z.number().int(),
    snapshots: z.number().int(),
    skipped: z.number().int(),
    gaps: z.array(syncGapSchema).describe('What could not be collected and why'),
    error: z.record(z.string(), z.unknown()).nullable(),
    queued_at: z.iso.datetime(),
    started_at: z.iso.datetime().nullable(),
    finished_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'SyncRun' });
export type SyncRunView = z.infer<typeof syncRunSchema>;

export const syncRunListSchema = z
  .object({ data: z.array(syncRunSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'SyncRunList' });
export const syncRunListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export const syncRunParamsSchema = workspaceParamsSchema.extend({ runId: z.uuid() });

export const deadLetterSchema = z
  .object({
    id: z.string(),
    workspace_id: z.uuid(),
    connection_id: z.uuid().nullable(),
    operation: z.string().describe('`list_posts` or `refresh_metrics`'),
    request: z.record(z.string(), z.unknown()).describe('What was asked (no secrets)'),
    error: z.record(z.string(), z.unknown()),
    attempts: z.number().int(),
    status: z.enum(deadLetterStatuses),
    first_failed_at: z.iso.datetime(),
    last_failed_at: z.iso.datetime(),
    replayed_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'DeadLetter' });
export type DeadLetterView = z.infer<typeof deadLetterSchema>;

export const deadLetterListSchema = z
  .object({ data: z.array(deadLetterSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'DeadLetterList' });
export const deadLetterListQuerySchema = z
  .object({
    status: z.enum(deadLetterStatuses).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .regex(/^\d{1,18}$/)
      .optional(),
  })
  .strict();
export const deadLetterParamsSchema = workspaceParamsSchema.extend({
  deadLetterId: z.string().regex(/^\d{1,18}$/),
});
export const deadLetterReplaySchema = z
  .object({ dead_letter: deadLetterSchema, run: syncRunSchema })
  .meta({ id: 'DeadLetterReplay' });

/** Starts "Connect with <platform>": the browser goes to `authorization_url` and comes back to SocialPulse's callback. */
export const oauthStartSchema = z
  .object({
    platform: platformSchema,
    instance: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .optional()
      .describe('Mastodon only: the instance, e.g. `mastodon.social`'),
    poll_minutes: z
      .number()
      .int()
      .min(5)
      .max(1440)
      .optional()
      .describe(
        'New posts are collected this often, in minutes. Left out: 30 for a new connection; an account connected again keeps its interval',
      ),
    return_to: z
      .string()
      .max(512)
      .optional()
      .describe(
        'A path of this SocialPulse (e.g. `/connections`) the browser is sent back to with `connection_id` or `oauth_error`; without it the callback answers JSON',
      ),
  })
  .strict()
  .meta({ id: 'OAuthStart' });
export type OAuthStartInput = z.infer<typeof oauthStartSchema>;

export const oauthStartResultSchema = z
  .object({
    authorization_url: z
      .url()
      .describe("The platform's consent page: open it in the user's browser"),
    expires_at: z.iso.datetime().describe('The flow must come back before this instant'),
  })
  .meta({ id: 'OAuthStartResult' });

export const oauthCallbackParamsSchema = z.object({ platform: platformSchema });
/** What a platform appends to the redirect URI (RFC 6749 §4.1.2); other parameters are ignored. */
export const oauthCallbackQuerySchema = z.looseObject({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});
