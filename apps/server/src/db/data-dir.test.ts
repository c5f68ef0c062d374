/**
 * The generated secrets when processes sharing a data directory start together (an API and a
 * worker, or two workers): one set, never a half-written file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, ensureDataDir, findLiveHolder, loadOrCreateSecrets } from './data-dir.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sp-data-dir-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('loadOrCreateSecrets', () => {
  it('gives every caller of a first start the same secrets, written once, whole, mode 0600', async () => {
    const dir = await freshDir();
    const all = await Promise.all(Array.from({ length: 20 }, () => loadOrCreateSecrets(dir)));
    const stored = JSON.parse(await readFile(path.join(dir, 'secrets.json'), 'utf8')) as unknown;
    for (const secrets of all) expect(secrets).toEqual(stored);
    expect(await readdir(dir)).toEqual(['secrets.json']);
    if (process.platform !== 'win32')
      expect((await stat(path.join(dir, 'secrets.json'))).mode & 0o777).toBe(0o600);
  });

  it('gives processes that start together the same secrets', async () => {
    const dir = await freshDir();
    const module = pathToFileURL(fileURLToPath(new URL('./data-dir.ts', import.meta.url))).href;
    const script = `const { loadOrCreateSecrets } = await import(${JSON.stringify(module)});
      process.stdout.write((await loadOrCreateSecrets(${JSON.stringify(dir)})).encryptionKey);`;
    const keys = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              ['--import', 'tsx', '--input-type=module', '-e', script],
              { stdio: ['ignore', 'pipe', 'pipe'] },
            );
            let out = '';
            let err = '';
            child.stdout.on('data', (d: Buffer) => (out += d.toString()));
            child.stderr.on('data', (d: Buffer) => (err += d.toString()));
            child.on('error', reject);
            child.on('close', (code) =>
              code === 0 ? resolve(out) : reject(new Error(`exit ${String(code)}: ${err}`)),
            );
          }),
      ),
    );
    const stored = JSON.parse(await readFile(path.join(dir, 'secrets.json'), 'utf8')) as {
      encryptionKey: string;
    };
    expect(new Set(keys)).toEqual(new Set([stored.encryptionKey]));
  }, 60_000);

  it('adds the keys a newer version introduced and keeps the encryption key', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'secrets.json');
    await writeFile(file, JSON.stringify({ encryptionKey: 'kept', embeddedDbPassword: 'pw' }));
    const secrets = await loadOrCreateSecrets(dir);
    expect(secrets).toMatchObject({ encryptionKey: 'kept', embeddedDbPassword: 'pw' });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(secrets);
    expect(await readdir(dir)).toEqual(['secrets.json']);
  });

  it('refuses a file it cannot read, naming it, instead of replacing the key', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'secrets.json');
    await writeFile(file, '{"encryptionKey": ');
    await expect(loadOrCreateSecrets(dir)).rejects.toThrow(`${file} is unreadable`);
    expect(await readFile(file, 'utf8')).toBe('{"encryptionKey": ');
  });
});

describe('ensureDataDir', () => {
  it('names DATA_DIR and says in words why a path cannot be it', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'a-file');
    await writeFile(file, '');
    await expect(ensureDataDir(file)).rejects.toMatchObject({
      code: 'config_invalid',
      message: `DATA_DIR ${file} is a file, not a directory`,
    });
    await expect(ensureDataDir(path.join(file, 'below'))).rejects.toMatchObject({
      code: 'config_invalid',
      message: `DATA_DIR ${path.join(file, 'below')} cannot be created (a part of the path is not a directory)`,
    });
  });
});

describe('the DATA_DIR lock', () => {
  it('does not believe a lock whose pid is now another program', async () => {
    const dir = await freshDir();
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await writeFile(
        path.join(dir, 'socialpulse.lock'),
        JSON.stringify({ pid: bystander.pid, port: 1, startedAt: 'then' }),
      );
      expect(await findLiveHolder(dir)).toBeNull();
      const release = await acquireLock(dir, 2);
      expect(JSON.parse(await readFile(path.join(dir, 'socialpulse.lock'), 'utf8'))).toMatchObject({
        pid: process.pid,
        port: 2,
      });
      await release();
    } finally {
      bystander.kill();
    }
  });

  it('still refuses a lock held by a live SocialPulse (a node process)', async () => {
    const dir = await freshDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], {
      stdio: 'ignore',
    });
    try {
      await writeFile(
        path.join(dir, 'socialpulse.lock'),
        JSON.stringify({ pid: holder.pid, port: 1, startedAt: 'then' }),
      );
      await expect(acquireLock(dir, 2)).rejects.toMatchObject({ code: 'data_dir_locked' });
    } finally {
      holder.kill();
    }
  });
});
