import { performance } from 'node:perf_hooks';
import Big from 'big.js';
import type { Analyzer, createAnalyzer as CreateAnalyzer } from '../../analysis/analyzer.js';
import type { SentimentEngineName } from '../../analysis/engine.js';
import type { CategoryRule } from '../../analysis/nlp/categories.js';
import type {
  ChunkAggregates,
  ChunkAnalysis,
  ChunkUsage,
  ResultRow,
} from '../../db/repos/analyses.repo.js';
import type { TraceRecord } from '../../db/repos/traces.repo.js';
import { chunkAggregates } from './chunk-aggregates.js';
import { withTracesOfFailure, type LlmRuntime } from './llm-runtime.js';

export const LOCAL_ENGINE = 'local';
export const LLM_ENGINE = 'llm';

export interface ChunkPost {
  id: number;
  text: string | null;
  language: string | null;
}

export interface ChunkInput {
  analysis: ChunkAnalysis;
  seq: number;
  postIds: readonly number[];
  posts: readonly ChunkPost[];
  categories: readonly CategoryRule[];
  llm: LlmRuntime | null;
}

export interface ChunkWork {
  results: ResultRow[];
  /** What `results` add to the analysis's aggregates (stored with them). */
  aggregates: ChunkAggregates;
  /** Posts selected at submission that no longer exist. */
  missing: number;
  summary: string | null;
  traces: TraceRecord[];
  usage: ChunkUsage;
  workMs: number;
}

export interface AnalysisOptions {
  /** One of the analysis folder's engine names (the contract's enum must list the same). */
  sentiment_engine?: SentimentEngineName;
  /** The workspace's category rules when the analysis was submitted (absent before 2026-11-24). */
  categories?: CategoryRule[];
}

/**
 * The category rules an analysis runs with: its workspace's when it was submitted, so that
 * changing the rules meanwhile does not give one analysis's posts two different sets (and a
 * retry runs with the rules of the first run). Analyses stored without them use the current ones.
 */
export function categoriesOf(
  options: unknown,
  current: readonly CategoryRule[] | undefined,
): readonly CategoryRule[] {
  const stored = (options as AnalysisOptions | null)?.categories;
  return Array.isArray(stored) ? stored : (current ?? []);
}

/**
 * The local engines' module, loaded on the first chunk that needs it: its language tables
 * alone cost ~150 MB of RSS (ADR 0006), which a worker that only runs LLM chunks (or only
 * collection and webhooks) never pays.
 */
let analyzerModule: Promise<{ createAnalyzer: typeof CreateAnalyzer }> | null = null;

/** Analysers are built once per (sentiment engine, category rules) and reused across chunks. */
const analyzers = new Map<string, Analyzer>();
async function analyzerFor(
  engine: AnalysisOptions['sentiment_engine'],
  categories: readonly CategoryRule[],
): Promise<Analyzer> {
  const key = `${engine ?? 'default'}\u0000${JSON.stringify(categories)}`;
  let analyzer = analyzers.get(key);
  if (!analyzer) {
    analyzerModule ??= import('../../analysis/analyzer.js').catch((error: unknown) => {
      analyzerModule = null;
      throw error;
    });
    const { createAnalyzer } = await analyzerModule;
    if (analyzers.size > 100) analyzers.clear();
    analyzer = createAnalyzer({ engine: engine ?? 'default', categories });
    analyzers.set(key, analyzer);
  }
  return analyzer;
}

/** A post's result before any engine has filled it in. */
export function emptyResultRow(postId: number): ResultRow {
  return {
    postId,
    language: null,
    sentimentLabel: null,
    sentimentScore: null,
    sentiment: null,
    local: null,
    llmStatus: null,
    topic: null,
    category: null,
    llmSentiment: null,
    rationale: null,
    error: null,
  };
}

/**
 * Runs a chunk's engines over its posts. Pure computation and model calls: no database writes
 * (the worker commits the outcome in one transaction with the job's completion).
 */
export async function processChunk(input: ChunkInput): Promise<ChunkWork> {
  const started = performance.now();
  const { analysis } = input;
  const byId = new Map(input.posts.map((p) => [p.id, p]));
  const present = input.postIds.filter((id) => byId.has(id));
  const rows = new Map<number, ResultRow>();
  for (const id of present) rows.set(id, emptyResultRow(id));
  const traces: TraceRecord[] = [];
  const usage = { inputTokens: 0, outputTokens: 0, costUsd: '0', unpricedCalls: 0 };
  const traceBase = {
    workspaceId: analysis.workspace_id,
    userId: analysis.requested_by,
    analysisId: analysis.id,
    chunkSeq: input.seq,
  };

  if (analysis.engines.includes(LOCAL_ENGINE)) {
    const options = analysis.options as AnalysisOptions;
    const analyzer = await analyzerFor(options.sentiment_engine, input.categories);
    const t0 = performance.now();
    const startedAt = new Date();
    let errors = 0;
    for (const id of present) {
      const post = byId.get(id);
      const row = rows.get(id);
      if (!post || !row) continue;
      try {
        const a = analyzer.analyze({
          id: String(id),
          text: post.text ?? '',
          ...(post.language ? { language: post.language } : {}),
        });
        row.language = a.language;
        row.sentimentLabel = a.sentiment.label;
        row.sentimentScore = a.sentiment.score;
        row.sentiment = a.sentiment;
        row.local = {
          vader: a.vader,
          hashtags: a.hashtags,
          mentions: a.mentions,
          cashtags: a.cashtags,
          urls: a.urls,
          emoji: a.emoji,
          keywords: a.keywords.map((k) => k.term),
          toxic: a.toxic,
          categories: a.categories,
        };
      } catch (error) {
        errors += 1;
        row.error = `local analysis failed: ${(error as Error).message}`;
      }
    }
    traces.push({
      ...traceBase,
      startedAt,
      operation: 'analyze',
      provider: 'local',
      requestModel: analyzer.info.name,
      responseModel: analyzer.info.name,
      engineVersion: analyzer.info.version,
      items: present.length,
      inputTokens: null,
      outputTokens: null,
      cachedInputTokens: null,
      costUsd: '0',
      priced: true,
      priceVersion: 'local',
      durationMs: performance.now() - t0,
      status: errors === present.length && errors > 0 ? 'error' : 'ok',
      errorType: errors > 0 ? 'item_errors' : null,
    });
  }

  let summary: string | null = null;
  if (analysis.engines.includes(LLM_ENGINE) && input.llm && present.length > 0) {
    const posts = present.map((id) => ({ id: String(id), text: byId.get(id)?.text ?? '' }));
    const labelled = await input.llm
      .label(
        posts,
        input.categories.map((c) => c.id),
        traceBase,
      )
      .catch((error: unknown) => {
        // The local engines ran in this attempt all the same: their trace goes with the error,
        // ahead of the failed LLM attempts', for the worker to store.
        throw withTracesOfFailure(error, traces);
      });
    traces.push(...labelled.traces);
    for (const item of labelled.items) {
      const row = rows.get(Number(item.id));
      if (!row) continue;
      row.llmStatus = item.status;
      if (item.status === 'labelled') {
        row.topic = item.topic;
        row.category = item.category;
        row.llmSentiment = item.sentiment;
        row.rationale = item.rationale;
      } else {
        row.rationale = null;
        row.error = row.error ?? `llm: ${item.reason}`;
      }
    }
    summary = labelled.summary;
  }
  for (const t of traces) {
    usage.inputTokens += t.inputTokens ?? 0;
    usage.outputTokens += t.outputTokens ?? 0;
    if (!t.priced) usage.unpricedCalls += 1;
  }
  usage.costUsd = traces.reduce((sum, t) => sum.plus(t.costUsd ?? '0'), new Big(0)).toFixed();
  const results = [...rows.values()];
  return {
    results,
    aggregates: chunkAggregates(results),
    missing: input.postIds.length - present.length,
    summary,
    traces,
    usage,
    workMs: performance.now() - started,
  };
}
