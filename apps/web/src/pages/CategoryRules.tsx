import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { analysisSettingsSchema } from '@socialpulse/contracts';
import { fieldOfError } from '../api.js';
import { ErrorAlert, useAction } from '../ui.js';
import type { SaveSettings } from './AnalysisSettings.js';

type Settings = ReturnType<(typeof analysisSettingsSchema)['parse']>;
type CategoryRule = Settings['categories'][number];

// The server's limits (categoryRulesSchema in the contracts). Checked here too because the
// schema's own messages give a category's position, not its name.
const MAX_RULES = 200;
const MAX_NAME_LENGTH = 100;
const MAX_TERMS = 500;
const MAX_TERM_LENGTH = 100;

/** A category as the user edits it: its lists as typed, read into terms when saved. */
interface DraftRule {
  /** The React key and the base of the field ids: stable while the category is edited. */
  key: number;
  id: string;
  keywords: string;
  hashtags: string;
}

type RuleField = 'id' | 'keywords' | 'hashtags';

/** A field to mark invalid and focus. */
interface FieldRef {
  key: number;
  field: RuleField;
}

/**
 * Commas and line breaks separate keywords, except a comma between digits: "1,000" is one
 * number to the server's tokenizer, and a stored keyword like it must survive a round trip.
 */
const KEYWORD_SEPARATOR = /\r?\n|(?<!\d),|,(?!\d)/;
/**
 * Hashtags are separated by commas, line breaks, or spaces before a '#' ("#launch #release").
 * A space inside one ("customer service") is left in: the server refuses it with its advice,
 * where splitting it would silently make two broader hashtags.
 */
const HASHTAG_SEPARATOR = /\r?\n|,|\s+(?=[#\uFF03])/;
/** The matcher drops a leading '#' (or full-width '＃'); the rules are stored without it. */
const LEADING_HASH = /^[#\uFF03]/;

function termsOf(text: string, separator: RegExp, tidy: (term: string) => string): string[] {
  const terms = text.split(separator).map((term) => tidy(term.trim()));
  return [...new Set(terms.filter((term) => term !== ''))];
}
const keywordsOf = (text: string): string[] => termsOf(text, KEYWORD_SEPARATOR, (k) => k);
const hashtagsOf = (text: string): string[] =>
  termsOf(text, HASHTAG_SEPARATOR, (h) => h.replace(LEADING_HASH, '').trim());

/** The rule a draft stands for, as PATCH takes it (empty lists left out). */
function ruleOf(draft: DraftRule): CategoryRule {
  const keywords = keywordsOf(draft.keywords);
  const hashtags = hashtagsOf(draft.hashtags);
  return {
    id: draft.id.trim(),
    ...(keywords.length > 0 ? { keywords } : {}),
    ...(hashtags.length > 0 ? { hashtags } : {}),
  };
}

function draftOf(rule: CategoryRule, key: number): DraftRule {
  return {
    key,
    id: rule.id,
    keywords: (rule.keywords ?? []).join(', '),
    hashtags: (rule.hashtags ?? [])
      .map((tag) => (LEADING_HASH.test(tag) ? tag : `#${tag}`))
      .join(' '),
  };
}

/** How messages name a category: by its name, or by its position while it has none. */
const nameOf = (draft: DraftRule, index: number): string =>
  draft.id.trim() === '' ? String(index + 1) : JSON.stringify(draft.id.trim());

/** A stored rule as this page would send it back, to tell whether anything was changed. */
const tidied = (rule: CategoryRule): CategoryRule => ruleOf(draftOf(rule, 0));

const clip = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}…` : text);

/**
 * The first problem the browser can see without the server's matcher: a missing, too long or
 * repeated name, too many or too long terms, too many categories. Whether a term can ever
 * match is the server's to say.
 */
function firstProblem(drafts: readonly DraftRule[]): (FieldRef & { message: string }) | null {
  const extra = drafts[MAX_RULES];
  if (extra !== undefined) {
    return {
      key: extra.key,
      field: 'id',
      message: `There are ${drafts.length} categories, and a workspace may have at most ${MAX_RULES}.`,
    };
  }
  const positionOfName = new Map<string, number>();
  for (const [index, draft] of drafts.entries()) {
    const name = draft.id.trim();
    const at = (field: RuleField, message: string) => ({ key: draft.key, field, message });
    if (name === '') return at('id', `Category ${index + 1} has no name.`);
    if (name.length > MAX_NAME_LENGTH) {
      return at(
        'id',
        `Category ${index + 1}: the name has ${name.length} characters, and at most ${MAX_NAME_LENGTH} are allowed.`,
      );
    }
    const earlier = positionOfName.get(name);
    if (earlier !== undefined) {
      return at(
        'id',
        `Categories ${earlier + 1} and ${index + 1} are both named ${JSON.stringify(name)}: each category needs its own name.`,
      );
    }
    positionOfName.set(name, index);
    for (const field of ['keywords', 'hashtags'] as const) {
      const terms = field === 'keywords' ? keywordsOf(draft.keywords) : hashtagsOf(draft.hashtags);
      const what = field === 'keywords' ? 'keyword' : 'hashtag';
      if (terms.length > MAX_TERMS) {
        return at(
          field,
          `Category ${nameOf(draft, index)} has ${terms.length} ${field}, and at most ${MAX_TERMS} are allowed.`,
        );
      }
      const long = terms.find((term) => term.length > MAX_TERM_LENGTH);
      if (long !== undefined) {
        return at(
          field,
          `Category ${nameOf(draft, index)}: the ${what} ${JSON.stringify(clip(long))} has ${long.length} characters, and at most ${MAX_TERM_LENGTH} are allowed.`,
        );
      }
    }
  }
  return null;
}

const SERVER_FIELD = /^categories\.(\d+)\.(id|keywords|hashtags)\b/;

/** The field the server's first problem names ("categories.1.keywords.0"), if any. */
function fieldOfServerError(error: unknown, sent: readonly DraftRule[]): FieldRef | null {
  const field = fieldOfError(error);
  const match = field === null ? null : SERVER_FIELD.exec(field);
  // The rules were sent in the drafts' order, so the server's index is the draft's.
  const draft = match ? sent[Number(match[1])] : undefined;
  return match && draft ? { key: draft.key, field: match[2] as RuleField } : null;
}

const sameRules = (a: readonly CategoryRule[], b: readonly CategoryRule[]): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

/**
 * The workspace's categories, for the roles that may change them (owner, admin): each has a
 * name and keywords and hashtags. The local engines put a post in every category one of whose
 * terms it contains; the LLM engine chooses among the names. The list is edited here and saved
 * as a whole; the server refuses terms that could never match, and its message is shown with
 * the edits kept.
 */
export function CategoryRules({
  initial,
  save: saveSettings,
}: {
  /** The rules as the page read them with the workspace's settings. */
  initial: readonly CategoryRule[];
  save: SaveSettings;
}) {
  const ids = useId();
  const nextKey = useRef(initial.length);
  /** The rules as the server last returned them: what "Discard changes" goes back to. */
  const [stored, setStored] = useState<readonly CategoryRule[]>(initial);
  const [drafts, setDrafts] = useState<DraftRule[]>(() => initial.map(draftOf));
  const [saved, setSaved] = useState(false);
  const [invalid, setInvalid] = useState<FieldRef | null>(null);
  const save = useAction();
  // Set with the state change whose render shows the element, focused once it is rendered.
  const focusAfterRender = useRef<string | null>(null);

  const fieldId = (key: number, field: RuleField): string => `${ids}-${key}-${field}`;
  const addButtonId = `${ids}-add`;
  const draftsOf = (rules: readonly CategoryRule[]): DraftRule[] =>
    rules.map((rule) => draftOf(rule, nextKey.current++));

  useEffect(() => {
    const target = focusAfterRender.current;
    if (target === null) return;
    focusAfterRender.current = null;
    document.getElementById(target)?.focus();
  });

  const dirty = !sameRules(drafts.map(ruleOf), stored.map(tidied));

  const markInvalid = (target: FieldRef): void => {
    setInvalid(target);
    focusAfterRender.current = fieldId(target.key, target.field);
  };

  const edit = (key: number, field: RuleField, value: string): void => {
    setDrafts((current) => current.map((d) => (d.key === key ? { ...d, [field]: value } : d)));
    setSaved(false);
    if (invalid?.key === key && invalid.field === field) setInvalid(null);
  };

  const add = (): void => {
    const key = nextKey.current++;
    setDrafts((current) => [...current, { key, id: '', keywords: '', hashtags: '' }]);
    setSaved(false);
    focusAfterRender.current = fieldId(key, 'id');
  };

  const remove = (index: number): void => {
    const removed = drafts[index];
    if (removed === undefined) return;
    setDrafts((current) => current.filter((d) => d.key !== removed.key));
    setSaved(false);
    if (invalid?.key === removed.key) setInvalid(null);
    // The focus goes where the removed category was: the next one, else the one before.
    const neighbour = drafts[index + 1] ?? drafts[index - 1];
    focusAfterRender.current = neighbour ? fieldId(neighbour.key, 'id') : addButtonId;
  };

  const discard = (): void => {
    setDrafts(draftsOf(stored));
    setInvalid(null);
    save.setError(null);
  };

  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    setSaved(false);
    const problem = firstProblem(drafts);
    if (problem) {
      save.setError(problem.message);
      markInvalid(problem);
      return;
    }
    const sent = drafts;
    void save.run(async () => {
      let settings: Settings;
      try {
        settings = await saveSettings({ categories: sent.map(ruleOf) });
      } catch (error) {
        const target = fieldOfServerError(error, sent);
        if (target) markInvalid(target);
        throw error;
      }
      setInvalid(null);
      setStored(settings.categories);
      // The server's answer, in its tidy form, unless the user went on editing meanwhile.
      setDrafts((current) =>
        current === sent
          ? settings.categories.map((rule, i) => draftOf(rule, sent[i]?.key ?? nextKey.current++))
          : current,
      );
      setSaved(true);
    });
  };

  const keywordsHint = `${ids}-keywords-hint`;
  const hashtagsHint = `${ids}-hashtags-hint`;
  return (
    <form onSubmit={submit} aria-labelledby="category-rules" noValidate>
      <h3 id="category-rules">Categories</h3>
      <p>
        SocialPulse&apos;s engines put a post in every category one of whose keywords or hashtags it
        contains; the LLM chooses among the categories by name. Each name must be unique, up to{' '}
        {MAX_NAME_LENGTH} characters. Changes apply to analyses started after saving.
      </p>
      <p id={keywordsHint}>
        Keywords: words or phrases of up to 5 words, separated by commas or line breaks. Case and
        accents do not matter, and a keyword never matches inside a longer word.
      </p>
      <p id={hashtagsHint}>
        Hashtags: with or without #, separated by commas, line breaks or spaces before each #.
      </p>
      {drafts.length === 0 && <p>No categories yet.</p>}
      {drafts.map((draft, index) => {
        const isInvalid = (field: RuleField): true | undefined =>
          invalid?.key === draft.key && invalid.field === field ? true : undefined;
        const name = draft.id.trim();
        const rule = ruleOf(draft);
        const hasTerms = rule.keywords !== undefined || rule.hashtags !== undefined;
        return (
          <fieldset key={draft.key}>
            <legend>
              {name === '' ? `Category ${index + 1}` : `Category ${index + 1}: ${name}`}
            </legend>
            <div className="field">
              <label htmlFor={fieldId(draft.key, 'id')}>Name</label>
              <input
                id={fieldId(draft.key, 'id')}
                value={draft.id}
                onChange={(e) => edit(draft.key, 'id', e.target.value)}
                maxLength={MAX_NAME_LENGTH}
                autoComplete="off"
                aria-required="true"
                aria-invalid={isInvalid('id')}
              />
            </div>
            {(
              [
                ['keywords', 'Keywords', keywordsHint],
                ['hashtags', 'Hashtags', hashtagsHint],
              ] as const
            ).map(([field, label, hint]) => (
              <div className="field" key={field}>
                <label htmlFor={fieldId(draft.key, field)}>{label}</label>
                <textarea
                  id={fieldId(draft.key, field)}
                  value={draft[field]}
                  onChange={(e) => edit(draft.key, field, e.target.value)}
                  rows={2}
                  aria-describedby={hint}
                  aria-invalid={isInvalid(field)}
                />
              </div>
            ))}
            {!hasTerms && (
              <p>
                No keywords or hashtags: only the LLM can put posts in this category,
                SocialPulse&apos;s engines never will.
              </p>
            )}
            <button type="button" onClick={() => remove(index)}>
              Remove<span className="visually-hidden"> category {nameOf(draft, index)}</span>
            </button>
          </fieldset>
        );
      })}
      <p>
        <button type="button" id={addButtonId} onClick={add} disabled={drafts.length >= MAX_RULES}>
          Add a category
        </button>{' '}
        <button type="submit" disabled={save.busy}>
          Save categories
        </button>
        {dirty && (
          <>
            {' '}
            <button type="button" onClick={discard} disabled={save.busy}>
              Discard changes
            </button>
          </>
        )}
      </p>
      {dirty && !save.busy && <p>Unsaved changes.</p>}
      {saved && <p role="status">Saved.</p>}
      <ErrorAlert error={save.error} />
    </form>
  );
}
