/**
 * The files CLI commands read and write. An input is opened and checked before anything is
 * written; output goes to a temporary file beside --out that replaces it only when the run ends
 * normally, so a typo in the input name, a read or write error, or Ctrl-C never leaves an
 * existing --out file empty or half-written (`analyze`, `export`, `analyses results`, and
 * `import`'s --rejects file). A pipe, a device or a descriptor (/dev/stdout) is written directly.
 */
import { randomBytes } from 'node:crypto';
import {
  constants,
  createWriteStream,
  fstatSync,
  rmSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import {
  access,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { categoryRulesSchema } from '@socialpulse/contracts';
import { ruleProblems, type CategoryRule } from '../analysis/nlp/categories.js';
import { commandLineDirectory } from '../config.js';
import { AppError, describeIoError, errnoCode, isAppError } from '../errors.js';
import { stopSignals } from '../process-signals.js';

/**
 * A file named on the command line, where the user meant it: relative to the directory the
 * command was typed in (commandLineDirectory: `npm run socialpulse` runs in the repository's
 * root), `-` (standard input or output) as it is. Run where it was typed, a name stays as typed,
 * as messages and reject lines show it. A commander argument and option parser.
 */
export function commandLinePath(file: string): string {
  if (file === '-' || path.isAbsolute(file)) return file;
  const base = commandLineDirectory();
  return path.resolve(base) === process.cwd() ? file : path.resolve(base, file);
}

/** commandLinePath for a variadic argument (commander passes the values parsed so far). */
export function commandLinePaths(file: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), commandLinePath(file)];
}

export interface AnalyzeInput {
  stream: Readable;
  /** For messages: the path given, or "standard input". */
  name: string;
  /** The input's identity when it is a regular file, to refuse writing the results over it. */
  file: Stats | null;
}

export interface AnalyzeOutput {
  stream: Writable;
  name: string;
  /**
   * Ends the stream and waits until what was written is in the (temporary) file, without putting
   * it in place: a command writing several files finishes them all before committing any, so that
   * a failure to write one leaves every existing file as it was. `commit` does it when not done.
   */
  finish(): Promise<void>;
  /** Ends the stream and puts the file in place; call once, after the last write. */
  commit(): Promise<void>;
  /** Drops what was written (an existing --out file stays as it was); never throws. */
  discard(): Promise<void>;
}

export async function openInput(file: string): Promise<AnalyzeInput> {
  if (file === '-') {
    let stats: Stats | null = null;
    try {
      stats = fstatSync(0);
    } catch {
      // No usable stdin descriptor: there is then no file that --out could be.
    }
    return { stream: process.stdin, name: 'standard input', file: stats?.isFile() ? stats : null };
  }
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new AppError('validation_failed', `${file}: ${describeIoError(error)}`, {
      cause: error,
    });
  }
  let stats: Stats;
  try {
    stats = await handle.stat();
  } catch (error) {
    await handle.close();
    throw new AppError('validation_failed', `${file}: ${describeIoError(error)}`, {
      cause: error,
    });
  }
  if (stats.isDirectory()) {
    await handle.close();
    throw new AppError('validation_failed', `${file}: is a directory`);
  }
  return { stream: handle.createReadStream(), name: file, file: stats.isFile() ? stats : null };
}

const STDOUT: AnalyzeOutput = {
  stream: process.stdout,
  name: 'standard output',
  finish: () => Promise.resolve(),
  commit: () => Promise.resolve(),
  discard: () => Promise.resolve(),
};

/** What `openOutput` needs of an input to refuse writing over it. */
export type InputIdentity = Pick<AnalyzeInput, 'file' | 'name'>;

/**
 * Opens `out` (a path, or `-` for standard output) to be written whole or not at all: a regular
 * file is written beside its target and renamed over it by `commit`, so that a failed or
 * interrupted run leaves an existing file as it was. What exists and is not a regular file (a
 * named pipe, a device, a socket, or one of this process's descriptors, as /dev/stdout names
 * it) is written directly: it holds nothing to keep, and a rename would replace it (or the link
 * to it) with a file. The command's input files may not be `out`. `flag` names the option in
 * messages.
 */
export async function openOutput(
  out: string,
  input: InputIdentity | readonly InputIdentity[] = [],
  { flag = '--out' }: { flag?: string } = {},
): Promise<AnalyzeOutput> {
  if (out === '-') return STDOUT;
  const unusable = (reason: string, cause?: unknown): AppError =>
    new AppError('validation_failed', `cannot write ${flag} ${out}: ${reason}`, { cause });
  // stat, not realpath: it follows /proc's links to pipes and sockets ("pipe:[1234]"), which
  // name no path that realpath could return, so that they are not taken for missing files.
  let existing: Stats | null = null;
  try {
    existing = await stat(out);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw unusable(describeIoError(error), error);
  }
  // dev + inode, not the path: a symbolic or hard link to the input is the input too.
  const inputs: readonly InputIdentity[] = ([] as InputIdentity[]).concat(input);
  const same = inputs.find(
    (i) =>
      existing !== null &&
      i.file !== null &&
      existing.dev === i.file.dev &&
      existing.ino === i.file.ino,
  );
  if (same !== undefined) {
    throw new AppError(
      'validation_failed',
      `${flag} ${out} is the same file as the input (${same.name}): write it to another file`,
    );
  }
  if (existing?.isDirectory()) throw unusable('is a directory');
  let resolved: Resolved;
  try {
    resolved = await followLinks(out);
  } catch (error) {
    throw unusable(describeIoError(error), error);
  }
  if (resolved.descriptor !== null) {
    if (existing === null) throw unusable(`descriptor ${resolved.descriptor} is not open`);
    // The shell opened it before the run, truncating a file (`>`) or appending to it (`>>`):
    // nothing is left to keep, and a rename would drop what `>>` asked to keep.
    return descriptorOutput(resolved.descriptor, out, unusable);
  }
  if (existing !== null && !existing.isFile()) return openDirect(out, unusable);
  // The file at the end of the links is the one replaced (or created), so that a link stays a link.
  const target = resolved.path;
  if (existing !== null) {
    // Another process's descriptor of a deleted file (/proc/PID/fd/N) leads to no file that a
    // rename could replace.
    const found = await stat(target).catch(() => null);
    if (found?.dev !== existing.dev || found.ino !== existing.ino) {
      return openDirect(out, unusable);
    }
    // Renaming would replace even a read-only file; refuse it as writing into it would.
    try {
      await access(target, constants.W_OK);
    } catch (error) {
      throw unusable(describeIoError(error), error);
    }
  }
  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx', 0o666);
  } catch (error) {
    throw unusable(await creationProblem(path.dirname(target), error, existing !== null), error);
  }
  // Node's default for these signals ends the process at once, which would leave the temporary
  // file behind: remove it, then let the signal end the process as it would have.
  const onSignal = (signal: NodeJS.Signals): void => {
    removeSignalHandlers();
    rmSync(temp, { force: true });
    process.kill(process.pid, signal);
  };
  const signals = stopSignals();
  const removeSignalHandlers = (): void => {
    for (const s of signals) process.off(s, onSignal);
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    if (existing !== null) await handle.chmod(existing.mode & 0o7777);
  } catch (error) {
    removeSignalHandlers();
    await handle.close();
    await rm(temp, { force: true });
    throw unusable(describeIoError(error), error);
  }
  // flush: fsync before the descriptor closes; without it, a crash soon after the rename can
  // leave an empty file under the name (file systems may commit the rename before the data).
  const stream = handle.createWriteStream({ flush: true });
  let settled = false;
  let finishing: Promise<void> | null = null;
  const finish = (): Promise<void> =>
    (finishing ??= (async () => {
      stream.end();
      // Resolves once the descriptor is synced and closed; rejects if the stream failed.
      await finished(stream);
    })());
  return {
    stream,
    name: out,
    async finish() {
      try {
        await finish();
      } catch (error) {
        throw new AppError('internal_error', `cannot write ${out}: ${describeIoError(error)}`, {
          cause: error,
        });
      }
    },
    async commit() {
      settled = true;
      try {
        await finish();
        await rename(temp, target);
      } catch (error) {
        stream.destroy();
        await rm(temp, { force: true }).catch(() => undefined);
        throw new AppError('internal_error', `cannot write ${out}: ${describeIoError(error)}`, {
          cause: error,
        });
      } finally {
        removeSignalHandlers();
      }
    },
    async discard() {
      if (settled) return;
      settled = true;
      stream.destroy();
      await rm(temp, { force: true }).catch(() => undefined);
      removeSignalHandlers();
    },
  };
}

/** Linux's own limit on the links followed in one path (ELOOP beyond it). */
const MAX_LINKS = 40;

/** A path naming one of this process's descriptors: /proc/self/fd/1, /proc/PID/task/TID/fd/3. */
const OWN_DESCRIPTOR = new RegExp(
  `^/proc/(?:self|thread-self|${process.pid})(?:/task/\\d+)?/fd/(\\d+)$`,
);

interface Resolved {
  /** The file at the end of the links (`file` itself when it is no link). */
  path: string;
  /** The descriptor of this process it names (/dev/stdout, /dev/fd/3), or null. */
  descriptor: number | null;
}

/**
 * Follows the symbolic links of `file` one by one, as realpath would, but without giving up at
 * a link to a file that does not exist yet (it is to be created there, the link kept) and
 * stopping at a descriptor of this process, whose /proc link may lead to "pipe:[1234]". A path
 * whose directory is missing is returned as it is: creating the file there says what is wrong.
 */
async function followLinks(file: string): Promise<Resolved> {
  let current = file;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    let dir: string;
    try {
      // The directory's own links resolved, so that a relative link resolves from where it is.
      dir = await realpath(path.dirname(current));
    } catch {
      return { path: current, descriptor: null };
    }
    const here = path.join(dir, path.basename(current));
    const fd = OWN_DESCRIPTOR.exec(here)?.[1];
    if (fd !== undefined) return { path: here, descriptor: Number(fd) };
    let link: string;
    try {
      link = await readlink(here);
    } catch (error) {
      const code = errnoCode(error);
      // EINVAL: not a link; ENOENT: nothing there yet. The path as given when no link was
      // followed, so that messages name it as the user did.
      if (code === 'EINVAL' || code === 'ENOENT') {
        return { path: hops === 0 ? file : here, descriptor: null };
      }
      throw error;
    }
    current = path.resolve(dir, link);
  }
  throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
}

/**
 * Why the temporary file could not be made in `dir`, in words. ENOENT means a missing
 * directory only when it is missing: /proc, which exists, answers it to any new file.
 */
async function creationProblem(dir: string, error: unknown, replacing: boolean): Promise<string> {
  const code = errnoCode(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    let found: Stats;
    try {
      found = await stat(dir);
    } catch (statError) {
      return errnoCode(statError) === 'ENOENT'
        ? `directory ${dir} does not exist`
        : `${dir}: ${describeIoError(statError)}`;
    }
    if (!found.isDirectory()) return `${dir} is not a directory`;
  }
  const where = `cannot create a file in directory ${dir}${
    replacing ? ' (the new file is written there, then renamed over the old one)' : ''
  }`;
  return code === 'ENOENT'
    ? `${where}: the file system takes no new files there`
    : `${where}: ${describeIoError(error)}`;
}

/**
 * Writes to one of this process's descriptors (`--out /dev/stdout`, `/dev/fd/3`), as the shell
 * set it up. Standard output and error keep their own streams: a second stream on the same
 * descriptor could interleave with theirs.
 */
async function descriptorOutput(
  fd: number,
  name: string,
  unusable: (reason: string) => AppError,
): Promise<AnalyzeOutput> {
  if (fd === 1) return { ...STDOUT, name };
  if (fd === 2) return { ...STDOUT, stream: process.stderr, name };
  const problem = await descriptorProblem(fd);
  if (problem !== null) throw unusable(problem);
  // autoClose off: the descriptor is the shell's, open for the rest of the process.
  return directOutput(createWriteStream(name, { fd, autoClose: false }), name);
}

/** What descriptor `fd` of this process is (its /proc link) and how it is open (O_ACCMODE). */
async function descriptorInfo(fd: string): Promise<{ link: string; access: number } | null> {
  try {
    const [link, info] = await Promise.all([
      readlink(`/proc/self/fd/${fd}`),
      readFile(`/proc/self/fdinfo/${fd}`, 'utf8'),
    ]);
    const flags = /^flags:\s*([0-7]+)/m.exec(info)?.[1];
    return flags === undefined ? null : { link, access: parseInt(flags, 8) & 0o3 };
  } catch {
    return null;
  }
}

/**
 * Why the results cannot go to descriptor `fd`, or null. Node.js keeps descriptors of its own
 * from 3 up (its event loop's epoll and eventfd, pipes it reads itself): a descriptor the shell
 * did not open may be one of them, and writing into it would crash the process.
 */
async function descriptorProblem(fd: number): Promise<string | null> {
  const info = await descriptorInfo(String(fd));
  if (info === null) return `descriptor ${fd} is not open`;
  if (info.access === constants.O_RDONLY) return `descriptor ${fd} is open for reading only`;
  if (info.link.startsWith('anon_inode:')) {
    return `descriptor ${fd} is not a file, pipe or device (${info.link}): was it opened by the shell?`;
  }
  if (info.link.startsWith('pipe:')) {
    for (const other of await readdir('/proc/self/fd')) {
      if (other === String(fd)) continue;
      const peer = await descriptorInfo(other);
      if (peer?.link === info.link && peer.access !== constants.O_WRONLY) {
        return `descriptor ${fd} is a pipe that this process reads itself: was it opened by the shell?`;
      }
    }
  }
  return null;
}

/** An output written in place: commit ends the stream; there is nothing to put in place. */
function directOutput(stream: WriteStream, name: string): AnalyzeOutput {
  let finishing: Promise<void> | null = null;
  const finish = async (): Promise<void> => {
    try {
      await (finishing ??= (async () => {
        stream.end();
        await finished(stream);
      })());
    } catch (error) {
      throw new AppError('internal_error', `cannot write ${name}: ${describeIoError(error)}`, {
        cause: error,
      });
    }
  };
  return {
    stream,
    name,
    finish,
    commit: finish,
    discard() {
      stream.destroy();
      return Promise.resolve();
    },
  };
}

/**
 * Writes `chunks` to `output` and puts it in place (`commit`), or, on any failure, drops what was
 * written (`discard`) and throws: a write error as one line naming the output, others as they
 * came. The reader of standard output or of a named pipe going away (`export | head`) is not a
 * failure: it has all it asked for, and exit 0 keeps such a pipeline passing under
 * `set -o pipefail`; nothing is printed then, as other tools print nothing.
 */
export async function writeOutput(
  chunks: AsyncIterable<string>,
  output: AnalyzeOutput,
): Promise<void> {
  // Told from the source's errors by where it came from: a database socket fails with EPIPE too.
  let writeError: Error | undefined;
  // Left in place: an 'error' event without a listener would end the process with a stack trace,
  // and standard output can report EPIPE again after the pipeline has given up on it.
  output.stream.on('error', (error: Error) => (writeError ??= error));
  try {
    // pipeline: backpressure, and a failure on either side ends both. Not ended here: commit ends
    // and renames it.
    await pipeline(Readable.from(chunks), output.stream, { end: false });
    await output.commit();
  } catch (error) {
    await output.discard();
    if (errnoCode(writeError) === 'EPIPE') return;
    if (writeError !== undefined && !isAppError(error)) {
      throw new AppError(
        'internal_error',
        `cannot write ${output.name}: ${describeIoError(writeError)}`,
        { cause: writeError },
      );
    }
    throw error;
  }
}

/** A pipe, a device or a socket, opened as it is: never replaced. */
async function openDirect(
  out: string,
  unusable: (reason: string, cause?: unknown) => AppError,
): Promise<AnalyzeOutput> {
  let handle: FileHandle;
  try {
    handle = await open(out, 'w');
  } catch (error) {
    throw unusable(
      errnoCode(error) === 'ENXIO'
        ? 'no such device or address (a socket, or a device without its driver, cannot be opened as a file)'
        : describeIoError(error),
      error,
    );
  }
  return directOutput(handle.createWriteStream(), out);
}

/** How many problems of a --categories file are listed before "and N more". */
const LISTED_PROBLEMS = 3;

/** A JSON path for messages: `[2].keywords[0]`. */
function jsonPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') || '(top)';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const p of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[p];
  }
  return value;
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function listed(problems: readonly string[]): string {
  const more = problems.length - LISTED_PROBLEMS;
  return problems.slice(0, LISTED_PROBLEMS).join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * The category rules of `analyze --categories FILE`: a JSON array of rules as PATCH
 * analysis-settings takes them, checked by the same schema and refused, like there, when a
 * keyword or hashtag can never match. Any problem is one error naming the file.
 */
export async function loadCategoryRules(file: string): Promise<CategoryRule[]> {
  const bad = (reason: string, cause?: unknown): AppError =>
    new AppError('validation_failed', `--categories ${file}: ${reason}`, { cause });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw bad(describeIoError(error), error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw bad(`invalid JSON: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const parsed = categoryRulesSchema.safeParse(value);
  if (!parsed.success) {
    throw bad(
      listed(
        parsed.error.issues.map((issue) => {
          const at = valueAt(value, issue.path);
          return `${jsonPath(issue.path)}: ${issue.message}${at === undefined ? '' : ` (${shortJson(at)})`}`;
        }),
      ),
    );
  }
  const problems = ruleProblems(parsed.data);
  if (problems.length > 0) {
    throw bad(listed(problems.map((p) => `[${p.ruleIndex}].${p.field}[${p.index}]: ${p.message}`)));
  }
  return parsed.data;
}
