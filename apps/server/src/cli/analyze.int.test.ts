import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  createReadStream,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, cliPath, readFirstLine, runCli } from '../../test/support/server-process.js';

/** `socialpulse analyze` run as a process: its files, exit status and line reading. No database. */
const dir = mkdtempSync(path.join(tmpdir(), 'sp-analyze-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A directory per test, where a leftover temporary file would show. */
const fresh = (): string => mkdtempSync(path.join(dir, 't-'));
const write = (d: string, name: string, content: string): string => {
  const file = path.join(d, name);
  writeFileSync(file, content);
  return file;
};

describe('socialpulse analyze (the command)', () => {
  const post = (id: string, text: string): string => JSON.stringify({ id, text });
  const jsonLines = (stdout: string): Record<string, unknown>[] =>
    stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('fails on a missing input with one line naming it, before touching --out', async () => {
    const d = fresh();
    const keep = write(d, 'keep.jsonl', 'precious\n');
    const typo = path.join(d, 'typo.jsonl');
    const result = await runCli(['analyze', typo, '--out', keep], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`socialpulse: ${typo}: no such file\n`);
    expect(readFileSync(keep, 'utf8')).toBe('precious\n');
    expect(readdirSync(d)).toEqual(['keep.jsonl']);
  });

  it('refuses to write the results over the input, also through a link or stdin', async () => {
    const d = fresh();
    const input = write(d, 'same.jsonl', `${post('a', 'I love this')}\n`);
    const link = path.join(d, 'link.jsonl');
    symlinkSync(input, link);
    for (const [args, stdin] of [
      [['analyze', input, '--out', input], undefined],
      [['analyze', link, '--out', input], undefined],
      [['analyze', input, '--out', link], undefined],
    ] as const) {
      const result = await runCli([...args], {}, stdin);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/^socialpulse: --out \S+ is the same file as the input \(/);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    // stdin redirected from the file: `analyze - --out same.jsonl < same.jsonl`.
    const child = spawn(process.execPath, [cliPath, 'analyze', '-', '--out', input], {
      stdio: [openSync(input, 'r'), 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toMatch(/is the same file as the input \(standard input\)/);
    expect(readFileSync(input, 'utf8')).toBe(`${post('a', 'I love this')}\n`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['link.jsonl', 'same.jsonl']);
  });

  it('reports an --out in a missing directory in one line, without a stack trace', async () => {
    const d = fresh();
    const input = write(d, 'in.jsonl', `${post('a', 'fine')}\n`);
    const result = await runCli(['analyze', input, '--out', '/nonexistent/dir/x.jsonl'], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'socialpulse: cannot write --out /nonexistent/dir/x.jsonl: directory /nonexistent/dir does not exist\n',
    );
  });

  it('replaces an existing --out only when the run ends: an interrupted run leaves it as it was', async () => {
    const d = fresh();
    const keep = write(d, 'keep.jsonl', 'precious\n');
    assertBuilt();
    // Something is written beside (or into) keep.jsonl once the first batch is analysed; stdin
    // stays open, so the run is then in the middle.
    const written = new Promise<void>((resolve) => {
      const watcher = watch(d, (_event, name) => {
        const size =
          name === null ? 0 : (statSync(path.join(d, name), { throwIfNoEntry: false })?.size ?? 0);
        if (name !== 'keep.jsonl' ? size > 0 : size !== 'precious\n'.length) {
          watcher.close();
          resolve();
        }
      });
    });
    const child = spawn(process.execPath, [cliPath, 'analyze', '-', '--out', keep], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.stdin.write(
      Array.from({ length: 250 }, (_, i) => `${post(`p${i}`, 'I love this')}\n`).join(''),
    );
    await written;
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    expect([code, signal], stderr).toEqual([null, 'SIGTERM']);
    expect(readFileSync(keep, 'utf8')).toBe('precious\n');
    expect(readdirSync(d)).toEqual(['keep.jsonl']);
  });

  it('replaces an existing --out at the end of a run, keeping its mode and a link to it', async () => {
    const d = fresh();
    const input = write(d, 'in.jsonl', `${post('a', 'I love this')}\n${post('b', 'awful')}\n`);
    const keep = write(d, 'keep.jsonl', 'old\n');
    chmodSync(keep, 0o640);
    const link = path.join(d, 'link.jsonl');
    symlinkSync(keep, link);
    const result = await runCli(['analyze', input, '--out', link], {});
    expect(result.code, result.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(statSync(keep).mode & 0o777).toBe(0o640);
    expect(jsonLines(readFileSync(keep, 'utf8')).map((l) => l.id)).toEqual(['a', 'b']);
    expect(readdirSync(d).sort()).toEqual(['in.jsonl', 'keep.jsonl', 'link.jsonl']);
    // A device is written to, not replaced.
    expect((await runCli(['analyze', input, '--out', '/dev/null'], {})).code).toBe(0);
  });

  it('goes on past error lines, counts them on stderr and exits 65; 0 when there are none', async () => {
    const d = fresh();
    const good = Array.from({ length: 10 }, (_, i) => post(`g${i}`, 'I love this'));
    const bad = [
      '{"id": "b1", "text": ',
      '["not", "an", "object"]',
      '{"text": "no id"}',
      '{"id": "b4", "text": 12}',
      '{"id": "   ", "text": "blank id"}',
      'not json at all',
      '{"id": 1.2345678901234567891e25, "text": "x"}',
    ];
    const lines = [...good.slice(0, 5), ...bad, ...good.slice(5)];
    const input = write(d, 'mixed.jsonl', `${lines.join('\n')}\n`);
    const result = await runCli(['analyze', input], {});
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(/^analyzed 10 posts, 7 lines with errors, in \d+\.\d s /);
    const out = jsonLines(result.stdout);
    expect(out).toHaveLength(17);
    expect(out.filter((l) => 'error' in l).map((l) => l.line)).toEqual([6, 7, 8, 9, 10, 11, 12]);

    const clean = await runCli(['analyze', '-'], {}, `${good.join('\n')}\n`);
    expect(clean.code).toBe(0);
    expect(clean.stderr).toMatch(/^analyzed 10 posts, 0 lines with errors, in /);

    const help = await runCli(['analyze', '--help'], {});
    expect(help.stdout).toMatch(/Exit status:\n {2}0 .*\n {2}1 .*\n {2}65 .*error lines/s);
  });

  it('ends quietly with exit 0 when the reader of stdout goes away (| head -1)', async () => {
    const d = fresh();
    const input = write(
      d,
      'many.jsonl',
      Array.from({ length: 5000 }, (_, i) => `${post(`p${i}`, 'I love this so much')}\n`).join(''),
    );
    const { code, stderr } = await readFirstLine(['analyze', input]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('takes a lone CR as a line break (old Mac files), CRLF as one, with right line numbers', async () => {
    const d = fresh();
    const input = write(
      d,
      'mac.jsonl',
      [
        post('a', 'I love this'),
        '\r',
        post('b', 'worst service ever'),
        '\r\r\n', // a CR, then a CRLF: one empty line between
        '{"id": "c", broken',
        '\r\n',
        post('d', 'fine'),
        '\r',
      ].join(''),
    );
    const result = await runCli(['analyze', input], {});
    const out = jsonLines(result.stdout);
    expect(out.map((l) => [l.id, l.line ?? null])).toEqual([
      ['a', null],
      ['b', null],
      ['c', 4],
      ['d', null],
    ]);
    expect(out[1]).toMatchObject({ sentiment: { label: 'negative' } });
    expect(result.code).toBe(65);
  });

  it('names the leading id of a line too long to read', async () => {
    const d = fresh();
    const filler = 'x'.repeat(1_000_001);
    const input = write(
      d,
      'long.jsonl',
      [
        `{"id": "big", "text": "${filler}"}`,
        `{"id": null, "external_id": 12345, "text": "${filler}"}`,
        `{"text": "${filler}", "id": "late"}`,
        post('after', 'fine'),
        '',
      ].join('\n'),
    );
    const result = await runCli(['analyze', input], {});
    expect(result.code).toBe(65);
    const message = 'line longer than 1000000 characters';
    const file = input;
    expect(jsonLines(result.stdout)).toEqual([
      { id: 'big', file, line: 1, error: { code: 'invalid_input', message } },
      { id: '12345', file, line: 2, error: { code: 'invalid_input', message } },
      { id: null, file, line: 3, error: { code: 'invalid_input', message } },
      expect.objectContaining({ id: 'after' }),
    ]);
  });

  it('takes external_id when id is null, and refuses a blank id', async () => {
    const result = await runCli(
      ['analyze', '-'],
      {},
      [
        '{"id":null,"external_id":"x8","text":"I love this"}',
        '{"id":"  ","text":"x"}',
        '{"external_id":" ","text":"x"}',
        '{"id":null,"text":"x"}',
        '{"id":"x9","external_id":"ignored","text":"x"}',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(/^analyzed 2 posts, 3 lines with errors/);
    expect(jsonLines(result.stdout).map((l) => [l.id, l.line ?? null])).toEqual([
      ['x8', null],
      [null, 2],
      [null, 3],
      [null, 4],
      ['x9', null],
    ]);
  });
});

describe('socialpulse analyze: CSV, JSON arrays, UTF-8', () => {
  const jsonLines = (stdout: string): Record<string, unknown>[] =>
    stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('reads the import format CSV, as export --format csv writes it, an error line per bad record', async () => {
    const d = fresh();
    const csv = [
      'platform,external_id,created_at,text',
      'x,1,2024-01-01T00:00:00Z,I love this',
      'x,2,2024-01-01T00:00:00Z,"a quote that never closes',
      'x,3,2024-01-01T00:00:00Z,"worst service,',
      'ever",extra',
      "x,4,2024-01-01T00:00:00Z,'@brand thanks",
      '',
    ].join('\n');
    const input = write(d, 'posts.csv', csv);
    const result = await runCli(['analyze', input], {});
    expect(result.code, result.stderr).toBe(65);
    expect(result.stderr).toMatch(/^analyzed 2 posts, 2 lines with errors/);
    const out = jsonLines(result.stdout);
    expect(out.map((l) => [l.id, l.line ?? null])).toEqual([
      ['1', null],
      [null, 3],
      [null, 4],
      ['4', null],
    ]);
    expect(out[1]).toMatchObject({ file: input, error: { code: 'invalid_input' } });
    expect(out[2]).toMatchObject({ error: { message: 'expected 4 columns, found 5' } });
    expect(out[3]).toMatchObject({ mentions: ['brand'] });
    // Standard input: the import's header tells CSV; other headers need --format csv.
    const piped = await runCli(['analyze', '-'], {}, csv);
    expect(jsonLines(piped.stdout)[1]).toMatchObject({ file: '-', line: 3 });
    const short = await runCli(['analyze', '-', '--format', 'csv'], {}, 'id,text\n9,I love it\n');
    expect(short.code, short.stderr).toBe(0);
    expect(jsonLines(short.stdout)).toEqual([expect.objectContaining({ id: '9' })]);
    const noId = await runCli(['analyze', '-', '--format', 'csv'], {}, 'name,text\n9,x\n');
    expect(noId.code).toBe(1);
    expect(noId.stderr).toBe(
      'socialpulse: standard input: the CSV header has no external_id (or id) column (it has name,text)\n',
    );
  });

  it('reads a JSON array, an error line per bad element', async () => {
    const d = fresh();
    const input = write(
      d,
      'posts.json',
      JSON.stringify(
        [{ id: 'a', text: 'I love this' }, { id: true }, { external_id: 'b' }],
        null,
        2,
      ),
    );
    const result = await runCli(['analyze', input], {});
    expect(result.code, result.stderr).toBe(65);
    const out = jsonLines(result.stdout);
    expect(out.map((l) => l.id)).toEqual(['a', null, 'b']);
    expect(out[1]).toEqual({
      id: null,
      file: input,
      line: 6,
      error: {
        code: 'invalid_input',
        message: 'id must be a string or a number; got boolean true',
      },
    });
  });

  it('reports a line that is not valid UTF-8 as an error line, exit 65, and goes on', async () => {
    const d = fresh();
    const input = path.join(d, 'latin1.jsonl');
    writeFileSync(
      input,
      Buffer.concat([
        Buffer.from('{"id": "a", "text": "I love this"}\n{"id": "b", "text": "caf'),
        Buffer.from([0xe9]),
        Buffer.from(' is nice"}\n{"id": "c", "text": "fine"}\n'),
      ]),
    );
    const result = await runCli(['analyze', input], {});
    expect(result.code).toBe(65);
    const out = jsonLines(result.stdout);
    expect(out.map((l) => l.id)).toEqual(['a', 'b', 'c']);
    expect(out[1]).toEqual({
      id: 'b',
      file: input,
      line: 2,
      error: {
        code: 'invalid_input',
        message: expect.stringMatching(/^line is not valid UTF-8/) as unknown,
      },
    });
  });
});

describe.skipIf(process.platform !== 'linux')(
  'socialpulse analyze --out: pipes, devices, descriptors',
  () => {
    const twoPosts = `${JSON.stringify({ id: 'a', text: 'I love this' })}\n${JSON.stringify({ id: 'b', text: 'awful' })}\n`;

    it('writes to the pipe a link names (/proc/self/fd/1, /dev/stdout, a link to them), never replacing the link', async () => {
      const d = fresh();
      const input = write(d, 'in.jsonl', twoPosts);
      const link = path.join(d, 'mystdout');
      symlinkSync('/proc/self/fd/1', link);
      for (const out of [link, '/proc/self/fd/1', '/dev/stdout']) {
        const result = await runCli(['analyze', input, '--out', out], {});
        expect(result.code, `${out}: ${result.stderr}`).toBe(0);
        expect(result.stdout.trimEnd().split('\n'), out).toHaveLength(2);
      }
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
      expect(readdirSync(d).sort()).toEqual(['in.jsonl', 'mystdout']);
    });

    it('appends to the file /dev/stdout is when the shell appends to it (>>)', async () => {
      const d = fresh();
      const input = write(d, 'in.jsonl', twoPosts);
      const log = write(d, 'log.jsonl', 'earlier\n');
      const child = spawn(process.execPath, [cliPath, 'analyze', input, '--out', '/dev/stdout'], {
        stdio: ['ignore', openSync(log, 'a'), 'pipe'],
      });
      const [code] = (await once(child, 'close')) as [number | null];
      expect(code).toBe(0);
      const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
      expect(lines[0]).toBe('earlier');
      expect(lines.slice(1).map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['a', 'b']);
      expect(readdirSync(d).sort()).toEqual(['in.jsonl', 'log.jsonl']);
    });

    it("writes to a named pipe, a descriptor the shell gave it, and a dangling link's target", async () => {
      const d = fresh();
      const input = write(d, 'in.jsonl', twoPosts);
      const fifo = path.join(d, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const read = (async () => {
        let text = '';
        for await (const c of createReadStream(fifo)) text += (c as Buffer).toString();
        return text;
      })();
      expect((await runCli(['analyze', input, '--out', fifo], {})).code).toBe(0);
      expect((await read).trimEnd().split('\n')).toHaveLength(2);
      expect(lstatSync(fifo).isFIFO()).toBe(true);

      // `analyze in.jsonl --out /dev/fd/3 3> >(...)`
      const child = spawn(process.execPath, [cliPath, 'analyze', input, '--out', '/dev/fd/3'], {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      });
      let three = '';
      child.stdio[3]?.on('data', (c: Buffer) => (three += c.toString()));
      const [code] = (await once(child, 'close')) as [number | null];
      expect(code).toBe(0);
      expect(three.trimEnd().split('\n')).toHaveLength(2);

      const link = path.join(d, 'link.jsonl');
      symlinkSync('target.jsonl', link);
      expect((await runCli(['analyze', input, '--out', link], {})).code).toBe(0);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(path.join(d, 'target.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(
        2,
      );
      expect(readdirSync(d).sort()).toEqual(['fifo', 'in.jsonl', 'link.jsonl', 'target.jsonl']);
    });

    it('says what is wrong with an --out it cannot write, not that a directory that exists does not', async () => {
      const version = await runCli(['analyze', '-', '--out', '/proc/version'], {}, twoPosts);
      expect(version.code).toBe(1);
      expect(version.stderr).toMatch(
        /^socialpulse: cannot write --out \/proc\/version: (permission denied|cannot create a file in directory \/proc .*: the file system takes no new files there)\n$/,
      );
      // Node.js's own descriptors (its event loop's) or none: refused in one line, never written
      // into, which would crash the process.
      for (let fd = 3; fd <= 8; fd++) {
        const result = await runCli(['analyze', '-', '--out', `/dev/fd/${fd}`], {}, twoPosts);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toMatch(
          new RegExp(
            `^socialpulse: cannot write --out /dev/fd/${fd}: descriptor ${fd} [^\\n]+\\n$`,
          ),
        );
      }
    });
  },
);

describe('socialpulse analyze --categories', () => {
  const input = [
    JSON.stringify({ id: 'a', text: 'Need a refund, customer service was slow' }),
    JSON.stringify({ id: 'b', text: 'Loving the new phone #launch' }),
    JSON.stringify({ id: 'c', text: 'nothing to see' }),
    '',
  ].join('\n');

  it('puts posts in the categories of the rules file', async () => {
    const d = fresh();
    const rules = write(
      d,
      'rules.json',
      JSON.stringify([
        { id: 'support', keywords: ['refund', 'customer service'] },
        { id: 'launch', hashtags: ['#launch'] },
      ]),
    );
    const result = await runCli(['analyze', '-', '--categories', rules], {}, input);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; categories: string[] });
    expect(out.map((l) => [l.id, l.categories])).toEqual([
      ['a', ['support']],
      ['b', ['launch']],
      ['c', []],
    ]);
  });

  it.each([
    ['missing.json', null, /^--categories \S+missing\.json: no such file$/],
    ['bad.json', '[{"id": "x",', /^--categories \S+bad\.json: invalid JSON: /],
    ['object.json', '{"id": "x"}', /^--categories \S+object\.json: \(top\): .*\(\{"id":"x"\}\)$/],
    [
      'shape.json',
      '[{"id": "ok", "keywords": ["fine"]}, {"id": "x", "keywords": [""], "colour": "red"}]',
      /^--categories \S+shape\.json: \[1\]\.keywords\[0\]: .*\(""\); \[1\]: .*colour/,
    ],
    [
      'never.json',
      JSON.stringify([{ id: 'pizza', keywords: ['the best pizza in new york'] }]),
      /^--categories \S+never\.json: \[0\]\.keywords\[0\]: category "pizza": keyword "the best pizza in new york" has 6 words, and phrases match up to 5$/,
    ],
  ])('refuses %s in one line, exit 1, before touching --out', async (name, content, message) => {
    const d = fresh();
    const rules = content === null ? path.join(d, name) : write(d, name, content);
    const inputFile = write(d, 'in.jsonl', input);
    const keep = write(d, 'keep.jsonl', 'precious\n');
    const result = await runCli(['analyze', inputFile, '--out', keep, '--categories', rules], {});
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.replace(/^socialpulse: /, '')).toMatch(message);
    expect(result.stdout).toBe('');
    expect(readFileSync(keep, 'utf8')).toBe('precious\n');
    expect(readdirSync(d).sort()).toEqual(
      [...(content === null ? [] : [name]), 'in.jsonl', 'keep.jsonl'].sort(),
    );
  });
});

describe('socialpulse analyze --corpus-keywords', () => {
  const lines = (n: number): string =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        id: String(i),
        text:
          i % 2 === 0
            ? `The battery life of this phone is great ${i}`
            : `Customer service never answered, battery life poor`,
      }),
    ).join('\n') + '\n{"id": "bad"\n';

  it("writes the corpus's top keywords and phrases to the file after the run", async () => {
    const d = fresh();
    const keywords = path.join(d, 'keywords.json');
    const out = path.join(d, 'out.jsonl');
    const result = await runCli(
      ['analyze', '-', '--out', out, '--corpus-keywords', keywords],
      {},
      lines(40),
    );
    // One bad line: the run finishes with exit 65, and the keywords are still written.
    expect(result.code, result.stderr).toBe(65);
    const top = JSON.parse(readFileSync(keywords, 'utf8')) as { term: string; score: number }[];
    // In all 40 posts: 40 occurrences times an IDF of 1; ties in term order.
    expect(top.slice(0, 2)).toEqual([
      { term: 'battery', score: 40 },
      { term: 'battery life', score: 40 },
    ]);
    expect(top.map((k) => k.term)).toEqual(
      expect.arrayContaining(['customer service', 'battery', 'phone']),
    );
    // Numbers unique to one post ("12") are in one post only, so not corpus keywords.
    expect(top.map((k) => k.term)).not.toContain('12');
    expect(top.length).toBeLessThanOrEqual(100);
    expect(readdirSync(d).sort()).toEqual(['keywords.json', 'out.jsonl']);
  });

  it('writes them to standard output when the results go to a file, and refuses both on it', async () => {
    const d = fresh();
    const out = path.join(d, 'out.jsonl');
    const toStdout = await runCli(
      ['analyze', '-', '--out', out, '--corpus-keywords', '-'],
      {},
      lines(6).split('\n').slice(0, 6).join('\n'),
    );
    expect(toStdout.code, toStdout.stderr).toBe(0);
    expect(JSON.parse(toStdout.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ term: 'battery life' })]),
    );
    const both = await runCli(['analyze', '-', '--corpus-keywords', '-'], {}, lines(2));
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/^socialpulse: --corpus-keywords - and the results would both/);
    const same = await runCli(
      ['analyze', '-', '--out', out, '--corpus-keywords', out],
      {},
      lines(2),
    );
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/is the --out file/);
  });

  it('leaves an existing keywords file as it was when the run fails', async () => {
    const d = fresh();
    const keywords = path.join(d, 'keywords.json');
    writeFileSync(keywords, 'precious\n');
    const result = await runCli(
      ['analyze', path.join(d, 'missing.jsonl'), '--corpus-keywords', keywords],
      {},
    );
    expect(result.code).toBe(1);
    expect(readFileSync(keywords, 'utf8')).toBe('precious\n');
    const noDir = await runCli(
      [
        'analyze',
        '-',
        '--out',
        path.join(d, 'out.jsonl'),
        '--corpus-keywords',
        path.join(d, 'no', 'k.json'),
      ],
      {},
      lines(2),
    );
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toMatch(
      /cannot write --corpus-keywords \S+k\.json: directory \S+ does not exist/,
    );
    expect(readdirSync(d).sort()).toEqual(['keywords.json']);
  });

  it('leaves an existing --out as it was when the keywords cannot be written', async () => {
    const d = fresh();
    const out = path.join(d, 'out.jsonl');
    writeFileSync(out, 'precious\n');
    // /dev/full takes the file open and refuses every write (ENOSPC): the keywords fail after
    // the results were all written.
    const result = await runCli(
      ['analyze', '-', '--out', out, '--corpus-keywords', '/dev/full'],
      {},
      lines(6),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot write \/dev\/full/);
    expect(readFileSync(out, 'utf8')).toBe('precious\n');
    expect(readdirSync(d)).toEqual(['out.jsonl']);
  });
});
