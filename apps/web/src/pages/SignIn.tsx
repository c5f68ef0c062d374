import { useState, type FormEvent } from 'react';
import { api, type SignInResult } from '../api.js';
import { Link, navigate, safeNext } from '../router.js';
import { ErrorAlert, Field, PageHeading, fieldText, useAction } from '../ui.js';

/** Email and password, then (for accounts with two-factor authentication) a code. */
export function SignIn({ next }: { next: string | null }) {
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [useRecovery, setUseRecovery] = useState(false);
  const action = useAction();
  const done = (): void => navigate(safeNext(next), 'You are signed in.');

  function submitPassword(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    const body = {
      email: fieldText(event.currentTarget, 'email'),
      password: fieldText(event.currentTarget, 'password'),
    };
    void action.run(async () => {
      const result = await api<SignInResult>('POST', '/v1/auth/sign-in', body);
      if ('mfa_required' in result) setMfaToken(result.mfa_token);
      else done();
    });
  }

  function submitCode(event: FormEvent<HTMLFormElement>): void {
    event.preventDefault();
    const value = fieldText(event.currentTarget, 'code').trim();
    void action.run(async () => {
      await api(
        'POST',
        '/v1/auth/mfa/verify',
        useRecovery
          ? { mfa_token: mfaToken, recovery_code: value }
          : { mfa_token: mfaToken, code: value.replace(/\s/g, '') },
      );
      done();
    });
  }

  if (mfaToken) {
    return (
      <form onSubmit={submitCode} aria-labelledby="mfa-heading">
        <PageHeading id="mfa-heading" title="Two-factor authentication">
          Two-factor authentication
        </PageHeading>
        <p>
          {useRecovery
            ? 'Enter one of the recovery codes you saved when you turned two-factor authentication on. Each works once.'
            : 'Enter the 6-digit code your authenticator app shows for SocialPulse.'}
        </p>
        <Field
          key={useRecovery ? 'recovery' : 'totp'}
          label={useRecovery ? 'Recovery code' : 'Authentication code'}
          name="code"
          required
          autoFocus
          autoComplete="one-time-code"
          {...(useRecovery
            ? { maxLength: 40 }
            : {
                inputMode: 'numeric' as const,
                pattern: '\\s*\\d{3}\\s*\\d{3}\\s*',
                maxLength: 10,
              })}
        />
        <button type="submit" disabled={action.busy}>
          Verify
        </button>{' '}
        <button type="button" onClick={() => (setUseRecovery(!useRecovery), action.setError(null))}>
          {useRecovery ? 'Use an authentication code instead' : 'Use a recovery code instead'}
        </button>
        <ErrorAlert error={action.error} />
        <p>
          <button type="button" onClick={() => (setMfaToken(null), action.setError(null))}>
            Start over
          </button>
        </p>
      </form>
    );
  }

  return (
    <form onSubmit={submitPassword} aria-labelledby="sign-in-heading">
      <PageHeading id="sign-in-heading" title="Sign in">
        Sign in
      </PageHeading>
      <Field label="Email" name="email" type="email" required autoComplete="username" />
      <Field
        label="Password"
        name="password"
        type="password"
        required
        autoComplete="current-password"
      />
      <button type="submit" disabled={action.busy}>
        Sign in
      </button>
      <ErrorAlert error={action.error} />
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </form>
  );
}
