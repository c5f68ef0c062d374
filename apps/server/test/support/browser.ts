/**
 * Browser tests of the web app: the real app (built web app included) listening on a local
 * port against a test database, driven by headless Chromium through playwright-core.
 *
 * Chromium is Debian's `chromium` package (.ci/run installs it); CHROMIUM_PATH names another
 * binary. In CI a missing Chromium fails the run; locally the browser tests skip with the
 * printed reason, as the database tests do without PostgreSQL.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildApp, webDistDir } from '../../src/api/app.js';
import { createAppDeps } from '../../src/api/deps.js';
import type { AppDeps, ZodApp } from '../../src/api/types.js';
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { createMemoryMailTransport, type MailMessage } from '../../src/domain/auth/mail.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase, databaseUnavailable, type TestDatabase } from './db.js';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let reported: string | undefined;
/** Why browser tests cannot run here ('' when they can). Throws in CI when Chromium is missing. */
export function browserUnavailable(): string {
  if (existsSync(chromiumPath)) return '';
  const reason = `Chromium is not installed at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI requires it)`);
  if (reported !== reason)
    process.stdout.write(`\n[integration] skipping browser tests: ${reason}\n`);
  reported = reason;
  return reason;
}

/** Why these tests cannot run: no PostgreSQL or no Chromium ('' when both are there). */
export const webTestsUnavailable = (): string => databaseUnavailable() || browserUnavailable();

export interface WebServer {
  /** http://127.0.0.1:<port> */
  url: string;
  app: ZodApp;
  deps: AppDeps;
  /** Mail the app sent (reset links, invitations). */
  mail: MailMessage[];
}

/** The real app, serving apps/web/dist at /, listening on 127.0.0.1 on a free port. */
export async function startWebServer(
  db: TestDatabase,
  overrides: ConfigOverrides = {},
): Promise<WebServer> {
  if (!existsSync(`${webDistDir}index.html`))
    throw new Error(
      `${webDistDir}index.html is missing: run npm run build (npm test does) before the browser tests.`,
    );
  // The tests sign in many times a minute from one address.
  const config = loadConfig(
    { LOG_LEVEL: 'silent', DATABASE_URL: db.url, RATE_LIMIT_AUTH_PER_MINUTE: '1000', ...overrides },
    {},
  );
  const mail = createMemoryMailTransport();
  const deps = createAppDeps(config, db, null, createLogger('silent'), { mail });
  const app = await buildApp(deps);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, deps, mail: mail.sent };
}

export interface BrowserSuite {
  readonly db: TestDatabase;
  readonly server: WebServer;
  /** A page in a fresh browser context: its own cookies and storage, as a new visitor. */
  newPage(): Promise<Page>;
  /** The link of the last mail sent to `to` (its origin replaced by the test server's). */
  lastLinkTo(to: string, path: string): string;
}

/**
 * Registers beforeAll/afterAll for a describe block: a test database, the app listening on it,
 * and one Chromium. Pages fail on uncaught script errors (checked when the suite ends).
 */
export function browserSuite(
  overrides: ConfigOverrides | (() => Promise<ConfigOverrides>) = {},
): BrowserSuite {
  let db: TestDatabase | undefined;
  let server: WebServer | undefined;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    // A function: configuration that exists only once the suite runs (a fake server's URL).
    server = await startWebServer(
      db,
      typeof overrides === 'function' ? await overrides() : overrides,
    );
    browser = await chromium.launch({ executablePath: chromiumPath });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.app.close();
    await db?.drop();
    expect(pageErrors, 'uncaught errors in the web app').toEqual([]);
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not ready (beforeAll failed?)`);
    return value;
  };
  return {
    get db() {
      return need(db, 'the test database');
    },
    get server() {
      return need(server, 'the web server');
    },
    async newPage() {
      const context = await need(browser, 'Chromium').newContext();
      // Fail within seconds rather than at the test timeout when something never shows up.
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      return page;
    },
    lastLinkTo(to, path) {
      const message = need(server, 'the web server')
        .mail.filter((m) => m.to === to)
        .at(-1);
      if (!message) throw new Error(`no mail was sent to ${to}`);
      const link = new RegExp(`https?://\\S+${path}\\?token=[\\w-]+`).exec(message.text)?.[0];
      if (!link) throw new Error(`the mail to ${to} holds no ${path} link:\n${message.text}`);
      const url = new URL(link);
      return `${need(server, 'the web server').url}${url.pathname}${url.search}`;
    },
  };
}

/** Waits until the locator shows (one element) and returns its text. */
export async function visibleText(locator: Locator): Promise<string> {
  await locator.waitFor({ state: 'visible' });
  return (await locator.innerText()).trim();
}

/** The alert the page shows (API errors are always in role="alert"). */
export const alertText = (page: Page): Promise<string> => visibleText(page.getByRole('alert'));

/** The workspaces table of the home page as rows of [workspace, role, posts]. */
export async function workspaceRows(page: Page): Promise<string[][]> {
  const table = page.getByRole('table', { name: 'Your workspaces' });
  await table.waitFor({ state: 'visible' });
  const rows = table.getByRole('row');
  const out: string[][] = [];
  for (const row of (await rows.all()).slice(1))
    out.push((await row.locator('th, td').allInnerTexts()).map((t) => t.trim()));
  return out;
}
