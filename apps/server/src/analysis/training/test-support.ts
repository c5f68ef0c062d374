import { existsSync } from 'node:fs';
import { defaultSharedDataDir } from './shared-data.js';

/**
 * The shared data folder for tests that need it. In CI a missing folder fails the test run;
 * locally the caller skips, and the reason is printed. Tests pass the environment in.
 */
export function sharedDataOrSkip(
  override: string | undefined,
  ci: boolean,
): { dir: string; available: boolean; reason: string } {
  const dir = defaultSharedDataDir(override);
  const available = existsSync(dir);
  const reason = `shared data folder not found at ${dir} (set SOCIALPULSE_SHARED_DATA)`;
  if (!available) {
    if (ci) throw new Error(`${reason}; CI needs it`);
    process.stderr.write(`skipping: ${reason}\n`);
  }
  return { dir, available, reason };
}
