import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { Link } from '../router.js';
import { ErrorAlert, Field, PageHeading, fieldText, useAction } from '../ui.js';

/** Asks for a reset link by mail (the answer is the same whether the account exists or not). */
export function ForgotPassword() {
  const [sentTo, setSentTo] = useState<string | null>(null);
  const action = useAction();
  function submit(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    const email = fieldText(event.currentTarget, 'email');
    void action.run(async () => {
      await api('POST', '/v1/auth/password/forgot', { email });
      setSentTo(email);
    });
  }
  if (sentTo) {
    return (
      <section>
        <PageHeading title="Check your mail">Check your mail</PageHeading>
        <p role="status">
          If an account exists for {sentTo}, we sent it a link to choose a new password. The link
          works once, for 30 minutes.
        </p>
        <p>
          <Link to="/sign-in">Back to sign in</Link>
        </p>
      </section>
    );
  }
  return (
    <form onSubmit={submit} aria-labelledby="forgot-heading">
      <PageHeading id="forgot-heading" title="Reset your password">
        Reset your password
      </PageHeading>
      <p>
        Enter the email address of your account; we will mail you a link to choose a new password.
      </p>
      <Field label="Email" name="email" type="email" required autoComplete="username" />
      <button type="submit" disabled={action.busy}>
        Send the link
      </button>
      <ErrorAlert error={action.error} />
      <p>
        <Link to="/sign-in">Back to sign in</Link>
      </p>
    </form>
  );
}
