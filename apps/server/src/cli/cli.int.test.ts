import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALLOW_BOOM_POST,
  createTestDatabase,
  databaseUnavailable,
  REFUSE_BOOM_POST,
  type TestDatabase,
} from '../../test/support/db.js';
import { postRecord, toCsv, toJsonl } from '../../test/support/factories.js';
import { readFirstLine, runCli } from '../../test/support/server-process.js';
import { buildTestApp } from '../../test/support/app.js';

describe.skipIf(databaseUnavailable() !== '')('socialpulse import / export / migrate', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'sp-cli-'));
  const env = (): Record<string, string> => ({ DATABASE_URL: db.url, DATA_DIR: dir });
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports several files, writes every reject with file and line, and prints a summary', async () => {
    const jsonl = path.join(dir, 'a.jsonl');
    const csv = path.join(dir, 'b.csv');
    writeFileSync(
      jsonl,
      toJsonl([
        // Texts a CSV export guards with an apostrophe (see the export test below).
        postRecord({ external_id: 'j1', text: "'=1+1, said nobody" }),
        postRecord({ external_id: 'j2', platform: 'myspace' }),
      ]) + 'not json\n',
    );
    writeFileSync(
      csv,
      toCsv([
        postRecord({ external_id: 'c1', text: '@brand -5 degrees and still open?' }),
        postRecord({ external_id: 'c2', created_at: 'yesterday' }),
      ]),
    );
    const rejects = path.join(dir, 'rejects.jsonl');
    const result = await runCli(
      ['import', jsonl, csv, '--workspace', 'Brand', '--create-workspace', '--rejects', rejects],
      env(),
    );
    // Finished with rejected records: EX_DATAERR, and the valid records are imported.
    expect(result.code).toBe(65);
    expect(result.stderr).toContain('Created workspace "Brand"');
    // Where the rejects went, with their count, beside the summaries.
    expect(result.stderr).toContain(
      `3 rejected records (file, line, field, reason) written to ${rejects}\n`,
    );
    expect(result.stdout).toContain(
      `${jsonl}: read 3, inserted 1, updated 0, unchanged 0, rejected 2`,
    );
    expect(result.stdout).toContain(
      `${csv}: read 2, inserted 1, updated 0, unchanged 0, rejected 1`,
    );
    expect(result.stdout).toContain('total: read 5, inserted 2');
    const lines = readFileSync(rejects, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; line: number; field: string | null });
    expect(lines.map((l) => [path.basename(l.file), l.line, l.field])).toEqual([
      ['a.jsonl', 2, 'platform'],
      ['a.jsonl', 3, null],
      ['b.csv', 3, 'created_at'],
    ]);
  });

  it('exports CSV and JSONL in the import format, so an export imports back unchanged', async () => {
    // Replies begin with "@": the CSV guards such text against spreadsheets with an apostrophe,
    // which the import removes again (text that began with apostrophes keeps them).
    for (const format of ['csv', 'jsonl'] as const) {
      const out = path.join(dir, `export.${format}`);
      const exported = await runCli(
        ['export', '--workspace', 'Brand', '--format', format, '--out', out],
        env(),
      );
      expect(exported.stderr).toBe('');
      expect(exported.code).toBe(0);
      const again = await runCli(['import', out, '--workspace', 'Brand'], env());
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('read 2, inserted 0, updated 0, unchanged 2, rejected 0');
    }
    const filtered = await runCli(
      ['export', '--workspace', 'Brand', '--platform', 'x', '--since', '2999-01-01T00:00:00Z'],
      env(),
    );
    expect(filtered.stdout).toBe('');
    // An --out that cannot be written is one clear line; an existing file is never left half-done.
    const nowhere = await runCli(
      ['export', '--workspace', 'Brand', '--out', path.join(dir, 'missing', 'x.csv')],
      env(),
    );
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain('does not exist');
    expect(nowhere.stderr.trim().split('\n')).toHaveLength(1);
    const bad = await runCli(['export', '--workspace', 'Brand', '--since', 'last week'], env());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--since');
    // Every export is in the workspace's audit log (the refused one never started).
    const { rows } = await db.adminPool.query<{ details: { format: string; destination: string } }>(
      "SELECT details FROM audit_log WHERE action = 'posts.exported' ORDER BY id",
    );
    expect(rows.map((r) => `${r.details.format} to ${r.details.destination}`)).toEqual([
      'csv to file',
      'jsonl to file',
      'jsonl to stdout',
    ]);
  });

  it("keeps an account's external id through export and import (CSV and JSONL)", async () => {
    const source = path.join(dir, 'withid.jsonl');
    writeFileSync(
      source,
      toJsonl([
        postRecord({
          external_id: 'w1',
          account_handle: 'withid',
          account_external_id: '123456789',
        }),
        postRecord({
          external_id: 'w2',
          account_handle: 'withid',
          account_external_id: '123456789',
        }),
        postRecord({ external_id: 'n1', account_handle: 'noid' }),
      ]),
    );
    expect(
      (await runCli(['import', source, '--workspace', 'Round trip', '--create-workspace'], env()))
        .code,
    ).toBe(0);
    const exportOf = async (workspace: string, format: 'csv' | 'jsonl'): Promise<string> => {
      const res = await runCli(['export', '--workspace', workspace, '--format', format], env());
      expect(res.code, res.stderr).toBe(0);
      return res.stdout;
    };
    const externalIdOf = async (workspace: string, handle: string): Promise<unknown> =>
      (
        await db.adminPool.query<{ external_id: string | null }>(
          `SELECT a.external_id FROM platform_accounts a JOIN workspaces w ON w.id = a.workspace_id
           WHERE w.name = $1 AND a.handle = $2`,
          [workspace, handle],
        )
      ).rows.map((r) => r.external_id);

    const filtered = await runCli(
      ['export', '--workspace', 'Round trip', '--account', 'withid'],
      env(),
    );
    expect(
      filtered.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as Record<string, unknown>).account_external_id),
    ).toEqual(['123456789', '123456789']);
    for (const format of ['csv', 'jsonl'] as const) {
      const exported = await exportOf('Round trip', format);
      if (format === 'csv') expect(exported.split('\n')[0]).toContain(',account_external_id,');
      const file = path.join(dir, `round-trip.${format}`);
      writeFileSync(file, exported);
      // Back into the workspace it came from: nothing changes.
      const again = await runCli(['import', file, '--workspace', 'Round trip'], env());
      expect(again.stdout).toContain('read 3, inserted 0, updated 0, unchanged 3, rejected 0');
      // Into a new workspace: the same posts and accounts, external id included.
      const copy = `Round trip copy ${format}`;
      const restored = await runCli(
        ['import', file, '--workspace', copy, '--create-workspace'],
        env(),
      );
      expect(restored.code, restored.stderr).toBe(0);
      expect(await externalIdOf(copy, 'withid')).toEqual(['123456789']);
      expect(await externalIdOf(copy, 'noid')).toEqual([null]);
      expect(await exportOf(copy, format)).toBe(exported);
    }
  });

  it('records in the audit log only the filters an export applied', async () => {
    const source = path.join(dir, 'audited.jsonl');
    writeFileSync(source, toJsonl([postRecord()]));
    expect(
      (await runCli(['import', source, '--workspace', 'Audited', '--create-workspace'], env()))
        .code,
    ).toBe(0);
    const res = await runCli(
      ['export', '--workspace', 'Audited', '--format', 'csv', '--account', 'evil'],
      env(),
    );
    expect(res.code, res.stderr).toBe(0);
    const { rows } = await db.adminPool.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM audit_log WHERE action = 'posts.exported' ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]?.details).toEqual({
      format: 'csv',
      filters: { account: 'evil' },
      destination: 'stdout',
    });
  });

  it('fails clearly on bad configuration and on a missing file', async () => {
    const badConfig = await runCli(['migrate'], {
      DATABASE_URL: 'mysql://nope',
      DATA_DIR: dir,
      PORT: 'x',
    });
    expect(badConfig.code).toBe(78);
    expect(badConfig.stderr).toMatch(
      /PORT: .*\n.*DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL \(value hidden\)/,
    );
    const missing = await runCli(
      ['import', path.join(dir, 'nope.csv'), '--workspace', 'Brand'],
      env(),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.csv: no such file');
  });

  it('refuses a --rejects file it cannot write, or that is an input, before importing anything', async () => {
    const input = path.join(dir, 'with-reject.jsonl');
    const content = toJsonl([postRecord({ external_id: 'r1' })]) + 'not json\n';
    writeFileSync(input, content);
    const other = path.join(dir, 'other.jsonl');
    writeFileSync(other, toJsonl([postRecord({ external_id: 'r2' })]));
    const imports = async (): Promise<number> =>
      (await db.adminPool.query<{ n: number }>('SELECT count(*)::int AS n FROM imports')).rows[0]
        ?.n ?? -1;
    const before = await imports();
    const nowhere = await runCli(
      [
        'import',
        input,
        '--workspace',
        'Rejects',
        '--rejects',
        path.join(dir, 'missing', 'r.jsonl'),
      ],
      env(),
    );
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(
      /^socialpulse: cannot write --rejects \S+r\.jsonl: directory \S+missing does not exist\n$/,
    );
    const same = await runCli(
      ['import', other, input, '--workspace', 'Rejects', '--rejects', input],
      env(),
    );
    expect(same.code).toBe(1);
    expect(same.stderr).toBe(
      `socialpulse: --rejects ${input} is the same file as the input (${input}): write it to another file\n`,
    );
    expect(readFileSync(input, 'utf8')).toBe(content);
    const dash = await runCli(['import', input, '--workspace', 'Rejects', '--rejects', '-'], env());
    expect(dash.code).toBe(1);
    expect(dash.stderr).toContain('--rejects -: standard output carries the import summary');
    // Refused before the database: no workspace created, no import started.
    expect(await imports()).toBe(before);
    const { rows } = await db.adminPool.query("SELECT 1 FROM workspaces WHERE name = 'Rejects'");
    expect(rows).toHaveLength(0);
  });

  it('imports from a working directory it cannot write: rejects, if any, go to the temporary directory', async () => {
    // /proc takes no new files, not even from root: a stand-in for cron's / or a read-only image.
    const clean = path.join(dir, 'clean.jsonl');
    writeFileSync(clean, toJsonl([postRecord({ external_id: 'ro1' })]));
    const ok = await runCli(['import', clean, '--workspace', 'Brand'], env(), undefined, '/proc');
    expect(ok.code, ok.stderr).toBe(0);
    const withReject = path.join(dir, 'ro-reject.jsonl');
    writeFileSync(withReject, toJsonl([postRecord({ external_id: 'ro2' })]) + 'not json\n');
    const rejected = await runCli(
      ['import', withReject, '--workspace', 'Brand'],
      env(),
      undefined,
      '/proc',
    );
    expect(rejected.code, rejected.stderr).toBe(65);
    const listed =
      /^1 rejected record .* written to (\S+socialpulse-rejects-\S+\.jsonl) \(the default --rejects file/m.exec(
        rejected.stderr,
      )?.[1];
    expect(listed, rejected.stderr).toBeDefined();
    const lines = readFileSync(listed ?? '', 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ line: 2 });
    rmSync(listed ?? '', { force: true });
  });

  it('keeps the rejects found before an import fails, and says where they are', async () => {
    // A refusal that is not about the data (not SQLSTATE class 22 or 23) fails the import.
    await db.adminPool.query(REFUSE_BOOM_POST);
    const input = path.join(dir, 'boom.jsonl');
    writeFileSync(input, 'not json\n' + toJsonl([postRecord({ external_id: 'boom' })]));
    const rejects = path.join(dir, 'boom-rejects.jsonl');
    const failed = await runCli(
      ['import', input, '--workspace', 'Brand', '--rejects', rejects],
      env(),
    ).finally(() => db.adminPool.query(ALLOW_BOOM_POST));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `Records rejected before the failure are listed in ${rejects}\nsocialpulse: import failed: could not extend file (simulated)\n`,
    );
    const lines = readFileSync(rejects, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { line: number }).line)).toEqual([1]);
  });

  it('refuses an unknown workspace, naming the known ones closest first, unless asked to create it', async () => {
    const file = path.join(dir, 'typo.jsonl');
    writeFileSync(file, toJsonl([postRecord({ external_id: 'typo-1' })]));
    const workspaces = async (): Promise<string[]> =>
      (
        await db.adminPool.query<{ name: string }>('SELECT name FROM workspaces ORDER BY name')
      ).rows.map((r) => r.name);
    const before = await workspaces();
    expect(before).toContain('Brand');
    const typo = await runCli(['import', file, '--workspace', 'Brnad'], env());
    // A usage error (EX_USAGE): nothing created, nothing imported.
    expect(typo.code).toBe(64);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toMatch(
      /^socialpulse: No workspace named "Brnad" \(did you mean "Brand"\?\); known workspaces: "Brand", .*; add --create-workspace to create "Brnad"\n$/,
    );
    expect(await workspaces()).toEqual(before);
    // The other commands that take a workspace say the same (without import's way out).
    const exported = await runCli(['export', '--workspace', 'brandd'], env());
    expect(exported.code).toBe(64);
    expect(exported.stderr).toMatch(
      /^socialpulse: No workspace named "brandd" \(did you mean "Brand"\?\); known workspaces: "Brand", [^;]*\n$/,
    );
    // Nothing like any of them: no guess, the names alone.
    const far = await runCli(['export', '--workspace', 'Zzzzzzzzzzzz'], env());
    expect(far.code).toBe(64);
    expect(far.stderr).not.toContain('did you mean');
    expect(far.stderr).toContain('known workspaces: ');
    // Asked for: created, and the import goes there.
    const created = await runCli(
      ['import', file, '--workspace', 'Brnad', '--create-workspace'],
      env(),
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/^Created workspace "Brnad" \([0-9a-f-]{36}\)/);
    expect(await workspaces()).toEqual([...before, 'Brnad'].sort());
  });

  it('reads and writes the files named where `npm run socialpulse` was typed, and says where rejects went', async () => {
    // The repository's socialpulse script, run by npm from a subdirectory of a package that has
    // it: npm runs it in the package's root, and names the subdirectory in INIT_CWD.
    const repo = fileURLToPath(new URL('../../../../', import.meta.url));
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const root = mkdtempSync(path.join(dir, 'npm-'));
    writeFileSync(
      path.join(root, 'package.json'),
      JSON.stringify({
        name: 'npm-paths',
        private: true,
        scripts: { socialpulse: pkg.scripts.socialpulse },
      }),
    );
    symlinkSync(path.join(repo, 'apps'), path.join(root, 'apps'));
    const typedIn = path.join(root, 'apps-of-mine');
    mkdirSync(typedIn);
    writeFileSync(
      path.join(root, 'posts.jsonl'),
      toJsonl([postRecord({ external_id: 'npm-1' })]) + 'not json\n',
    );
    const npm = (
      args: string[],
    ): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn('npm', ['run', '--silent', 'socialpulse', '--', ...args], {
          cwd: typedIn,
          // Not the npm_config_* of the npx that runs the tests (its prefix is the repository).
          env: {
            ...Object.fromEntries(Object.entries(process.env).filter(([n]) => !/^npm_/i.test(n))),
            ...env(),
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const imported = await npm(['import', '../posts.jsonl', '--workspace', 'Brand']);
    expect(imported.code, imported.stderr).toBe(65);
    expect(imported.stdout).toContain('read 2, inserted 1, updated 0, unchanged 0, rejected 1');
    // The default rejects file is where the command was typed, and said on stderr.
    const rejects = path.join(typedIn, 'socialpulse-rejects.jsonl');
    expect(imported.stderr).toContain(
      `1 rejected record (file, line, field, reason) written to ${rejects} (the default --rejects file, replaced by each import that rejects records)\n`,
    );
    expect(readFileSync(rejects, 'utf8')).toContain('"line":2');
    expect(existsSync(path.join(root, 'socialpulse-rejects.jsonl'))).toBe(false);
    const exported = await npm(['export', '--workspace', 'Brand', '--out', 'brand.jsonl']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(path.join(typedIn, 'brand.jsonl'), 'utf8')).toContain('"npm-1"');
  });

  it('ends quietly with exit 0 when the reader of an export goes away (| head -1)', async () => {
    // Large enough that the export cannot fit in the pipe before the reader leaves.
    const many = path.join(dir, 'many.jsonl');
    writeFileSync(
      many,
      toJsonl(
        Array.from({ length: 3000 }, (_, i) =>
          postRecord({ external_id: `m${i}`, text: `a post long enough to fill a pipe ${i}` }),
        ),
      ),
    );
    const imported = await runCli(
      ['import', many, '--workspace', 'Many', '--create-workspace'],
      env(),
    );
    expect(imported.code, imported.stderr).toBe(0);
    for (const format of ['csv', 'jsonl']) {
      const { code, stdout, stderr } = await readFirstLine(
        ['export', '--workspace', 'Many', '--format', format],
        env(),
      );
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toMatch(format === 'csv' ? /^platform,external_id/ : /^\{"platform"/);
    }
  });

  it('creates users and API keys for scripts, and resets MFA', async () => {
    // An address the sign-in form would refuse makes an account that could never sign in.
    const bad = ['bad', 'ops@', 'two words@example.com'];
    for (const email of bad) {
      const refused = await runCli(
        ['users', 'create', '--email', email, '--admin', '--password-stdin'],
        env(),
        'correct horse battery staple ops\n',
      );
      expect(refused.code, refused.stdout).toBe(1);
      expect(refused.stderr).toContain(
        `email ${JSON.stringify(email)} is not a valid email address`,
      );
    }
    const { rows } = await db.adminPool.query('SELECT email FROM users WHERE email = ANY($1)', [
      bad,
    ]);
    expect(rows).toEqual([]);

    const weak = await runCli(
      ['users', 'create', '--email', 'ops@example.com', '--password-stdin'],
      env(),
      'short\n',
    );
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('password must be at least 12 characters');
    const noStdin = await runCli(['users', 'create', '--email', 'ops@example.com'], env());
    expect(noStdin.stderr).toContain('--password-stdin');

    // The blanks around an address are not part of it.
    const created = await runCli(
      ['users', 'create', '--email', ' ops@example.com ', '--admin', '--password-stdin'],
      env(),
      'correct horse battery staple ops\n',
    );
    expect(created.stdout).toMatch(/Created ops@example\.com \([0-9a-f-]{36}\) as instance admin/);
    const listed = await runCli(['users', 'list'], env());
    expect(listed.stdout).toMatch(/ops@example\.com\tadmin\tmfa=off/);

    const key = await runCli(
      ['keys', 'create', '--workspace', 'Brand', '--name', 'reporting', '--scopes', 'read'],
      env(),
    );
    expect(key.code).toBe(0);
    const secret = key.stdout.trim();
    expect(secret).toMatch(/^sp_[A-Za-z0-9]{8}_/);
    const app = await buildTestApp(db);
    try {
      const ws = await app.inject({
        method: 'GET',
        url: '/v1/workspaces',
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(ws.json<{ data: { name: string }[] }>().data.map((w) => w.name)).toEqual(['Brand']);
      const revoked = await runCli(
        ['keys', 'revoke', secret.slice(0, 11), '--workspace', 'Brand'],
        env(),
      );
      expect(revoked.code).toBe(0);
      expect(
        (
          await app.inject({
            method: 'GET',
            url: '/v1/workspaces',
            headers: { authorization: `Bearer ${secret}` },
          })
        ).statusCode,
      ).toBe(401);
    } finally {
      await app.close();
    }
    const reset = await runCli(['users', 'reset-mfa', 'ops@example.com'], env());
    expect(reset.stdout).toContain('Two-factor authentication of ops@example.com is off');
  });
});
