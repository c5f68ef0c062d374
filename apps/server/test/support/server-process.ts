import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(cliPath))
    throw new Error(`${cliPath} is missing: run npm run build first (npm test does).`);
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  input?: string,
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      ...(cwd !== undefined ? { cwd } : {}),
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Runs the CLI with its stdout read up to the first line, then closed, as `| head -1` does. */
export async function readFirstLine(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = once(child, 'close') as Promise<[number | null]>;
  let stdout = '';
  for await (const chunk of child.stdout) {
    stdout += (chunk as Buffer).toString();
    if (stdout.includes('\n')) break; // destroys our end of the pipe, as head does
  }
  const [code] = await closed;
  return { code, stdout, stderr };
}

/** Starts `socialpulse serve` and resolves once it prints its URL (or rejects when it exits). */
export function startServer(args: string[], env: Record<string, string>): Promise<ServerProcess> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', ...args], {
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const onData = (d: Buffer): void => {
      output += d.toString();
      const match = /SocialPulse is running at (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        resolve({
          url: match[1],
          child,
          output: () => output,
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((code) =>
      reject(new Error(`serve exited with ${String(code)} before it was ready:\n${output}`)),
    );
  });
}

/** Starts `socialpulse serve --services worker` and resolves once it says it runs. */
export function startWorkerProcess(env: Record<string, string>): Promise<ServerProcess> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'serve', '--services', 'worker', '--no-demo'], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('SocialPulse worker is running')) {
        resolve({
          url: '',
          child,
          output: () => output,
          stop: async (signal = 'SIGTERM') => (child.kill(signal), exited),
        });
      }
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((code) =>
      reject(new Error(`worker exited with ${String(code)} before it was ready:\n${output}`)),
    );
  });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
