/** The dashboard shell; features arrive with later issues and talk only to /v1. */
export function App() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '3rem auto' }}>
      <h1>SocialPulse</h1>
      <p>The dashboard is on its way. Meanwhile the API is live:</p>
      <ul>
        <li>
          <a href="/docs">API documentation</a> (interactive)
        </li>
        <li>
          <a href="/v1/workspaces">Your workspaces</a>
        </li>
      </ul>
    </main>
  );
}
