/** Small building blocks shared by the pages: page headings, error alerts, form actions. */
import {
  useEffect,
  useId,
  useRef,
  useState,
  type InputHTMLAttributes,
  type ReactNode,
} from 'react';
import { messageOf, SessionEndedError } from './api.js';

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

/**
 * What useAction reports when the session could not be renewed. ErrorAlert recognises it and
 * adds the way back in, so every form that shows its action's error gets the link.
 */
export const SESSION_ENDED = 'Your session has ended.';

/** An API error (or any message) for people: always in role="alert". */
export function ErrorAlert({ error }: { error: string | null }) {
  if (error === SESSION_ENDED) {
    const here = window.location.pathname + window.location.search;
    return (
      <p role="alert" className="error">
        {SESSION_ENDED} {/* A new tab: leaving this page would drop what was typed in its forms. */}
        <a href={`/sign-in?next=${encodeURIComponent(here)}`} target="_blank" rel="noopener">
          Sign in again
        </a>{' '}
        (opens a new tab; what you entered here is kept), then try again.
      </p>
    );
  }
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
      setError(e instanceof SessionEndedError ? SESSION_ENDED : messageOf(e));
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

const dollars = new Intl.NumberFormat('en', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const fractionsOfACent = new Intl.NumberFormat('en', {
  style: 'currency',
  currency: 'USD',
  maximumSignificantDigits: 2,
});

/**
 * An amount of US dollars for people: "$12.50", and below a cent two significant digits
 * ("$0.0042"), since LLM calls cost fractions of a cent and "$0.00" would hide that they cost
 * anything. Takes the API's decimal strings ("0.000000000") as well as numbers.
 */
export function formatUsd(amount: string | number): string {
  const value = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(value)) return String(amount);
  return value !== 0 && Math.abs(value) < 0.01
    ? fractionsOfACent.format(value)
    : dollars.format(value);
}

/**
 * A stored decimal as it was typed: "12.5000" (the database's scale) is "12.5", "3.0000" is
 * "3". Done on the text, not through a number, so that no digit is rounded.
 */
export const plainDecimal = (decimal: string): string =>
  decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal;

/**
 * A table that scrolls sideways inside the page on narrow screens, instead of widening the
 * page. Focusable (and named) so that keyboard users can scroll it too.
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
