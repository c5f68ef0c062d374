import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
      ['import', jsonl, csv, '--workspace', 'Brand', '--rejects', rejects],
      env(),
    );
    // Finished with rejected records: EX_DATAERR, and the valid records are imported.
    expect(result.code).toBe(65);
    expect(result.stderr).toContain('Created workspace "Brand"');
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
    expect((await runCli(['import', source, '--workspace', 'Round trip'], env())).code).toBe(0);
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
      const restored = await runCli(['import', file, '--workspace', copy], env());
      expect(restored.code, restored.stderr).toBe(0);
      expect(await externalIdOf(copy, 'withid')).toEqual(['123456789']);
      expect(await externalIdOf(copy, 'noid')).toEqual([null]);
      expect(await exportOf(copy, format)).toBe(exported);
    }
  });

  it('records in the audit log only the filters an export applied', async () => {
    const source = path.join(dir, 'audited.jsonl');
    writeFileSync(source, toJsonl([postRecord()]));
    expect((await runCli(['import', source, '--workspace', 'Audited'], env())).code).toBe(0);
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
    const listed = /are listed in (\S+socialpulse-rejects-\S+\.jsonl)\n/.exec(rejected.stdout)?.[1];
    expect(listed, rejected.stdout).toBeDefined();
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
    const imported = await runCli(['import', many, '--workspace', 'Many'], env());
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
