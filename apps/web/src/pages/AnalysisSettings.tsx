import { useEffect, useState, type FormEvent } from 'react';
import type { analysisSettingsSchema } from '@socialpulse/contracts';
import { api, messageOf } from '../api.js';
import { ErrorAlert, Field, fieldText, useAction } from '../ui.js';
import { CategoryRules } from './CategoryRules.js';

type Settings = ReturnType<(typeof analysisSettingsSchema)['parse']>;

/** A blank field means "none" (null); the key's blank field means "keep the one stored". */
const orNull = (text: string): string | null => (text.trim() === '' ? null : text.trim());
const numberOrNull = (text: string): number | null => (text.trim() === '' ? null : Number(text));

/**
 * The workspace's analysis settings for the roles that may change them (owner, admin), read
 * once for both of their forms: the LLM and budget, and the categories. Each form saves only its
 * own fields.
 */
export function WorkspaceSettings({ workspaceId }: { workspaceId: string }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api<Settings>('GET', `/v1/workspaces/${workspaceId}/analysis-settings`).then(
      (current) => live && setSettings(current),
      (error: unknown) => live && setLoadError(messageOf(error)),
    );
    return () => {
      live = false;
    };
  }, [workspaceId]);
  if (!settings) return <ErrorAlert error={loadError} />;
  return (
    <>
      <AnalysisSettings workspaceId={workspaceId} initial={settings} />
      <CategoryRules workspaceId={workspaceId} initial={settings.categories} />
    </>
  );
}

/**
 * The workspace's LLM (an OpenAI-compatible server: base URL, model, key, timeout, concurrency)
 * and its monthly LLM budget. The key is write-only: the server says only whether one is set.
 */
function AnalysisSettings({ workspaceId, initial }: { workspaceId: string; initial: Settings }) {
  const path = `/v1/workspaces/${workspaceId}/analysis-settings`;
  const [settings, setSettings] = useState<Settings>(initial);
  const [saved, setSaved] = useState(false);
  const save = useAction();
  const { llm } = settings;

  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const key = fieldText(form, 'api_key');
    const removeKey = (form.elements.namedItem('remove_key') as HTMLInputElement | null)?.checked;
    const body = {
      llm: {
        base_url: orNull(fieldText(form, 'base_url')),
        model: orNull(fieldText(form, 'model')),
        timeout_ms: numberOrNull(fieldText(form, 'timeout_ms')),
        max_concurrency: numberOrNull(fieldText(form, 'max_concurrency')),
        monthly_budget_usd: orNull(fieldText(form, 'monthly_budget_usd')),
        ...(removeKey ? { api_key: null } : key ? { api_key: key } : {}),
      },
    };
    setSaved(false);
    void save.run(async () => {
      setSettings(await api<Settings>('PATCH', path, body));
      setSaved(true);
      const keyField = form.elements.namedItem('api_key');
      if (keyField instanceof HTMLInputElement) keyField.value = '';
    });
  };

  return (
    <form onSubmit={submit} aria-labelledby="llm-settings">
      <h3 id="llm-settings">LLM and budget</h3>
      <p>
        Spent on LLM calls this month: ${llm.month_to_date_cost_usd}
        {llm.monthly_budget_usd !== null
          ? ` of a $${llm.monthly_budget_usd} monthly budget.`
          : ' (no monthly budget).'}
      </p>
      <Field
        label="Base URL"
        name="base_url"
        type="url"
        defaultValue={llm.base_url ?? ''}
        hint="An OpenAI-compatible server: https://api.openai.com/v1, or a local Ollama, vLLM or LM Studio the operator allows. Blank: the instance's. A new URL forgets the stored key unless you enter one with it."
      />
      <Field
        label="Model"
        name="model"
        defaultValue={llm.model ?? ''}
        maxLength={200}
        hint="Blank: the instance's."
      />
      <Field
        label="API key"
        name="api_key"
        type="password"
        autoComplete="off"
        maxLength={500}
        hint={
          llm.api_key_set
            ? 'A key is set (it is never shown). Blank: keep it.'
            : 'No key is set. Stored encrypted; never shown again.'
        }
      />
      {llm.api_key_set && (
        <p>
          <label>
            <input type="checkbox" name="remove_key" /> Remove the stored key
          </label>
        </p>
      )}
      <Field
        label="Timeout (ms)"
        name="timeout_ms"
        type="number"
        min={1000}
        max={600_000}
        defaultValue={llm.timeout_ms ?? ''}
        hint="Blank: the instance's."
      />
      <Field
        label="Concurrent requests at most"
        name="max_concurrency"
        type="number"
        min={1}
        max={64}
        defaultValue={llm.max_concurrency ?? ''}
        hint="Blank: the instance's."
      />
      <Field
        label="Monthly budget (USD)"
        name="monthly_budget_usd"
        inputMode="decimal"
        pattern="\d{1,10}(\.\d{1,4})?"
        defaultValue={llm.monthly_budget_usd ?? ''}
        hint="An analysis that would spend past it pauses until it is raised. Blank: no budget."
      />
      <p>
        <button type="submit" disabled={save.busy}>
          Save LLM settings
        </button>
      </p>
      {saved && <p role="status">Saved.</p>}
      <ErrorAlert error={save.error} />
    </form>
  );
}
