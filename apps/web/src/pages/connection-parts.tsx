/**
 * What the connections page shares: platform and status words, the two ways to connect, and the
 * workspace's failed requests (dead letters).
 */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type {
  ConnectionView,
  DeadLetterView,
  OAuthPlatformList,
  SyncRunView,
} from '@socialpulse/contracts';
import { api, fieldOfError, messageOf, type DeadLetterReplay, type Page } from '../api.js';
import { ErrorAlert, fieldText, ShowMore, TableScroll, useAction } from '../ui.js';
import { count, dateTime } from './analysis-parts.js';

/** The platforms SocialPulse has a connector for (the others come in through imports only). */
export const connectablePlatforms = {
  x: 'X',
  youtube: 'YouTube',
  instagram: 'Instagram',
  tiktok: 'TikTok',
  bluesky: 'Bluesky',
  mastodon: 'Mastodon',
  reddit: 'Reddit',
} as const;
export type ConnectablePlatform = keyof typeof connectablePlatforms;

/** Platforms with a sign-in flow on the server (connectors/oauth/providers.ts); Mastodon asks for its instance. */
const oauthButtons: readonly ConnectablePlatform[] = [
  'x',
  'youtube',
  'instagram',
  'tiktok',
  'reddit',
];

export const platformName = (platform: string): string =>
  (connectablePlatforms as Record<string, string>)[platform] ?? platform;

/** "@acme", "u/acme" on Reddit; the platform id when the platform gave no handle. */
export function accountName(c: Pick<ConnectionView, 'platform' | 'account' | 'id'>): string {
  const { handle, external_id } = c.account;
  if (handle) return c.platform === 'reddit' ? `u/${handle}` : `@${handle.replace(/^@/, '')}`;
  return external_id ?? c.id;
}

/** "@acme on X": how the page names a connection in buttons and messages. */
export const connectionName = (c: ConnectionView): string =>
  `${accountName(c)} on ${platformName(c.platform)}`;

const statusNames: Record<ConnectionView['status'], string> = {
  pending: 'Waiting for its first sync',
  active: 'Active',
  platform_auth_expired: 'Sign-in expired',
  paused: 'Paused',
  error: 'Error',
  disconnected: 'Disconnected',
};
export const statusName = (status: ConnectionView['status']): string => statusNames[status];

/** The platform's reason for the last failure, as the sync recorded it (a connector error). */
export function lastErrorMessage(c: ConnectionView): string | null {
  const message = c.last_error?.['message'];
  return typeof message === 'string' && message !== '' ? message : null;
}

const runStatusNames: Record<SyncRunView['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  partial: 'Partly collected',
  failed: 'Failed',
};
const triggerNames: Record<SyncRunView['trigger'], string> = {
  schedule: 'scheduled',
  manual: 'sync now',
  webhook: 'platform notification',
  replay: 'replay',
};

export const isRunning = (run: SyncRunView): boolean =>
  run.status === 'queued' || run.status === 'running';

const plural = (n: number, one: string, many: string): string =>
  `${count.format(n)} ${n === 1 ? one : many}`;

/** A run in one line: "Completed 3 Jan, 10:00 (scheduled): 12 posts, 30 metric snapshots". */
export function runSummary(run: SyncRunView): string {
  const at = run.finished_at ?? run.started_at ?? run.queued_at;
  const head = `${runStatusNames[run.status]} ${dateTime(at)} (${triggerNames[run.trigger]}${run.kind === 'metrics' ? ', metrics' : ''})`;
  if (isRunning(run)) return head;
  return `${head}: ${plural(run.posts_collected, 'post', 'posts')}, ${plural(run.snapshots, 'metric snapshot', 'metric snapshots')}`;
}

/** What a run could not collect and why, and its error: the lines under its summary. */
export function runProblems(run: SyncRunView): string[] {
  const lines = run.gaps.map(
    (g) =>
      `Not collected: ${g.detail || g.what} (${g.reason}${g.count > 1 ? `, ${count.format(g.count)}` : ''})${g.reset_at ? `; limit resets ${dateTime(g.reset_at)}` : ''}`,
  );
  const message = run.error?.['message'];
  if (typeof message === 'string' && message !== '') lines.push(`Error: ${message}`);
  return lines;
}

/**
 * A form's submission state with the server's error placed at the field it names: the form's
 * own input names are the request's field names, so the error goes beside that input (and the
 * input takes the focus); an error naming no field of the form is shown under the form.
 */
function useFieldAction(fieldFor: (apiField: string) => string | null) {
  const action = useAction();
  const [field, setField] = useState<string | null>(null);
  const run = (form: HTMLFormElement, work: () => Promise<void>): Promise<void> =>
    action.run(async () => {
      setField(null);
      try {
        await work();
      } catch (error) {
        const apiField = fieldOfError(error);
        const name = apiField === null ? null : fieldFor(apiField);
        setField(name);
        if (name !== null)
          requestAnimationFrame(() =>
            (form.elements.namedItem(name) as HTMLElement | null)?.focus(),
          );
        throw error;
      }
    });
  return { ...action, field, run };
}

type FieldError = { field: string | null; error: string | null };

/** A labelled control with a hint, and the server's error when it names this control. */
function Control({
  label,
  name,
  hint,
  failed,
  children,
}: {
  label: string;
  name: string;
  hint?: string;
  failed: FieldError;
  children: (props: {
    id: string;
    name: string;
    'aria-describedby'?: string;
    'aria-invalid'?: true;
  }) => ReactNode;
}) {
  const id = useId();
  const mine = failed.field === name && failed.error !== null;
  const described = [hint ? `${id}-hint` : '', mine ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        name,
        ...(described ? { 'aria-describedby': described } : {}),
        ...(mine ? { 'aria-invalid': true } : {}),
      })}
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      {mine && (
        <p id={`${id}-error`} role="alert" className="error">
          {failed.error}
        </p>
      )}
    </div>
  );
}

/** The error under the form, unless it is shown beside the field it names. */
const FormError = ({ failed }: { failed: FieldError }) => (
  <ErrorAlert error={failed.field === null ? failed.error : null} />
);

interface OAuthStarted {
  authorization_url: string;
}

/**
 * The platforms whose sign-in the operator configured (`GET /v1/oauth/platforms`); null while
 * it is read. If it cannot be read, every platform is offered and a refusal is shown as the
 * server words it, as a button for an unconfigured one would be refused anyway.
 */
function useOAuthPlatforms(): readonly string[] | null {
  const [platforms, setPlatforms] = useState<readonly string[] | null>(null);
  useEffect(() => {
    let live = true;
    api<OAuthPlatformList>('GET', '/v1/oauth/platforms').then(
      (list) => live && setPlatforms(list.platforms),
      () => live && setPlatforms([...oauthButtons, 'mastodon']),
    );
    return () => {
      live = false;
    };
  }, []);
  return platforms;
}

const POLL_HINT =
  'From 5 to 1440 (a day). Left empty: every 30 minutes for a new account; an account connected again keeps its interval.';

/** The poll interval to send: none when left empty, so that a reconnect keeps the stored one. */
function pollMinutes(value: string): { poll_minutes?: number } {
  return value.trim() === '' ? {} : { poll_minutes: Number(value) };
}

/**
 * "Connect with <platform>": the server starts the flow and the browser goes to the platform's
 * consent page, which sends it back to this page with `connection_id` or `oauth_error`. Only the
 * platforms whose sign-in the operator configured are offered: a button that can only be
 * refused ("No OAuth client is configured") is a dead end for the people who see it.
 */
export function ConnectWithOAuth({ base, returnTo }: { base: string; returnTo: string }) {
  const ids = useId();
  const action = useFieldAction((f) => (f === 'instance' || f === 'poll_minutes' ? f : null));
  const [poll, setPoll] = useState('');
  const failed = { field: action.field, error: action.error };
  const configured = useOAuthPlatforms();

  const start = (form: HTMLFormElement, platform: ConnectablePlatform, instance?: string) =>
    void action.run(form, async () => {
      const started = await api<OAuthStarted>('POST', `${base}/connections/oauth`, {
        platform,
        ...(instance !== undefined ? { instance } : {}),
        ...pollMinutes(poll),
        return_to: returnTo,
      });
      // Leaves the dashboard for the platform's consent page; the platform sends the browser back here.
      window.location.assign(started.authorization_url);
    });
  const startButton = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const platform = submitter?.value as ConnectablePlatform | undefined;
    if (platform) start(form, platform);
  };
  const startMastodon = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    start(form, 'mastodon', fieldText(form, 'instance').trim());
  };

  if (configured === null) return <p role="status">Loading the platforms' sign-in…</p>;
  const buttons = oauthButtons.filter((p) => configured.includes(p));
  const mastodon = configured.includes('mastodon');
  if (buttons.length === 0 && !mastodon)
    return (
      <section aria-labelledby={`${ids}-heading`}>
        <h3 id={`${ids}-heading`}>Connect with the platform&apos;s sign-in</h3>
        <p>
          No platform&apos;s sign-in is set up on this SocialPulse: its operator sets a
          platform&apos;s client id and secret to offer it here. Connect with a token below.
        </p>
      </section>
    );

  return (
    <section aria-labelledby={`${ids}-heading`}>
      <h3 id={`${ids}-heading`}>Connect with the platform&apos;s sign-in</h3>
      <p>
        You sign in on the platform and allow SocialPulse to read the account; the platform then
        sends you back to this page. SocialPulse never sees your password.
        {buttons.length < oauthButtons.length &&
          ` Only the platforms whose sign-in this SocialPulse's operator set up are offered; connect the others with a token below.`}
      </p>
      <form onSubmit={startButton} aria-label="Connect with the platform's sign-in">
        <Control
          label="Collect new posts every (minutes)"
          name="poll_minutes"
          hint={POLL_HINT}
          failed={failed}
        >
          {(props) => (
            <input
              {...props}
              type="number"
              min={5}
              max={1440}
              step={1}
              placeholder="30"
              value={poll}
              onChange={(e) => setPoll(e.currentTarget.value)}
            />
          )}
        </Control>
        <ul className="links connect-buttons">
          {buttons.map((p) => (
            <li key={p}>
              <button type="submit" value={p} disabled={action.busy}>
                Connect {connectablePlatforms[p]}
              </button>
            </li>
          ))}
        </ul>
      </form>
      {mastodon && (
        <form onSubmit={startMastodon} aria-label="Connect Mastodon">
          <Control
            label="Mastodon instance"
            name="instance"
            hint="The server the account is on, such as mastodon.social."
            failed={failed}
          >
            {(props) => (
              <input
                {...props}
                required
                maxLength={255}
                autoComplete="off"
                spellCheck={false}
                placeholder="mastodon.social"
              />
            )}
          </Control>
          <p>
            <button type="submit" disabled={action.busy}>
              Connect Mastodon
            </button>
          </p>
        </form>
      )}
      <FormError failed={failed} />
    </section>
  );
}

/** The token form's inputs, named as the request's fields ("credentials.access_token"). */
const tokenFields = [
  'platform',
  'account',
  'api',
  'credentials.access_token',
  'credentials.refresh_token',
  'credentials.expires_at',
  'credentials.api_key',
  'poll_minutes',
];

/**
 * Connect with a token pasted from the platform's developer settings (an app bearer token, a
 * user access token, a YouTube API key), or a public TikTok account through the Research API.
 * The server resolves the account on the platform before storing anything, so a wrong token or
 * account is refused here with the platform's reason.
 */
export function ConnectWithToken({
  base,
  onConnected,
}: {
  base: string;
  onConnected: (connection: ConnectionView) => void;
}) {
  const ids = useId();
  const [platform, setPlatform] = useState<ConnectablePlatform>('x');
  const [tiktokApi, setTiktokApi] = useState<'display' | 'research'>('display');
  // "credentials" alone (no token at all, or the platform refusing it) belongs to the access token.
  const action = useFieldAction((f) =>
    f === 'credentials' ? 'credentials.access_token' : tokenFields.includes(f) ? f : null,
  );
  const failed = { field: action.field, error: action.error };
  const research = platform === 'tiktok' && tiktokApi === 'research';

  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const text = (name: string): string => fieldText(form, name).trim();
    const expires = text('credentials.expires_at');
    const given: [string, string][] = [
      ['access_token', text('credentials.access_token')],
      ['refresh_token', text('credentials.refresh_token')],
      // datetime-local is the browser's local time: sent as the instant it names.
      ['expires_at', expires ? new Date(expires).toISOString() : ''],
      ['api_key', text('credentials.api_key')],
    ];
    const credentials = Object.fromEntries(given.filter(([, value]) => value !== ''));
    const body = {
      platform,
      account: text('account'),
      ...(platform === 'tiktok' ? { api: tiktokApi } : {}),
      // None given: the server says what is missing (or, for Research, uses the instance's token).
      ...(Object.keys(credentials).length > 0 ? { credentials } : {}),
      ...pollMinutes(text('poll_minutes')),
    };
    void action.run(form, async () => {
      const connection = await api<ConnectionView>('POST', `${base}/connections`, body);
      form.reset();
      setPlatform('x');
      setTiktokApi('display');
      onConnected(connection);
    });
  };

  return (
    <form onSubmit={submit} aria-labelledby={`${ids}-heading`}>
      <h3 id={`${ids}-heading`}>Connect with a token</h3>
      <p>
        Paste a token from the platform&apos;s developer settings. It is stored encrypted and never
        shown again.
      </p>
      <Control label="Platform" name="platform" failed={failed}>
        {(props) => (
          <select
            {...props}
            value={platform}
            onChange={(e) => setPlatform(e.currentTarget.value as ConnectablePlatform)}
          >
            {(Object.keys(connectablePlatforms) as ConnectablePlatform[]).map((p) => (
              <option key={p} value={p}>
                {connectablePlatforms[p]}
              </option>
            ))}
          </select>
        )}
      </Control>
      {platform === 'tiktok' && (
        <Control
          label="TikTok API"
          name="api"
          hint="Research reads any public account with this instance's approved research app; no token needed."
          failed={failed}
        >
          {(props) => (
            <select
              {...props}
              value={tiktokApi}
              onChange={(e) => setTiktokApi(e.currentTarget.value as 'display' | 'research')}
            >
              <option value="display">The creator&apos;s own videos (their token)</option>
              <option value="research">Research API (any public account)</option>
            </select>
          )}
        </Control>
      )}
      <Control
        label="Account"
        name="account"
        hint={
          platform === 'mastodon'
            ? 'user@instance, such as @acme@mastodon.social.'
            : 'The handle (@name) or the platform id.'
        }
        failed={failed}
      >
        {(props) => <input {...props} required maxLength={256} autoComplete="off" />}
      </Control>
      <Control
        label={research ? 'Access token (optional)' : 'Access token'}
        name="credentials.access_token"
        hint={
          platform === 'youtube'
            ? 'A user access token, or leave it empty and give an API key below.'
            : 'An app bearer token or a user access token.'
        }
        failed={failed}
      >
        {(props) => (
          <input
            {...props}
            type="password"
            maxLength={8192}
            autoComplete="off"
            spellCheck={false}
          />
        )}
      </Control>
      {platform === 'youtube' && (
        <Control
          label="API key"
          name="credentials.api_key"
          hint="A Google API key: reads public channels."
          failed={failed}
        >
          {(props) => (
            <input
              {...props}
              type="password"
              maxLength={1024}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Control>
      )}
      <details>
        <summary>Refresh token and expiry (optional)</summary>
        <Control
          label="Refresh token"
          name="credentials.refresh_token"
          hint="Lets SocialPulse renew the access token before it expires."
          failed={failed}
        >
          {(props) => (
            <input
              {...props}
              type="password"
              maxLength={8192}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Control>
        <Control label="Expiry of the access token" name="credentials.expires_at" failed={failed}>
          {(props) => <input {...props} type="datetime-local" />}
        </Control>
      </details>
      <Control
        label="Collect new posts every (minutes)"
        name="poll_minutes"
        hint={POLL_HINT}
        failed={failed}
      >
        {(props) => <input {...props} type="number" min={5} max={1440} step={1} placeholder="30" />}
      </Control>
      <p>
        <button type="submit" disabled={action.busy}>
          Connect
        </button>
      </p>
      <FormError failed={failed} />
    </form>
  );
}

/** Failed requests read per page ("Show more" reads the next). */
const FAILED_PAGE = 20;
/** The API's largest page: a refresh reads again at most this many of those shown. */
const FAILED_MAX = 200;

type FailedFilter = DeadLetterView['status'] | 'all';

const failedFilters: Record<FailedFilter, string> = {
  open: 'Open: to replay or discard',
  replayed: 'Replayed',
  discarded: 'Discarded',
  all: 'All',
};

const noFailed: Record<FailedFilter, string> = {
  open: 'No failed request is waiting to be replayed or discarded.',
  replayed: 'No failed request has been replayed.',
  discarded: 'No failed request has been discarded.',
  all: 'No request to the platforms has failed for good.',
};

const operationNames: Partial<Record<string, string>> = {
  list_posts: 'Collect new posts',
  refresh_metrics: 'Refresh metrics',
};

/** A non-empty string field of an open record (a dead letter's `request` and `error`), else null. */
function textOf(record: Record<string, unknown>, key: string): string | null {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** "#12 Collect new posts": how the page names a failed request. */
const failedName = (d: DeadLetterView): string =>
  `#${d.id} ${operationNames[d.operation] ?? d.operation}`;

/** The account the request was for; a connection removed since is named by its platform. */
function failedAccount(d: DeadLetterView, connections: readonly ConnectionView[]): string {
  const c = connections.find((x) => x.id === d.connection_id);
  if (c) return connectionName(c);
  const platform = textOf(d.request, 'platform') ?? textOf(d.error, 'platform');
  return platform ? `A removed ${platformName(platform)} account` : 'A removed account';
}

/** What was asked beyond the operation: the endpoint, and the posts or the period it covered. */
function requestLines(d: DeadLetterView): string[] {
  const lines: string[] = [];
  const endpoint = textOf(d.request, 'endpoint') ?? textOf(d.error, 'endpoint');
  if (endpoint) lines.push(endpoint);
  const ids = d.request['external_ids'];
  if (Array.isArray(ids) && ids.length > 0)
    lines.push(`${count.format(ids.length)} ${ids.length === 1 ? 'post' : 'posts'}`);
  const since = textOf(d.request, 'since');
  if (since && !Number.isNaN(Date.parse(since))) lines.push(`Posts since ${dateTime(since)}`);
  return lines;
}

/** "platform_unavailable, HTTP 503": the error's code and the platform's status, when given. */
function errorCodeLine(d: DeadLetterView): string | null {
  const parts = [textOf(d.error, 'code') ?? textOf(d.error, 'kind')];
  const status = d.error['httpStatus'];
  if (typeof status === 'number') parts.push(`HTTP ${status}`);
  const shown = parts.filter((p): p is string => p !== null);
  return shown.length > 0 ? shown.join(', ') : null;
}

function failedPath(base: string, filter: FailedFilter, limit: number, cursor?: string): string {
  const query = new URLSearchParams({ limit: String(limit) });
  if (filter !== 'all') query.set('status', filter);
  if (cursor !== undefined) query.set('cursor', cursor);
  return `${base}/dead-letters?${query.toString()}`;
}

interface FailedList {
  /** The filter the list was read with (a change of filter shows "Loading…" until it is read). */
  filter: FailedFilter;
  letters: DeadLetterView[];
  next: string | null;
}

/**
 * The workspace's failed requests (dead letters): platform requests that still failed after the
 * retries, what was asked and the platform's answer; owners and admins replay them (a sync run of
 * their account) or discard them (kept on record). Read again with the page (`version`), so that
 * a replay that went through leaves the open ones.
 */
export function FailedRequests({
  base,
  connections,
  manager,
  version,
  onChanged,
}: {
  base: string;
  connections: readonly ConnectionView[];
  manager: boolean;
  version: number;
  onChanged: (message: string) => void;
}) {
  const ids = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [filter, setFilter] = useState<FailedFilter>('open');
  const [list, setList] = useState<FailedList | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  // How many the list shows: a refresh reads as many again, so "Show more" is not undone.
  const shown = useRef(FAILED_PAGE);

  useEffect(() => {
    let live = true;
    const limit = Math.min(FAILED_MAX, Math.max(FAILED_PAGE, shown.current));
    api<Page<DeadLetterView>>('GET', failedPath(base, filter, limit)).then(
      (page) => {
        if (!live) return;
        setList({ filter, letters: page.data, next: page.next_cursor });
        setFailure(null);
      },
      (error: unknown) => {
        if (live) setFailure(messageOf(error));
      },
    );
    return () => {
      live = false;
    };
  }, [base, filter, version]);

  useEffect(() => {
    if (list) shown.current = list.letters.length;
  }, [list]);

  const more = async (cursor: string): Promise<void> => {
    const page = await api<Page<DeadLetterView>>(
      'GET',
      failedPath(base, filter, FAILED_PAGE, cursor),
    );
    setList((prev) => {
      if (!prev || prev.filter !== filter) return prev;
      const known = new Set(prev.letters.map((d) => d.id));
      return {
        filter,
        letters: [...prev.letters, ...page.data.filter((d) => !known.has(d.id))],
        next: page.next_cursor,
      };
    });
  };

  const discarded = (message: string): void => {
    onChanged(message);
    // The row (or its buttons) goes away with the focus: the section's heading takes it.
    heading.current?.focus();
  };

  const current = list !== null && list.filter === filter ? list : null;
  return (
    <section aria-labelledby={`${ids}-heading`}>
      <h3 id={`${ids}-heading`} ref={heading} tabIndex={-1}>
        Failed requests
      </h3>
      <p>
        Requests to the platforms that still failed after SocialPulse&apos;s retries, and the
        platform&apos;s answer.
        {manager &&
          ' Replaying one sends it again as a sync of its account; discarding one gives up on it and keeps it on record.'}
      </p>
      <div className="field failed-filter">
        <label htmlFor={`${ids}-filter`}>Show</label>
        <select
          id={`${ids}-filter`}
          value={filter}
          onChange={(e) => {
            shown.current = FAILED_PAGE;
            setFilter(e.currentTarget.value as FailedFilter);
          }}
        >
          {(Object.keys(failedFilters) as FailedFilter[]).map((f) => (
            <option key={f} value={f}>
              {failedFilters[f]}
            </option>
          ))}
        </select>
      </div>
      {current === null ? (
        failure === null ? (
          <p role="status">Loading…</p>
        ) : (
          <ErrorAlert error={`The failed requests could not be read: ${failure}`} />
        )
      ) : current.letters.length === 0 ? (
        <p>{noFailed[filter]}</p>
      ) : (
        <>
          <TableScroll label="Failed requests table">
            <table className="failed-requests">
              <caption className="visually-hidden">Failed requests</caption>
              <thead>
                <tr>
                  <th scope="col">Request</th>
                  <th scope="col">Account</th>
                  <th scope="col">Error</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Status</th>
                  {manager && <th scope="col">Manage</th>}
                </tr>
              </thead>
              <tbody>
                {current.letters.map((d) => (
                  <FailedRow
                    key={d.id}
                    base={base}
                    letter={d}
                    connection={connections.find((c) => c.id === d.connection_id) ?? null}
                    account={failedAccount(d, connections)}
                    manager={manager}
                    onReplayed={onChanged}
                    onDiscarded={discarded}
                  />
                ))}
              </tbody>
            </table>
          </TableScroll>
          <ShowMore next={current.next} load={more} />
        </>
      )}
    </section>
  );
}

const failedStatusNames: Record<DeadLetterView['status'], string> = {
  open: 'Open',
  replayed: 'Replayed',
  discarded: 'Discarded',
};

function FailedRow({
  base,
  letter: d,
  connection,
  account,
  manager,
  onReplayed,
  onDiscarded,
}: {
  base: string;
  letter: DeadLetterView;
  connection: ConnectionView | null;
  account: string;
  manager: boolean;
  onReplayed: (message: string) => void;
  onDiscarded: (message: string) => void;
}) {
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const discardButton = useRef<HTMLButtonElement>(null);
  const name = failedName(d);
  const message = textOf(d.error, 'message');
  const code = errorCodeLine(d);
  const url = `${base}/dead-letters/${d.id}`;

  const replay = (): void =>
    void action.run(async () => {
      await api<DeadLetterReplay>('POST', `${url}/replay`);
      onReplayed(
        `The replay of failed request ${name} (${account}) is queued; its run shows in the account's latest runs, and the request is marked replayed once it succeeds.`,
      );
    });
  const discard = (): void =>
    void action.run(async () => {
      await api<DeadLetterView>('POST', `${url}/discard`);
      setConfirming(false);
      onDiscarded(
        `Failed request ${name} (${account}) was discarded; it stays on record under “Discarded”.`,
      );
    });
  const cancel = (): void => {
    setConfirming(false);
    // The confirmation's buttons go away: the focus goes back to where it came from.
    requestAnimationFrame(() => discardButton.current?.focus());
  };

  let manage: ReactNode = null;
  if (manager && d.status === 'open')
    manage = confirming ? (
      <span role="group" aria-label={`Discard failed request ${name}?`}>
        Discard {name}? It will not be replayed; it stays on record.{' '}
        <button type="button" autoFocus disabled={action.busy} onClick={discard}>
          Yes, discard
        </button>{' '}
        <button type="button" onClick={cancel}>
          Cancel
        </button>
        <ErrorAlert error={action.error} />
      </span>
    ) : (
      <span className="connection-actions">
        {connection?.status === 'active' ? (
          <button type="button" disabled={action.busy} onClick={replay}>
            Replay<span className="visually-hidden"> failed request {name}</span>
          </button>
        ) : (
          <span>
            {connection
              ? `Replay once ${connectionName(connection)} is active again.`
              : 'Its account was removed: it cannot be replayed.'}
          </span>
        )}
        <button
          ref={discardButton}
          type="button"
          onClick={() => (setConfirming(true), action.setError(null))}
        >
          Discard<span className="visually-hidden"> failed request {name}</span>
        </button>
        <ErrorAlert error={action.error} />
      </span>
    );

  return (
    <tr>
      <th scope="row" className="failed-request">
        {name}
        {requestLines(d).map((line, i) => (
          <span key={i} className="failed-detail">
            {line}
          </span>
        ))}
      </th>
      <td>{account}</td>
      <td className="failed-error">
        {message ?? 'No message was recorded.'}
        {code && <span className="failed-detail">{code}</span>}
      </td>
      <td>{count.format(d.attempts)}</td>
      <td>
        {dateTime(d.last_failed_at)}
        {d.first_failed_at !== d.last_failed_at && (
          <span className="failed-detail">first {dateTime(d.first_failed_at)}</span>
        )}
      </td>
      <td>
        {failedStatusNames[d.status]}
        {d.status === 'replayed' && d.replayed_at && (
          <span className="failed-detail">{dateTime(d.replayed_at)}</span>
        )}
      </td>
      {manager && <td>{manage}</td>}
    </tr>
  );
}
