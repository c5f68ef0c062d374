import type { Queryable } from '../pool.js';

/** One model call, local engine or LLM (columns follow the OpenTelemetry GenAI names; see 0003). */
export interface TraceRecord {
  startedAt: Date;
  workspaceId: string;
  userId: string | null;
  analysisId: string | null;
  chunkSeq: number | null;
  operation: string;
  provider: string;
  requestModel: string;
  responseModel: string | null;
  engineVersion: string | null;
  items: number;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  /** Exact decimal string; null when the model is unpriced. */
  costUsd: string | null;
  priced: boolean;
  priceVersion: string | null;
  durationMs: number;
  status: 'ok' | 'error';
  errorType: string | null;
}

/** Inserts traces of ONE workspace in one statement (the caller scopes the transaction to it). */
export async function insertTraces(db: Queryable, traces: readonly TraceRecord[]): Promise<number> {
  if (traces.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO ai_traces (started_at, workspace_id, user_id, analysis_id, chunk_seq, operation, provider, request_model, response_model, engine_version,
        items, input_tokens, output_tokens, cached_input_tokens, cost_usd, priced, price_version, duration_ms, status, error_type)
     SELECT t."startedAt", t."workspaceId", t."userId", t."analysisId", t."chunkSeq", t.operation, t.provider, t."requestModel", t."responseModel",
        t."engineVersion", t.items, t."inputTokens", t."outputTokens", t."cachedInputTokens", t."costUsd", t.priced, t."priceVersion",
        round(t."durationMs")::int, t.status, t."errorType"
       FROM jsonb_to_recordset($1::jsonb) AS t("startedAt" timestamptz, "workspaceId" uuid, "userId" uuid, "analysisId" uuid, "chunkSeq" int,
         operation text, provider text, "requestModel" text, "responseModel" text, "engineVersion" text, items int, "inputTokens" int,
         "outputTokens" int, "cachedInputTokens" int, "costUsd" numeric, priced boolean, "priceVersion" text, "durationMs" float8,
         status text, "errorType" text)`,
    [JSON.stringify(traces)],
  );
  return rowCount ?? 0;
}

/** What the workspace's LLM calls cost since the start of this month (UTC). */
export async function monthToDateCost(db: Queryable, workspaceId: string): Promise<string> {
  const { rows } = await db.query<{ cost: string }>(
    "SELECT coalesce(sum(cost_usd), 0)::text AS cost FROM ai_traces WHERE workspace_id = $1 AND started_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    [workspaceId],
  );
  return rows[0]?.cost ?? '0';
}

export async function ensureTracePartitions(db: Queryable, months = 3): Promise<void> {
  await db.query('SELECT ai_traces_ensure_partitions(current_date, $1)', [months]);
}

export interface TraceTotals {
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: string;
  unpriced: number;
  byModel: {
    provider: string;
    model: string;
    calls: number;
    inputTokens: number;
    outputTokens: number;
    /** Of the priced calls; null when none of this model's calls could be priced. */
    costUsd: string | null;
    unpriced: number;
    durationMs: number;
  }[];
}

/** Totals of an analysis's traces, by model. */
export async function traceTotals(db: Queryable, analysisId: string): Promise<TraceTotals> {
  const { rows } = await db.query<{
    provider: string;
    model: string;
    calls: number;
    errors: number;
    input: number;
    output: number;
    cached: number;
    cost: string;
    unpriced: number;
    duration: number;
  }>(
    `SELECT provider, request_model AS model, count(*)::int AS calls, count(*) FILTER (WHERE status = 'error')::int AS errors,
        coalesce(sum(input_tokens), 0)::int AS input, coalesce(sum(output_tokens), 0)::int AS output, coalesce(sum(cached_input_tokens), 0)::int AS cached,
        coalesce(sum(cost_usd), 0)::text AS cost, count(*) FILTER (WHERE NOT priced)::int AS unpriced, coalesce(sum(duration_ms), 0)::int AS duration
       FROM ai_traces WHERE analysis_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
    [analysisId],
  );
  const totals: TraceTotals = {
    calls: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    costUsd: '0',
    unpriced: 0,
    byModel: [],
  };
  for (const r of rows) {
    totals.calls += r.calls;
    totals.errors += r.errors;
    totals.inputTokens += r.input;
    totals.outputTokens += r.output;
    totals.cachedInputTokens += r.cached;
    totals.unpriced += r.unpriced;
    totals.byModel.push({
      provider: r.provider,
      model: r.model,
      calls: r.calls,
      inputTokens: r.input,
      outputTokens: r.output,
      costUsd: r.unpriced === r.calls ? null : r.cost,
      unpriced: r.unpriced,
      durationMs: r.duration,
    });
  }
  // Summed by PostgreSQL's numeric: exact, whatever the number of rows.
  const sum = await db.query<{ cost: string }>(
    'SELECT coalesce(sum(cost_usd), 0)::text AS cost FROM ai_traces WHERE analysis_id = $1',
    [analysisId],
  );
  totals.costUsd = sum.rows[0]?.cost ?? '0';
  return totals;
}

/** A budget check's outcome: held, or refused with what was already spent and held. */
export type BudgetHold = { held: true } | { held: false; spentUsd: string; heldUsd: string };

/**
 * Holds `amountUsd` of the workspace's monthly LLM budget for `holder` (a chunk job or a job
 * summary) when this month's traced cost, plus what other live holds keep, plus it stays within
 * `budgetUsd`. Under a per-workspace transaction lock, so that two checks cannot both pass on
 * the same remainder; run it in a transaction of its own (the lock and the hold commit with it).
 */
export async function holdBudget(
  db: Queryable,
  workspaceId: string,
  holder: string,
  amountUsd: string,
  budgetUsd: string,
  ttlSeconds: number,
): Promise<BudgetHold> {
  await db.query("SELECT pg_advisory_xact_lock(hashtextextended('llm_budget:' || $1, 0))", [
    workspaceId,
  ]);
  const spentUsd = await monthToDateCost(db, workspaceId);
  const { rows } = await db.query<{ held: string; fits: boolean }>(
    `WITH h AS (SELECT coalesce(sum(amount_usd), 0) AS held FROM llm_budget_holds
                 WHERE workspace_id = $1 AND holder <> $2 AND expires_at > now())
     SELECT h.held::text AS held, $3::numeric + h.held + $4::numeric <= $5::numeric AS fits FROM h`,
    [workspaceId, holder, spentUsd, amountUsd, budgetUsd],
  );
  const heldUsd = rows[0]?.held ?? '0';
  if (!rows[0]?.fits) return { held: false, spentUsd, heldUsd };
  await db.query(
    `INSERT INTO llm_budget_holds (holder, workspace_id, amount_usd, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))
     ON CONFLICT (holder) DO UPDATE SET amount_usd = EXCLUDED.amount_usd, expires_at = EXCLUDED.expires_at`,
    [holder, workspaceId, amountUsd, ttlSeconds],
  );
  return { held: true };
}

/** Keeps a hold alive while what it covers still runs. */
export async function renewBudgetHold(
  db: Queryable,
  holder: string,
  ttlSeconds: number,
): Promise<void> {
  await db.query(
    'UPDATE llm_budget_holds SET expires_at = now() + make_interval(secs => $2) WHERE holder = $1',
    [holder, ttlSeconds],
  );
}

/** Gives a hold back: its calls' traces are stored (or it made none). */
export async function releaseBudgetHold(db: Queryable, holder: string): Promise<void> {
  await db.query('DELETE FROM llm_budget_holds WHERE holder = $1', [holder]);
}
