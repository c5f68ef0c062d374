import { Readable, Writable } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../../analysis/analyzer.js';
import { SENTIMENT_ENGINE_NAMES } from '../../analysis/engine.js';
import {
  analyzeStream,
  inputFormat,
  MAX_LINE_LENGTH,
  parsePostLine,
  registerAnalyzeCommand,
} from './analyze.js';

function collect(): { sink: Writable; lines: () => Record<string, unknown>[] } {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return {
    sink,
    lines: () =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('socialpulse analyze', () => {
  it('writes one line per post, in order, with an error line for each malformed line', async () => {
    const input = Readable.from([
      '{"id": "a", "text": "I love this!"}\n',
      '{"external_id": "b", "platform": "x", "text": "worst service ever", "created_at": "2024-01-01T00:00:00Z"}\r\n',
      '{"id": "c", "text": \n',
      '\n',
      '{"id": 7, "text": null}\n',
      '["not", "an", "object"]\n',
      '{"id": "d", "text": 12}\n',
      '{"id": "e", "text": "Hola, ¿cómo estás? Muy bien, gracias", "language": "es"}\n',
    ]);
    const { sink, lines } = collect();
    const summary = await analyzeStream(input, sink, createAnalyzer());
    expect(summary).toEqual({ lines: 8, analyzed: 4, errors: 3 });
    const out = lines();
    expect(out.map((l) => l.id)).toEqual(['a', 'b', 'c', '7', null, 'd', 'e']);
    expect(out[0]).toMatchObject({ id: 'a', language: 'en', sentiment: { label: 'positive' } });
    expect(out[1]).toMatchObject({ id: 'b', sentiment: { label: 'negative' } });
    expect(out[2]).toMatchObject({ line: 3, error: { code: 'invalid_input' } });
    expect(out[3]).toMatchObject({ id: '7', sentiment: { label: null, reason: 'empty_text' } });
    expect(out[5]).toMatchObject({ id: 'd', line: 7, error: { code: 'invalid_input' } });
    expect(out[6]).toMatchObject({
      id: 'e',
      language: 'es',
      sentiment: { label: null, reason: 'unsupported_language' },
    });
    for (const key of [
      'vader',
      'hashtags',
      'mentions',
      'urls',
      'emoji',
      'keywords',
      'toxic',
      'categories',
    ]) {
      expect(out[0]).toHaveProperty(key);
    }
  });

  it('drops an over-long line as it streams, however long, with an error line, and goes on', async () => {
    // More UTF-16 units than V8's longest string (2^29 - 24): a reader that held the whole
    // line before checking its length could not even build it. The same string is yielded
    // again and again (a string, not bytes, to spare the decoding), so the test itself holds
    // only 1 MiB.
    const filler = 'x'.repeat(2 ** 20);
    const caf = Buffer.from('{"id": "a", "text": "café au lait"}\r\n');
    const split = caf.indexOf(0xa9); // between the two bytes of "é"
    function* input(): Generator<Buffer | string> {
      yield Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), caf.subarray(0, split)]);
      yield caf.subarray(split);
      yield Buffer.from('{"id": "long", "text": "');
      for (let i = 0; i < 2 ** 9 + 1; i++) yield filler;
      yield Buffer.from('"}\r\n{"id": "b", "text": "worst service ever"}');
    }
    const { sink, lines } = collect();
    const summary = await analyzeStream(Readable.from(input()), sink, createAnalyzer());
    expect(summary).toEqual({ lines: 3, analyzed: 2, errors: 1 });
    const out = lines();
    expect(out).toHaveLength(3);
    expect(out[0]).toMatchObject({ id: 'a' });
    expect((out[0]?.keywords as { term: string }[]).map((k) => k.term)).toContain('café');
    // The head of the dropped line is kept, enough to name it by its leading id.
    expect(out[1]).toEqual({
      id: 'long',
      file: '-',
      line: 2,
      error: { code: 'invalid_input', message: `line longer than ${MAX_LINE_LENGTH} characters` },
    });
    expect(out[2]).toMatchObject({ id: 'b', sentiment: { label: 'negative' } });
  });

  it('takes a line of MAX_LINE_LENGTH characters before its \\r\\n, and refuses one more', async () => {
    const line = (id: string, length: number): string => {
      const head = `{"id": "${id}", "text": "`;
      return `${head}${' '.repeat(length - head.length - 2)}"}`;
    };
    const input = Readable.from([
      `${line('fits', MAX_LINE_LENGTH)}\r\n`,
      `${line('over', MAX_LINE_LENGTH + 1)}\r`,
      '\n{"id": "next", "text": "fine"}\n',
    ]);
    const { sink, lines } = collect();
    expect(await analyzeStream(input, sink, createAnalyzer())).toEqual({
      lines: 3,
      analyzed: 2,
      errors: 1,
    });
    expect(lines().map((l) => [l.id, l.line ?? null])).toEqual([
      ['fits', null],
      ['over', 2],
      ['next', null],
    ]);
  });

  it('breaks lines at a lone CR too, CRLF split across chunks being one break', async () => {
    const input = Readable.from([
      '{"id": "a", "text": "I love this"}\r',
      '\n{"id": "b", "text": "awful"}\r{"id": "c"',
      ', "text": "fine"}\r\r{broken\r',
      '\r',
      '\n{"id": "d", "text": "ok"}',
    ]);
    const { sink, lines } = collect();
    expect(await analyzeStream(input, sink, createAnalyzer())).toEqual({
      lines: 7, // "{broken", then an empty line ended by the CRLF split over two chunks
      analyzed: 4,
      errors: 1,
    });
    expect(lines().map((l) => [l.id, l.line ?? null])).toEqual([
      ['a', null],
      ['b', null],
      ['c', null],
      [null, 5],
      ['d', null],
    ]);
  });

  it('takes external_id when id is null or absent, and refuses a blank id', () => {
    expect(parsePostLine('{"id":null,"external_id":"x8","text":"t"}')).toEqual({
      ok: true,
      post: { id: 'x8', text: 't' },
    });
    expect(parsePostLine('{"id":null,"external_id":9007199254740993}')).toMatchObject({
      ok: true,
      post: { id: '9007199254740993' },
    });
    expect(parsePostLine('{"id":"a","external_id":"b"}')).toMatchObject({ post: { id: 'a' } });
    for (const line of ['{"id":"  ","text":"x"}', '{"external_id":"","text":"x"}']) {
      expect(parsePostLine(line), line).toMatchObject({
        ok: false,
        id: null,
        message: expect.stringMatching(/empty or only whitespace/) as unknown,
      });
    }
    expect(parsePostLine('{"id":null,"text":"x"}')).toMatchObject({ ok: false, id: null });
    // Malformed lines: the leading id after a null one; never a blank one.
    expect(parsePostLine('{"id": null, "external_id": "x8", "text": }')).toMatchObject({
      ok: false,
      id: 'x8',
    });
    expect(parsePostLine('{"id": "  ", "text": }')).toMatchObject({ ok: false, id: null });
  });

  it('parses ids that are numbers and rejects lines without one', () => {
    expect(parsePostLine('{"id": 1, "text": "x"}')).toEqual({
      ok: true,
      post: { id: '1', text: 'x' },
    });
    expect(parsePostLine('{"text": "x"}')).toMatchObject({ ok: false });
    expect(parsePostLine('{"__proto__": {"id": "x"}, "text": "y"}')).toMatchObject({ ok: false });
    expect(parsePostLine('   ')).toBeNull();
  });

  it('keeps numeric ids above 2^53 exactly (X ids), or refuses them, never rounds them', () => {
    expect(parsePostLine('{"id":1234567890123456789,"text":"x"}')).toEqual({
      ok: true,
      post: { id: '1234567890123456789', text: 'x' },
    });
    // The id JSON.parse keeps: the last top-level one, not a nested one or one inside a string.
    expect(
      parsePostLine(
        '\uFEFF{"user":{"id":1},"note":"\\"id\\": 5","external_id":9007199254740993,"text":"x"}',
      ),
    ).toMatchObject({ ok: true, post: { id: '9007199254740993' } });
    expect(parsePostLine('{"id":1,"id":-98765432109876543210,"text":"x"}')).toMatchObject({
      ok: true,
      post: { id: '-98765432109876543210' },
    });
    expect(parsePostLine('{"id":1.5,"text":"x"}')).toMatchObject({ ok: true, post: { id: '1.5' } });
    const refused = parsePostLine('{"id":1.2345678901234567891e25,"text":"x"}');
    expect(refused).toMatchObject({ ok: false, id: null });
    expect(refused !== null && !refused.ok && refused.message).toMatch(/safe integer.*string/);
  });

  it('reads the leading id of a malformed line when it is complete', () => {
    expect(parsePostLine('{"id":"abc","text":"hi",}')).toMatchObject({ ok: false, id: 'abc' });
    expect(parsePostLine(' { "external_id" : 1234567890123456789 , "text": }')).toMatchObject({
      ok: false,
      id: '1234567890123456789',
    });
    expect(parsePostLine('{"id":"a\\"b\\u00e9","text":')).toMatchObject({ id: 'a"bé' });
    for (const line of [
      '{"id": "ab', // cut inside the string
      '{"id": 12', // cut inside the number, perhaps
      '{"text": "x", "id": "a",}', // not the first member
      '{"idx": "a",}',
      '{"id": "",}',
      '{"id": "a\tb",}', // a raw control character: JSON would not read it
    ]) {
      expect(parsePostLine(line), line).toMatchObject({ ok: false, id: null });
    }
  });

  it('shows each analysed post, not error lines, to onAnalyzed in input order', async () => {
    const input = Readable.from([
      '{"id": "a", "text": "one"}\n{"id": "b"\n{"id": 2, "text": "two"}\n',
    ]);
    const seen: string[] = [];
    const summary = await analyzeStream(input, collect().sink, createAnalyzer(), {
      onAnalyzed: (post) => seen.push(`${post.id}:${post.text}`),
    });
    expect(summary).toEqual({ lines: 3, analyzed: 2, errors: 1 });
    expect(seen).toEqual(['a:one', '2:two']);
  });

  it('registers the command with its options', () => {
    const program = new Command();
    registerAnalyzeCommand(program);
    const cmd = program.commands.find((c) => c.name() === 'analyze');
    expect(cmd?.options.map((o) => o.long)).toEqual([
      '--out',
      '--format',
      '--engine',
      '--categories',
      '--corpus-keywords',
    ]);
  });
});

describe('socialpulse analyze: input formats and error lines', () => {
  const run = async (
    chunks: (string | Buffer)[],
    options: Parameters<typeof analyzeStream>[3] = {},
  ): Promise<{
    summary: Awaited<ReturnType<typeof analyzeStream>>;
    out: Record<string, unknown>[];
  }> => {
    const { sink, lines } = collect();
    const summary = await analyzeStream(Readable.from(chunks), sink, createAnalyzer(), options);
    return { summary, out: summary.lines === 0 ? [] : lines() };
  };

  it('reports a line that is not valid UTF-8 as an error line, and goes on', async () => {
    const { summary, out } = await run([
      Buffer.from('{"id": "a", "text": "I love this"}\n'),
      Buffer.concat([
        Buffer.from('{"id": "latin1", "text": "caf'),
        Buffer.from([0xe9]),
        Buffer.from(' is nice"}\n'),
      ]),
      // A character split between two chunks is still one valid character.
      Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0x62, 0x22, 0x2c, 0x22]),
      Buffer.from('text": "caf'),
      Buffer.from([0xc3]),
      Buffer.from([0xa9, 0x22, 0x7d, 0x0a]),
    ]);
    expect(summary).toEqual({ lines: 3, analyzed: 2, errors: 1 });
    expect(out[1]).toEqual({
      id: 'latin1',
      file: '-',
      line: 2,
      error: {
        code: 'invalid_input',
        message: expect.stringMatching(/not valid UTF-8/) as unknown,
      },
    });
    expect(out[2]).toMatchObject({ id: 'b' });
    expect((out[2]?.keywords as { term: string }[]).map((k) => k.term)).toContain('café');
  });

  it('names the file in every error line, and says what an id that is no string or number is', async () => {
    const { out } = await run(
      [
        '{"id": true, "text": "x"}\n{"id": null, "external_id": {"a": 1}}\n{"id": [1]}\n',
        '{"text": "no id"}\n{"id": "ok", "text": "fine"}\n',
      ],
      { file: 'posts.jsonl' },
    );
    expect(out.slice(0, 4)).toEqual([
      {
        id: null,
        file: 'posts.jsonl',
        line: 1,
        error: {
          code: 'invalid_input',
          message: 'id must be a string or a number; got boolean true',
        },
      },
      {
        id: null,
        file: 'posts.jsonl',
        line: 2,
        error: {
          code: 'invalid_input',
          message: 'external_id must be a string or a number; got an object',
        },
      },
      expect.objectContaining({
        line: 3,
        error: expect.objectContaining({
          message: 'id must be a string or a number; got an array',
        }) as unknown,
      }),
      expect.objectContaining({
        line: 4,
        error: expect.objectContaining({
          message: 'missing id (or external_id): a string or number',
        }) as unknown,
      }),
    ]);
    expect(out[4]).toMatchObject({ id: 'ok' });
  });

  it('reads the import format CSV, one error line per bad record with its line, in bounded steps', async () => {
    const csv = [
      'platform,external_id,created_at,text,likes',
      'x,1,2024-01-01T00:00:00Z,I love this,3',
      'x,2,2024-01-01T00:00:00Z,"a quote that never closes,4',
      'x,3,2024-01-01T00:00:00Z,"worst service,',
      'ever, truly awful",5',
      // An export guards text that a spreadsheet would run as a formula; the import unguards it.
      "x,4,2024-01-01T00:00:00Z,'@brand thanks,",
      'x,5,2024-01-01T00:00:00Z',
      'x,,2024-01-01T00:00:00Z,no id,',
      '',
    ].join('\r\n');
    // Cut at every 7th byte: records cross chunks.
    const bytes = Buffer.from(csv);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
      bytes.subarray(i * 7, i * 7 + 7),
    );
    const { summary, out } = await run(chunks, { file: 'posts.csv' });
    expect(summary).toMatchObject({ analyzed: 3, errors: 3 });
    expect(out.map((l) => [l.id, l.line ?? null])).toEqual([
      ['1', null],
      [null, 3],
      ['3', null],
      ['4', null],
      [null, 7],
      [null, 8],
    ]);
    expect(out[1]).toMatchObject({ file: 'posts.csv', error: { code: 'invalid_input' } });
    expect(out[2]).toMatchObject({ sentiment: { label: 'negative' } });
    expect(out[3]).toMatchObject({ mentions: ['brand'] });
    expect(out[4]).toMatchObject({ error: { message: 'expected 5 columns, found 3' } });
    expect(out[5]).toMatchObject({
      error: { message: expect.stringMatching(/missing id/) as unknown },
    });
  });

  it('reads CSV named by --format (id and text columns), and refuses a header it cannot use', async () => {
    const { out } = await run(['id,text,language\n7,"Hola, ¿qué tal?",es\n'], {
      format: 'csv',
    });
    expect(out).toEqual([expect.objectContaining({ id: '7', language: 'es' })]);
    await expect(run(['Id,Text\n1,hello\n'], { format: 'csv', file: 'a.csv' })).rejects.toThrow(
      'a.csv: the CSV header has a column in the wrong letter case; column names are case-sensitive: rename "Id" → "id", "Text" → "text"',
    );
    await expect(run(['name,text\n1,hello\n'], { file: 'b.csv' })).rejects.toThrow(
      /^b\.csv: the CSV header has no external_id \(or id\) column/,
    );
    // A bad byte in a CSV record is that record's error, as for a JSON line.
    const { out: latin } = await run(
      [
        Buffer.concat([
          Buffer.from('id,text\n1,caf'),
          Buffer.from([0xe9]),
          Buffer.from('\n2,ok\n'),
        ]),
      ],
      { format: 'csv' },
    );
    expect(latin.map((l) => [l.id, l.line ?? null])).toEqual([
      [null, 2],
      ['2', null],
    ]);
    expect(latin[0]).toMatchObject({ error: { message: 'record is not valid UTF-8' } });
  });

  it('streams a JSON array, one error line per bad element, ids exact', async () => {
    const array = [
      '[',
      '  {"id": "a", "text": "I love this"},',
      '  {"id": "b", "text": },',
      '  {"external_id": 1234567890123456789, "text": "awful"},',
      '  {"id": false, "text": "x"}',
      ']',
    ].join('\n');
    const { summary, out } = await run([array.slice(0, 30), array.slice(30)], { file: 'a.json' });
    expect(summary).toMatchObject({ analyzed: 2, errors: 2 });
    expect(out.map((l) => [l.id, l.line ?? null])).toEqual([
      ['a', null],
      ['b', 3],
      ['1234567890123456789', null],
      [null, 5],
    ]);
    expect(out[1]).toMatchObject({ file: 'a.json', error: { code: 'invalid_input' } });
    expect(out[3]).toMatchObject({ error: { message: /got boolean false/ } });
  });

  it('tells the format from the content, then the name', () => {
    const head = (text: string): Buffer => Buffer.from(text);
    expect(inputFormat(head('\uFEFF  [{"id": 1}]'), '-')).toBe('json');
    expect(inputFormat(head('[{"id": 1}]'), 'x.jsonl')).toBe('jsonl');
    expect(inputFormat(head('{"id": 1}\n'), 'x.json')).toBe('jsonl');
    expect(inputFormat(head('id,text\n'), 'x.csv')).toBe('csv');
    expect(inputFormat(head('id,text\n'), '-')).toBe('jsonl');
    expect(inputFormat(head('platform,external_id,created_at,text\n'), '-')).toBe('csv');
    expect(inputFormat(head(''), 'x.json')).toBe('json');
  });

  it('refuses, once, a --format json input that is no array, and points at --format json for an array line', async () => {
    await expect(
      run(['{"id": "a", "text": "x"}\n'], { format: 'json', file: 'a.jsonl' }),
    ).rejects.toThrow(
      'a.jsonl: not a JSON array (it does not open with "["): for JSON Lines (one object per line), give --format jsonl',
    );
    const { out } = await run(['[{"id": "a", "text": "x"}]\n'], { format: 'jsonl' });
    expect(out[0]).toMatchObject({
      error: {
        message: expect.stringMatching(
          /not an array \(for a file that is one JSON array, give --format json\)/,
        ) as unknown,
      },
    });
  });
});

describe('socialpulse analyze: the command', () => {
  const analyze = (): Command | undefined => {
    const program = new Command();
    registerAnalyzeCommand(program);
    return program.commands.find((c) => c.name() === 'analyze');
  };

  it("offers the analysis folder's sentiment engines, and says it puts posts in categories", () => {
    const cmd = analyze();
    const engine = cmd?.options.find((o) => o.long === '--engine');
    expect(engine?.argChoices).toEqual([...SENTIMENT_ENGINE_NAMES, 'all']);
    for (const name of SENTIMENT_ENGINE_NAMES) expect(engine?.description).toContain(name);
    expect(cmd?.description()).toMatch(/categor/);
    expect(cmd?.options.find((o) => o.long === '--format')?.argChoices).toEqual([
      'jsonl',
      'csv',
      'json',
    ]);
  });
});
