import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { platforms } from '@socialpulse/contracts';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { demoPostsFile } from '../src/domain/demo/demo.service.js';
import { runCli, startServer, type ServerProcess } from './support/server-process.js';

/**
 * The Demo workspace: `serve` on a fresh embedded database seeds it from examples/ (not with
 * an external DATABASE_URL, not with --no-demo or DEMO_WORKSPACE=false). It belongs to the
 * instance's first admin, so it is checked through the API as that admin.
 */
describe('the Demo workspace (serve on a fresh embedded database)', () => {
  const dirs: string[] = [];
  let server: ServerProcess | undefined;
  // The embedded database is the point: an external one set by the runner must not be used.
  const env = { DATABASE_URL: '', REDIS_URL: '' };
  const password = 'correct horse battery staple demo';
  const demoPosts = readFileSync(demoPostsFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { platform: string });

  const freshDataDir = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sp-demo-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    if (server && server.child.exitCode === null) expect(await server.stop('SIGTERM')).toBe(0);
    server = undefined;
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Creates the instance admin through the CLI (attached to the running server) and signs in. */
  async function signInAsFirstAdmin(dataDir: string, url: string): Promise<Record<string, string>> {
    const created = await runCli(
      [
        'users',
        'create',
        '--email',
        'admin@example.com',
        '--admin',
        '--password-stdin',
        '--data-dir',
        dataDir,
      ],
      env,
      `${password}\n`,
    );
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/as instance admin\.\n$/);
    expect(created.code).toBe(0);
    const signIn = await fetch(`${url}/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password }),
    });
    expect(signIn.status).toBe(200);
    const { access_token: token } = (await signIn.json()) as { access_token: string };
    return { authorization: `Bearer ${token}` };
  }

  async function listWorkspaces(
    url: string,
    auth: Record<string, string>,
  ): Promise<{ id: string; name: string; post_count: number; role: string | null }[]> {
    const response = await fetch(`${url}/v1/workspaces`, { headers: auth });
    expect(response.status).toBe(200);
    return (
      (await response.json()) as {
        data: { id: string; name: string; post_count: number; role: string | null }[];
      }
    ).data;
  }

  it('is created with the sample posts of every platform, owned by the first admin, and only once', async () => {
    const dataDir = freshDataDir();
    server = await startServer(['--data-dir', dataDir], env);
    expect(server.output()).toContain(`"posts":${demoPosts.length}`);
    expect(server.output()).toContain('created the Demo workspace');
    const auth = await signInAsFirstAdmin(dataDir, server.url);

    const workspaces = await listWorkspaces(server.url, auth);
    expect(workspaces).toEqual([
      expect.objectContaining({ name: 'Demo', post_count: demoPosts.length, role: 'owner' }),
    ]);
    const demo = workspaces[0]!;
    const samplePlatforms = new Set(demoPosts.map((p) => p.platform));
    expect(samplePlatforms.size).toBeGreaterThanOrEqual(3);
    for (const platform of platforms) {
      const page = await fetch(
        `${server.url}/v1/workspaces/${demo.id}/posts?platform=${platform}&limit=1&fields=platform`,
        { headers: auth },
      );
      expect(page.status).toBe(200);
      const { data } = (await page.json()) as { data: { platform: string }[] };
      expect(data, platform).toEqual(samplePlatforms.has(platform) ? [{ platform }] : []);
    }

    // A restart finds workspaces and seeds nothing more.
    expect(await server.stop('SIGTERM')).toBe(0);
    server = await startServer(['--data-dir', dataDir], env);
    expect(server.output()).not.toContain('created the Demo workspace');
    const signIn = await fetch(`${server.url}/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password }),
    });
    const { access_token: token } = (await signIn.json()) as { access_token: string };
    expect(await listWorkspaces(server.url, { authorization: `Bearer ${token}` })).toEqual([
      expect.objectContaining({ id: demo.id, name: 'Demo', post_count: demoPosts.length }),
    ]);
    // Two cold starts of the embedded PostgreSQL (initdb, migrations, seeding) and a stop: more
    // than the default test timeout allows on a loaded machine.
  }, 180_000);

  it.each([
    ['--no-demo', ['--no-demo'], {}],
    ['DEMO_WORKSPACE=false', [], { DEMO_WORKSPACE: 'false' }],
  ])('is not created with %s', async (_label, args, extraEnv) => {
    const dataDir = freshDataDir();
    server = await startServer(['--data-dir', dataDir, ...args], { ...env, ...extraEnv });
    expect(server.output()).not.toContain('created the Demo workspace');
    const auth = await signInAsFirstAdmin(dataDir, server.url);
    expect(await listWorkspaces(server.url, auth)).toEqual([]);
  });
});
