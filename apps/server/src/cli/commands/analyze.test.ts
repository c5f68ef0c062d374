import { Readable, Writable } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../../analysis/analyzer.js';
import { analyzeStream, parsePostLine, registerAnalyzeCommand } from './analyze.js';

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
    expect(out.map((l) => l.id)).toEqual(['a', 'b', null, '7', null, 'd', 'e']);
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

  it('parses ids that are numbers and rejects lines without one', () => {
    expect(parsePostLine('{"id": 1, "text": "x"}')).toEqual({
      ok: true,
      post: { id: '1', text: 'x' },
    });
    expect(parsePostLine('{"text": "x"}')).toMatchObject({ ok: false });
    expect(parsePostLine('{"__proto__": {"id": "x"}, "text": "y"}')).toMatchObject({ ok: false });
    expect(parsePostLine('   ')).toBeNull();
  });

  it('registers the command with its options', () => {
    const program = new Command();
    registerAnalyzeCommand(program);
    const cmd = program.commands.find((c) => c.name() === 'analyze');
    expect(cmd?.options.map((o) => o.long)).toEqual(['--out', '--engine']);
  });
});
