/** Small building blocks shared by the pages: page headings, error alerts, form actions. */
import {
  useEffect,
  useId,
  useRef,
  useState,
  type InputHTMLAttributes,
  type ReactNode,
} from 'react';
import { messageOf } from './api.js';

let firstPage = true;

/**
 * The page's heading; names the document. After an in-app navigation it takes the focus, so
 * that screen readers announce the new page (the first page load keeps the browser's focus, and
 * so does a field that asked for it with autoFocus).
 */
export function PageHeading({
  children,
  title,
  id,
}: {
  children: ReactNode;
  title: string;
  id?: string;
}) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · SocialPulse`;
    if (!firstPage && !(document.activeElement instanceof HTMLInputElement)) ref.current?.focus();
    firstPage = false;
  }, [title]);
  return (
    <h2 ref={ref} id={id} tabIndex={-1}>
      {children}
    </h2>
  );
}

/** An API error (or any message) for people: always in role="alert". */
export function ErrorAlert({ error }: { error: string | null }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}

/** A form submission's state: busy while it runs, the error message if it failed. */
export function useAction(): {
  busy: boolean;
  error: string | null;
  setError: (message: string | null) => void;
  run: (work: () => Promise<void>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function run(work: () => Promise<void>): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

/** "Show more" under a cursor-paged list while there is a next page, and the last try's error. */
export function ShowMore({
  next,
  load,
}: {
  next: string | null;
  load: (cursor: string) => Promise<void>;
}) {
  const action = useAction();
  return (
    <>
      {next && (
        <p>
          <button
            type="button"
            disabled={action.busy}
            onClick={() => void action.run(() => load(next))}
          >
            Show more
          </button>
        </p>
      )}
      <ErrorAlert error={action.error} />
    </>
  );
}

/** A labelled input, with an optional hint read out after the label (aria-describedby). */
export function Field({
  label,
  hint,
  ...input
}: { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      {hint && <small id={`${id}-hint`}>{hint}</small>}
    </div>
  );
}

export const PASSWORD_HINT =
  'At least 12 characters and hard to guess: a few unrelated words work well.';

/** A text field's value from a submitted form ('' when absent). */
export function fieldText(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value : '';
}
