import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ConnectionView, SyncRunView } from '@socialpulse/contracts';
import { api, type Page, type Workspace } from '../api.js';
import { Link, useNotice } from '../router.js';
import { ErrorAlert, fieldText, PageHeading, TableScroll, useAction } from '../ui.js';
import { dateTime, LoadError, mayManage } from './analysis-parts.js';
import {
  ConnectWithOAuth,
  ConnectWithToken,
  FailedRequests,
  connectionName,
  accountName,
  isRunning,
  lastErrorMessage,
  platformName,
  runProblems,
  runSummary,
  statusName,
} from './connection-parts.js';

/** Runs shown per connection: the latest in full, the others under "Earlier runs". */
const RUNS_SHOWN = 5;
/** While a run is queued or running, the page reads the list again this often. */
const REFRESH_MS = 5_000;

/** Roles with the server's `manage_connections` (domain/auth/permissions.ts); the server decides. */

interface Listed {
  connection: ConnectionView;
  /** Newest first; null when they could not be read (the row still shows). */
  runs: SyncRunView[] | null;
}

type State =
  | { kind: 'loading' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'ready'; workspace: Workspace; listed: Listed[] };

/** What the platform's sign-in sent the browser back with (`return_to` of the OAuth flow). */
type OAuthReturn =
  { kind: 'connected'; connectionId: string } | { kind: 'refused'; code: string } | null;

/**
 * Only the parameter names are read: anyone can send a link to this page with any text in
 * `message` (the callback's own words once travelled there), and the page must not say, on this
 * site, what a stranger wrote. The refusal is worded from its code instead.
 */
function oauthReturnOf(params: URLSearchParams): OAuthReturn {
  const connectionId = params.get('connection_id');
  if (connectionId) return { kind: 'connected', connectionId };
  const code = params.get('oauth_error');
  if (code) return { kind: 'refused', code };
  return null;
}

/** The server's error codes (snake_case): anything else in the address is not one of ours. */
const SAFE_CODE = /^[a-z_]{1,64}$/;

/**
 * The callback's refusals (domain/connections/oauth.service.ts), in the page's own words. A Map,
 * not an object: a code such as `constructor` must not find a property of every object.
 */
const refusals = new Map<string, string>([
  [
    'oauth_denied',
    "the platform did not grant access: the consent was declined, or the platform refused SocialPulse's sign-in. Connect again; if it keeps failing, an administrator finds the platform's answer in the server's log.",
  ],
  [
    'oauth_state_invalid',
    'the sign-in expired or was already used, or came back without an authorization; connect again.',
  ],
  [
    'forbidden',
    'this sign-in was started by someone else, for a workspace where you may not connect accounts. Connect the account from your own workspace.',
  ],
  [
    'oauth_not_configured',
    "sign-in with this platform is not configured on this SocialPulse; connect with a token, or ask an administrator to configure the platform's app.",
  ],
  ['platform_unavailable', 'the platform could not complete the sign-in; try again in a moment.'],
  ['platform_circuit_open', 'the platform is failing at the moment; try again in a few minutes.'],
]);

/** The refusal for people: the page's text for a known code, else a generic one (and a safe code). */
function refusalText(code: string): string {
  const known = refusals.get(code);
  if (known) return `The account was not connected: ${known}`;
  const shown = SAFE_CODE.test(code) ? ` (${code})` : '';
  return `The account was not connected: the sign-in did not complete${shown}; connect again.`;
}

/** What the server says the platform did with the grant when the connection was removed. */
const revocationWords: Partial<Record<string, (platform: string) => string>> = {
  revoked: (p) => `${p} confirmed that SocialPulse's access was revoked.`,
  not_ours: () =>
    'Its token was pasted, not granted through sign-in, so there was no grant to revoke; revoke the token on the platform if it is no longer needed.',
  not_supported: (p) =>
    `${p} does not let apps revoke their access: remove SocialPulse in the account's ${p} settings.`,
  no_client: (p) =>
    `The sign-in app is no longer configured here, so ${p} could not be asked to revoke access: remove SocialPulse in the account's ${p} settings.`,
  failed: (p) =>
    `${p} did not confirm the revocation: remove SocialPulse in the account's ${p} settings to be sure.`,
};

interface AuditPage {
  data: { action: string; target: string | null; details: Record<string, unknown> }[];
}

/**
 * Whether the platform confirmed the revocation: the DELETE answer does not say, the audit entry
 * it wrote does (`grant_revocation`). Owners and admins may read the audit log; no sentence when
 * it cannot be read.
 */
async function revocationOutcome(base: string, connection: ConnectionView): Promise<string> {
  try {
    const log = await api<AuditPage>('GET', `${base}/audit-log?limit=50`);
    const entry = log.data.find(
      (e) => e.action === 'connection.deleted' && e.target === connection.id,
    );
    const outcome = entry?.details['grant_revocation'];
    const words = typeof outcome === 'string' ? revocationWords[outcome] : undefined;
    return words ? ` ${words(platformName(connection.platform))}` : '';
  } catch {
    return '';
  }
}

/**
 * A workspace's platform connections: who is connected, whether collection works (status with
 * the platform's reason, rate-limit waits, the latest runs and what they could not collect, the
 * requests that failed for good), and for owners and admins the ways to connect an account (the
 * platform's sign-in, a pasted token), sync now, the poll interval, pause, disconnect, and the
 * replay or discarding of failed requests.
 */
export function Connections({
  workspaceId,
  params,
}: {
  workspaceId: string;
  params: URLSearchParams;
}) {
  const base = `/v1/workspaces/${workspaceId}`;
  const here = `/workspaces/${workspaceId}/connections`;
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [notice] = useNotice();
  // Read once: the address is cleared below, so a reload or a shared link does not repeat it.
  const [oauthReturn] = useState(() => oauthReturnOf(params));
  const [outcome, setOutcome] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const listHeading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (oauthReturn !== null) window.history.replaceState(window.history.state, '', here);
  }, [oauthReturn, here]);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    void (async () => {
      try {
        const [workspace, list] = await Promise.all([
          api<Workspace>('GET', base),
          api<{ data: ConnectionView[] }>('GET', `${base}/connections`),
        ]);
        const listed = await Promise.all(
          list.data.map(async (connection): Promise<Listed> => {
            if (connection.status === 'disconnected') return { connection, runs: null };
            const runs = await api<Page<SyncRunView>>(
              'GET',
              `${base}/connections/${connection.id}/sync-runs?limit=${RUNS_SHOWN}`,
            ).then(
              (page) => page.data,
              () => null,
            );
            return { connection, runs };
          }),
        );
        if (!live) return;
        setState({ kind: 'ready', workspace, listed });
        if (listed.some((l) => l.runs?.[0] && isRunning(l.runs[0])))
          timer = setTimeout(() => setVersion((v) => v + 1), REFRESH_MS);
      } catch (error) {
        // A failed refresh keeps what is shown; only the first read replaces the page.
        if (live) setState((prev) => (prev.kind === 'ready' ? prev : { kind: 'failed', error }));
      }
    })();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [base, version]);

  if (state.kind === 'loading') return <p role="status">Loading…</p>;
  if (state.kind === 'failed') return <LoadError error={state.error} />;
  const { workspace, listed } = state;
  const manager = mayManage(workspace.role);
  const current = listed.filter((l) => l.connection.status !== 'disconnected');
  const disconnected = listed.filter((l) => l.connection.status === 'disconnected');

  const changed = (message: string, focusList = false): void => {
    setOutcome(message);
    setVersion((v) => v + 1);
    // The control that had the focus may be gone (a removed row): the list's heading takes it.
    if (focusList) listHeading.current?.focus();
  };

  let returned: string | null = null;
  if (oauthReturn?.kind === 'connected') {
    const connection = listed.find((l) => l.connection.id === oauthReturn.connectionId);
    returned = connection
      ? `Connected ${connectionName(connection.connection)}. Its first sync starts shortly.`
      : 'The account was connected.';
  }

  return (
    <section>
      {notice && <p role="status">{notice}</p>}
      <p>
        <Link to="/">Your workspaces</Link> ›{' '}
        <Link to={`/workspaces/${workspaceId}/analyses`}>{workspace.name}</Link>
      </p>
      <PageHeading title={`Connections · ${workspace.name}`}>Connections</PageHeading>
      {returned && <p role="status">{returned}</p>}
      {oauthReturn?.kind === 'refused' && <ErrorAlert error={refusalText(oauthReturn.code)} />}
      <p role="status">{outcome}</p>
      <p>
        SocialPulse collects the posts of these accounts and their metrics as they grow. Collected
        posts appear under <Link to={`/workspaces/${workspaceId}/posts`}>Posts</Link>.
      </p>
      {!manager && (
        <p>
          Only the workspace&apos;s owners and admins can connect accounts or change how they are
          collected.
        </p>
      )}
      <h3 ref={listHeading} tabIndex={-1}>
        Connected accounts
      </h3>
      {current.length === 0 ? (
        <p>
          No accounts are connected to {workspace.name}.{manager && ' Connect one below.'}
        </p>
      ) : (
        <TableScroll label="Connected accounts table">
          <table>
            <caption className="visually-hidden">Connected accounts</caption>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Platform</th>
                <th scope="col">Status</th>
                <th scope="col">Last sync</th>
                <th scope="col">Next sync</th>
                <th scope="col">Collected every</th>
                <th scope="col">Latest runs</th>
                {manager && <th scope="col">Manage</th>}
              </tr>
            </thead>
            <tbody>
              {current.map((l) => (
                <ConnectionRow
                  key={l.connection.id}
                  base={base}
                  listed={l}
                  manager={manager}
                  onChanged={changed}
                />
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <FailedRequests
        base={base}
        connections={listed.map((l) => l.connection)}
        manager={manager}
        version={version}
        onChanged={(message) => changed(message)}
      />
      {disconnected.length > 0 && (
        <>
          <h3>Disconnected accounts</h3>
          <p>
            Their credentials were wiped and nothing more is collected; the posts collected stay.
            Connect an account again to resume.
          </p>
          <ul>
            {disconnected.map(({ connection: c }) => (
              <li key={c.id}>
                {connectionName(c)}, disconnected {dateTime(c.updated_at)}
              </li>
            ))}
          </ul>
        </>
      )}
      {manager && (
        <>
          <h3>Connect an account</h3>
          <ConnectWithOAuth base={base} returnTo={here} />
          <ConnectWithToken
            base={base}
            onConnected={(c) =>
              changed(`Connected ${connectionName(c)}. Its first sync starts shortly.`)
            }
          />
        </>
      )}
    </section>
  );
}

/** "Rate limited until …" while a platform limit holds the connection back. */
function blockedText(c: ConnectionView): string | null {
  if (c.blocked_until === null || Date.parse(c.blocked_until) <= Date.now()) return null;
  return `${platformName(c.platform)}'s rate limit was reached: no request before ${dateTime(c.blocked_until)}.`;
}

function nextSyncText(c: ConnectionView): string {
  if (c.status === 'paused') return 'Paused';
  if (c.next_sync_at === null) return '—';
  return Date.parse(c.next_sync_at) <= Date.now() ? 'Due now' : dateTime(c.next_sync_at);
}

function ConnectionRow({
  base,
  listed: { connection: c, runs },
  manager,
  onChanged,
}: {
  base: string;
  listed: Listed;
  manager: boolean;
  onChanged: (message: string, focusList?: boolean) => void;
}) {
  const name = connectionName(c);
  const reason = lastErrorMessage(c);
  const blocked = blockedText(c);
  const [latest, ...earlier] = runs ?? [];
  return (
    <tr>
      <th scope="row" className="post-text">
        {accountName(c)}
      </th>
      <td>{platformName(c.platform)}</td>
      <td>
        <strong>{statusName(c.status)}</strong>
        {c.status === 'platform_auth_expired' && (
          <>
            <br />
            {platformName(c.platform)} refused the token: connect the account again.
          </>
        )}
        {reason && c.status !== 'paused' && (
          <>
            <br />
            <span className="connection-reason">
              {c.status === 'active' ? 'Last problem: ' : 'Reason: '}
              {reason}
            </span>
          </>
        )}
        {blocked && (
          <>
            <br />
            {blocked}
          </>
        )}
      </td>
      <td>{c.last_sync_at ? dateTime(c.last_sync_at) : 'Never'}</td>
      <td>{nextSyncText(c)}</td>
      <td>
        {manager ? (
          <PollForm base={base} connection={c} onChanged={onChanged} />
        ) : (
          `${c.poll_minutes} min`
        )}
      </td>
      <td className="connection-runs">
        {runs === null ? (
          'Could not be read.'
        ) : latest === undefined ? (
          'No runs yet.'
        ) : (
          <>
            <RunLines run={latest} />
            {earlier.length > 0 && (
              <details>
                <summary>
                  Earlier runs<span className="visually-hidden"> of {name}</span>
                </summary>
                <ul>
                  {earlier.map((run) => (
                    <li key={run.id}>
                      <RunLines run={run} />
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </>
        )}
      </td>
      {manager && (
        <td>
          <Manage base={base} connection={c} onChanged={onChanged} />
        </td>
      )}
    </tr>
  );
}

function RunLines({ run }: { run: SyncRunView }) {
  const problems = runProblems(run);
  return (
    <>
      {runSummary(run)}
      {problems.length > 0 && (
        <ul className="run-problems">
          {problems.map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ul>
      )}
    </>
  );
}

function PollForm({
  base,
  connection: c,
  onChanged,
}: {
  base: string;
  connection: ConnectionView;
  onChanged: (message: string) => void;
}) {
  const action = useAction();
  const name = connectionName(c);
  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const minutes = Number(fieldText(event.currentTarget, 'poll_minutes'));
    if (minutes === c.poll_minutes) return;
    void action.run(async () => {
      await api<ConnectionView>('PATCH', `${base}/connections/${c.id}`, { poll_minutes: minutes });
      onChanged(`New posts of ${name} are now collected every ${minutes} minutes.`);
    });
  };
  return (
    <form onSubmit={submit} className="inline">
      <label className="visually-hidden" htmlFor={`poll-${c.id}`}>
        Minutes between collections of {name}
      </label>
      {/* Keyed by the stored value: a saved change (or one made elsewhere) resets the field. */}
      <input
        key={c.poll_minutes}
        id={`poll-${c.id}`}
        name="poll_minutes"
        className="poll-minutes"
        type="number"
        min={5}
        max={1440}
        step={1}
        required
        defaultValue={c.poll_minutes}
      />{' '}
      min{' '}
      <button type="submit" disabled={action.busy}>
        Save<span className="visually-hidden"> the interval of {name}</span>
      </button>
      <ErrorAlert error={action.error} />
    </form>
  );
}

/** Sync now, pause or resume, and disconnect (after a confirmation). */
function Manage({
  base,
  connection: c,
  onChanged,
}: {
  base: string;
  connection: ConnectionView;
  onChanged: (message: string, focusList?: boolean) => void;
}) {
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const disconnectButton = useRef<HTMLButtonElement>(null);
  const name = connectionName(c);
  const url = `${base}/connections/${c.id}`;

  const syncNow = (): void =>
    void action.run(async () => {
      await api<SyncRunView>('POST', `${url}/sync`, { kind: 'posts' });
      onChanged(`A sync of ${name} is queued; its run shows here as it goes.`);
    });
  const setPaused = (paused: boolean): void =>
    void action.run(async () => {
      await api<ConnectionView>('PATCH', url, { paused });
      onChanged(paused ? `Collection of ${name} is paused.` : `Collection of ${name} resumed.`);
    });
  const disconnect = (): void =>
    void action.run(async () => {
      await api<ConnectionView>('DELETE', url);
      const revocation = await revocationOutcome(base, c);
      onChanged(`${name} was disconnected; its collected posts stay.${revocation}`, true);
    });
  const cancel = (): void => {
    setConfirming(false);
    // The confirmation's buttons go away: the focus goes back to where it came from.
    requestAnimationFrame(() => disconnectButton.current?.focus());
  };

  if (confirming)
    return (
      <span role="group" aria-label={`Disconnect ${name}?`}>
        Disconnect {name}? Collection stops and the credentials are wiped; the posts stay.{' '}
        <button type="button" autoFocus disabled={action.busy} onClick={disconnect}>
          Yes, disconnect
        </button>{' '}
        <button type="button" onClick={cancel}>
          Cancel
        </button>
        <ErrorAlert error={action.error} />
      </span>
    );
  return (
    <span className="connection-actions">
      {c.status === 'active' && (
        <button type="button" disabled={action.busy} onClick={syncNow}>
          Sync now<span className="visually-hidden"> {name}</span>
        </button>
      )}
      {c.status === 'active' && (
        <button type="button" disabled={action.busy} onClick={() => setPaused(true)}>
          Pause<span className="visually-hidden"> {name}</span>
        </button>
      )}
      {c.status === 'paused' && (
        <button type="button" disabled={action.busy} onClick={() => setPaused(false)}>
          Resume<span className="visually-hidden"> {name}</span>
        </button>
      )}
      <button
        ref={disconnectButton}
        type="button"
        onClick={() => (setConfirming(true), action.setError(null))}
      >
        Disconnect<span className="visually-hidden"> {name}</span>
      </button>
      <ErrorAlert error={action.error} />
    </span>
  );
}
