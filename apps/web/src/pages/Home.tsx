import { useEffect, useState, type FormEvent } from 'react';
import type { AuthStatus } from '@socialpulse/contracts';
import {
  api,
  currentUser,
  messageOf,
  signOut,
  type Me,
  type Workspace,
  type WorkspaceList,
} from '../api.js';
import { currentNotice, Link, navigate } from '../router.js';
import { ErrorAlert, Field, fieldText, PageHeading, useAction } from '../ui.js';

type State =
  | { kind: 'loading' }
  | { kind: 'signed_out'; status: AuthStatus | null }
  | { kind: 'signed_in'; me: Me; workspaces: WorkspaceList['data'] }
  | { kind: 'failed'; message: string };

const count = new Intl.NumberFormat('en');

/**
 * How to get in, for a signed-out visitor: null when it cannot be read (the page then offers
 * sign-in only, which works whatever the answer would have been).
 */
const authStatus = (): Promise<AuthStatus | null> =>
  api<AuthStatus>('GET', '/v1/auth/status').catch(() => null);

/** Who is signed in and their workspaces; or the way to sign in. */
export function Home() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [notice] = useState(currentNotice);
  const action = useAction();
  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const me = await currentUser();
        const next: State = me
          ? {
              kind: 'signed_in',
              me,
              workspaces: (await api<WorkspaceList>('GET', '/v1/workspaces')).data,
            }
          : { kind: 'signed_out', status: await authStatus() };
        if (live) setState(next);
      } catch (error) {
        if (live) setState({ kind: 'failed', message: messageOf(error) });
      }
    })();
    return () => {
      live = false;
    };
  }, []);

  if (state.kind === 'loading') return <p role="status">Loading…</p>;
  if (state.kind === 'failed') return <ErrorAlert error={state.message} />;
  if (state.kind === 'signed_out') {
    const { status } = state;
    if (status?.setup_pending)
      return (
        <section>
          <PageHeading title="Welcome">Welcome</PageHeading>
          <p>
            <strong>Setup is pending:</strong> this SocialPulse has no account yet. Open the
            one-time setup link that <code>npm start</code> printed when the server started (each
            start prints a new one while no account exists) to create the admin account.
          </p>
          <p>
            Or, on the server’s machine:{' '}
            <code>
              npm run socialpulse -- users create --email you@example.com --admin --password-stdin
            </code>{' '}
            (type the password, then Ctrl+D), and <Link to="/sign-in">sign in</Link>.
          </p>
        </section>
      );
    return (
      <section>
        <PageHeading title="Welcome">Welcome</PageHeading>
        <p>
          You are not signed in. <Link to="/sign-in">Sign in</Link> to see your workspaces.
        </p>
        {status?.signup_enabled && (
          <p>
            New here? <Link to="/sign-up">Create an account</Link>.
          </p>
        )}
      </section>
    );
  }
  const { me, workspaces } = state;
  return (
    <section>
      {notice && <p role="status">{notice}</p>}
      <PageHeading title="Your workspaces">Your workspaces</PageHeading>
      <p>
        Signed in as{' '}
        <strong>{me.display_name ? `${me.display_name} (${me.email})` : me.email}</strong>
        {me.session_mfa && ' with two-factor authentication'}.
      </p>
      <p>
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            void action.run(
              async () => (
                await signOut(),
                setState({ kind: 'signed_out', status: await authStatus() })
              ),
            )
          }
        >
          Sign out
        </button>
      </p>
      <ErrorAlert error={action.error} />
      {workspaces.length === 0 ? (
        <p>
          You are not a member of any workspace yet. Create one below, or open an invitation link
          from a workspace owner.
        </p>
      ) : (
        <table>
          <caption className="visually-hidden">Your workspaces</caption>
          <thead>
            <tr>
              <th scope="col">Workspace</th>
              <th scope="col">Your role</th>
              <th scope="col">Posts</th>
            </tr>
          </thead>
          <tbody>
            {workspaces.map((w) => (
              <tr key={w.id}>
                <th scope="row">
                  <Link to={`/workspaces/${w.id}/analyses`}>{w.name}</Link>
                </th>
                <td>{w.role ?? '—'}</td>
                <td>{count.format(w.post_count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateWorkspace />
    </section>
  );
}

/** Creates a workspace (its creator becomes the owner) and opens it. */
function CreateWorkspace() {
  const action = useAction();
  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const name = fieldText(event.currentTarget, 'name').trim();
    void action.run(async () => {
      const created = await api<Workspace>('POST', '/v1/workspaces', { name });
      navigate(`/workspaces/${created.id}/analyses`, `Workspace ${created.name} created.`);
    });
  };
  return (
    <form onSubmit={submit} aria-labelledby="create-workspace">
      <h3 id="create-workspace">Create a workspace</h3>
      <Field label="Name" name="name" required maxLength={100} autoComplete="off" />
      <p>
        {/*
         * Trimmed on the click, which comes before the browser's own checks (Enter in the field
         * clicks this button too): a name of spaces is then empty, and the browser says the
         * field is required rather than the server refusing it in its own terms.
         */}
        <button
          type="submit"
          disabled={action.busy}
          onClick={(event) => {
            const field = event.currentTarget.form?.elements.namedItem('name');
            if (field instanceof HTMLInputElement) field.value = field.value.trim();
          }}
        >
          Create workspace
        </button>
      </p>
      <ErrorAlert error={action.error} />
    </form>
  );
}
