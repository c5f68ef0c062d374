import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { postRecord, toJsonl } from '../../test/support/factories.js';
import { runCli } from '../../test/support/server-process.js';
import { testQueueConfig } from '../../test/support/analyses.js';

describe.skipIf(databaseUnavailable() !== '' && process.env.CI !== 'true')(
  'socialpulse analyses',
  () => {
    let db: TestDatabase;
    const dir = mkdtempSync(path.join(tmpdir(), 'sp-cli-analyses-'));
    const env = (): Record<string, string> => ({
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      ENCRYPTION_KEY: db.secrets.encryptionKey,
      ...(testQueueConfig as Record<string, string>),
    });

    beforeAll(async () => {
      db = await createTestDatabase();
      const file = path.join(dir, 'posts.jsonl');
      writeFileSync(
        file,
        toJsonl(
          Array.from({ length: 1000 }, (_, i) =>
            postRecord({ text: i % 2 ? `I love this ${i}` : `this is awful ${i}` }),
          ),
        ),
      );
      const imported = await runCli(['import', file, '--workspace', 'Brand'], env());
      expect(imported.code, imported.stderr).toBe(0);
    });

    afterAll(async () => {
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts an analysis of 1,000 posts, follows it to the end, shows it and exports its results', async () => {
      // --work: no server runs against this database, so the command runs a worker itself.
      const started = await runCli(['analyses', 'start', '--workspace', 'Brand', '--work'], env());
      expect(started.code, started.stderr).toBe(0);
      const id = /analysis ([0-9a-f-]{36}): 1000 posts in 10 chunk\(s\)/.exec(started.stdout)?.[1];
      expect(id, started.stdout).toBeDefined();
      // Not a terminal: one line per event, in order, ending with the outcome.
      expect(started.stdout.match(/^chunk_completed \d+\/10 chunks/gm)).toHaveLength(10);
      expect(started.stdout).toContain('chunk_completed 10/10 chunks, 1000 posts');
      expect(started.stdout).toContain(`analysis ${id}: completed`);

      const shown = await runCli(['analyses', 'show', id ?? ''], env());
      expect(JSON.parse(shown.stdout)).toMatchObject({
        id,
        status: 'completed',
        posts_processed: 1000,
        progress: 1,
      });

      const out = path.join(dir, 'results.csv');
      const results = await runCli(
        ['analyses', 'results', id ?? '', '--format', 'csv', '--out', out, '--label', 'negative'],
        env(),
      );
      expect(results.code, results.stderr).toBe(0);
      const lines = readFileSync(out, 'utf8').trim().split('\n');
      expect(lines[0]).toMatch(/^post_id,platform,external_id/);
      expect(lines.length - 1).toBeGreaterThan(400);
      expect(lines.slice(1).every((l) => l.includes(',negative,'))).toBe(true);

      const listed = await runCli(['analyses', 'list', '--workspace', 'Brand'], env());
      expect(listed.stdout).toContain(id);
      const again = await runCli(['analyses', 'cancel', id ?? ''], env());
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already finished');
    });

    it('rejects bad options with the option and value', async () => {
      const bad = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--engines', 'gpt', '--no-wait'],
        env(),
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('engines');
      const lane = await runCli(
        ['analyses', 'lane', '--workspace', 'Brand', '--priority', '11'],
        env(),
      );
      expect(lane.code).toBe(1);
      expect(lane.stderr).toContain('0 to 10');
      const ok = await runCli(
        ['analyses', 'lane', '--workspace', 'Brand', '--priority', '3'],
        env(),
      );
      expect(ok.stdout).toContain('lane set to 3');
    });
  },
);
