import type { FormEvent } from 'react';
import { api } from '../api.js';
import { Link, navigate } from '../router.js';
import { ErrorAlert, Field, PASSWORD_HINT, PageHeading, fieldText, useAction } from '../ui.js';

/**
 * Creates an account where the instance lets anyone sign up (SIGNUP_ENABLED, the default); the
 * server refuses it in words when sign-up is closed or setup is still pending.
 */
export function SignUp() {
  const action = useAction();
  function submit(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    const form = event.currentTarget;
    const name = fieldText(form, 'display_name').trim();
    const body = {
      email: fieldText(form, 'email'),
      password: fieldText(form, 'password'),
      ...(name ? { display_name: name } : {}),
    };
    void action.run(async () => {
      await api('POST', '/v1/auth/sign-up', body);
      navigate('/', 'Your account is ready and you are signed in.');
    });
  }
  return (
    <form onSubmit={submit} aria-labelledby="sign-up-heading">
      <PageHeading id="sign-up-heading" title="Create an account">
        Create an account
      </PageHeading>
      <Field label="Email" name="email" type="email" required autoComplete="username" />
      <Field label="Name (optional)" name="display_name" maxLength={100} autoComplete="name" />
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
      <p>
        Already have an account? <Link to="/sign-in">Sign in</Link>.
      </p>
    </form>
  );
}
