import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/**
 * The shared data folder (`../shared/data` beside the repository root). Training, tests and
 * benchmarks read internal data from there; it is never copied into the repository. Callers
 * that may read the environment pass `process.env.SOCIALPULSE_SHARED_DATA` as the override.
 */
export function defaultSharedDataDir(override?: string): string {
  if (override !== undefined && override !== '') return resolve(override);
  const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
  return resolve(repoRoot, '..', 'shared', 'data');
}
