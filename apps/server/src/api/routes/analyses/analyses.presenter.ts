import type { Analysis, AnalysisCost, AnalysisResult } from '@socialpulse/contracts';
import {
  listResults,
  type AnalysisRow,
  type ResultFilter,
  type StoredResult,
} from '../../../db/repos/analyses.repo.js';
import type { TenantRunner } from '../../../db/tenant.js';
import type { TraceTotals } from '../../../db/repos/traces.repo.js';
import type { StoredAnalysisSettings } from '../../../db/repos/analysis-settings.repo.js';
import type { AnalysisLiveState } from '../../../domain/analyses/analyses.service.js';
import { csvCell } from '../../../domain/posts/export.service.js';

export function presentAnalysis(a: AnalysisRow, live: AnalysisLiveState): Analysis {
  return {
    id: a.id,
    workspace_id: a.workspace_id,
    status: a.status,
    engines: a.engines,
    options: {
      chunk_size: a.chunk_size,
      failure_policy: a.options.failure_policy ?? 'continue',
      sentiment_engine: a.options.sentiment_engine ?? 'default',
    },
    selection: a.selection,
    priority: a.priority,
    total_posts: a.total_posts,
    chunk_size: a.chunk_size,
    chunk_count: a.chunk_count,
    chunks_done: a.chunks_done,
    chunks_failed: a.chunks_failed,
    posts_processed: a.posts_processed,
    posts_failed: a.posts_failed,
    progress: a.chunk_count === 0 ? 1 : (a.chunks_done + a.chunks_failed) / a.chunk_count,
    queue_position: live.queuePosition,
    estimated_seconds_left: live.estimatedSecondsLeft,
    aggregates: a.aggregates,
    summary: a.summary,
    error: a.error,
    usage: {
      input_tokens: a.input_tokens,
      output_tokens: a.output_tokens,
      cost_usd: a.cost_usd,
      unpriced_calls: a.unpriced_calls,
    },
    created_at: a.created_at.toISOString(),
    started_at: a.started_at?.toISOString() ?? null,
    finished_at: a.finished_at?.toISOString() ?? null,
  };
}

export function presentResult(r: StoredResult): AnalysisResult {
  const sentiment = r.sentiment as AnalysisResult['sentiment'];
  return {
    post_id: String(r.post_id),
    platform: r.platform,
    external_id: r.external_id,
    text: r.text,
    created_at: r.created_at.toISOString(),
    language: r.language,
    sentiment: sentiment ?? null,
    local: r.local,
    llm:
      r.llm_status === null
        ? null
        : {
            status: r.llm_status as 'labelled' | 'unlabelled',
            topic: r.topic,
            category: r.category,
            sentiment: r.llm_sentiment as 'negative' | 'neutral' | 'positive' | null,
            rationale: r.rationale,
          },
    error: r.error,
  };
}

export const resultCsvColumns = [
  'post_id',
  'platform',
  'external_id',
  'created_at',
  'language',
  'sentiment',
  'score',
  'toxic',
  'categories',
  'keywords',
  'llm_status',
  'topic',
  'category',
  'llm_sentiment',
  'rationale',
  'error',
  'text',
] as const;

export const resultCsvHeader = (): string => resultCsvColumns.join(',') + '\n';

/**
 * A list cell (categories, keywords) as a JSON array, `["great thanks","cold brew"]`: its items
 * may hold spaces or commas, so any joined text could not be split back. Empty when there is no
 * list; a JSON array starts with `[`, which the formula guard never needs to escape.
 */
const listCell = (v: unknown): string | null => (Array.isArray(v) ? JSON.stringify(v) : null);

export function resultCsvLine(r: StoredResult): string {
  const local = r.local ?? {};
  const values: Record<(typeof resultCsvColumns)[number], string | number | null> = {
    post_id: String(r.post_id),
    platform: r.platform,
    external_id: r.external_id,
    created_at: r.created_at.toISOString(),
    language: r.language,
    sentiment: r.sentiment_label,
    score: r.sentiment_score,
    toxic: typeof local.toxic === 'boolean' ? String(local.toxic) : null,
    categories: listCell(local.categories),
    keywords: listCell(local.keywords),
    llm_status: r.llm_status,
    topic: r.topic,
    category: r.category,
    llm_sentiment: r.llm_sentiment,
    rationale: r.rationale,
    error: r.error,
    text: r.text,
  };
  return resultCsvColumns.map((c) => csvCell(values[c])).join(',') + '\n';
}

export function presentSettings(row: StoredAnalysisSettings | null, monthToDate: string) {
  return {
    revision: row?.revision ?? 0,
    categories: row?.categories ?? [],
    llm: {
      base_url: row?.llm_base_url ?? null,
      model: row?.llm_model ?? null,
      api_key_set: row?.llm_api_key_sealed != null,
      timeout_ms: row?.llm_timeout_ms ?? null,
      max_concurrency: row?.llm_max_concurrency ?? null,
      monthly_budget_usd: row?.llm_monthly_budget_usd ?? null,
      month_to_date_cost_usd: monthToDate,
    },
  };
}

/** Every result matching `filter` as CSV (with its header) or JSON lines, a page at a time (the API's and the CLI's export). */
export async function* exportResults(
  run: TenantRunner,
  analysisId: string,
  filter: ResultFilter,
  format: 'csv' | 'jsonl',
  pageSize = 1000,
): AsyncGenerator<string> {
  if (format === 'csv') yield resultCsvHeader();
  let after: string | null = null;
  for (;;) {
    const rows = await run((c) => listResults(c, analysisId, filter, after, pageSize));
    let chunk = '';
    for (const row of rows)
      chunk += format === 'csv' ? resultCsvLine(row) : JSON.stringify(presentResult(row)) + '\n';
    if (chunk) yield chunk;
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) return;
    after = String(last.post_id);
  }
}

/** An analysis's traced calls as GET …/cost answers them. */
export function presentCost(t: TraceTotals): AnalysisCost {
  return {
    calls: t.calls,
    errors: t.errors,
    input_tokens: t.inputTokens,
    output_tokens: t.outputTokens,
    cached_input_tokens: t.cachedInputTokens,
    cost_usd: t.costUsd,
    unpriced_calls: t.unpriced,
    by_model: t.byModel.map((m) => ({
      provider: m.provider,
      model: m.model,
      calls: m.calls,
      input_tokens: m.inputTokens,
      output_tokens: m.outputTokens,
      cost_usd: m.costUsd,
      unpriced_calls: m.unpriced,
      duration_ms: m.durationMs,
    })),
  };
}
