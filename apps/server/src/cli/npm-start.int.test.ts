import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { assertBuilt } from '../../test/support/server-process.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILD = 'npm run build --silent && ';

/**
 * `npm start` as a process manager runs it (Docker's CMD ["npm","start"], systemd): the signal
 * goes to npm's pid only, and must still stop the server, not leave it running under pid 1.
 */
describe.skipIf(databaseUnavailable() !== '')('npm start', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'sp-npm-start-'));
  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase();
    // The repository's start script, less its build (the test runs against the built dist).
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const start = pkg.scripts.start ?? '';
    expect(start.startsWith(BUILD)).toBe(true);
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({
        name: 'start-test',
        private: true,
        scripts: { start: start.slice(BUILD.length) },
      }),
    );
    symlinkSync(path.join(repo, 'apps'), path.join(dir, 'apps'));
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['SIGTERM', 'to npm', 'npm'],
    ['SIGINT', 'to npm', 'npm'],
    // Ctrl+C in a terminal: npm and the server both get it, and npm forwards it once more.
    ['SIGINT', 'to the process group (Ctrl+C)', 'group'],
  ] as const)('stops the server cleanly on %s %s', async (signal, _to, target) => {
    // Its own process group, so that whatever it leaves behind can be ended afterwards.
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: dir,
      detached: true,
      env: {
        // Not the npm_config_* of the npx that runs the tests: its local prefix would have npm
        // run the repository's own start script, build and all.
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name))),
        DATABASE_URL: db.url,
        DATA_DIR: path.join(dir, 'data'),
        PORT: '0',
        HOST: '127.0.0.1',
        PUBLIC_URL: '',
        REDIS_URL: '',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = once(npm, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const closed = once(npm, 'close');
    // Also after a failure or a timeout: nothing of it may outlive the test.
    onTestFinished(() => {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // Nothing left of it: as it should be.
      }
    });
    const url = await new Promise<URL>((resolve, reject) => {
      const onData = (): void => {
        const match = /SocialPulse is running at (http:\/\/\S+)/.exec(output);
        if (match?.[1]) resolve(new URL(match[1]));
      };
      npm.stdout.on('data', onData);
      void exited.then(() => reject(new Error(`npm start exited early:\n${output}`)));
    });
    if (target === 'group') process.kill(-npm.pid!, signal);
    else npm.kill(signal);
    const [code] = await exited;
    expect(code).toBe(0);
    expect(await accepts(Number(url.port))).toBe(false);
    await closed;
    expect(output).toContain(`"signal":"${signal}"`);
    expect(output).toContain('stopped cleanly');
  });
});

/** Whether something accepts connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
