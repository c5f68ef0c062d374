import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { assertBuilt, cliPath, isProcessRunning } from '../../test/support/server-process.js';
import { openDatabase } from './database.js';
import { startEmbeddedPostgres } from './embedded.js';

/**
 * How the embedded PostgreSQL lives and ends with the processes around it: a Ctrl+C, a signal
 * by pid, a command attached to another's cluster, a cluster that dies, a stale pid file.
 */
describe('embedded PostgreSQL lifecycle', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-lifecycle-'));
  const clusterDir = path.join(dataDir, 'postgres');
  const postmasterPidFile = path.join(clusterDir, 'postmaster.pid');
  const lockFile = path.join(dataDir, 'socialpulse.lock');
  const env = { ...process.env, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'info' };
  const logger = createLogger('silent');
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, {});
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    const pid = readPid();
    if (pid !== null && isProcessRunning(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const readPid = (): number | null => {
    try {
      return Number.parseInt(readFileSync(postmasterPidFile, 'utf8').split('\n')[0] ?? '', 10);
    } catch {
      return null;
    }
  };

  /** Spawns node; `output()` is stdout and stderr so far, `exited` its exit code. */
  const launch = (
    args: string[],
    options: { detached?: boolean } = {},
  ): { child: ChildProcess; output: () => string; exited: Promise<number | null> } => {
    const child = spawn(process.execPath, args, {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, output: () => output, exited };
  };

  /** A script that runs `body` inside withDatabase (the built CLI's), after printing "ready". */
  const withDatabaseScript = (body: string): string[] => {
    assertBuilt();
    const context = pathToFileURL(path.join(path.dirname(cliPath), 'context.js')).href;
    return [
      '--input-type=module',
      '-e',
      `const { withDatabase } = await import(${JSON.stringify(context)});
       await withDatabase({ dataDir: ${JSON.stringify(dataDir)} }, async ({ db }) => {
         process.stdout.write('ready ' + db.mode + '\\n');
         ${body}
       });
       process.stdout.write('done\\n');`,
    ];
  };
  const waitForStdin = `await new Promise((r) => process.stdin.once('data', r));`;

  it('a CLI command killed by pid stops the cluster it started and releases DATA_DIR (143, 130)', async () => {
    for (const [signal, status] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const run = launch(withDatabaseScript(waitForStdin));
      await expect.poll(run.output, { timeout: 60_000 }).toMatch(/ready embedded/);
      const pid = readPid();
      expect(pid).not.toBeNull();
      run.child.kill(signal);
      expect(await run.exited).toBe(status);
      expect(run.output()).not.toContain('done');
      await expect.poll(() => isProcessRunning(pid ?? 0), { timeout: 20_000 }).toBe(false);
      expect(existsSync(lockFile)).toBe(false);
    }
  });

  it('a serve killed by pid during its startup stops its cluster and releases DATA_DIR', async () => {
    rmSync(clusterDir, { recursive: true, force: true }); // initdb and migrations: a long start
    const run = launch([cliPath, 'serve', '--port', '0', '--no-demo', '--data-dir', dataDir]);
    await expect
      .poll(() => existsSync(postmasterPidFile), { timeout: 60_000, interval: 20 })
      .toBe(true);
    const pid = readPid();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
    expect(run.output()).not.toContain('SocialPulse is running');
    await expect.poll(() => isProcessRunning(pid ?? 0), { timeout: 20_000 }).toBe(false);
    expect(existsSync(lockFile)).toBe(false);
  });

  it("Ctrl+C (SIGINT to the terminal's process group) lets serve drain, then stop its cluster", async () => {
    const run = launch([cliPath, 'serve', '--port', '0', '--no-demo', '--data-dir', dataDir], {
      detached: true, // its own process group, as a shell makes for a foreground job
    });
    await expect.poll(run.output, { timeout: 60_000 }).toMatch(/SocialPulse is running at/);
    const pid = readPid();
    process.kill(-(run.child.pid ?? 0), 'SIGINT');
    expect(await run.exited).toBe(0);
    // The cluster was not in the group: serve stopped it itself, after draining.
    expect(run.output()).not.toMatch(/terminating connection due to administrator command/);
    expect(run.output()).toMatch(/stopped cleanly/);
    expect(isProcessRunning(pid ?? 0)).toBe(false);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('the owner of the cluster waits for a command attached to it before stopping it', async () => {
    const owner = await openDatabase({ config, logger, role: 'attach' });
    expect(owner.mode).toBe('embedded');
    const attached = launch(
      withDatabaseScript(`${waitForStdin}
         const { rows } = await db.pool.query('SELECT 42 AS n');
         process.stdout.write('answer ' + rows[0].n + '\\n');`),
    );
    await expect.poll(attached.output, { timeout: 60_000 }).toMatch(/ready attached/);
    let closed = false;
    const closing = owner.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(closed).toBe(false);
    attached.child.stdin?.end('go\n');
    expect(await attached.exited).toBe(0);
    expect(attached.output()).toContain('answer 42');
    await closing;
    expect(existsSync(lockFile)).toBe(false);
    expect(existsSync(postmasterPidFile)).toBe(false);
  });

  it('tells the owner when its cluster dies, and then closes at once', async () => {
    const db = await openDatabase({ config, logger, role: 'own' });
    const died = new Promise<unknown>((resolve) => db.onUnexpectedExit(resolve));
    process.kill(readPid() ?? 0, 'SIGKILL');
    expect(await died).toEqual({ code: null, signal: 'SIGKILL' });
    const started = Date.now();
    await db.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('serve whose cluster dies stops by itself, exit 1 for a supervisor to restart it, releasing DATA_DIR', async () => {
    const run = launch([cliPath, 'serve', '--port', '0', '--no-demo', '--data-dir', dataDir]);
    await expect.poll(run.output, { timeout: 60_000 }).toMatch(/SocialPulse is running at/);
    process.kill(readPid() ?? 0, 'SIGKILL');
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/the embedded PostgreSQL exited: stopping/);
    expect(run.output()).toMatch(/stopped cleanly/);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('treats a pid file whose pid is another program as stale, and leaves that program alone', async () => {
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(bystander);
    writeFileSync(postmasterPidFile, `${String(bystander.pid)}\n${clusterDir}\n`);
    const db = await openDatabase({ config, logger, role: 'own' });
    await db.close();
    expect(isProcessRunning(bystander.pid ?? 0)).toBe(true);
  });

  it('names an orphaned PostgreSQL that does not stop', async () => {
    // A "postgres" in the cluster directory that ignores SIGINT, like a hung postmaster.
    const orphan = spawn(
      'bash',
      ['-c', 'trap "" INT; cd "$0" && exec -a postgres sleep 60', clusterDir],
      {
        stdio: 'ignore',
      },
    );
    children.push(orphan);
    await expect
      .poll(() => readFileSync(`/proc/${String(orphan.pid)}/cmdline`, 'utf8'))
      .toMatch(/^postgres\0/);
    writeFileSync(postmasterPidFile, `${String(orphan.pid)}\n${clusterDir}\n`);
    await expect(
      startEmbeddedPostgres({ dataDir, password: 'x', port: 1, logger }),
    ).rejects.toThrow(
      `An orphaned PostgreSQL (pid ${String(orphan.pid)}) holds ${clusterDir} and did not stop`,
    );
    orphan.kill('SIGKILL');
    rmSync(postmasterPidFile, { force: true });
  }, 30_000);
});
