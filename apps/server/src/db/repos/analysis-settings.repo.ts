import type { Queryable } from '../pool.js';

export interface AnalysisSettingsRow {
  workspace_id: string;
  categories: { id: string; keywords?: string[]; hashtags?: string[] }[];
  llm_base_url: string | null;
  llm_model: string | null;
  llm_api_key_sealed: string | null;
  llm_timeout_ms: number | null;
  llm_max_concurrency: number | null;
  llm_monthly_budget_usd: string | null;
  updated_at: Date;
}

/** The settings as stored, with their revision (raised by every change; no row: revision 0). */
export interface StoredAnalysisSettings extends AnalysisSettingsRow {
  revision: number;
}

/**
 * Serialises, until the end of the transaction, the changes to one workspace's settings: a change
 * reads the stored ones (whether the key goes with a new base URL) before it writes, and must not
 * read them while another change is on its way to commit.
 */
export async function lockAnalysisSettings(db: Queryable, workspaceId: string): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtextextended('analysis_settings:' || $1, 0))", [
    workspaceId,
  ]);
}

export async function getAnalysisSettings(
  db: Queryable,
  workspaceId: string,
): Promise<StoredAnalysisSettings | null> {
  const { rows } = await db.query<StoredAnalysisSettings>(
    'SELECT * FROM workspace_analysis_settings WHERE workspace_id = $1',
    [workspaceId],
  );
  return rows[0] ?? null;
}

export interface AnalysisSettingsPatch {
  categories?: AnalysisSettingsRow['categories'];
  llmBaseUrl?: string | null;
  llmModel?: string | null;
  /** Already sealed; null clears the key. */
  llmApiKeySealed?: string | null;
  llmTimeoutMs?: number | null;
  llmMaxConcurrency?: number | null;
  llmMonthlyBudgetUsd?: string | null;
}

/**
 * Upserts the fields present in the patch; absent fields keep their value. With
 * `expectedRevision`, only if the settings are still at that revision (0: none saved yet):
 * null when they are not, and nothing is changed.
 */
export async function upsertAnalysisSettings(
  db: Queryable,
  workspaceId: string,
  patch: AnalysisSettingsPatch,
  expectedRevision?: number,
): Promise<StoredAnalysisSettings | null> {
  const columns: [string, unknown][] = [];
  if (patch.categories !== undefined)
    columns.push(['categories', JSON.stringify(patch.categories)]);
  if (patch.llmBaseUrl !== undefined) columns.push(['llm_base_url', patch.llmBaseUrl]);
  if (patch.llmModel !== undefined) columns.push(['llm_model', patch.llmModel]);
  if (patch.llmApiKeySealed !== undefined)
    columns.push(['llm_api_key_sealed', patch.llmApiKeySealed]);
  if (patch.llmTimeoutMs !== undefined) columns.push(['llm_timeout_ms', patch.llmTimeoutMs]);
  if (patch.llmMaxConcurrency !== undefined)
    columns.push(['llm_max_concurrency', patch.llmMaxConcurrency]);
  if (patch.llmMonthlyBudgetUsd !== undefined)
    columns.push(['llm_monthly_budget_usd', patch.llmMonthlyBudgetUsd]);
  const names = columns.map(([c]) => c);
  const values = columns.map(([, v]) => v);
  const insertCols = ['workspace_id', ...names].join(', ');
  const insertVals = ['$1', ...names.map((_, i) => `$${i + 2}`)].join(', ');
  if (expectedRevision !== undefined && expectedRevision > 0) {
    const sets = [
      ...names.map((c, i) => `${c} = $${i + 3}`),
      'updated_at = now()',
      'revision = revision + 1',
    ].join(', ');
    const { rows } = await db.query<StoredAnalysisSettings>(
      `UPDATE workspace_analysis_settings SET ${sets} WHERE workspace_id = $1 AND revision = $2 RETURNING *`,
      [workspaceId, expectedRevision, ...values],
    );
    return rows[0] ?? null;
  }
  const insert = `INSERT INTO workspace_analysis_settings (${insertCols}) VALUES (${insertVals})`;
  if (expectedRevision === 0) {
    // Only if none are saved yet: a row someone saved meanwhile is left as it is.
    const { rows } = await db.query<StoredAnalysisSettings>(
      `${insert} ON CONFLICT (workspace_id) DO NOTHING RETURNING *`,
      [workspaceId, ...values],
    );
    return rows[0] ?? null;
  }
  const updates = [
    ...names.map((c) => `${c} = EXCLUDED.${c}`),
    'updated_at = now()',
    'revision = workspace_analysis_settings.revision + 1',
  ].join(', ');
  const { rows } = await db.query<StoredAnalysisSettings>(
    `${insert} ON CONFLICT (workspace_id) DO UPDATE SET ${updates} RETURNING *`,
    [workspaceId, ...values],
  );
  const row = rows[0];
  if (!row) throw new Error('upsert into workspace_analysis_settings returned no row');
  return row;
}
