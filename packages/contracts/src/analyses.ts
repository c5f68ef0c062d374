import { z } from 'zod';
import { platformSchema } from './posts.js';
import { callableUrlSchema, storableTextSchema } from './text.js';
import { workspaceParamsSchema } from './workspaces.js';

export const analysisEngines = ['local', 'llm'] as const;
export const analysisStatuses = [
  'queued',
  'running',
  'paused_budget',
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
] as const;
export const sentimentLabelSchema = z.enum(['negative', 'neutral', 'positive']);

export const analysisPostFilterSchema = z
  .object({
    platform: platformSchema.optional(),
    account: z.string().min(1).max(256).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    q: z.string().min(1).max(500).optional(),
  })
  .strict();

export const analysisCreateSchema = z
  .object({
    posts: z
      .object({
        ids: z
          .array(z.string().regex(/^\d{1,18}$/, 'must be a SocialPulse post id'))
          .min(1)
          .max(1_000_000)
          .optional()
          .describe('Explicit post ids (combined with `filter` when both are given)'),
        filter: analysisPostFilterSchema
          .optional()
          .describe('The posts list filters; all posts of the workspace when empty'),
        limit: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(100_000)
          .describe('At most this many posts, oldest first'),
      })
      .strict()
      .default({ limit: 100_000 }),
    engines: z
      .array(z.enum(analysisEngines))
      .min(1)
      .max(2)
      .default(['local'])
      .describe('`local`: SocialPulse engines; `llm`: the workspace model'),
    options: z
      .object({
        chunk_size: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .optional()
          .describe(
            'Posts per chunk; default 100. With the LLM a chunk is one call, so at most the posts one answer of the model can label: a larger value is refused, and the default is lowered to it',
          ),
        failure_policy: z
          .enum(['continue', 'fail_fast'])
          .default('continue')
          .describe(
            '`continue`: a chunk that exhausts its retries is dead-lettered and the rest runs (completed_with_errors); `fail_fast`: the analysis fails. Either way, an LLM error every chunk would meet (a refused key, a spent quota, a refused address, a provider unavailable through all retries) fails the analysis at once; `retry` resumes it',
          ),
        sentiment_engine: z.enum(['default', 'model', 'vader']).default('default'),
      })
      .strict()
      .default({ failure_policy: 'continue', sentiment_engine: 'default' }),
  })
  .strict()
  .meta({ id: 'AnalysisCreate' });
export type AnalysisCreate = z.infer<typeof analysisCreateSchema>;

export const analysisSchema = z
  .object({
    id: z.uuid(),
    workspace_id: z.uuid(),
    status: z.enum(analysisStatuses),
    engines: z.array(z.string()),
    options: z.record(z.string(), z.unknown()),
    selection: z.record(z.string(), z.unknown()),
    priority: z.number().int(),
    total_posts: z.number().int(),
    chunk_size: z.number().int(),
    chunk_count: z.number().int(),
    chunks_done: z.number().int(),
    chunks_failed: z.number().int(),
    posts_processed: z.number().int(),
    posts_failed: z.number().int(),
    progress: z.number().min(0).max(1).describe('Finished chunks / all chunks'),
    queue_position: z
      .number()
      .int()
      .nullable()
      .describe(
        'Chunk jobs ahead of this analysis’s queued chunk; null when it has none queued (a chunk running, the requester’s turn with another of their analyses, paused or finished) and in lists',
      ),
    estimated_seconds_left: z
      .number()
      .nullable()
      .describe(
        'Estimated time until the analysis finishes: 0 when finished; null when paused, in lists, or with no chunk timing to estimate from',
      ),
    aggregates: z.record(z.string(), z.unknown()).nullable(),
    summary: z.string().nullable(),
    error: z.record(z.string(), z.unknown()).nullable(),
    usage: z
      .object({
        input_tokens: z.number().int(),
        output_tokens: z.number().int(),
        cost_usd: z.string().describe('Exact decimal, from the versioned price table'),
        unpriced_calls: z
          .number()
          .int()
          .describe('Model calls whose model has no price: their cost is unknown, not zero'),
      })
      .describe(
        "The calls of the chunks stored (updated with each chunk's commit). Every call made, the job summary's and failed or abandoned attempts' included, is in GET …/cost",
      ),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'Analysis' });
export type Analysis = z.infer<typeof analysisSchema>;

export const analysisListQuerySchema = z
  .object({
    status: z.enum(analysisStatuses).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const analysisListSchema = z
  .object({ data: z.array(analysisSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'AnalysisList' });

export const analysisParamsSchema = workspaceParamsSchema.extend({ analysisId: z.uuid() });
export const analysisIdParamsSchema = z.object({ analysisId: z.uuid() });

/** An analysis's priority, or a lane (where a workspace's or user's new analyses start). */
const prioritySchema = z.number().int().min(0).max(10);

export const analysisPatchSchema = z
  .object({
    priority: prioritySchema.describe(
      '0 normal; higher runs first. Up to the lane an instance operator granted the workspace or requester; instance admins up to 10',
    ),
  })
  .strict();

/** PUT /v1/admin/analysis-lanes/…: an instance admin's grant of a faster lane. */
export const analysisLaneSchema = z
  .object({
    priority: prioritySchema.describe(
      '0 (the normal lane) to 10; analyses started from now on begin at this priority',
    ),
  })
  .strict()
  .meta({ id: 'AnalysisLane' });
export const workspaceLaneSchema = z.object({ workspace_id: z.uuid(), priority: z.number() });
export const userLaneSchema = z.object({ user_id: z.uuid(), priority: z.number() });

export const analysisResultSchema = z
  .object({
    post_id: z.string(),
    platform: z.string(),
    external_id: z.string(),
    text: z.string().nullable(),
    created_at: z.string(),
    language: z.string().nullable(),
    sentiment: z
      .object({
        label: sentimentLabelSchema.nullable(),
        score: z.number().nullable(),
        probabilities: z.record(z.string(), z.number()).nullable(),
        engine: z.unknown(),
        reason: z.string().optional(),
      })
      .nullable(),
    local: z.record(z.string(), z.unknown()).nullable(),
    llm: z
      .object({
        status: z.enum(['labelled', 'unlabelled']),
        topic: z.string().nullable(),
        category: z.string().nullable(),
        sentiment: sentimentLabelSchema.nullable(),
        rationale: z.string().nullable(),
      })
      .nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'AnalysisResult' });
export type AnalysisResult = z.infer<typeof analysisResultSchema>;

/** What the aggregates count as `none` (no sentiment label) is a label the results filter takes too. */
export const resultLabelFilterSchema = z.enum(['negative', 'neutral', 'positive', 'none']);

export const analysisResultQuerySchema = z
  .object({
    label: resultLabelFilterSchema
      .optional()
      .describe('Sentiment label of the local engines; `none`: results without one'),
    llm_sentiment: sentimentLabelSchema.optional(),
    topic: storableTextSchema(200).min(1).optional().describe('Case-insensitive'),
    category: storableTextSchema(200)
      .min(1)
      .optional()
      .describe("The LLM's category or a workspace rule's id; case-insensitive"),
    llm_status: z.enum(['labelled', 'unlabelled']).optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe('Results per page (default 100); format=json only'),
    cursor: z
      .string()
      .max(200)
      .optional()
      .describe(
        'next_cursor of the previous page, with the same filters (400 `invalid_cursor` otherwise); format=json only',
      ),
    format: z
      .enum(['json', 'jsonl', 'csv'])
      .default('json')
      .describe('`jsonl` and `csv` stream every matching result (export)'),
  })
  .strict()
  .superRefine((query, ctx) => {
    if (query.format === 'json') return;
    // An export is every matching result: a page's bounds there would be silently ignored.
    for (const field of ['limit', 'cursor'] as const)
      if (query[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `pages format=json only; format=${query.format} exports every matching result`,
        });
  });

export const analysisResultListSchema = z
  .object({ data: z.array(analysisResultSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'AnalysisResultList' });

export const analysisEventsQuerySchema = z
  .object({ after: z.coerce.number().int().min(0).optional() })
  .strict();

export const analysisCostSchema = z
  .object({
    calls: z.number().int(),
    errors: z.number().int(),
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    cached_input_tokens: z.number().int(),
    cost_usd: z.string(),
    unpriced_calls: z.number().int(),
    by_model: z.array(
      z.object({
        provider: z.string(),
        model: z.string(),
        calls: z.number().int(),
        input_tokens: z.number().int(),
        output_tokens: z.number().int(),
        cost_usd: z
          .string()
          .nullable()
          .describe("The priced calls' cost; null when none of this model's calls has a price"),
        unpriced_calls: z.number().int(),
        duration_ms: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'AnalysisCost' });
export type AnalysisCost = z.infer<typeof analysisCostSchema>;

export const categoryRuleSchema = z
  .object({
    id: storableTextSchema(100).min(1),
    keywords: z.array(storableTextSchema(100).min(1)).max(500).optional(),
    hashtags: z.array(storableTextSchema(100).min(1)).max(500).optional(),
  })
  .strict();

/**
 * The rules a workspace may set, as PATCH analysis-settings takes them (and `analyze
 * --categories` reads them). Keywords and hashtags that can never match are refused by the
 * server, which owns the matcher's normalisation (this package stays zod-only). A rule with
 * neither is a category only the LLM assigns (the rules' ids are its taxonomy).
 */
export const categoryRulesSchema = z.array(categoryRuleSchema).max(200);

export const analysisSettingsSchema = z
  .object({
    revision: z
      .number()
      .int()
      .describe(
        'Raised by every change (0: none saved yet). Send it back with a change to make the change only if nobody else changed the settings since',
      ),
    categories: z.array(categoryRuleSchema),
    llm: z.object({
      base_url: z.string().nullable(),
      model: z.string().nullable(),
      api_key_set: z.boolean().describe('The key itself is never returned'),
      timeout_ms: z.number().int().nullable(),
      max_concurrency: z.number().int().nullable(),
      monthly_budget_usd: z.string().nullable(),
      month_to_date_cost_usd: z.string(),
    }),
  })
  .meta({ id: 'AnalysisSettings' });

export const analysisSettingsPatchSchema = z
  .object({
    revision: z
      .number()
      .int()
      .min(0)
      .max(2_147_483_647)
      .optional()
      .describe(
        'The revision the change was made from: if the settings are at another one now, nothing changes and the answer is 409 `conflict` with the current revision. Without it, the change applies whatever changed since',
      ),
    categories: categoryRulesSchema.optional(),
    llm: z
      .object({
        base_url: callableUrlSchema('send the key as api_key')
          .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
          .nullable()
          .optional()
          .describe(
            "The workspace's own OpenAI-compatible server; null: the instance's. It must be on a public address unless the operator trusts its origin (LLM_TRUSTED_ORIGINS). Changed without `api_key` in the same request, the stored key is forgotten",
          ),
        model: storableTextSchema(200).min(1).nullable().optional(),
        api_key: z
          .string()
          .min(1)
          .max(500)
          .nullable()
          .optional()
          .describe('Write-only; null removes it'),
        timeout_ms: z.number().int().min(1000).max(600_000).nullable().optional(),
        max_concurrency: z.number().int().min(1).max(64).nullable().optional(),
        monthly_budget_usd: z
          .string()
          .regex(/^\d{1,10}(\.\d{1,4})?$/, 'must be a decimal amount in USD, e.g. "25.00"')
          .nullable()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ id: 'AnalysisSettingsPatch' });
