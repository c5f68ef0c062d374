import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/support/server-process.js';

/**
 * Mistakes an operator makes before anything runs: each is named, with what to change, exit 78
 * (EX_CONFIG) and no stack, and nothing is created under DATA_DIR.
 */
describe('socialpulse refuses bad startup configuration', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'sp-startup-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const fresh = (name: string): string => path.join(root, name);
  // Whatever the machine's environment or a developer's .env says, these runs see only ours.
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    DATABASE_URL: '',
    DATABASE_APP_URL: '',
    PORT: '',
    REDIS_URL: '',
    ...extra,
  });

  it.each([
    [
      ['--services', 'foo'],
      /^socialpulse: --services "foo": unknown service\(s\) foo; known: api, worker\n$/,
    ],
    [['--services', ''], /^socialpulse: --services "": no service given; known: api, worker\n$/],
    [['--services', 'api,,wrker'], /unknown service\(s\) wrker; known: api, worker\n$/],
  ])('serve %j: a configuration error', async (args, message) => {
    const dataDir = fresh(`services-${args[1] || 'empty'}`);
    const result = await runCli(['serve', ...args], env({ DATA_DIR: dataDir }));
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(78);
    expect(readdirSafe(dataDir)).toEqual([]);
  });

  it('names a .env that is a directory, even for --version, and ignores a missing one', async () => {
    const cwd = fresh('env-dir');
    mkdirSync(path.join(cwd, '.env'), { recursive: true });
    const result = await runCli(['--version'], env(), undefined, cwd);
    expect(result.stderr).toBe(
      `socialpulse: Cannot read ${path.join(cwd, '.env')}: is a directory, not a file\n`,
    );
    expect(result.code).toBe(78);

    const none = fresh('env-none');
    mkdirSync(none);
    expect(await runCli(['--version'], env(), undefined, none)).toEqual({
      code: 0,
      stdout: '0.1.0\n',
      stderr: '',
    });
  });

  // root reads any file whatever its mode: nothing to refuse there.
  it.skipIf(process.getuid?.() === 0)('names a .env it may not read', async () => {
    const cwd = fresh('env-unreadable');
    mkdirSync(cwd);
    writeFileSync(path.join(cwd, '.env'), 'PORT=9000\n');
    chmodSync(path.join(cwd, '.env'), 0o000);
    const result = await runCli(['--version'], env(), undefined, cwd);
    expect(result.stderr).toBe(
      `socialpulse: Cannot read ${path.join(cwd, '.env')}: permission denied\n`,
    );
    expect(result.code).toBe(78);
  });

  it('still reads a .env, the environment winning', async () => {
    const cwd = fresh('env-file');
    mkdirSync(cwd);
    writeFileSync(path.join(cwd, '.env'), 'MAIL_FROM=x\nDEMO_WORKSPACE=maybe\n');
    const result = await runCli(
      ['serve'],
      env({ DEMO_WORKSPACE: 'true', DATA_DIR: fresh('env-file-data') }),
      undefined,
      cwd,
    );
    expect(result.stderr).toBe(
      'socialpulse: Invalid configuration:\n  - MAIL_FROM: Too small: expected string to have >=3 characters (got "x")\n',
    );
    expect(result.code).toBe(78);
  });

  it.each([' ', '0x1F90'])('refuses PORT=%j before creating anything', async (port) => {
    const dataDir = fresh(`port-${port.trim() || 'space'}`);
    // doctor rather than serve: on a PORT it took, serve would keep running.
    const result = await runCli(['doctor'], env({ PORT: port, DATA_DIR: dataDir }));
    expect(result.stderr).toBe(
      `socialpulse: Invalid configuration:\n  - PORT: must be a port number from 0 to 65535 in decimal digits (got "${port}")\n`,
    );
    expect(result.code).toBe(78);
    expect(readdirSafe(dataDir)).toEqual([]);
  });

  it('refuses DATABASE_APP_URL without DATABASE_URL with the other problems, before an embedded cluster is made', async () => {
    const dataDir = fresh('app-url');
    const result = await runCli(
      ['serve'],
      env({
        DATABASE_APP_URL: 'postgres://app:hidden-password@127.0.0.1/sp',
        LOG_LEVEL: 'loud',
        DATA_DIR: dataDir,
      }),
    );
    expect(result.stderr).toMatch(/^socialpulse: Invalid configuration:\n/);
    expect(result.stderr).toContain('  - LOG_LEVEL: ');
    expect(result.stderr).toContain(
      '  - DATABASE_APP_URL: is set without DATABASE_URL: the embedded database makes its own application login; set both or neither\n',
    );
    expect(result.stderr).not.toContain('hidden-password');
    expect(result.code).toBe(78);
    expect(readdirSafe(dataDir)).toEqual([]);
  });

  it('doctor on a DATA_DIR no server has used yet: the database is not set up, and how to set it up', async () => {
    const dataDir = fresh('doctor');
    const result = await runCli(['doctor'], env({ DATA_DIR: dataDir }));
    expect(result.stdout).toContain(
      '✗ database: embedded, not set up yet (no migrations applied): start the server once (it migrates), or run `socialpulse migrate`\n',
    );
    expect(result.stdout).not.toContain('does not exist');
    expect(result.code).toBe(1);
    // No cluster was made for it (one made here would keep a half-made application login).
    expect(readdirSafe(dataDir)).not.toContain('postgres');
  });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
