/** Builders for import records; tests state only what matters to them. */
export interface RecordOverrides {
  [key: string]: unknown;
}

let counter = 0;

export function postRecord(overrides: RecordOverrides = {}): Record<string, unknown> {
  counter += 1;
  return {
    platform: 'x',
    external_id: `post-${counter}`,
    created_at: new Date(Date.UTC(2026, 0, 1) + counter * 60_000).toISOString(),
    account_handle: 'acme',
    author: 'Acme',
    text: `post number ${counter}`,
    likes: counter,
    comments: 1,
    ...overrides,
  };
}

export const toJsonl = (records: readonly Record<string, unknown>[]): string =>
  records.map((r) => JSON.stringify(r)).join('\n') + '\n';

export function toCsv(
  records: readonly Record<string, unknown>[],
  columns?: readonly string[],
): string {
  const cols = columns ?? [...new Set(records.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) return '';
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return (
    [cols.join(','), ...records.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n'
  );
}

/** Splits text into chunks of random-ish sizes to exercise boundary handling in parsers. */
export function* chunked(text: string | Buffer, size: number): Generator<Buffer> {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
