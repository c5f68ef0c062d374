import fc from 'fast-check';

/** One way a JSON record's text goes wrong: a stray character, a lost closing brace, a cut. */
export type JsonCorruption =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'drop-close' }
  | { kind: 'truncate'; at: number };

export const jsonCorruption: fc.Arbitrary<JsonCorruption> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom('"', '{', '[', '}', ']', ','),
  }),
  fc.record({ kind: fc.constant('drop-close' as const) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/** `text` with the corruption applied (a cut keeps at least its first visible character). */
export function corruptJson(text: string, c: JsonCorruption): string {
  if (c.kind === 'drop-close') {
    const close = text.lastIndexOf('}');
    return text.slice(0, close) + text.slice(close + 1);
  }
  const at = c.at % text.length;
  if (c.kind === 'truncate') return text.slice(0, Math.max(text.search(/\S/) + 1, at));
  return text.slice(0, at) + c.text + text.slice(at);
}
