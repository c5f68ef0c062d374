/** What the analyses pages share: status names, progress, durations, the sign-in prompt. */
import type { Analysis, Workspace } from '../api.js';
import { ApiError, messageOf } from '../api.js';
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

/** Roles that manage a workspace's members and connected accounts (owner and admin). */
export const mayManage = (role: Workspace['role']): boolean => role === 'owner' || role === 'admin';

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
  return <ErrorAlert error={messageOf(error)} />;
}

/** The posts an analysis was asked for, as the API stores its `selection`. */
interface Selection {
  ids?: number;
  filter?: { platform?: string; account?: string; since?: string; until?: string; q?: string };
  limit?: number;
}

/**
 * What an analysis covered, for people: "posts matching “outage”, on x, at most 500 (oldest
 * first)". The selection is an open record in the contract, so every part is checked.
 */
export function selectionText(selection: Analysis['selection']): string {
  const { ids, filter, limit } = selection as Selection;
  const parts: string[] = [];
  if (typeof ids === 'number') parts.push(`${count.format(ids)} chosen posts`);
  if (filter && typeof filter === 'object') {
    if (typeof filter.q === 'string') parts.push(`matching “${filter.q}”`);
    if (typeof filter.platform === 'string') parts.push(`on ${filter.platform}`);
    if (typeof filter.account === 'string') parts.push(`by ${filter.account}`);
    if (typeof filter.since === 'string') parts.push(`since ${dateTime(filter.since)}`);
    if (typeof filter.until === 'string') parts.push(`until ${dateTime(filter.until)}`);
  }
  const which = parts.length > 0 ? `Posts ${parts.join(', ')}` : 'All the workspace’s posts';
  return typeof limit === 'number'
    ? `${which}, at most ${count.format(limit)} (oldest first)`
    : which;
}

/**
 * Why the overview covers only part of the posts, or null when it covers them all: a
 * cancelled, failed or paused analysis stops short, and percentages alone would not say so.
 */
export function partialNote(a: Analysis): string | null {
  if (a.posts_processed >= a.total_posts) return null;
  const when: Partial<Record<Analysis['status'], string>> = {
    cancelled: 'before it was cancelled',
    failed: 'before it failed',
    paused_budget: 'before it paused on the budget',
    completed_with_errors: '(the others’ chunks failed)',
  };
  return `Based on the ${count.format(a.posts_processed)} posts analysed ${
    when[a.status] ?? 'so far'
  } (of ${count.format(a.total_posts)}).`;
}
