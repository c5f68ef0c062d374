/**
 * A router of a few lines: the path decides the page, links push history entries, and a
 * one-time notice (shown by the next page in role="status") can travel with a navigation.
 */
import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';

const CHANGE = 'socialpulse:navigate';

/**
 * The one-time notice and the history entry it was made for. Kept in memory, not in
 * history.state (which a reload, or going back to the entry, restores): it is shown by the page
 * the navigation opens, and forgotten as soon as the location changes again.
 */
let pending: { entry: number; notice: string } | null = null;
let entries = 0;

const entryOf = (state: unknown): number | null => {
  const entry = (state as { entry?: unknown } | null)?.entry;
  return typeof entry === 'number' ? entry : null;
};

export function navigate(to: string, notice?: string): void {
  const entry = ++entries;
  window.history.pushState({ entry }, '', to);
  pending = notice ? { entry, notice } : null;
  window.dispatchEvent(new Event(CHANGE));
}

window.addEventListener('popstate', () => {
  pending = null;
});

/** The current location; re-renders on navigation and on the browser's back and forward. */
export function useLocation(): URL {
  const [href, setHref] = useState(() => window.location.href);
  useEffect(() => {
    const update = (): void => setHref(window.location.href);
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return new URL(href);
}

/** The notice the navigation to this page carried, if any (once: not after a reload or back). */
export function currentNotice(): string | null {
  return pending && entryOf(window.history.state) === pending.entry ? pending.notice : null;
}

/**
 * The notice for the page being shown, read when it mounts; `dismiss` drops it (when the page
 * changes what it shows, say, a new search).
 */
export function useNotice(): [string | null, () => void] {
  const [notice, setNotice] = useState(currentNotice);
  return [notice, () => setNotice(null)];
}

/**
 * Where to go after signing in: only a path of this site (never `//host` or a full URL, so a
 * crafted link cannot send people elsewhere).
 */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\')
    ? next
    : '/';
}

export function Link({ to, children }: { to: string; children: ReactNode }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>): void => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
      return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick}>
      {children}
    </a>
  );
}
