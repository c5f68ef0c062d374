import { z } from 'zod';
import { mediaTypeSchema, platformSchema } from './posts.js';
import { storableTextSchema } from './text.js';

/** The generic record formats (see docs/import-format.md). */
export const genericImportFormats = ['jsonl', 'csv', 'json'] as const;
/** The platforms' own "download your data" exports, mapped onto the generic record. */
export const exportImportFormats = [
  'x-archive',
  'instagram-export',
  'tiktok-export',
  'youtube-takeout',
  'youtube-studio',
] as const;
export const importFormats = [...genericImportFormats, ...exportImportFormats] as const;
export const importFormatSchema = z.enum(importFormats);
export type ImportFormat = z.infer<typeof importFormatSchema>;
export type ExportImportFormat = (typeof exportImportFormats)[number];
export const isExportImportFormat = (format: string): format is ExportImportFormat =>
  (exportImportFormats as readonly string[]).includes(format);

/** Longest post text accepted; longer is rejected, not truncated. */
export const MAX_TEXT_LENGTH = 100_000;

/**
 * ISO 8601 with an explicit offset or Z; a space may stand for the `T`. A timestamp without a
 * zone is rejected: guessing the zone would shift every post by hours.
 */
export const timestampSchema = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i,
    'must be an ISO 8601 timestamp with a time zone, e.g. 2024-05-01T12:00:00Z',
  )
  .refine(isRealTimestamp, 'is not a real date');

/**
 * Whether the calendar and clock fields of a timestamp the pattern above accepted exist:
 * `Date.parse` rolls 2026-02-30 over to March 2nd (the database then refuses it, far from the
 * record), so each field is checked against the calendar itself.
 */
function isRealTimestamp(value: string): boolean {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?[^Z+-]*(?:Z|[+-](\d{2}):?(\d{2}))$/i.exec(
      value,
    );
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  if (year === undefined || month === undefined || day === undefined) return false;
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // Year 0 passes (PostgreSQL refuses it when the record is written, and the import reports that
  // record alone): the write path's own refusals are tested with it.
  return (
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    // 24:00:00 is the end of the day, as ISO 8601 and PostgreSQL read it.
    ((hour ?? 0) <= 23 || (hour === 24 && minute === 0 && second === 0)) &&
    (minute ?? 0) <= 59 &&
    (second ?? 0) <= 59 &&
    (offsetHours ?? 0) <= 15 &&
    (offsetMinutes ?? 0) <= 59
  );
}

const count = z
  .number()
  .int('must be a whole number')
  .min(0, 'must not be negative')
  .max(Number.MAX_SAFE_INTEGER)
  .nullish();

const optionalText = (max: number) => z.string().max(max).nullish();

/**
 * One post in the generic import format (CSV columns, JSONL lines or JSON array elements).
 * Unknown fields are kept in the raw source record, not rejected.
 */
export const importRecordSchema = z
  .object({
    platform: platformSchema,
    external_id: z.string().min(1).max(256),
    created_at: timestampSchema,
    account_handle: optionalText(256),
    account_external_id: optionalText(256),
    author: optionalText(512),
    text: optionalText(MAX_TEXT_LENGTH),
    language: z
      .string()
      .regex(
        /^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{1,8})*$/,
        'must be a BCP 47 language tag such as en or pt-BR',
      )
      .nullish(),
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .nullish(),
    media_type: mediaTypeSchema.nullish(),
    likes: count,
    comments: count,
    shares: count,
    views: count,
    saves: count,
    impressions: count,
    metrics_captured_at: timestampSchema
      .nullish()
      .describe('When the metrics were observed; defaults to the import time'),
  })
  .meta({ id: 'ImportRecord', title: 'SocialPulse generic post import record' });
export type ImportRecord = z.infer<typeof importRecordSchema>;

export const importRejectSchema = z
  .object({
    file: z.string().nullable(),
    line: z.number().int(),
    field: z.string().nullable(),
    reason: z.string(),
    value: z.string().nullable(),
  })
  .meta({ id: 'ImportReject' });
export type ImportReject = z.infer<typeof importRejectSchema>;

export const importSummarySchema = z
  .object({
    id: z.uuid(),
    workspace_id: z.uuid(),
    status: z.enum(['running', 'completed', 'failed']),
    format: importFormatSchema,
    file_name: z.string().nullable(),
    read: z.number().int(),
    inserted: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    rejected: z.number().int(),
    error: z.string().nullable(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'ImportSummary' });
export type ImportSummary = z.infer<typeof importSummarySchema>;

export const importCreateQuerySchema = z
  .object({
    format: importFormatSchema
      .optional()
      .describe(
        'Overrides the format detected from the body or implied by Content-Type and file_name',
      ),
    file_name: storableTextSchema(255).optional(),
  })
  .strict();

export const importListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .max(500)
      .optional()
      .describe('Opaque cursor from `next_cursor`: the page after the one that returned it'),
  })
  .strict();

/** Newest first (by `started_at`, then `id`); `next_cursor` is null on the last page. */
export const importListSchema = z.object({
  data: z.array(importSummarySchema),
  next_cursor: z.string().nullable(),
});

export const importRejectListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    after: z.coerce
      .number()
      .int()
      .min(0)
      // `seq` is a PostgreSQL integer: a larger bound fails the comparison instead of matching nothing.
      .max(2_147_483_647)
      .default(0)
      .describe('Return rejects with seq greater than this'),
  })
  .strict();

export const importRejectListSchema = z.object({
  data: z.array(importRejectSchema.extend({ seq: z.number().int() })),
  next_after: z.number().int().nullable(),
});

/** The answer to an import: its summary and the first rejects (all of them via the rejects route). */
export const importResultSchema = importSummarySchema
  .extend({
    rejects: z.array(importRejectSchema).describe('The first rejects, in order found'),
    rejects_truncated: z.boolean().describe('True when more rejects exist than are listed here'),
  })
  .meta({ id: 'ImportResult' });
export type ImportResult = z.infer<typeof importResultSchema>;
