import { useEffect, useState, type FormEvent } from 'react';
import type { invitationAcceptedSchema, invitationPreviewSchema } from '@socialpulse/contracts';
import { api, currentUser, messageOf, signOut, type Me } from '../api.js';
import { Link } from '../router.js';
import { ErrorAlert, Field, PASSWORD_HINT, PageHeading, fieldText, useAction } from '../ui.js';

/** POST /v1/invitations/preview: what the invitation offers (the token is the only key). */
type InvitationPreview = ReturnType<(typeof invitationPreviewSchema)['parse']>;
type InvitationAccepted = ReturnType<(typeof invitationAcceptedSchema)['parse']>;

type State =
  | { kind: 'loading' }
  | { kind: 'failed'; message: string }
  | { kind: 'open'; invitation: InvitationPreview; me: Me | null }
  | { kind: 'joined'; invitation: InvitationPreview; role: string };

/** An invitation link: join the workspace, signed in (accept) or with a new account (sign up). */
export function Invite({ token }: { token: string | null }) {
  const [state, setState] = useState<State>(
    token
      ? { kind: 'loading' }
      : {
          kind: 'failed',
          message: 'This invitation link is incomplete: open the whole link from the mail.',
        },
  );
  const action = useAction();
  useEffect(() => {
    if (!token) return;
    let live = true;
    void Promise.all([
      api<InvitationPreview>('POST', '/v1/invitations/preview', { token }),
      currentUser(),
    ]).then(
      ([invitation, me]) => live && setState({ kind: 'open', invitation, me }),
      (error: unknown) => live && setState({ kind: 'failed', message: messageOf(error) }),
    );
    return () => {
      live = false;
    };
  }, [token]);

  if (state.kind === 'loading') return <p role="status">Loading the invitation…</p>;
  if (state.kind === 'failed') {
    return (
      <section>
        <PageHeading title="Invitation">Invitation</PageHeading>
        <ErrorAlert error={state.message} />
        <p>
          Ask whoever invited you for a new link, or go to <Link to="/">the home page</Link>.
        </p>
      </section>
    );
  }
  const { invitation } = state;
  const name = invitation.workspace.name;
  if (state.kind === 'joined') {
    return (
      <section>
        <PageHeading title={`Welcome to ${name}`}>Welcome to {name}</PageHeading>
        <p role="status">
          You joined {name} as {state.role}.
        </p>
        <p>
          <Link to="/">Go to your workspaces</Link>
        </p>
      </section>
    );
  }

  const { me } = state;
  const joined = (role: string): void => setState({ kind: 'joined', invitation, role });
  function accept(): void {
    void action.run(async () =>
      joined((await api<InvitationAccepted>('POST', '/v1/invitations/accept', { token })).role),
    );
  }
  function signUp(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    const password = fieldText(event.currentTarget, 'password');
    void action.run(async () => {
      await api('POST', '/v1/auth/sign-up', {
        email: invitation.email,
        password,
        invitation_token: token,
      });
      joined(invitation.role);
    });
  }
  const here = `/invite?token=${encodeURIComponent(token ?? '')}`;
  return (
    <section>
      <PageHeading title={`Join ${name}`}>
        Join {name} as {invitation.role}
      </PageHeading>
      <p>
        This invitation is for {invitation.email}. It works until{' '}
        {new Date(invitation.expires_at).toLocaleString()}.
      </p>
      {me ? (
        <>
          <p>
            You are signed in as <strong>{me.email}</strong>.
            {me.email.toLowerCase() !== invitation.email.toLowerCase() &&
              ` The invitation was sent to ${invitation.email}: to accept it, sign out and sign in (or sign up) with that address.`}
          </p>
          <button type="button" disabled={action.busy} onClick={accept}>
            Accept
          </button>{' '}
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              void action.run(
                async () => (await signOut(), setState({ kind: 'open', invitation, me: null })),
              )
            }
          >
            Sign out
          </button>
          <ErrorAlert error={action.error} />
        </>
      ) : (
        <>
          <form onSubmit={signUp} aria-labelledby="invite-sign-up-heading">
            <h3 id="invite-sign-up-heading">Create your account</h3>
            <Field
              label="Email"
              name="email"
              type="email"
              value={invitation.email}
              readOnly
              autoComplete="username"
            />
            <Field
              label="Password"
              name="password"
              type="password"
              required
              autoComplete="new-password"
              hint={PASSWORD_HINT}
            />
            <button type="submit" disabled={action.busy}>
              Create account and join
            </button>
            <ErrorAlert error={action.error} />
          </form>
          <p>
            Already have an account?{' '}
            <Link to={`/sign-in?next=${encodeURIComponent(here)}`}>Sign in</Link> and you will come
            back here to accept.
          </p>
        </>
      )}
    </section>
  );
}
