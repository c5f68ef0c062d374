import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { analysisSettingsPatchSchema, analysisSettingsSchema } from '@socialpulse/contracts';
import { api, ApiError, messageOf } from '../api.js';
import { ErrorAlert, Field, fieldText, formatUsd, plainDecimal, useAction } from '../ui.js';
import { CategoryRules } from './CategoryRules.js';

type Settings = ReturnType<(typeof analysisSettingsSchema)['parse']>;
type SettingsChange = Omit<ReturnType<(typeof analysisSettingsPatchSchema)['parse']>, 'revision'>;
/** Saves a form's fields, from the revision the page read: the settings as saved. */
export type SaveSettings = (change: SettingsChange) => Promise<Settings>;

/** A blank field means "none" (null); the key's blank field means "keep the one stored". */
const orNull = (text: string): string | null => (text.trim() === '' ? null : text.trim());
const numberOrNull = (text: string): number | null => (text.trim() === '' ? null : Number(text));

/**
 * The workspace's analysis settings for the roles that may change them (owner, admin), read
 * once for both of their forms: the LLM and budget, and the categories. Each form saves only its
 * own fields, and only if nobody changed the settings since the page read them (the revision
 * read is sent with each change, and follows each save): else the page says so and offers to
 * read them again, instead of overwriting the other change unseen.
 */
export function WorkspaceSettings({ workspaceId }: { workspaceId: string }) {
  const path = `/v1/workspaces/${workspaceId}/analysis-settings`;
  const [settings, setSettings] = useState<Settings | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  /** Each read of the settings: the forms start again from it. */
  const [reads, setReads] = useState(0);
  const [loaded, setLoaded] = useState(0);
  const [changedElsewhere, setChangedElsewhere] = useState(false);
  // A ref, not state: a form's save must send the revision the other form's save just made.
  const revision = useRef(0);
  useEffect(() => {
    let live = true;
    setLoadError(null);
    api<Settings>('GET', path).then(
      (current) => {
        if (!live) return;
        revision.current = current.revision;
        setSettings(current);
        setChangedElsewhere(false);
        setLoaded((n) => n + 1);
      },
      (error: unknown) => live && setLoadError(messageOf(error)),
    );
    return () => {
      live = false;
    };
  }, [path, reads]);

  const save: SaveSettings = async (change) => {
    try {
      const saved = await api<Settings>('PATCH', path, { ...change, revision: revision.current });
      revision.current = saved.revision;
      return saved;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.code === 'conflict') {
        setChangedElsewhere(true);
        throw new Error(
          'Not saved: someone changed these settings after this page read them. Read the current settings (above) and make your change again.',
        );
      }
      throw error;
    }
  };

  if (!settings) return <ErrorAlert error={loadError} />;
  return (
    <>
      {changedElsewhere && (
        <div role="alert" className="error">
          <p>
            These settings were changed elsewhere after this page read them, so your last change was
            not saved.
          </p>
          <p>
            <button type="button" onClick={() => setReads((n) => n + 1)}>
              Read the current settings
            </button>{' '}
            (changes not saved on this page are dropped)
          </p>
        </div>
      )}
      <ErrorAlert error={loadError} />
      <AnalysisSettings key={`llm-${loaded}`} initial={settings} save={save} />
      <CategoryRules key={`categories-${loaded}`} initial={settings.categories} save={save} />
    </>
  );
}

/**
 * The workspace's LLM (an OpenAI-compatible server: base URL, model, key, timeout, concurrency)
 * and its monthly LLM budget. The key is write-only: the server says only whether one is set.
 */
function AnalysisSettings({
  initial,
  save: saveSettings,
}: {
  initial: Settings;
  save: SaveSettings;
}) {
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
      setSettings(await saveSettings(body));
      setSaved(true);
      const keyField = form.elements.namedItem('api_key');
      if (keyField instanceof HTMLInputElement) keyField.value = '';
    });
  };

  return (
    <form onSubmit={submit} aria-labelledby="llm-settings">
      <h3 id="llm-settings">LLM and budget</h3>
      <p>
        Spent on LLM calls this month: {formatUsd(llm.month_to_date_cost_usd)}
        {llm.monthly_budget_usd !== null
          ? ` of a ${formatUsd(llm.monthly_budget_usd)} monthly budget.`
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
        defaultValue={llm.monthly_budget_usd === null ? '' : plainDecimal(llm.monthly_budget_usd)}
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
