import type { ReactNode } from 'react';
import { Analyses } from './pages/Analyses.js';
import { AnalysisPage } from './pages/AnalysisPage.js';
import { Connections } from './pages/Connections.js';
import { ForgotPassword } from './pages/ForgotPassword.js';
import { Home } from './pages/Home.js';
import { Invite } from './pages/Invite.js';
import { Members } from './pages/Members.js';
import { Posts } from './pages/Posts.js';
import { ResetPassword } from './pages/ResetPassword.js';
import { Setup } from './pages/Setup.js';
import { SignIn } from './pages/SignIn.js';
import { SignUp } from './pages/SignUp.js';
import { Link, useLocation } from './router.js';
import { ErrorAlert, PageHeading } from './ui.js';

const uuid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const analysesPath = new RegExp(`^/workspaces/(${uuid})/analyses(?:/(${uuid}))?$`);
const postsPath = new RegExp(`^/workspaces/(${uuid})/posts$`);
const membersPath = new RegExp(`^/workspaces/(${uuid})/members$`);
const connectionsPath = new RegExp(`^/workspaces/(${uuid})/connections$`);

/**
 * What makes a visit new (a fresh page state): the path and query, except on the posts page,
 * whose query is its search: a new search keeps the page (and the focus on its form).
 */
function visitKey(url: URL): string {
  return postsPath.test(url.pathname.replace(/\/+$/, ''))
    ? url.pathname
    : url.pathname + url.search;
}

/** The page for a location (the server answers every page path with this app). */
function page(url: URL): ReactNode {
  const token = url.searchParams.get('token');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const analyses = analysesPath.exec(path);
  if (analyses?.[1])
    return analyses[2] ? (
      <AnalysisPage workspaceId={analyses[1]} analysisId={analyses[2]} />
    ) : (
      <Analyses workspaceId={analyses[1]} />
    );
  const posts = postsPath.exec(path);
  if (posts?.[1]) return <Posts workspaceId={posts[1]} params={url.searchParams} />;
  const members = membersPath.exec(path);
  if (members?.[1]) return <Members workspaceId={members[1]} />;
  const connections = connectionsPath.exec(path);
  if (connections?.[1])
    return <Connections workspaceId={connections[1]} params={url.searchParams} />;
  switch (path) {
    case '/':
      return <Home />;
    case '/sign-in':
      return <SignIn next={url.searchParams.get('next')} />;
    case '/sign-up':
      return <SignUp />;
    case '/forgot-password':
      return <ForgotPassword />;
    case '/reset-password':
      return <ResetPassword token={token} />;
    case '/invite':
      return <Invite token={token} />;
    case '/setup':
      return token ? (
        <Setup token={token} />
      ) : (
        <section>
          <PageHeading title="Setup">Setup</PageHeading>
          <ErrorAlert error="This setup link is incomplete: open the whole link the server printed when it started." />
        </section>
      );
    default:
      return (
        <section>
          <PageHeading title="Page not found">Page not found</PageHeading>
          <p>
            There is no page at {url.pathname}. Go to <Link to="/">the home page</Link>.
          </p>
        </section>
      );
  }
}

/**
 * The dashboard shell: sign-in, first-run setup, password reset, invitations, and each
 * workspace's posts, analyses (followed live), members and platform connections; talks only
 * to /v1.
 */
export function App() {
  const url = useLocation();
  // A workspace's pages are tables of posts, analyses, members and connections: they get the
  // room of a desktop screen; the account pages keep the narrow column that suits forms.
  const wide = url.pathname.startsWith('/workspaces/');
  return (
    <div className={wide ? 'shell shell-wide' : 'shell'}>
      <header>
        <p className="brand">
          <Link to="/">SocialPulse</Link>
        </p>
      </header>
      <main>
        {/* Keyed by location: each visit starts with a fresh page state. */}
        <div key={visitKey(url)}>{page(url)}</div>
      </main>
      <footer>
        <a href="/docs">API documentation</a>
      </footer>
    </div>
  );
}
