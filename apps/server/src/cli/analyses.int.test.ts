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
import { startTestWorker, testQueueConfig } from '../../test/support/analyses.js';
import type { RunningWorker } from '../services/worker.js';
import { startFakeLlmServer, type FakeLlmServer } from '../../test/support/fake-llm-server.js';

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
      const imported = await runCli(
        ['import', file, '--workspace', 'Brand', '--create-workspace'],
        env(),
      );
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
      // No LLM was asked: no LLM cost, and the local engines' calls are not said to be one.
      expect(started.stdout).not.toMatch(/LLM|model call/);

      const shown = await runCli(['analyses', 'show', id ?? ''], env());
      expect(JSON.parse(shown.stdout)).toMatchObject({
        id,
        status: 'completed',
        posts_processed: 1000,
        progress: 1,
        // The local engines' calls stay traced (one per chunk), apart and without a cost.
        cost: { calls: 0, input_tokens: 0, output_tokens: 0, by_model: [] },
        local_engines: { calls: 10 },
      });
      const traced = await db.adminPool.query<{ provider: string; calls: number }>(
        'SELECT provider, count(*)::int AS calls FROM ai_traces WHERE analysis_id = $1 GROUP BY 1',
        [id],
      );
      expect(traced.rows).toEqual([{ provider: 'local', calls: 10 }]);

      // Followed once finished: its final state in one line, not its every event again.
      const followed = await runCli(['analyses', 'follow', id ?? ''], env());
      expect(followed.code, followed.stderr).toBe(0);
      expect(followed.stdout).toBe(
        `analysis ${id}: completed, 10/10 chunks, 1000 posts (details: socialpulse analyses show ${id})\n`,
      );

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
      // The operator's changes are audited as the API's are.
      const audited = await db.adminPool.query<{ action: string; actor: string }>(
        'SELECT action, actor FROM audit_log WHERE target = $1 ORDER BY id',
        [id],
      );
      expect(audited.rows).toEqual(
        ['started', 'priority_changed', 'cancelled', 'retried'].map((a) => ({
          action: `analysis.${a}`,
          actor: 'cli',
        })),
      );

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

    it('follows a running analysis from its current state: only the events from now on', async () => {
      const started = await runCli(
        [
          'analyses',
          'start',
          '--workspace',
          'Brand',
          '--limit',
          '1000',
          '--chunk-size',
          '10',
          '--no-wait',
        ],
        env(),
      );
      expect(started.code, started.stderr).toBe(0);
      const id = /analysis ([0-9a-f-]{36})/.exec(started.stdout)?.[1] ?? '';
      // A worker of this test's runs the first chunks and stops: the analysis is left running.
      const run: { worker?: RunningWorker; stopping?: Promise<void> } = {};
      let stopped: () => void = () => undefined;
      const workerStopped = new Promise<void>((resolve) => (stopped = resolve));
      run.worker = await startTestWorker(
        db,
        {},
        {
          onChunk: (e) => {
            if (e.type !== 'end' || e.data.analysisId !== id || e.data.seq < 1) return;
            if (run.worker && !run.stopping) run.stopping = run.worker.stop().then(stopped);
          },
        },
      );
      await workerStopped;
      const progress = async (): Promise<{ status: string; done: number }> =>
        (
          await db.adminPool.query<{ status: string; done: number }>(
            'SELECT status, chunks_done AS done FROM analyses WHERE id = $1',
            [id],
          )
        ).rows[0] ?? { status: 'gone', done: 0 };

      const before = await progress();
      expect(before.status).toBe('running');
      expect(before.done).toBeGreaterThanOrEqual(2);
      expect(before.done).toBeLessThan(100);

      const followed = await runCli(['analyses', 'follow', id, '--work'], env());
      expect(followed.code, followed.stderr).toBe(0);
      const lines = followed.stdout.trimEnd().split('\n');
      // Where it stands first, then what happens from now on: not the chunks already done.
      expect(lines[0]).toMatch(
        new RegExp(
          `^analysis ${id}: running, ${before.done}/100 chunks, ${before.done * 10} posts`,
        ),
      );
      const chunkLines = lines.filter((l) => l.startsWith('chunk_completed'));
      expect(chunkLines).toHaveLength(100 - before.done);
      expect(chunkLines[0]).toMatch(new RegExp(`^chunk_completed ${before.done + 1}/100 chunks`));
      expect(followed.stdout).not.toMatch(/^(queued|started)\b/m);
      expect(lines.at(-1)).toBe(
        `analysis ${id}: completed (details: socialpulse analyses show ${id})`,
      );
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
        expect(started.stdout).toMatch(/analysis [0-9a-f-]{36}: paused/);
        expect(started.stderr).toMatch(/budget/i);
        expect(started.stderr).toMatch(/resume it with: socialpulse analyses retry [0-9a-f-]{36}/);
        // Paused: not a failure (1), but waiting for someone (EX_TEMPFAIL).
        expect(started.code).toBe(75);
        // Paused before spending: no call reached the provider.
        expect(llm.requests).toHaveLength(0);
        // A retry with the budget not raised is let through, as the API does, but says why the
        // analysis paused and that it will pause again.
        const id = /analysis ([0-9a-f-]{36}): paused/.exec(started.stdout)?.[1] ?? '';
        const retried = await runCli(['analyses', 'retry', id], withLlm);
        expect(retried.code, retried.stderr).toBe(0);
        expect(retried.stdout).toContain(`analysis ${id}: queued again`);
        expect(retried.stderr).toMatch(/^it was paused: .*budget/m);
        expect(retried.stderr).toMatch(
          /budget is still \$0\b.*it will pause again unless the budget is raised/,
        );
        // Not left queued for the next tests' workers.
        expect((await runCli(['analyses', 'cancel', id], env())).code).toBe(0);
      } finally {
        await db.adminPool.query(
          'UPDATE workspace_analysis_settings SET llm_monthly_budget_usd = NULL',
        );
        await llm.close();
      }
    });

    const withLlm = (llm: FakeLlmServer): Record<string, string> => ({
      ...env(),
      LLM_BASE_URL: llm.url,
      LLM_MODEL: 'gpt-4o-mini',
      LLM_API_KEY: 'sk-test-secret',
    });
    const idIn = (stdout: string): string =>
      /analysis ([0-9a-f-]{36})/.exec(stdout)?.[1] ?? 'no id printed';

    it('waits for the job summary, shows the traced cost and the server’s estimate of the time left', async () => {
      const llm = await startFakeLlmServer();
      try {
        const started = await runCli(
          [
            'analyses',
            'start',
            '--workspace',
            'Brand',
            '--engines',
            'local,llm',
            '--limit',
            '30',
            '--chunk-size',
            '10',
            '--work',
          ],
          withLlm(llm),
        );
        expect(started.code, started.stderr).toBe(0);
        const id = idIn(started.stdout);
        // The summary is stored before the command says the analysis is done.
        expect(started.stdout).toMatch(/^job summary: ready$/m);
        const shown = await runCli(['analyses', 'show', id], env());
        expect(shown.code, shown.stderr).toBe(0);
        const view = JSON.parse(shown.stdout) as {
          summary: string | null;
          usage: { cost_usd: string };
          cost: { calls: number; cost_usd: string; unpriced_calls: number };
          local_engines: { calls: number };
        };
        expect(view.summary).not.toBeNull();
        // Every traced call, the job summary's included: what counted against the budget.
        // The LLM's traced calls, the job summary's included: what counted against the budget.
        // The local engines' calls (one per chunk) are traced too, but are no LLM calls.
        const traced = await db.adminPool.query<{ calls: number; cost: string; local: number }>(
          `SELECT count(*) FILTER (WHERE provider <> 'local')::int AS calls, sum(cost_usd)::text AS cost,
                  count(*) FILTER (WHERE provider = 'local')::int AS local
             FROM ai_traces WHERE analysis_id = $1`,
          [id],
        );
        const calls = traced.rows[0]?.calls ?? 0;
        expect(calls).toBeGreaterThanOrEqual(4); // the chunks' calls and the summary's
        expect(traced.rows[0]?.local).toBe(3);
        expect(view.cost).toMatchObject({
          calls,
          cost_usd: traced.rows[0]?.cost,
          unpriced_calls: 0,
        });
        expect(view.local_engines).toMatchObject({ calls: 3 });
        expect(Number(view.cost.cost_usd)).toBeGreaterThan(Number(view.usage.cost_usd));
        expect(started.stdout).toContain(
          `LLM cost: $${traced.rows[0]?.cost ?? ''} for ${calls} LLM calls`,
        );
        // The estimate is the server's (GET …/analyses/{id}'s), or "—" before it has one.
        const chunkLines = started.stdout.match(/^chunk_completed \d+\/3 chunks.*$/gm) ?? [];
        expect(chunkLines).toHaveLength(3);
        for (const line of chunkLines.slice(0, -1))
          expect(line).toMatch(/, ETA (\d+s|\d+m \d\ds|—)$/);
        expect(chunkLines[2]).toMatch(/3\/3 chunks, 30 posts, ETA 0s$/);
        expect(started.stdout).not.toMatch(/NaN|Infinity/);
        // Said in this order: the summary and the cost, then the outcome.
        expect(
          started.stdout
            .trimEnd()
            .split('\n')
            .slice(-3)
            .map((l) => l.split(':')[0]),
        ).toEqual(['job summary', 'LLM cost', `analysis ${id}`]);
      } finally {
        await llm.close();
      }
    });

    it('exits with a distinct code for each way an analysis ends other than completed', async () => {
      // Cancelled (3): followed after a cancel.
      const queued = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--limit', '20', '--no-wait'],
        env(),
      );
      const cancelledId = idIn(queued.stdout);
      expect((await runCli(['analyses', 'cancel', cancelledId], env())).code).toBe(0);
      const cancelled = await runCli(['analyses', 'follow', cancelledId], env());
      expect(cancelled.stdout).toBe(
        `analysis ${cancelledId}: cancelled, 0/1 chunks, 0 posts (details: socialpulse analyses show ${cancelledId})\n`,
      );
      expect(cancelled.code).toBe(3);

      // Completed with errors (65): an analysis whose run ended so (its chunks' dead-lettering is
      // the jobs tests'), as its status and final event record it.
      const partly = idIn(
        (
          await runCli(
            ['analyses', 'start', '--workspace', 'Brand', '--limit', '20', '--no-wait'],
            env(),
          )
        ).stdout,
      );
      await db.adminPool.query(
        `WITH a AS (UPDATE analyses SET status = 'completed_with_errors', chunks_done = 1, chunks_failed = 1,
                      finished_at = now() WHERE id = $1 RETURNING id, workspace_id)
         INSERT INTO analysis_events (analysis_id, workspace_id, type, data)
           SELECT id, workspace_id, 'completed_with_errors', '{"chunks_done": 1, "chunks_failed": 1}' FROM a`,
        [partly],
      );
      const withErrors = await runCli(['analyses', 'follow', partly], env());
      expect(withErrors.stdout).toMatch(
        new RegExp(
          `^analysis ${partly}: completed_with_errors, 2/1 chunks \\(1 dead-lettered\\), 0 posts`,
        ),
      );
      expect(withErrors.stdout.trimEnd().split('\n')).toHaveLength(1);
      expect(withErrors.code).toBe(65);

      // Failed (1): every call refused by an account out of quota, which no retry cures.
      const refusing = await startFakeLlmServer({
        randomFaults: { probability: 1, seed: 1, kinds: [{ kind: 'quota_exceeded' }] },
      });
      try {
        const run = await runCli(
          [
            'analyses',
            'start',
            '--workspace',
            'Brand',
            '--engines',
            'llm',
            '--limit',
            '5',
            '--failure-policy',
            'fail_fast',
            '--work',
          ],
          withLlm(refusing),
        );
        expect(run.stdout, run.stderr).toMatch(/analysis [0-9a-f-]{36}: failed/);
        expect(run.code).toBe(1);
      } finally {
        await refusing.close();
      }
    });

    it('takes the sentiment engine and priority the API offers, and names a bad option with its value', async () => {
      const limit = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--limit', 'abc', '--no-wait'],
        env(),
      );
      expect(limit.code).toBe(1);
      expect(limit.stderr).toBe('socialpulse: --limit: must be a positive integer, got "abc"\n');
      const size = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--chunk-size', '0', '--no-wait'],
        env(),
      );
      expect(size.stderr).toBe('socialpulse: --chunk-size: must be a positive integer, got "0"\n');
      const engine = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--sentiment-engine', 'bert', '--no-wait'],
        env(),
      );
      expect(engine.code).toBe(1);
      // The choices come from the analysis folder's list, as analyze's --engine.
      expect(engine.stderr).toMatch(
        /^error: option '--sentiment-engine <engine>' argument 'bert' is invalid\. Allowed choices are default, model, vader\.\n/,
      );
      const since = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--since', 'yesterday', '--no-wait'],
        env(),
      );
      expect(since.stderr).toMatch(/^socialpulse: --since: .*\(got "yesterday"\)\n$/);
      const priority = await runCli(
        ['analyses', 'start', '--workspace', 'Brand', '--priority', '11', '--no-wait'],
        env(),
      );
      expect(priority.stderr).toContain('0 to 10');

      const started = await runCli(
        [
          'analyses',
          'start',
          '--workspace',
          'Brand',
          '--limit',
          '20',
          '--sentiment-engine',
          'vader',
          '--priority',
          '4',
          '--no-wait',
        ],
        env(),
      );
      expect(started.code, started.stderr).toBe(0);
      const id = idIn(started.stdout);
      const row = await db.adminPool.query<{ priority: number; engine: string; job: number }>(
        `SELECT a.priority, a.options->>'sentiment_engine' AS engine, j.priority AS job
           FROM analyses a JOIN analysis_turns t ON t.analysis_id = a.id
           JOIN pgboss.job j ON j.id = t.job_id WHERE a.id = $1`,
        [id],
      );
      expect(row.rows[0]).toEqual({ priority: 4, engine: 'vader', job: 4 });
      expect((await runCli(['analyses', 'cancel', id], env())).code).toBe(0);

      // Without --chunk-size the server chooses: 100, or with the LLM what one answer of the
      // model can label (no call is made: --no-wait, then cancelled).
      const olderModel = {
        ...env(),
        LLM_BASE_URL: 'http://127.0.0.1:9/v1',
        LLM_MODEL: 'gpt-4o-2024-05-13',
      };
      const sized: Record<string, number> = {};
      for (const engines of ['local', 'llm']) {
        const run = await runCli(
          [
            'analyses',
            'start',
            '--workspace',
            'Brand',
            '--engines',
            engines,
            '--limit',
            '40',
            '--no-wait',
          ],
          olderModel,
        );
        expect(run.code, run.stderr).toBe(0);
        const analysisId = idIn(run.stdout);
        const { rows } = await db.adminPool.query<{ chunk_size: number }>(
          'SELECT chunk_size FROM analyses WHERE id = $1',
          [analysisId],
        );
        sized[engines] = rows[0]?.chunk_size ?? 0;
        expect((await runCli(['analyses', 'cancel', analysisId], olderModel)).code).toBe(0);
      }
      expect(sized).toEqual({ local: 100, llm: 31 });
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
