/**
 * A router of a few lines: the path decides the page, links push history entries, and a
 * one-time notice (shown by the next page in role="status") can travel with a navigation.
 */
import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';

const CHANGE = 'socialpulse:navigate';

export function navigate(to: string, notice?: string): void {
  window.history.pushState(notice ? { notice } : null, '', to);
  window.dispatchEvent(new Event(CHANGE));
}

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

/** The notice the navigation to this page carried, if any. */
export const currentNotice = (): string | null =>
  ((window.history.state as { notice?: unknown } | null)?.notice as string | undefined) ?? null;

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
