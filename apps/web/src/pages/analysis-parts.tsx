/** What the analyses pages share: status names, progress, durations, the sign-in prompt. */
import type { Analysis, Workspace } from '../api.js';
import { ApiError } from '../api.js';
import { Link } from '../router.js';
import { ErrorAlert } from '../ui.js';

export const count = new Intl.NumberFormat('en');

const statusNames: Record<Analysis['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  paused_budget: 'Paused: monthly budget reached',
  completed: 'Completed',
  completed_with_errors: 'Completed with errors',
  failed: 'Failed',
  cancelled: 'Cancelled',
};
export const statusName = (status: Analysis['status']): string => statusNames[status];

const finished = new Set<Analysis['status']>([
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
]);
/** No chunk of it will run again unless someone retries it. */
export const isFinished = (a: Pick<Analysis, 'status'>): boolean => finished.has(a.status);

/** Roles that may start, cancel and retry analyses (the server's permission `analyze`). */
export const mayAnalyze = (role: Workspace['role']): boolean =>
  role === 'owner' || role === 'admin' || role === 'analyst';

/** "about 40 s", "about 3 min", "about 2 h 5 min". */
export function aboutDuration(seconds: number): string {
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  const rest = minutes % 60;
  return `about ${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ''}`;
}

export const dateTime = (iso: string): string =>
  new Date(iso).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });

/** The analysis's progress: a bar and the chunks and posts behind it. */
export function ProgressOf({ analysis: a }: { analysis: Analysis }) {
  return (
    <span className="progress">
      <progress max={1} value={a.progress} aria-label="Progress" />{' '}
      <span>
        {count.format(a.posts_processed)} of {count.format(a.total_posts)} posts
        {a.posts_failed > 0 && `, ${count.format(a.posts_failed)} failed`}
      </span>
    </span>
  );
}

/** An API failure as the page shows it: a way to sign in for 401, else the message. */
export function LoadError({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.status === 401) {
    const here = window.location.pathname + window.location.search;
    return (
      <p>
        You are not signed in. <Link to={`/sign-in?next=${encodeURIComponent(here)}`}>Sign in</Link>{' '}
        to see this page.
      </p>
    );
  }
  return <ErrorAlert error={error instanceof Error ? error.message : String(error)} />;
}
