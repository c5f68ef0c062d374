import { useEffect, useState, type FormEvent } from 'react';
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
  | { kind: 'signed_out' }
  | { kind: 'signed_in'; me: Me; workspaces: WorkspaceList['data'] }
  | { kind: 'failed'; message: string };

const count = new Intl.NumberFormat('en');

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
          : { kind: 'signed_out' };
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
    return (
      <section>
        <PageHeading title="Welcome">Welcome</PageHeading>
        <p>
          You are not signed in. <Link to="/sign-in">Sign in</Link> to see your workspaces.
        </p>
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
            void action.run(async () => (await signOut(), setState({ kind: 'signed_out' })))
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
