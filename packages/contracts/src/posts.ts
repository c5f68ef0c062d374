import { z } from 'zod';

export const platforms = [
  'x',
  'instagram',
  'youtube',
  'tiktok',
  'bluesky',
  'mastodon',
  'reddit',
  'linkedin',
  'facebook',
  'threads',
  'pinterest',
  'twitch',
  'other',
] as const;
export const platformSchema = z.enum(platforms);
export type Platform = z.infer<typeof platformSchema>;

export const mediaTypes = [
  'text',
  'image',
  'video',
  'carousel',
  'reel',
  'story',
  'short',
  'live',
  'link',
  'other',
] as const;
export const mediaTypeSchema = z.enum(mediaTypes);
export type MediaType = z.infer<typeof mediaTypeSchema>;

export const metricNames = [
  'likes',
  'comments',
  'shares',
  'views',
  'saves',
  'impressions',
] as const;
export type MetricName = (typeof metricNames)[number];

const metricValue = z.number().int().nullable();

export const postSchema = z
  .object({
    id: z.string().describe('SocialPulse id of the post'),
    workspace_id: z.uuid(),
    platform: platformSchema,
    external_id: z.string().describe("The platform's own id of the post"),
    account_id: z.string().nullable(),
    account_handle: z.string().nullable(),
    author: z.string().nullable(),
    text: z.string().nullable(),
    language: z.string().nullable(),
    created_at: z.string().describe('ISO 8601, UTC'),
    url: z.string().nullable(),
    media_type: mediaTypeSchema.nullable(),
    likes: metricValue,
    comments: metricValue,
    shares: metricValue,
    views: metricValue,
    saves: metricValue,
    impressions: metricValue,
    metrics_captured_at: z.string(),
    source: z.string(),
    imported_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Post' });
export type Post = z.infer<typeof postSchema>;

export const postFieldNames = Object.keys(postSchema.shape) as (keyof Post)[];

/** Posts in a list may be trimmed to the `fields=` the client asked for. */
export const sparsePostSchema = postSchema.partial().meta({ id: 'SparsePost' });

export const postListQuerySchema = z
  .object({
    platform: platformSchema.optional(),
    account: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('Account handle (case-insensitive) or SocialPulse account id'),
    since: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Posts created at or after this instant'),
    until: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Posts created before this instant'),
    q: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe('Full-text search in text and author (websearch syntax)'),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
    cursor: z.string().max(500).optional().describe('Opaque cursor from `next_cursor`'),
    fields: z
      .string()
      .max(500)
      .optional()
      .describe(`Comma-separated subset of: ${postFieldNames.join(', ')}`),
  })
  .strict();
export type PostListQuery = z.infer<typeof postListQuerySchema>;

/** The posts list's filters, which an export applies to every matching post (no pages). */
export const postExportFilterNames = ['platform', 'account', 'since', 'until', 'q'] as const;
export const postExportFilterSchema = postListQuerySchema
  .pick({ platform: true, account: true, since: true, until: true, q: true })
  .strict();
export type PostExportFilters = z.infer<typeof postExportFilterSchema>;

export const postExportFormats = ['csv', 'jsonl'] as const;
export const postExportQuerySchema = postExportFilterSchema
  .extend({
    format: z
      .enum(postExportFormats)
      .default('jsonl')
      .describe('csv (with a header row) or jsonl (JSON Lines); both in the import format'),
  })
  .strict();
export type PostExportQuery = z.infer<typeof postExportQuerySchema>;

export const postListSchema = z
  .object({
    data: z.array(sparsePostSchema),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'PostList' });

export const metricSnapshotSchema = z
  .object({
    captured_at: z.string(),
    likes: metricValue,
    comments: metricValue,
    shares: metricValue,
    views: metricValue,
    saves: metricValue,
    impressions: metricValue,
  })
  .meta({ id: 'MetricSnapshot' });

export const metricSnapshotListSchema = z.object({ data: z.array(metricSnapshotSchema) });
