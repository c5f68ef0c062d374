import {
  importRecordSchema,
  metricNames,
  type ImportReject,
  type ImportRecord,
} from '@socialpulse/contracts';
import type { z } from 'zod';
import { excerpt } from './parsed-item.js';
import { unguardFormula } from './csv-formula-guard.js';

/** A validated post ready for the writer; timestamps stay as the text PostgreSQL parses. */
export interface PostRow {
  line: number;
  platform: string;
  externalId: string;
  accountHandle: string | null;
  accountExternalId: string | null;
  author: string | null;
  text: string | null;
  language: string | null;
  createdAt: string;
  url: string | null;
  mediaType: string | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  views: number | null;
  saves: number | null;
  impressions: number | null;
  metricsCapturedAt: string | null;
  rawJson: string;
}

const INTEGER_TEXT = /^\s*-?\d+\s*$/;

/**
 * Columns whose values have no meaning in surrounding spaces: they are trimmed as header names
 * are (`x, 1, 2026-11-04T00:00:00Z` after `platform, external_id, created_at`). Free text
 * (`text`, `author`) keeps its spaces.
 */
const TRIMMED_COLUMNS: ReadonlySet<string> = new Set([
  'platform',
  'external_id',
  'created_at',
  'account_handle',
  'account_external_id',
  'language',
  'url',
  'media_type',
  'metrics_captured_at',
  ...metricNames,
]);

/**
 * CSV cells are text: empty means absent, metric columns holding digits are numbers, and the
 * apostrophe an export put before formula-like text is removed.
 */
export function coerceCsvValues(value: Record<string, unknown>): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    const raw = value[key];
    const cell = typeof raw === 'string' && TRIMMED_COLUMNS.has(key) ? raw.trim() : raw;
    if (cell === '') continue;
    out[key] =
      (metricNames as readonly string[]).includes(key) &&
      typeof cell === 'string' &&
      INTEGER_TEXT.test(cell)
        ? Number(cell)
        : typeof cell === 'string'
          ? unguardFormula(cell)
          : cell;
  }
  return out;
}

export type ValidationResult =
  { ok: true; row: PostRow } | { ok: false; reject: Omit<ImportReject, 'file'> };

const show = (value: unknown): string | null => {
  if (value === undefined) return null;
  return excerpt(typeof value === 'string' ? value : (JSON.stringify(value) ?? typeof value));
};

const quoted = (text: string): string => JSON.stringify(excerpt(text, 40));

/**
 * Zod's "Invalid input: expected number, received string" says neither what to write nor what
 * was written: the reason names the accepted form and quotes the value.
 */
function typeMismatch(
  field: string | null,
  issue: z.core.$ZodIssue | undefined,
  offending: unknown,
): string | null {
  if (field === null || issue?.code !== 'invalid_type') return null;
  if ((metricNames as readonly string[]).includes(field) && typeof offending === 'string') {
    // A CSV cell of digits is a number by now: digits still in a string came quoted from JSON.
    return INTEGER_TEXT.test(offending)
      ? `${field} must be a number, not the text ${quoted(offending)}: write it without quotes`
      : `${field} must be a whole number written as plain digits, e.g. 1234 (no spaces, separators or units); got ${quoted(offending)}`;
  }
  const given =
    offending === null ? 'null' : Array.isArray(offending) ? 'an array' : typeof offending;
  const shown =
    typeof offending === 'string' || typeof offending === 'number' || typeof offending === 'boolean'
      ? ` ${quoted(String(offending))}`
      : '';
  return `${field} must be ${issue.expected === 'number' ? 'a number' : `a ${issue.expected}`}; got ${given}${shown}`;
}

/** Checks one record against the import schema; the first problem names its field and value. */
export function validateRecord(
  value: Record<string, unknown>,
  line: number,
  rawJson: string | null,
): ValidationResult {
  const parsed = importRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.map(String).join('.') : null;
    const top = issue?.path[0];
    const offending = typeof top === 'string' ? value[top] : undefined;
    const reason =
      offending === undefined && field !== null
        ? `${field} is required`
        : (typeMismatch(field, issue, offending) ??
          `${field ?? 'record'} ${issue?.message ?? 'is invalid'}`);
    return { ok: false, reject: { line, field, reason, value: show(offending) } };
  }
  const r: ImportRecord = parsed.data;
  return {
    ok: true,
    row: {
      line,
      platform: r.platform,
      externalId: r.external_id,
      accountHandle: r.account_handle?.replace(/^@/, '') ?? null,
      accountExternalId: r.account_external_id ?? null,
      author: r.author ?? null,
      text: r.text ?? null,
      language: r.language ?? null,
      createdAt: r.created_at,
      url: r.url ?? null,
      mediaType: r.media_type ?? null,
      likes: r.likes ?? null,
      comments: r.comments ?? null,
      shares: r.shares ?? null,
      views: r.views ?? null,
      saves: r.saves ?? null,
      impressions: r.impressions ?? null,
      metricsCapturedAt: r.metrics_captured_at ?? null,
      rawJson: rawJson ?? JSON.stringify(value),
    },
  };
}
