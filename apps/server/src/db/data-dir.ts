import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';

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

export async function ensureDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  // Traversable but not listable by others: the embedded server runs as the `postgres` user
  // when SocialPulse runs as root, and must reach its cluster folder inside.
  await chmod(dataDir, 0o711);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  return lock && lock.pid !== process.pid && isAlive(lock.pid) ? lock : null;
}

/** Takes the data-directory lock or throws `data_dir_locked` naming the holder. */
export async function acquireLock(dataDir: string, port: number): Promise<() => Promise<void>> {
  const holder = await findLiveHolder(dataDir);
  if (holder) {
    throw new AppError(
      'data_dir_locked',
      `Another SocialPulse (pid ${holder.pid}, started ${holder.startedAt}) is using the data directory ${dataDir}. ` +
        'Stop it first, or set DATA_DIR to another directory.',
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
  return async () => {
    const current = await readLock(dataDir);
    if (current?.pid === process.pid) await rm(lockFile(dataDir), { force: true });
  };
}

/** Reads the generated secrets, creating them (mode 0600) on first start and adding any
 * that a newer version introduced. */
export async function loadOrCreateSecrets(dataDir: string): Promise<Secrets> {
  const file = secretsFile(dataDir);
  let stored: Partial<Secrets> = {};
  let exists = true;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Partial<Secrets>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AppError(
        'config_invalid',
        `${file} is unreadable (${(error as Error).message}); restore it from a backup: it holds the key to stored tokens.`,
      );
    }
    exists = false;
  }
  const secrets: Secrets = {
    encryptionKey: stored.encryptionKey ?? randomBytes(32).toString('base64'),
    embeddedDbPassword: stored.embeddedDbPassword ?? randomBytes(24).toString('base64url'),
    appDbPassword: stored.appDbPassword ?? randomBytes(24).toString('base64url'),
    jwtSecret: stored.jwtSecret ?? randomBytes(32).toString('base64url'),
  };
  if (exists && stored.encryptionKey === undefined) {
    throw new AppError(
      'config_invalid',
      `${file} has no encryptionKey; restore it from a backup: it holds the key to stored tokens.`,
    );
  }
  if (!exists || Object.keys(secrets).some((k) => stored[k as keyof Secrets] === undefined)) {
    await writeFile(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  }
  return secrets;
}
