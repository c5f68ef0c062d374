import { useState, type FormEvent } from 'react';
import { api, forgetCsrfToken } from '../api.js';
import { Link } from '../router.js';
import { ErrorAlert, Field, PASSWORD_HINT, PageHeading, fieldText, useAction } from '../ui.js';

/** The page a reset link opens: a new password for the account (every session ends). */
export function ResetPassword({ token }: { token: string | null }) {
  const [done, setDone] = useState(false);
  const action = useAction();
  function submit(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    const password = fieldText(event.currentTarget, 'password');
    if (password !== fieldText(event.currentTarget, 'repeat')) {
      action.setError('The two passwords differ; type the same new password twice.');
      return;
    }
    void action.run(async () => {
      await api('POST', '/v1/auth/password/reset', { token, new_password: password });
      forgetCsrfToken();
      setDone(true);
    });
  }
  if (done) {
    return (
      <section>
        <PageHeading title="Password changed">Password changed</PageHeading>
        <p role="status">
          Your password has been changed and every session of your account has been signed out.
        </p>
        <p>
          <Link to="/sign-in">Sign in with your new password</Link>
        </p>
      </section>
    );
  }
  if (!token) {
    return (
      <section>
        <PageHeading title="Reset your password">Reset your password</PageHeading>
        <ErrorAlert error="This reset link is incomplete: open the whole link from the mail, or ask for a new one." />
        <p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      </section>
    );
  }
  return (
    <form onSubmit={submit} aria-labelledby="reset-heading">
      <PageHeading id="reset-heading" title="Choose a new password">
        Choose a new password
      </PageHeading>
      <Field
        label="New password"
        name="password"
        type="password"
        required
        autoComplete="new-password"
        hint={PASSWORD_HINT}
      />
      <Field
        label="Repeat the new password"
        name="repeat"
        type="password"
        required
        autoComplete="new-password"
      />
      <button type="submit" disabled={action.busy}>
        Change password
      </button>
      <ErrorAlert error={action.error} />
      {action.error && (
        <p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      )}
    </form>
  );
}
