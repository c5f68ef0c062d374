import { AppError, isAppError } from '../errors.js';

/**
 * The exit status of a run that finished but found bad records (sysexits' EX_DATAERR, beside the
 * EX_CONFIG, 78, of bad configuration, and apart from 1, a run that failed): `analyze` with
 * error lines, `import` with rejected records. The good records around them were kept.
 */
export const EXIT_DATA_ERRORS = 65;

/**
 * The exit status of a command line naming something that does not exist, such as an unknown
 * --workspace (sysexits' EX_USAGE): the run did nothing, and retrying it as it is cannot help.
 */
export const EXIT_USAGE = 64;

/** An AppError that a command line's mistake caused: reported as any, with exit EXIT_USAGE. */
export class UsageError extends AppError {}

/** Prints an error for a human (no stack for expected errors) and exits non-zero. */
export function reportFatal(error: unknown): never {
  if (isAppError(error)) {
    process.stderr.write(`socialpulse: ${error.message}\n`);
    process.exit(
      error.code === 'config_invalid' ? 78 : error instanceof UsageError ? EXIT_USAGE : 1,
    );
  }
  process.stderr.write(
    `socialpulse: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
