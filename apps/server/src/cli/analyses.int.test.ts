import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { postRecord, toJsonl } from '../../test/support/factories.js';
import { readFirstLine, runCli } from '../../test/support/server-process.js';
import { testQueueConfig } from '../../test/support/analyses.js';
import { startFakeLlmServer } from '../../test/support/fake-llm-server.js';

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
      // Started by an operator (no person, no key): queued as its workspace, not one shared line.
      const keyed = await db.adminPool.query<{ fairness_key: string; workspace_id: string }>(
        'SELECT fairness_key, workspace_id FROM analyses WHERE id = $1',
        [id],
      );
      expect(keyed.rows[0]?.fairness_key).toBe(`workspace:${keyed.rows[0]?.workspace_id}`);
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

      // An --out that cannot be written is one clear line.
      const nowhere = await runCli(
        ['analyses', 'results', id ?? '', '--out', path.join(dir, 'missing', 'x.csv')],
        env(),
      );
      expect(nowhere.code).toBe(1);
      expect(nowhere.stderr).toMatch(
        /^socialpulse: cannot write --out \S+x\.csv: directory \S+missing does not exist\n$/,
      );
      // A run that fails once the file is open (here the database, mid-export) leaves an existing
      // file as it was, and no temporary file beside it.
      const keep = path.join(mkdtempSync(path.join(dir, 'keep-')), 'results.csv');
      writeFileSync(keep, 'precious\n');
      await db.adminPool.query('ALTER TABLE analysis_results RENAME TO analysis_results_hidden');
      const failed = await runCli(['analyses', 'results', id ?? '', '--out', keep], env()).finally(
        () => db.adminPool.query('ALTER TABLE analysis_results_hidden RENAME TO analysis_results'),
      );
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('analysis_results');
      expect(readFileSync(keep, 'utf8')).toBe('precious\n');
      expect(readdirSync(path.dirname(keep))).toEqual(['results.csv']);
      // The reader of stdout going away (| head -1) ends the export quietly, with exit 0.
      for (const format of ['csv', 'jsonl']) {
        const headed = await readFirstLine(
          ['analyses', 'results', id ?? '', '--format', format],
          env(),
        );
        expect(headed.stderr).toBe('');
        expect(headed.code).toBe(0);
        expect(headed.stdout).toMatch(format === 'csv' ? /^post_id,/ : /^\{"post_id"/);
      }

      const listed = await runCli(['analyses', 'list', '--workspace', 'Brand'], env());
      expect(listed.stdout).toContain(id);
      const again = await runCli(['analyses', 'cancel', id ?? ''], env());
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already finished');
    });

    it('prioritises, cancels, retries and follows an analysis by its id', async () => {
      // --no-wait and no worker: the analysis stays queued while it is managed.
      const started = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--limit', '200', '--no-wait'],
        env(),
      );
      expect(started.code, started.stderr).toBe(0);
      const id = /analysis ([0-9a-f-]{36})/.exec(started.stdout)?.[1] ?? '';
      for (const [args, said] of [
        [['priority', id, '2'], 'priority changed'],
        [['cancel', id], 'cancelled'],
        [['retry', id], 'queued again'],
      ] as const) {
        const run = await runCli(['analyses', ...args], env());
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toContain(`analysis ${id}: ${said}`);
      }
      const followed = await runCli(['analyses', 'follow', id, '--work'], env());
      expect(followed.code, followed.stderr).toBe(0);
      expect(followed.stdout).toContain('chunk_completed 2/2 chunks, 200 posts');
      expect(followed.stdout).toContain(`analysis ${id}: completed`);

      const unknown = await runCli(
        ['analyses', 'cancel', '00000000-0000-4000-8000-000000000000'],
        env(),
      );
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/analysis .* not found/i);
      // A results filter the API has, named with its value when it is wrong.
      const bad = await runCli(['analyses', 'results', id, '--llm-status', 'maybe'], env());
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('--llm-status');
      expect(bad.stderr).toContain('"maybe"');
      const none = await runCli(
        ['analyses', 'results', id, '--llm-status', 'labelled', '--format', 'csv'],
        env(),
      );
      expect(none.code, none.stderr).toBe(0);
      // A local-only analysis has nothing the LLM labelled: the header alone.
      expect(none.stdout.trim().split('\n')).toHaveLength(1);
      // `none`, as the aggregates count results without a sentiment label.
      await db.adminPool.query(
        `UPDATE analysis_results SET sentiment_label = NULL
          WHERE analysis_id = $1 AND post_id IN (SELECT post_id FROM analysis_results WHERE analysis_id = $1 ORDER BY post_id LIMIT 2)`,
        [id],
      );
      const unlabelled = await runCli(
        ['analyses', 'results', id, '--label', 'none', '--format', 'csv'],
        env(),
      );
      expect(unlabelled.code, unlabelled.stderr).toBe(0);
      expect(unlabelled.stdout.trim().split('\n')).toHaveLength(3);
      // The formats named are those the command takes: not the API's paged `json`.
      for (const format of ['xlsx', 'json']) {
        const refused = await runCli(['analyses', 'results', id, '--format', format], env());
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(
          `--format: expected one of "jsonl"|"csv" (got "${format}")`,
        );
        expect(refused.stderr).not.toContain('"json"|');
      }
    });

    it('says why an analysis paused and how to resume it, and exits non-zero', async () => {
      const llm = await startFakeLlmServer();
      const withLlm = {
        ...env(),
        LLM_BASE_URL: llm.url,
        LLM_MODEL: 'gpt-4o-mini',
        LLM_API_KEY: 'sk-test-secret',
      };
      try {
        await db.adminPool.query(
          `INSERT INTO workspace_analysis_settings (workspace_id, llm_monthly_budget_usd)
             SELECT id, 0 FROM workspaces WHERE name = 'Brand'
           ON CONFLICT (workspace_id) DO UPDATE SET llm_monthly_budget_usd = 0`,
        );
        const started = await runCli(
          [
            'analyses',
            'start',
            '--workspace',
            'Brand',
            '--engines',
            'llm',
            '--limit',
            '10',
            '--work',
          ],
          withLlm,
        );
        expect(started.code).toBe(1);
        expect(started.stdout).toMatch(/analysis [0-9a-f-]{36}: paused/);
        expect(started.stderr).toMatch(/budget/i);
        expect(started.stderr).toMatch(/resume it with: socialpulse analyses retry [0-9a-f-]{36}/);
        // Paused before spending: no call reached the provider.
        expect(llm.requests).toHaveLength(0);
      } finally {
        await db.adminPool.query(
          'UPDATE workspace_analysis_settings SET llm_monthly_budget_usd = NULL',
        );
        await llm.close();
      }
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
