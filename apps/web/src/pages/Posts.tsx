import { useEffect, useState, type FormEvent } from 'react';
import type { Platform, Post } from '@socialpulse/contracts';
import { ApiError, api, messageOf, type Page, type Workspace } from '../api.js';
import { Link, navigate, useNotice } from '../router.js';
import { ErrorAlert, Field, fieldText, PageHeading, ShowMore, TableScroll } from '../ui.js';
import { count, dateTime, LoadError } from './analysis-parts.js';

/** Every platform, by name (a Record: the compiler checks that none is missing). */
const platformNames: Record<Platform, string> = {
  x: 'X',
  instagram: 'Instagram',
  youtube: 'YouTube',
  tiktok: 'TikTok',
  bluesky: 'Bluesky',
  mastodon: 'Mastodon',
  reddit: 'Reddit',
  linkedin: 'LinkedIn',
  facebook: 'Facebook',
  threads: 'Threads',
  pinterest: 'Pinterest',
  twitch: 'Twitch',
  other: 'Other',
};

const PAGE_SIZE = 50;
/** The API's longest search (its `q`), and the search field's. */
const MAX_SEARCH = 500;
const FIELDS = [
  'id',
  'platform',
  'account_handle',
  'author',
  'text',
  'created_at',
  'url',
  'likes',
  'comments',
  'shares',
  'views',
].join(',');

type ListedPost = Partial<Post>;
type State =
  | { kind: 'loading' }
  | { kind: 'failed'; error: unknown }
  | {
      kind: 'ready';
      workspace: Workspace;
      posts: ListedPost[];
      nextCursor: string | null;
      /** The search the server refused: the page stays, with the refusal and a way out. */
      searchError: string | null;
    };

interface Filters {
  q: string;
  platform: Platform | '';
  /** What the address asked for that the page left out, in words. */
  ignored: string[];
}

const isPlatform = (value: string): value is Platform => Object.hasOwn(platformNames, value);

/**
 * The search in the address, as far as the page can run it: an address is anyone's to edit or
 * mistype, and a filter the API would refuse must not cost the whole page.
 */
function filtersOf(params: URLSearchParams): Filters {
  const ignored: string[] = [];
  let q = params.get('q')?.trim() ?? '';
  if (q.length > MAX_SEARCH) {
    ignored.push(`the search, which is longer than ${MAX_SEARCH} characters`);
    q = '';
  }
  const asked = params.get('platform') ?? '';
  const platform = asked === '' || isPlatform(asked) ? asked : '';
  if (asked !== platform)
    ignored.push(`the platform “${asked}”, which is not one SocialPulse knows`);
  return { q, platform, ignored };
}

const metric = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : count.format(n);

/**
 * A workspace's posts, newest first, searched (full text) and filtered by platform. The search
 * lives in the page's address (`?q=…&platform=…`): a reload, a shared link and the browser's
 * back button all keep it.
 */
export function Posts({ workspaceId, params }: { workspaceId: string; params: URLSearchParams }) {
  const base = `/v1/workspaces/${workspaceId}`;
  const filters = filtersOf(params);
  const ignoredText = filters.ignored.join('; ');
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [notice, dismissNotice] = useNotice();
  const query = (cursor: string | null): string => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), fields: FIELDS });
    if (filters.q) params.set('q', filters.q);
    if (filters.platform) params.set('platform', filters.platform);
    if (cursor) params.set('cursor', cursor);
    return `${base}/posts?${params.toString()}`;
  };
  const firstPage = query(null);

  // The address drops what the page left out, so that a reload or a copied link shows what the
  // page shows (the history entry stays the same one).
  useEffect(() => {
    if (!ignoredText) return;
    const kept = new URLSearchParams();
    if (filters.q) kept.set('q', filters.q);
    if (filters.platform) kept.set('platform', filters.platform);
    const search = kept.toString();
    window.history.replaceState(
      window.history.state,
      '',
      `${window.location.pathname}${search ? `?${search}` : ''}`,
    );
  }, [ignoredText, filters.q, filters.platform]);

  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const [workspace, page] = await Promise.all([
          api<Workspace>('GET', base),
          api<Page<ListedPost>>('GET', firstPage).catch((error: unknown) => {
            // A search the server refuses (its own rules may be stricter than the page's
            // checks) leaves the page standing; any other failure is the page's.
            if (error instanceof ApiError && error.status === 400) return error;
            throw error;
          }),
        ]);
        if (!live) return;
        setState(
          page instanceof ApiError
            ? {
                kind: 'ready',
                workspace,
                posts: [],
                nextCursor: null,
                searchError: messageOf(page),
              }
            : {
                kind: 'ready',
                workspace,
                posts: page.data,
                nextCursor: page.next_cursor,
                searchError: null,
              },
        );
      } catch (error) {
        if (live) setState({ kind: 'failed', error });
      }
    })();
    return () => {
      live = false;
    };
  }, [base, firstPage]);

  if (state.kind === 'loading') return <p role="status">Loading…</p>;
  if (state.kind === 'failed') return <LoadError error={state.error} />;
  const { workspace, posts, nextCursor, searchError } = state;
  const allPosts = `/workspaces/${workspaceId}/posts`;

  const search = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const next = new URLSearchParams();
    const q = fieldText(form, 'q').trim();
    const platform = fieldText(form, 'platform');
    if (q) next.set('q', q);
    if (platform) next.set('platform', platform);
    dismissNotice();
    const search = next.toString();
    navigate(`/workspaces/${workspaceId}/posts${search ? `?${search}` : ''}`);
  };
  const loadMore = async (cursor: string): Promise<void> => {
    const page = await api<Page<ListedPost>>('GET', query(cursor));
    setState((prev) =>
      prev.kind === 'ready'
        ? { ...prev, posts: [...prev.posts, ...page.data], nextCursor: page.next_cursor }
        : prev,
    );
  };

  return (
    <section>
      {notice && <p role="status">{notice}</p>}
      <p>
        <Link to="/">Your workspaces</Link> ›{' '}
        <Link to={`/workspaces/${workspaceId}/analyses`}>{workspace.name}</Link>
      </p>
      <PageHeading title={`Posts · ${workspace.name}`}>Posts</PageHeading>
      {ignoredText && (
        <p role="status">
          This page’s address asked for {ignoredText}: left out, so the posts below are not filtered
          by it.
        </p>
      )}
      {/* Keyed by the search: back and forward show the fields of the search they return to. */}
      <form
        key={`${filters.q}\n${filters.platform}`}
        onSubmit={search}
        role="search"
        aria-label="Posts"
      >
        <Field
          label="Search"
          name="q"
          defaultValue={filters.q}
          maxLength={MAX_SEARCH}
          hint='Words in the text or the author, "a phrase", -word to leave out.'
        />
        <div className="field">
          <label htmlFor="posts-platform">Platform</label>
          <select id="posts-platform" name="platform" defaultValue={filters.platform}>
            <option value="">All</option>
            {(Object.keys(platformNames) as Platform[]).map((p) => (
              <option key={p} value={p}>
                {platformNames[p]}
              </option>
            ))}
          </select>
        </div>
        <p>
          <button type="submit">Search</button>
        </p>
      </form>
      {searchError !== null ? (
        <>
          <ErrorAlert error={`This search could not run: ${searchError}`} />
          <p>
            Change it above, or <Link to={allPosts}>show all posts</Link>.
          </p>
        </>
      ) : posts.length === 0 ? (
        <p>
          {filters.q || filters.platform
            ? 'No posts match.'
            : `No posts in ${workspace.name} yet: import a file from its page.`}
        </p>
      ) : (
        <>
          {/* The API gives no total: how many are shown, and whether there are more. */}
          <p aria-live="polite">
            {nextCursor
              ? `Showing the newest ${count.format(posts.length)} ${filters.q || filters.platform ? 'matching ' : ''}posts; there are more.`
              : `${count.format(posts.length)} ${filters.q || filters.platform ? 'matching ' : ''}${posts.length === 1 ? 'post' : 'posts'}.`}
          </p>
          <TableScroll label="Posts table">
            <table>
              <caption className="visually-hidden">Posts</caption>
              <thead>
                <tr>
                  <th scope="col">Post</th>
                  <th scope="col">Platform</th>
                  <th scope="col">Account</th>
                  <th scope="col">Created</th>
                  <th scope="col" className="num">
                    Likes
                  </th>
                  <th scope="col" className="num">
                    Comments
                  </th>
                  <th scope="col" className="num">
                    Shares
                  </th>
                  <th scope="col" className="num">
                    Views
                  </th>
                </tr>
              </thead>
              <tbody>
                {posts.map((p) => (
                  <tr key={p.id}>
                    <th scope="row" className="post-text">
                      {p.text ?? '(no text)'}
                      {p.url && /^https?:\/\//i.test(p.url) && (
                        <>
                          {' '}
                          <a href={p.url} target="_blank" rel="noopener noreferrer">
                            open
                          </a>
                        </>
                      )}
                    </th>
                    <td>{p.platform ? platformNames[p.platform] : '—'}</td>
                    <td className="account">{p.account_handle ?? p.author ?? '—'}</td>
                    <td>{p.created_at ? dateTime(p.created_at) : '—'}</td>
                    <td className="num">{metric(p.likes)}</td>
                    <td className="num">{metric(p.comments)}</td>
                    <td className="num">{metric(p.shares)}</td>
                    <td className="num">{metric(p.views)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </>
      )}
      <ShowMore next={nextCursor} load={loadMore} />
    </section>
  );
}
