import { useEffect, useState, type FormEvent } from 'react';
import {
  api,
  isPassing,
  type Analysis,
  type AnalysisRequest,
  type Page,
  type Workspace,
} from '../api.js';
import type { AnalysisCreate } from '@socialpulse/contracts';
import { currentNotice, Link, navigate } from '../router.js';
import {
  ErrorAlert,
  Field,
  fieldText,
  PageHeading,
  ShowMore,
  TableScroll,
  useAction,
} from '../ui.js';
import { WorkspaceSettings } from './AnalysisSettings.js';
import { ImportPosts } from './ImportPosts.js';
import {
  count,
  dateTime,
  isFinished,
  LoadError,
  mayAnalyze,
  ProgressOf,
  statusName,
} from './analysis-parts.js';

/** The local engines' sentiment engine an analysis may ask for (the API's `options.sentiment_engine`). */
type SentimentEngine = NonNullable<AnalysisCreate['options']['sentiment_engine']>;

/** Every sentiment engine, with its name for people: the form's choices and the list's column. */
const sentimentEngines = [
  { value: 'default', name: 'Default (model and VADER)' },
  { value: 'model', name: 'Trained model' },
  { value: 'vader', name: 'VADER' },
] as const satisfies readonly { value: SentimentEngine; name: string }[];

// A compile-time check that the list names every engine the contract has: an engine added to
// the API fails the build here until it is offered.
type Unlisted = Exclude<SentimentEngine, (typeof sentimentEngines)[number]['value']>;
const everyEngineListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyEngineListed;

const isSentimentEngine = (value: string): value is SentimentEngine =>
  sentimentEngines.some((e) => e.value === value);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The posts an analysis covered, from its `selection` (a free-form record in the contract, so
 * read defensively): its filter, the chosen posts, the limit. E.g. 'matching "refund" on X, at
 * most 500'.
 */
export function coverageOf(selection: Record<string, unknown>): string {
  const parts: string[] = [];
  const filter = isRecord(selection.filter) ? selection.filter : {};
  if (typeof selection.ids === 'number')
    parts.push(`${count.format(selection.ids)} chosen ${selection.ids === 1 ? 'post' : 'posts'}`);
  if (typeof filter.q === 'string') parts.push(`matching “${filter.q}”`);
  if (typeof filter.platform === 'string') parts.push(`on ${filter.platform}`);
  if (typeof filter.account === 'string') parts.push(`from ${filter.account}`);
  if (typeof filter.since === 'string') parts.push(`since ${dateTime(filter.since)}`);
  if (typeof filter.until === 'string') parts.push(`until ${dateTime(filter.until)}`);
  const described = parts.length > 0 ? parts.join(' ') : 'All posts';
  return typeof selection.limit === 'number'
    ? `${described}, at most ${count.format(selection.limit)}`
    : described;
}

const sentimentEngineOf = (options: Record<string, unknown>): string => {
  const engine = options.sentiment_engine;
  if (typeof engine !== 'string') return '—';
  return sentimentEngines.find((e) => e.value === engine)?.name ?? engine;
};

/** How often the list is read again while one of its analyses is still going. */
const REFRESH_MS = 3_000;
const PAGE_SIZE = 25;

type State =
  | { kind: 'loading' }
  | { kind: 'failed'; error: unknown }
  | {
      kind: 'ready';
      workspace: Workspace;
      /** The first page, read again while any of it is still going. */
      latest: Analysis[];
      /** Pages loaded with "Show more", as they were then. */
      older: Analysis[];
      nextCursor: string | null;
    };

/**
 * A workspace's page: its posts (and a file import to add more), the form that starts an
 * analysis, and its analyses, newest first, kept current while any runs.
 */
export function Analyses({ workspaceId }: { workspaceId: string }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [notice] = useState(currentNotice);
  const [trouble, setTrouble] = useState<string | null>(null);
  // Bumped by an import: the post count (and the list) are read again.
  const [version, setVersion] = useState(0);
  const base = `/v1/workspaces/${workspaceId}`;

  useEffect(() => {
    let live = true;
    let shown = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (): Promise<void> => {
      try {
        const [workspace, page] = await Promise.all([
          api<Workspace>('GET', base),
          api<Page<Analysis>>('GET', `${base}/analyses?limit=${PAGE_SIZE}`),
        ]);
        if (!live) return;
        setState((prev) =>
          prev.kind === 'ready' && prev.older.length > 0
            ? { ...prev, workspace, latest: page.data }
            : {
                kind: 'ready',
                workspace,
                latest: page.data,
                older: [],
                nextCursor: page.next_cursor,
              },
        );
        shown = true;
        setTrouble(null);
        if (page.data.some((a) => !isFinished(a)))
          timer = setTimeout(() => void load(), REFRESH_MS);
      } catch (error) {
        if (!live) return;
        // A passing failure of a refresh keeps the list shown, and the refreshing goes on.
        if (shown && isPassing(error)) {
          setTrouble('The server cannot be reached right now; trying again…');
          timer = setTimeout(() => void load(), REFRESH_MS);
        } else setState({ kind: 'failed', error });
      }
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [base, version]);

  if (state.kind === 'loading') return <p role="status">Loading…</p>;
  if (state.kind === 'failed') return <LoadError error={state.error} />;
  const { workspace, latest, older, nextCursor } = state;
  const analyses = [...latest, ...older.filter((a) => !latest.some((b) => b.id === a.id))];

  const loadMore = async (cursor: string): Promise<void> => {
    const page = await api<Page<Analysis>>(
      'GET',
      `${base}/analyses?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(cursor)}`,
    );
    setState((prev) =>
      prev.kind === 'ready'
        ? { ...prev, older: [...prev.older, ...page.data], nextCursor: page.next_cursor }
        : prev,
    );
  };

  return (
    <section>
      {notice && <p role="status">{notice}</p>}
      {trouble && <p role="status">{trouble}</p>}
      <p>
        <Link to="/">Your workspaces</Link> › {workspace.name}
      </p>
      <PageHeading title={workspace.name}>{workspace.name}</PageHeading>
      <p>
        {count.format(workspace.post_count)} posts in {workspace.name}. An analysis reads them in
        chunks, with SocialPulse&apos;s own engines (sentiment, language, keywords, categories,
        toxicity) and, when the workspace has a model configured, an LLM.
      </p>
      <ul className="links">
        <li>
          <Link to={`/workspaces/${workspaceId}/posts`}>Browse the posts</Link>
        </li>
        <li>
          <Link to={`/workspaces/${workspaceId}/members`}>Members</Link>
        </li>
        <li>
          <Link to={`/workspaces/${workspaceId}/connections`}>Connected accounts</Link>
        </li>
      </ul>
      {mayAnalyze(workspace.role) && (
        <>
          <ImportPosts workspaceId={workspaceId} onImported={() => setVersion((v) => v + 1)} />
          <StartAnalysis workspaceId={workspaceId} />
        </>
      )}
      {(workspace.role === 'owner' || workspace.role === 'admin') && (
        <WorkspaceSettings workspaceId={workspaceId} />
      )}
      <h3>Analyses</h3>
      {analyses.length === 0 ? (
        <p>No analyses yet.</p>
      ) : (
        <TableScroll label="Analyses table">
          <table>
            <caption className="visually-hidden">Analyses</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Posts</th>
                <th scope="col">Engines</th>
                <th scope="col">Sentiment</th>
                <th scope="col">Progress</th>
              </tr>
            </thead>
            <tbody>
              {analyses.map((a) => (
                <tr key={a.id}>
                  <th scope="row">
                    <Link to={`/workspaces/${workspaceId}/analyses/${a.id}`}>
                      {dateTime(a.created_at)}
                    </Link>
                  </th>
                  <td>{statusName(a.status)}</td>
                  <td className="post-text">{coverageOf(a.selection)}</td>
                  <td>{a.engines.join(', ')}</td>
                  <td>{sentimentEngineOf(a.options)}</td>
                  <td>
                    <ProgressOf analysis={a} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <ShowMore next={nextCursor} load={loadMore} />
    </section>
  );
}

/** Starts an analysis of the workspace's posts and opens its page. */
function StartAnalysis({ workspaceId }: { workspaceId: string }) {
  const action = useAction();
  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const engines = data.getAll('engine').filter((e) => e === 'local' || e === 'llm');
    const sentimentEngine = fieldText(form, 'sentiment_engine');
    void action.run(async () => {
      if (engines.length === 0) throw new Error('Choose at least one engine.');
      const body: AnalysisRequest = {
        engines,
        posts: { limit: Number(fieldText(form, 'limit')) },
        // The select offers only listed engines; anything else is left to the server's default.
        options: isSentimentEngine(sentimentEngine) ? { sentiment_engine: sentimentEngine } : {},
      };
      const query = fieldText(form, 'q').trim();
      if (query) body.posts = { ...body.posts, filter: { q: query } };
      const created = await api<Analysis>('POST', `/v1/workspaces/${workspaceId}/analyses`, body);
      navigate(`/workspaces/${workspaceId}/analyses/${created.id}`);
    });
  };
  return (
    <form onSubmit={submit} aria-labelledby="start-analysis">
      <h3 id="start-analysis">Start an analysis</h3>
      <fieldset>
        <legend>Engines</legend>
        <label>
          <input type="checkbox" name="engine" value="local" defaultChecked /> SocialPulse engines
          (local, free)
        </label>{' '}
        <label>
          <input type="checkbox" name="engine" value="llm" /> The workspace&apos;s LLM (topics,
          categories, a summary; counts against its monthly budget)
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor="sentiment-engine">Sentiment</label>
        <select id="sentiment-engine" name="sentiment_engine" defaultValue="default">
          {sentimentEngines.map((e) => (
            <option key={e.value} value={e.value}>
              {e.name}
            </option>
          ))}
        </select>
      </div>
      <Field
        label="Posts matching (optional)"
        name="q"
        hint='Full-text search in text and author: words, "a phrase", -word to leave out. All posts when empty.'
        maxLength={500}
      />
      <Field
        label="At most this many posts (oldest first)"
        name="limit"
        type="number"
        min={1}
        max={1_000_000}
        step={1}
        defaultValue={100_000}
        required
      />
      <p>
        <button type="submit" disabled={action.busy}>
          Start analysis
        </button>
      </p>
      <ErrorAlert error={action.error} />
    </form>
  );
}
