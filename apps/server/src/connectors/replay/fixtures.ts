import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The recorded platform fixtures (`../shared/fixtures` beside the repository root). Tests and the
 * replay command read them at runtime; they are never copied into the repository (licences).
 */
export function defaultFixturesDir(override?: string): string {
  if (override !== undefined && override !== '') return resolve(override);
  const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
  return resolve(repoRoot, '..', 'shared', 'fixtures');
}

/** The folders whose files are responses (or envelopes of exchanges). */
export const responseFolders = [
  'recorded',
  'bodies',
  'issue_transcripts',
  'server_snapshots',
  'doc_examples',
] as const;

export interface FixtureFile {
  /** `x/recorded/academictwitter_user_tweets_page1.json` */
  name: string;
  platform: string;
  folder: (typeof responseFolders)[number];
  path: string;
}

/** Every response fixture, enumerated from disk: a new file is covered without a code change. */
export async function listFixtureFiles(dir = defaultFixturesDir()): Promise<FixtureFile[]> {
  const files: FixtureFile[] = [];
  for (const platform of (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    for (const folder of responseFolders) {
      let names: string[];
      try {
        names = await readdir(join(dir, platform, folder));
      } catch {
        continue;
      }
      for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
        files.push({
          name: `${platform}/${folder}/${name}`,
          platform,
          folder,
          path: join(dir, platform, folder, name),
        });
      }
    }
  }
  return files;
}

export async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}
