import { withOwnerConnection } from '../db/pool.js';
import type { Database } from '../db/database.js';
import { findWorkspaceIdByName, listWorkspaces } from '../db/repos/workspaces.repo.js';
import { UsageError } from './output.js';

/** How many known names an unknown workspace's error lists, closest first. */
const NAMES_SHOWN = 10;

/**
 * The id of the workspace named (or whose id is) `nameOrId`. An unknown one is a UsageError
 * (exit 64) naming the known workspaces, closest first: a typo must not reach a new, empty
 * workspace or look like one with no data. `hint` says how to go on anyway (import's
 * --create-workspace).
 */
export async function resolveWorkspace(
  db: Pick<Database, 'pool' | 'url'>,
  nameOrId: string,
  hint?: string,
): Promise<string> {
  const id = await findWorkspaceIdByName(db.pool, nameOrId);
  if (id) return id;
  throw await unknownWorkspace(db, nameOrId, hint);
}

/** The error for an unknown workspace, with the names it may have been meant to be. */
export async function unknownWorkspace(
  db: Pick<Database, 'url'>,
  name: string,
  hint?: string,
): Promise<UsageError> {
  // Every workspace's name, across tenants: the operator's view, as key rotation reads it (the
  // application's role sees only the workspace of its scope).
  const known = (
    await withOwnerConnection(db.url, 'socialpulse-cli', (owner) => listWorkspaces(owner))
  ).map((w) => w.name);
  const ranked = rankByCloseness(name, known);
  const best = ranked[0];
  const parts = [`No workspace named "${name}"`];
  if (best !== undefined && isLikelyTypo(name, best)) parts[0] += ` (did you mean "${best}"?)`;
  if (ranked.length === 0) parts.push('there is no workspace yet');
  else {
    const shown = ranked.slice(0, NAMES_SHOWN).map((n) => `"${n}"`);
    const more = ranked.length > NAMES_SHOWN ? `, and ${ranked.length - NAMES_SHOWN} more` : '';
    parts.push(`known workspaces: ${shown.join(', ')}${more}`);
  }
  if (hint) parts.push(hint);
  return new UsageError('not_found', parts.join('; '), {
    details: { workspace: name, known: ranked },
  });
}

/** `names`, closest to `name` first (case aside), ties in alphabetical order. */
export function rankByCloseness(name: string, names: readonly string[]): string[] {
  const target = name.toLowerCase();
  return names
    .map((n) => ({ n, d: editDistance(target, n.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .map(({ n }) => n);
}

/** Whether `candidate` is near enough to `name` to be what was meant (a slip or two). */
function isLikelyTypo(name: string, candidate: string): boolean {
  const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
  return d <= Math.max(2, Math.floor(candidate.length / 3));
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
 * neighbours each count 1, so "Brnad" is 1 from "Brand".
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}
