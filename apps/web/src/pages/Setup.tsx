import type { FormEvent } from 'react';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { ErrorAlert, Field, PASSWORD_HINT, PageHeading, fieldText, useAction } from '../ui.js';

/** First run: creates the admin account with the one-time link printed by `npm start`. */
export function Setup({ token }: { token: string }) {
  const action = useAction();
  function submit(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    const body = {
      token,
      email: fieldText(event.currentTarget, 'email'),
      password: fieldText(event.currentTarget, 'password'),
    };
    void action.run(async () => {
      await api('POST', '/v1/auth/setup', body);
      navigate('/', 'Your admin account is ready and you are signed in.');
    });
  }
  return (
    <form onSubmit={submit} aria-labelledby="setup-heading">
      <PageHeading id="setup-heading" title="Create the admin account">
        Create the admin account
      </PageHeading>
      <Field label="Email" name="email" type="email" required autoComplete="username" />
      <Field
        label="Password"
        name="password"
        type="password"
        required
        minLength={12}
        autoComplete="new-password"
        hint={PASSWORD_HINT}
      />
      <button type="submit" disabled={action.busy}>
        Create account
      </button>
      <ErrorAlert error={action.error} />
    </form>
  );
}
