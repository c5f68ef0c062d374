import type { ChunkAggregates, ResultRow } from '../../db/repos/analyses.repo.js';

interface LocalAnalysis {
  categories?: unknown;
  keywords?: unknown;
  toxic?: unknown;
}

function count(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A chunk's partial aggregates. Counted in Maps, not plain objects: keys are user text ("__proto__" included). */
export function chunkAggregates(results: readonly ResultRow[]): ChunkAggregates {
  const sentiment = new Map<string, number>();
  const llmSentiment = new Map<string, number>();
  const topics = new Map<string, number>();
  const categories = new Map<string, number>();
  const keywords = new Map<string, number>();
  let scoreSum = 0;
  let scoreN = 0;
  let toxic = 0;
  let unlabelled = 0;
  for (const row of results) {
    count(sentiment, row.sentimentLabel ?? 'none');
    if (row.llmSentiment !== null) count(llmSentiment, row.llmSentiment);
    if (row.sentimentScore !== null) {
      scoreSum += Math.fround(row.sentimentScore);
      scoreN += 1;
    }
    if (row.topic !== null) count(topics, row.topic);
    const local = (row.local ?? {}) as LocalAnalysis;
    const postCategories = new Set(strings(local.categories));
    if (row.category !== null) postCategories.add(row.category);
    for (const category of postCategories) count(categories, category);
    for (const keyword of strings(local.keywords)) count(keywords, keyword);
    if (local.toxic === true) toxic += 1;
    if (row.llmStatus === 'unlabelled') unlabelled += 1;
  }
  return {
    sentiment: Object.fromEntries(sentiment),
    llm_sentiment: Object.fromEntries(llmSentiment),
    score_sum: scoreSum,
    score_n: scoreN,
    topics: Object.fromEntries(topics),
    categories: Object.fromEntries(categories),
    keywords: Object.fromEntries(keywords),
    toxic,
    unlabelled,
  };
}
