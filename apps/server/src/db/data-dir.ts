import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import {
  chmod,
  link,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { AppError, describeIoError, errnoCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';

/**
 * The data directory holds the embedded PostgreSQL cluster, the generated secrets and the
 * lock that keeps two SocialPulse processes from running one cluster.
 */
export interface DataDirLock {
  pid: number;
  port: number;
  startedAt: string;
}

export interface Secrets {
  encryptionKey: string;
  embeddedDbPassword: string;
  /** The embedded database's application login (socialpulse_login: row-level security, no owner rights). */
  appDbPassword: string;
  /** Signs access tokens; set JWT_SECRET when several servers share a database. */
  jwtSecret: string;
}

const lockFile = (dataDir: string): string => path.join(dataDir, 'socialpulse.lock');
const secretsFile = (dataDir: string): string => path.join(dataDir, 'secrets.json');

/** Creates DATA_DIR if needed; a path that cannot hold it is a configuration error, in words. */
export async function ensureDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    const isFile =
      errnoCode(error) === 'EEXIST' &&
      (await stat(dataDir).then(
        (s) => !s.isDirectory(),
        () => false,
      ));
    throw new AppError(
      'config_invalid',
      isFile
        ? `DATA_DIR ${dataDir} is a file, not a directory`
        : `DATA_DIR ${dataDir} cannot be created (${describeIoError(error)})`,
      { cause: error },
    );
  }
  try {
    // Traversable but not listable by others: the embedded server runs as the `postgres` user
    // when SocialPulse runs as root, and must reach its cluster folder inside.
    await chmod(dataDir, 0o711);
  } catch (error) {
    throw new AppError(
      'config_invalid',
      `DATA_DIR ${dataDir} is not writable (${describeIoError(error)})`,
      { cause: error },
    );
  }
}

/**
 * Whether `pid` runs, and is a Node.js process (SocialPulse) where /proc can tell: a pid in a
 * stale file may since have gone to any other program (pid 1 in a fresh container).
 */
function isLiveNode(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errnoCode(error) !== 'EPERM') return false;
  }
  let argv0: string;
  try {
    argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  } catch (error) {
    // Gone meanwhile, where /proc exists; elsewhere, trust the pid.
    return !(errnoCode(error) === 'ENOENT' && existsSync('/proc/self/cmdline'));
  }
  const name = path.basename(argv0);
  return /node/i.test(name) || name === path.basename(process.execPath);
}

export async function readLock(dataDir: string): Promise<DataDirLock | null> {
  try {
    const parsed = JSON.parse(await readFile(lockFile(dataDir), 'utf8')) as Partial<DataDirLock>;
    if (typeof parsed.pid !== 'number' || typeof parsed.port !== 'number') return null;
    return { pid: parsed.pid, port: parsed.port, startedAt: String(parsed.startedAt) };
  } catch {
    return null;
  }
}

/** The lock of a live SocialPulse holding this directory, or null when it is free or stale. */
export async function findLiveHolder(dataDir: string): Promise<DataDirLock | null> {
  const lock = await readLock(dataDir);
  return lock && lock.pid !== process.pid && isLiveNode(lock.pid) ? lock : null;
}

/** Takes the data-directory lock or throws `data_dir_locked` naming the holder. */
export async function acquireLock(dataDir: string, port: number): Promise<() => Promise<void>> {
  const holder = await findLiveHolder(dataDir);
  if (holder) {
    throw new AppError(
      'data_dir_locked',
      `Another SocialPulse (pid ${holder.pid}, started ${holder.startedAt}) is using the data directory ${dataDir}. ` +
        'Stop it first. The embedded database serves one server process (and the CLI commands that attach to it); to run more servers or workers, point them all at one external PostgreSQL with DATABASE_URL (another DATA_DIR would give this process a separate, empty database).',
      { details: { pid: holder.pid, dataDir } },
    );
  }
  await rm(lockFile(dataDir), { force: true });
  const lock: DataDirLock = { pid: process.pid, port, startedAt: new Date().toISOString() };
  // 'wx' fails if another process created the file between our check and now.
  let handle;
  try {
    handle = await open(lockFile(dataDir), 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return acquireLock(dataDir, port);
    throw error;
  }
  await handle.writeFile(JSON.stringify(lock));
  await handle.close();
  // A process that ends without releasing the lock (process.exit on a second signal, an
  // uncaught error) must not leave it behind: 'exit' runs synchronous work only.
  const releaseOnExit = (): void => {
    try {
      if ((JSON.parse(readFileSync(lockFile(dataDir), 'utf8')) as DataDirLock).pid === process.pid)
        rmSync(lockFile(dataDir), { force: true });
    } catch {
      // Gone or unreadable: nothing of ours to remove.
    }
  };
  process.on('exit', releaseOnExit);
  return async () => {
    process.removeListener('exit', releaseOnExit);
    const current = await readLock(dataDir);
    if (current?.pid === process.pid) await rm(lockFile(dataDir), { force: true });
  };
}

const attachedDir = (dataDir: string): string => path.join(dataDir, 'attached');

/**
 * Records that this process uses the cluster of the lock holder, so that the holder waits for
 * it before stopping the cluster (waitForAttached). A file per process, not the sessions in
 * pg_stat_activity: a command's pool closes idle connections, so it can have none for a while
 * and still be running, and the holder cannot tell its own sessions from others' there.
 * Returns the release.
 */
export async function registerAttached(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(attachedDir(dataDir), String(process.pid));
  await mkdir(attachedDir(dataDir), { recursive: true, mode: 0o700 });
  await writeFile(file, new Date().toISOString(), { mode: 0o600 });
  const removeOnExit = (): void => rmSync(file, { force: true });
  process.on('exit', removeOnExit);
  return async () => {
    process.removeListener('exit', removeOnExit);
    await rm(file, { force: true });
  };
}

/** Pids of live processes registered as using this directory's cluster; removes stale ones. */
export async function listAttached(dataDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(attachedDir(dataDir));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    if (isLiveNode(pid)) live.push(pid);
    else await rm(path.join(attachedDir(dataDir), name), { force: true });
  }
  return live;
}

/**
 * Waits, at most `timeoutMs`, until no other process uses this directory's cluster, so that
 * stopping it does not cut a running command off its database mid-way.
 */
export async function waitForAttached(
  dataDir: string,
  logger: Logger,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = '';
  for (;;) {
    const pids = await listAttached(dataDir);
    if (pids.length === 0) return;
    if (Date.now() >= deadline) {
      logger.warn(
        { pids },
        'stopping the embedded PostgreSQL although other SocialPulse commands still use it',
      );
      return;
    }
    const now = pids.join(', ');
    if (now !== said) {
      logger.warn(
        `waiting for SocialPulse commands using this database to finish (pid ${now}; at most ${Math.round(timeoutMs / 1000)} s) before stopping the embedded PostgreSQL`,
      );
      said = now;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Reads the generated secrets, creating them (mode 0600) on first start and adding any that a
 * newer version introduced. Processes that share the data directory and start together (an API
 * and a worker) read one set: the file is created whole or not at all, by one of them.
 */
export async function loadOrCreateSecrets(dataDir: string): Promise<Secrets> {
  const file = secretsFile(dataDir);
  for (;;) {
    let stored: Partial<Secrets> | null = null;
    try {
      stored = JSON.parse(await readFile(file, 'utf8')) as Partial<Secrets>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new AppError(
          'config_invalid',
          `${file} is unreadable (${(error as Error).message}); restore it from a backup: it holds the key to stored tokens.`,
        );
      }
    }
    if (stored !== null && stored.encryptionKey === undefined) {
      throw new AppError(
        'config_invalid',
        `${file} has no encryptionKey; restore it from a backup: it holds the key to stored tokens.`,
      );
    }
    const secrets: Secrets = {
      encryptionKey: stored?.encryptionKey ?? randomBytes(32).toString('base64'),
      embeddedDbPassword: stored?.embeddedDbPassword ?? randomBytes(24).toString('base64url'),
      appDbPassword: stored?.appDbPassword ?? randomBytes(24).toString('base64url'),
      jwtSecret: stored?.jwtSecret ?? randomBytes(32).toString('base64url'),
    };
    const content = JSON.stringify(secrets, null, 2) + '\n';
    if (stored === null) {
      // Another process created it first: read theirs.
      if (!(await createWhole(file, content))) continue;
    } else if (Object.keys(secrets).some((k) => stored[k as keyof Secrets] === undefined)) {
      // Added keys: the file is replaced whole (a rename), never seen half written. Two
      // processes of a new version upgrading at the same instant could each keep its own new
      // keys; existing ones, the encryption key among them, never change.
      await replaceWhole(file, content);
    }
    return secrets;
  }
}

/** Writes `content` (mode 0600) to a new file beside `file`; returns its path. */
async function writeTempBeside(file: string, content: string): Promise<string> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  return temp;
}

/** Creates `file` with `content` unless it exists (false): complete, or absent, to any reader. */
async function createWhole(file: string, content: string): Promise<boolean> {
  const temp = await writeTempBeside(file, content);
  try {
    // A hard link is created only if the name is free, and points at a complete file.
    await link(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    // A file system without hard links: exclusive creation still lets only one process write.
    try {
      await writeFile(file, content, { mode: 0o600, flag: 'wx' });
      return true;
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    await rm(temp, { force: true });
  }
}

async function replaceWhole(file: string, content: string): Promise<void> {
  const temp = await writeTempBeside(file, content);
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
