import { useCallback, useEffect, useRef, useState, type ChangeEvent, type MouseEvent } from 'react';
import type { analysisCostSchema } from '@socialpulse/contracts';
import {
  api,
  ApiError,
  isPassing,
  messageOf,
  type Analysis,
  type AnalysisResult,
  type Page,
  type Workspace,
} from '../api.js';
import { followEvents } from '../live.js';
import { Link } from '../router.js';
import { ErrorAlert, PageHeading, plainDecimal, ShowMore, TableScroll, useAction } from '../ui.js';
import {
  aboutDuration,
  count,
  dateTime,
  isFinished,
  LoadError,
  mayAnalyze,
  partialNote,
  ProgressOf,
  selectionText,
  statusName,
} from './analysis-parts.js';

/** GET …/cost: every model call the analysis made, as traced (what counted against the budget). */
type AnalysisCost = ReturnType<(typeof analysisCostSchema)['parse']>;

type State =
  | { kind: 'loading' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'ready'; workspace: Workspace; analysis: Analysis };

/** What happened that the numbers do not show: failed chunks, pauses, the summary's fate. */
interface Activity {
  id: number;
  text: string;
}

/** Results read at a time: a first look, with "Show more" for the rest. */
const RESULTS_PAGE = 20;
const sentimentLabels = ['positive', 'neutral', 'negative'] as const;

/** How long after an LLM analysis ends its job summary is waited for (the server's grace). */
const SUMMARY_WAIT_MS = 300_000;

/**
 * An analysis that asked the LLM sends its job summary's event after its final one: until
 * then (or the server's grace), the page keeps following it.
 */
const awaitingSummary = (a: Analysis, summarySeen: boolean): boolean =>
  a.engines.includes('llm') &&
  (a.status === 'completed' || a.status === 'completed_with_errors') &&
  a.summary === null &&
  !summarySeen &&
  a.finished_at !== null &&
  Date.now() - Date.parse(a.finished_at) < SUMMARY_WAIT_MS;

const PASSING_TROUBLE = 'The server cannot be reached right now; trying again…';

/** Why the page stopped following, after a read of the analysis it follows was refused. */
function readsEnded(error: unknown): string {
  const shown = 'What is shown is the analysis as it was last read.';
  if (error instanceof ApiError && (error.status === 404 || error.status === 403))
    return `This analysis can no longer be read: it was deleted, or your access to its workspace changed. ${shown}`;
  return `The analysis could not be read again (${messageOf(error)}). ${shown}`;
}

/**
 * One analysis, live: while it may still change, the page follows the server's event stream
 * (each event makes it read the analysis again); then its aggregates, summary, first results
 * and exports. A finished analysis is read once, not replayed.
 */
export function AnalysisPage({
  workspaceId,
  analysisId,
}: {
  workspaceId: string;
  analysisId: string;
}) {
  const path = `/v1/workspaces/${workspaceId}/analyses/${analysisId}`;
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [activity, setActivity] = useState<Activity[]>([]);
  const [streamEnded, setStreamEnded] = useState<string | null>(null);
  const [trouble, setTrouble] = useState<string | null>(null);
  const action = useAction();
  const statusRef = useRef<HTMLElement>(null);

  // One read at a time: callers during a read get that read's promise, and it reads once more
  // before settling, so every caller gets a state at least as new as its event.
  const inFlight = useRef<Promise<Analysis> | null>(null);
  const readAgain = useRef(false);
  const reread = useCallback((): Promise<Analysis> => {
    if (inFlight.current) {
      readAgain.current = true;
      return inFlight.current;
    }
    const reading = (async () => {
      try {
        let analysis: Analysis;
        do {
          readAgain.current = false;
          analysis = await api<Analysis>('GET', path);
          setState((prev) => (prev.kind === 'ready' ? { ...prev, analysis } : prev));
        } while (readAgain.current);
        setTrouble(null);
        return analysis;
      } finally {
        inFlight.current = null;
      }
    })();
    inFlight.current = reading;
    return reading;
  }, [path]);

  /**
   * A failed read while following: passing ones (no connection, 5xx) are retried; others stop
   * the live view, and the page keeps what it last read (a reader removed from the workspace
   * sees why, not an error in place of the page).
   */
  const readFailed = useCallback((error: unknown): void => {
    if (isPassing(error)) setTrouble(PASSING_TROUBLE);
    else {
      setTrouble(null);
      setStreamEnded((ended) => ended ?? readsEnded(error));
    }
  }, []);

  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const [workspace, analysis] = await Promise.all([
          api<Workspace>('GET', `/v1/workspaces/${workspaceId}`),
          api<Analysis>('GET', path),
        ]);
        if (live) setState({ kind: 'ready', workspace, analysis });
      } catch (error) {
        if (live) setState({ kind: 'failed', error });
      }
    })();
    return () => {
      live = false;
    };
  }, [path, workspaceId]);

  // Followed while it may change: a stream ends after an analysis's last event, and a retry or
  // resume starts a new run, followed from the last event seen.
  const lastEventId = useRef(0);
  // Set by the summary's event, which then makes the page read the analysis (and render).
  const summarySeen = useRef(false);
  const mayChange = (a: Analysis): boolean =>
    !isFinished(a) || awaitingSummary(a, summarySeen.current);
  const following = state.kind === 'ready' && streamEnded === null && mayChange(state.analysis);
  useEffect(() => {
    if (!following) return;
    return followEvents(`${path}/events`, lastEventId.current, {
      onEvent(type, data, id) {
        lastEventId.current = id;
        if (type === 'summary') summarySeen.current = true;
        const note = activityOf(type, data);
        if (note) setActivity((list) => [{ id, text: note }, ...list].slice(0, 20));
        reread().catch(readFailed);
      },
      onRevoked(message) {
        setStreamEnded(message);
      },
      async mayContinue() {
        try {
          return mayChange(await reread());
        } catch (error) {
          readFailed(error);
          return isPassing(error);
        }
      },
    });
  }, [following, path, reread, readFailed]);

  if (state.kind === 'loading') return <p role="status">Loading…</p>;
  if (state.kind === 'failed') return <LoadError error={state.error} />;
  const { workspace, analysis: a } = state;
  const canAct = mayAnalyze(workspace.role);
  const act = (verb: 'cancel' | 'retry') => (): void =>
    void action.run(async () => {
      const analysis = await api<Analysis>('POST', `${path}/${verb}`);
      setState({ kind: 'ready', workspace, analysis });
      // The button pressed is gone: the status it changed takes the focus (and is read out).
      statusRef.current?.focus();
    });
  const retryName =
    a.status === 'paused_budget' || a.status === 'cancelled' ? 'Resume' : 'Retry failed chunks';
  const error = a.error as { message?: unknown; code?: unknown } | null;
  const errorText = (['message', 'code'] as const)
    .map((k) => error?.[k])
    .find((v): v is string => typeof v === 'string');

  return (
    <section>
      <p>
        <Link to="/">Your workspaces</Link> ›{' '}
        <Link to={`/workspaces/${workspaceId}/analyses`}>{workspace.name}</Link>
      </p>
      <PageHeading title={`Analysis · ${workspace.name}`}>
        Analysis of {count.format(a.total_posts)} posts
      </PageHeading>
      {trouble && <p role="status">{trouble}</p>}
      <dl className="facts">
        <dt>Status</dt>
        <dd aria-live="polite" data-status={a.status} ref={statusRef} tabIndex={-1}>
          {statusName(a.status)}
        </dd>
        <dt>Progress</dt>
        <dd>
          <ProgressOf analysis={a} />
          <br />
          <span>
            {count.format(a.chunks_done)} of {count.format(a.chunk_count)} chunks of{' '}
            {count.format(a.chunk_size)} posts
            {a.chunks_failed > 0 && `, ${count.format(a.chunks_failed)} failed`}
          </span>
        </dd>
        {!isFinished(a) && (
          <>
            <dt>Time left</dt>
            <dd>
              {a.status === 'paused_budget'
                ? 'paused'
                : a.estimated_seconds_left === null
                  ? 'not known yet'
                  : a.estimated_seconds_left === 0
                    ? 'none'
                    : aboutDuration(a.estimated_seconds_left)}
              {a.queue_position !== null &&
                ` (${count.format(a.queue_position)} chunk jobs ahead in the queue)`}
            </dd>
          </>
        )}
        <dt>Posts</dt>
        <dd>{selectionText(a.selection)}</dd>
        <dt>Engines</dt>
        <dd>{a.engines.join(', ')}</dd>
        {a.engines.includes('local') && typeof a.options.sentiment_engine === 'string' && (
          <>
            <dt>Sentiment engine</dt>
            <dd>{a.options.sentiment_engine}</dd>
          </>
        )}
        <dt>Started</dt>
        <dd>{dateTime(a.created_at)}</dd>
        {a.finished_at && (
          <>
            <dt>Finished</dt>
            <dd>{dateTime(a.finished_at)}</dd>
          </>
        )}
        {a.engines.includes('llm') && <LlmCost path={path} analysis={a} />}
      </dl>
      {a.status === 'paused_budget' ? (
        <p className="error" role="alert">
          {errorText ?? 'The workspace’s monthly LLM budget is reached.'}. To go on,{' '}
          {/* An unpriced model's calls cannot be counted: a larger budget would change nothing. */}
          {error?.code === 'llm_budget_unpriced_model'
            ? "remove the workspace's monthly LLM budget or choose a model with a price"
            : "raise the workspace's monthly LLM budget or wait for next month"}{' '}
          (an owner or admin, on{' '}
          <Link to={`/workspaces/${workspaceId}/analyses`}>the workspace&apos;s page</Link>), then
          resume the analysis.
        </p>
      ) : (
        errorText && (
          <p className="error" role="alert">
            {errorText}
          </p>
        )
      )}
      {streamEnded && (
        <p className="error" role="alert">
          Live updates stopped: {streamEnded}
        </p>
      )}
      {canAct && (
        <p className="actions">
          {!isFinished(a) && (
            <button type="button" disabled={action.busy} onClick={act('cancel')}>
              Cancel analysis
            </button>
          )}{' '}
          {(a.status === 'paused_budget' ||
            a.status === 'cancelled' ||
            a.status === 'failed' ||
            a.status === 'completed_with_errors') && (
            <button type="button" disabled={action.busy} onClick={act('retry')}>
              {retryName}
            </button>
          )}
        </p>
      )}
      <ErrorAlert error={action.error} />
      {activity.length > 0 && <h3 id="activity">Activity</h3>}
      {/* Always there, so that what is added to it is announced. */}
      <ul aria-labelledby="activity" aria-live="polite">
        {activity.map((item) => (
          <li key={item.id}>{item.text}</li>
        ))}
      </ul>
      {a.total_posts === 0 && isFinished(a) && (
        <p>
          No posts matched this analysis&apos;s selection ({selectionText(a.selection)}), so there
          is nothing to show.
        </p>
      )}
      {a.aggregates && a.total_posts > 0 && <Aggregates analysis={a} />}
      {a.chunks_done > 0 && <Results path={path} analysis={a} />}
    </section>
  );
}

/** The line an event adds to the activity list (progress itself shows in the numbers). */
function activityOf(type: string, data: unknown): string | null {
  const d = (data ?? {}) as {
    seq?: number;
    attempt?: number;
    will_retry?: boolean;
    error?: { message?: string; code?: string } | null;
    summary?: string | null;
    reason?: string | null;
  };
  const why = d.error?.message ?? d.error?.code ?? 'unknown error';
  const chunk = typeof d.seq === 'number' ? `Chunk ${d.seq + 1}` : 'A chunk';
  switch (type) {
    case 'chunk_failed':
      return `${chunk} failed (attempt ${d.attempt ?? '?'}): ${why}.${d.will_retry ? ' It will be retried.' : ''}`;
    case 'chunk_dead':
      return `${chunk} gave up after its retries: ${why}.`;
    case 'paused':
      return `Paused: ${why}.`;
    case 'summary':
      return d.summary
        ? 'The job summary is ready.'
        : `No job summary: ${d.error?.message ?? d.reason ?? 'no reason given'}.`;
    default:
      return null;
  }
}

/**
 * What the analysis's model calls cost: every traced call (GET …/cost), which is what was spent
 * and counted against the budget, including a discarded or timed-out attempt's and the job
 * summary's; the stored results' share beside it when it differs. Calls of a model without a
 * price are said to be of unknown cost, never $0.
 */
function LlmCost({ path, analysis: a }: { path: string; analysis: Analysis }) {
  const [cost, setCost] = useState<AnalysisCost | null>(null);
  const [failed, setFailed] = useState(false);
  // Read again as the analysis changes: each chunk, its end, its summary.
  const version = `${a.status}:${a.chunks_done}:${a.chunks_failed}:${a.summary !== null}:${a.usage.cost_usd}`;
  useEffect(() => {
    let live = true;
    api<AnalysisCost>('GET', `${path}/cost`).then(
      (c) => {
        if (!live) return;
        setCost(c);
        setFailed(false);
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [path, version]);
  // Exact, as stored: cents would hide what a run of cheap calls cost, and make the stored
  // results' share look equal to the whole.
  const usd = (decimal: string): string => `$${plainDecimal(decimal)}`;
  const stored = a.usage;
  const calls = (n: number): string => `${count.format(n)} ${n === 1 ? 'call' : 'calls'}`;
  return (
    <>
      <dt>LLM cost</dt>
      <dd data-testid="llm-cost">
        {cost === null ? (
          failed ? (
            'could not be read'
          ) : (
            'reading…'
          )
        ) : cost.calls === 0 ? (
          'no model calls yet'
        ) : (
          <>
            {cost.unpriced_calls === cost.calls
              ? 'unknown (a model without a price)'
              : usd(cost.cost_usd)}{' '}
            for {calls(cost.calls)}
            {cost.errors > 0 && ` (${count.format(cost.errors)} failed)`},{' '}
            {count.format(cost.input_tokens)} input and {count.format(cost.output_tokens)} output
            tokens
            {cost.unpriced_calls > 0 &&
              cost.unpriced_calls < cost.calls &&
              `, plus ${calls(cost.unpriced_calls)} of a model without a price (cost unknown)`}
            {plainDecimal(stored.cost_usd) !== plainDecimal(cost.cost_usd) && (
              <>
                <br />
                <span>
                  of which the stored results’ calls: {usd(stored.cost_usd)}; the rest went to the
                  job summary and to attempts whose results were not kept (failed, timed out or
                  cancelled)
                </span>
              </>
            )}
          </>
        )}
      </dd>
    </>
  );
}

/**
 * Why the local engines gave a post no sentiment, in words; the codes are the API's
 * (`sentiment.reason`), shown as the cell's title.
 */
const noSentimentReasons: Readonly<Record<string, string>> = {
  unsupported_language: 'not analysed: language not supported',
  undetermined_language: 'not analysed: language could not be determined',
  empty_text: 'not analysed: empty text',
};

/** The words for a reason code, known or not (a newer server may send one this page lacks). */
const noSentimentText = (reason: string): string =>
  noSentimentReasons[reason] ?? `not analysed: ${reason.replaceAll('_', ' ')}`;

/** A result's local sentiment cell: the label and score, the error, or why there is none. */
function SentimentCell({ result: r }: { result: AnalysisResult }) {
  if (r.error) return <td>error: {r.error}</td>;
  if (r.sentiment?.label)
    return (
      <td>
        {r.sentiment.label} ({r.sentiment.score?.toFixed(2) ?? '—'})
      </td>
    );
  const reason = r.sentiment?.reason;
  return reason ? <td title={reason}>{noSentimentText(reason)}</td> : <td>—</td>;
}

const share = (n: number, total: number): string =>
  total > 0 ? `${Math.round((100 * n) / total)}%` : '—';

/** The analysis's distributions, top topics and keywords, categories and summary. */
function Aggregates({ analysis }: { analysis: Analysis }) {
  const agg = analysis.aggregates as {
    sentiment?: Record<string, number>;
    llm_sentiment?: Record<string, number>;
    mean_score?: number | null;
    top_topics?: { topic: string; count: number }[];
    top_keywords?: { keyword: string; count: number }[];
    categories?: Record<string, number>;
    toxic?: number;
  };
  const partial = partialNote(analysis);
  const distribution = (title: string, counts: Record<string, number> | undefined) => {
    if (!counts || Object.keys(counts).length === 0) return null;
    const total = Object.values(counts).reduce((s, n) => s + n, 0);
    const rows = [
      ...sentimentLabels.filter((l) => l in counts),
      ...Object.keys(counts).filter((k) => !(sentimentLabels as readonly string[]).includes(k)),
    ];
    return (
      <TableScroll label={`${title} table`}>
        <table>
          <caption>{title}</caption>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Posts</th>
              <th scope="col">Share</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((label) => (
              <tr key={label}>
                <th scope="row">{label === 'none' ? 'no answer' : label}</th>
                <td>{count.format(counts[label] ?? 0)}</td>
                <td>
                  <meter min={0} max={total} value={counts[label] ?? 0} aria-hidden="true" />{' '}
                  {share(counts[label] ?? 0, total)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    );
  };
  return (
    <>
      <h3>Results overview</h3>
      {partial && <p>{partial}</p>}
      {analysis.engines.includes('local') && (
        <>
          {distribution('Sentiment (SocialPulse engines)', agg.sentiment)}
          {typeof agg.mean_score === 'number' && <p>Mean sentiment score: {agg.mean_score}</p>}
        </>
      )}
      {distribution('Sentiment (LLM)', agg.llm_sentiment)}
      {agg.top_topics && agg.top_topics.length > 0 && (
        <p>
          Top topics:{' '}
          {agg.top_topics.map((t) => `${t.topic} (${count.format(t.count)})`).join(', ')}
        </p>
      )}
      {agg.categories && Object.keys(agg.categories).length > 0 && (
        <p>
          Categories:{' '}
          {Object.entries(agg.categories)
            .sort((x, y) => y[1] - x[1])
            .map(([c, n]) => `${c} (${count.format(n)})`)
            .join(', ')}
        </p>
      )}
      {agg.top_keywords && agg.top_keywords.length > 0 && (
        <p>
          Top keywords:{' '}
          {agg.top_keywords.map((k) => `${k.keyword} (${count.format(k.count)})`).join(', ')}
        </p>
      )}
      {analysis.engines.includes('local') && typeof agg.toxic === 'number' && (
        <p>Posts flagged as toxic: {count.format(agg.toxic)}</p>
      )}
      {analysis.summary && (
        <>
          <h4>Summary</h4>
          <p className="summary">{analysis.summary}</p>
        </>
      )}
    </>
  );
}

/** The counts the results filters and the overview share (the aggregates are an open record). */
interface Aggregated {
  sentiment?: Record<string, number>;
  llm_sentiment?: Record<string, number>;
  top_topics?: { topic: string; count: number }[];
  categories?: Record<string, number>;
}

/** A result's categories: a workspace rule's (the local engines) and the model's. */
function categoriesOf(r: AnalysisResult): string[] {
  const rules = Array.isArray(r.local?.categories) ? r.local.categories : [];
  const all = new Set(rules.filter((c): c is string => typeof c === 'string'));
  if (r.llm?.category) all.add(r.llm.category);
  return [...all];
}

/**
 * The results, a page at a time, filtered by sentiment, category and topic (combined), and the
 * exports of exactly what the filters select.
 */
function Results({ path, analysis }: { path: string; analysis: Analysis }) {
  const [label, setLabel] = useState('');
  const [category, setCategory] = useState('');
  const [topic, setTopic] = useState('');
  const [results, setResults] = useState<AnalysisResult[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const local = analysis.engines.includes('local');
  const llm = analysis.engines.includes('llm');
  const agg = (analysis.aggregates ?? {}) as Aggregated;
  const sentimentCounts = local ? agg.sentiment : agg.llm_sentiment;
  const categories = Object.entries(agg.categories ?? {})
    .sort((x, y) => y[1] - x[1])
    .map(([c]) => c);
  const topics = (agg.top_topics ?? []).map((t) => t.topic);

  const params = new URLSearchParams();
  // Without the local engines, the sentiment to filter on is the model's.
  if (label) params.set(local ? 'label' : 'llm_sentiment', label);
  if (category) params.set('category', category);
  if (topic) params.set('topic', topic);
  const filter = params.toString();

  // What is shown, for the reads below: a cursor is bound to its filters, so a page read for
  // other filters than the current ones is dropped; a re-read keeps as many rows as are shown.
  const current = useRef({ filter, shown: 0 });
  current.current.filter = filter;
  current.current.shown = results?.length ?? 0;
  const shownFilter = useRef<string | null>(null);

  // Read again as chunks are stored (the first rows fill up), not on every other change.
  const done = analysis.chunks_done;
  useEffect(() => {
    let live = true;
    const same = shownFilter.current === filter;
    const limit = same
      ? Math.min(1000, Math.max(RESULTS_PAGE, current.current.shown))
      : RESULTS_PAGE;
    if (!same) setResults(null);
    api<Page<AnalysisResult>>(
      'GET',
      `${path}/results?limit=${limit}${filter ? `&${filter}` : ''}`,
    ).then(
      (page) => {
        if (!live) return;
        shownFilter.current = filter;
        setResults(page.data);
        setNext(page.next_cursor);
        setError(null);
      },
      (e: unknown) => live && setError(messageOf(e)),
    );
    return () => {
      live = false;
    };
  }, [path, filter, done]);

  const loadMore = async (cursor: string): Promise<void> => {
    const asked = filter;
    const page = await api<Page<AnalysisResult>>(
      'GET',
      `${path}/results?limit=${RESULTS_PAGE}${asked ? `&${asked}` : ''}&cursor=${encodeURIComponent(cursor)}`,
    );
    if (current.current.filter !== asked) return;
    setResults((shown) => [...(shown ?? []), ...page.data]);
    setNext(page.next_cursor);
  };

  // The export is a plain download; renew an expired access token first (reading renews it).
  const download = (event: MouseEvent<HTMLAnchorElement>): void => {
    event.preventDefault();
    const href = event.currentTarget.href;
    api<Analysis>('GET', path).then(
      () => window.location.assign(href),
      (e: unknown) =>
        setError(e instanceof ApiError ? messageOf(e) : 'The export could not be started.'),
    );
  };
  const exportHref = (format: 'csv' | 'jsonl'): string =>
    `${path}/results?format=${format}${filter ? `&${filter}` : ''}`;

  const what = [
    label === 'none' ? 'results without a sentiment label' : `${label ? `${label} ` : ''}results`,
    category && `in category “${category}”`,
    topic && `on topic “${topic}”`,
  ]
    .filter(Boolean)
    .join(' ');
  // The aggregates count each sentiment label (and, with the local engines, every result); a
  // category or topic combined with it has no count, so only what is shown is said then.
  const total =
    category || topic
      ? undefined
      : label
        ? (sentimentCounts?.[label] ?? 0)
        : local && sentimentCounts
          ? Object.values(sentimentCounts).reduce((sum, n) => sum + n, 0)
          : undefined;
  const shownText =
    results === null
      ? ''
      : total !== undefined
        ? `Showing ${count.format(results.length)} of ${count.format(Math.max(total, results.length))} ${what}.`
        : `Showing ${count.format(results.length)} ${what}${next ? '; there are more' : ''}.`;
  const select = (
    id: string,
    name: string,
    value: string,
    set: (v: string) => void,
    options: readonly (readonly [string, string])[],
  ) => (
    <div className="field">
      <label htmlFor={id}>{name}</label>
      <select
        id={id}
        value={value}
        onChange={(e: ChangeEvent<HTMLSelectElement>) => set(e.target.value)}
      >
        <option value="">All</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <>
      <h3>Results</h3>
      {select('result-label', 'Sentiment', label, setLabel, [
        ...sentimentLabels.map((l) => [l, l] as const),
        ...(local && (agg.sentiment?.none ?? 0) > 0 ? [['none', 'no label'] as const] : []),
      ])}
      {categories.length > 0 &&
        select(
          'result-category',
          'Category',
          category,
          setCategory,
          categories.map((c) => [c, c] as const),
        )}
      {topics.length > 0 &&
        select(
          'result-topic',
          'Topic',
          topic,
          setTopic,
          topics.map((t) => [t, t] as const),
        )}
      <p>
        Export {filter ? `the ${what}` : 'every result'}:{' '}
        <a href={exportHref('csv')} onClick={download}>
          CSV
        </a>{' '}
        ·{' '}
        <a href={exportHref('jsonl')} onClick={download}>
          JSON lines
        </a>
      </p>
      <ErrorAlert error={error} />
      {/* Always there, so that the count a filter change brings is announced. */}
      <p role="status">{results === null ? 'Loading results…' : results.length > 0 && shownText}</p>
      {results !== null && results.length === 0 && (
        <p>
          No {what}
          {isFinished(analysis) ? '' : ' yet'}.
        </p>
      )}
      {results !== null && results.length > 0 && (
        <TableScroll label="Results table">
          <table>
            <caption className="visually-hidden">Results</caption>
            <thead>
              <tr>
                <th scope="col">Post</th>
                {local && <th scope="col">Sentiment</th>}
                {local && <th scope="col">Language</th>}
                {llm && <th scope="col">LLM sentiment</th>}
                {llm && <th scope="col">Topic</th>}
                <th scope="col">Categories</th>
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <tr key={r.post_id}>
                  <th scope="row" className="post-text">
                    {r.text ?? `${r.platform} ${r.external_id}`}
                  </th>
                  {local && <SentimentCell result={r} />}
                  {local && <td>{r.language ?? '—'}</td>}
                  {llm && (
                    <td>
                      {r.llm?.status === 'unlabelled'
                        ? 'not labelled'
                        : (r.llm?.sentiment ?? (r.error ? `error: ${r.error}` : '—'))}
                    </td>
                  )}
                  {llm && <td>{r.llm?.topic ?? '—'}</td>}
                  <td>{categoriesOf(r).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {results !== null && <ShowMore next={next} load={loadMore} />}
    </>
  );
}
