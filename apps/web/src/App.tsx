import { useState, type FormEvent } from 'react';

/** First run: creates the admin account with the one-time link printed by `npm start`. */
function Setup({ token }: { token: string }) {
  // 'idle', 'busy', 'done', or the error message to show.
  const [status, setStatus] = useState<string>('idle');
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setStatus('busy');
    const res = await fetch('/v1/auth/setup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, email: form.get('email'), password: form.get('password') }),
    });
    if (res.ok) setStatus('done');
    else setStatus(((await res.json()) as { error?: { message?: string } }).error?.message ?? `Error ${res.status}`);
  }
  if (status === 'done') {
    return (
      <p role="status">
        Your admin account is ready and you are signed in. The Demo workspace is yours: <a href="/v1/workspaces">your workspaces</a>, <a href="/docs">API docs</a>.
      </p>
    );
  }
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Create the admin account">
      <h2>Create the admin account</h2>
      <label>
        Email <input name="email" type="email" required autoComplete="username" />
      </label>
      <label>
        Password (12+ characters, hard to guess) <input name="password" type="password" required minLength={12} autoComplete="new-password" />
      </label>
      <button type="submit" disabled={status === 'busy'}>
        Create account
      </button>
      {status !== 'idle' && status !== 'busy' && <p role="alert">{status}</p>}
    </form>
  );
}

/** The dashboard shell; features arrive with later issues and talk only to /v1. */
export function App() {
  const url = new URL(window.location.href);
  const token = url.pathname === '/setup' ? url.searchParams.get('token') : null;
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '3rem auto' }}>
      <h1>SocialPulse</h1>
      {token ? (
        <Setup token={token} />
      ) : (
        <>
          <p>The dashboard is on its way. Meanwhile the API is live:</p>
          <ul>
            <li>
              <a href="/docs">API documentation</a> (interactive)
            </li>
            <li>
              <a href="/v1/workspaces">Your workspaces</a>
            </li>
          </ul>
        </>
      )}
    </main>
  );
}
