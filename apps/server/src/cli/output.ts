import { isAppError } from '../errors.js';

/** Prints an error for a human (no stack for expected errors) and exits non-zero. */
export function reportFatal(error: unknown): never {
  if (isAppError(error)) {
    process.stderr.write(`socialpulse: ${error.message}\n`);
    process.exit(error.code === 'config_invalid' ? 78 : 1);
  }
  process.stderr.write(
    `socialpulse: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
