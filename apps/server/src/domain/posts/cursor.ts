import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';

/** Where a page of a `(created_at, id)` keyset ends, bound to the filters it was produced under. */
export interface CursorPosition {
  createdAtMicros: string;
  id: string;
}

/**
 * What PostgreSQL accepts in `timestamptz 'epoch' + t * interval '1 microsecond'` (4714 BC to
 * 294247 AD) and in a bigint id. A tampered cursor outside them must be a 400, not a
 * database error surfacing as a 500.
 */
const MIN_MICROS = -210_866_803_200_000_000n;
const MAX_MICROS = 9_214_646_400_000_000_000n;
const MAX_ID = 9_223_372_036_854_775_807n;

/** Whether PostgreSQL can hold this instant (microseconds since the epoch) in a timestamptz. */
export const isStorableMicros = (micros: bigint): boolean =>
  micros >= MIN_MICROS && micros <= MAX_MICROS;

const invalid = (reason: string): AppError =>
  new AppError(
    'invalid_cursor',
    `The cursor is not valid for this request: ${reason}. Start again without a cursor.`,
    {
      details: { field: 'cursor' },
    },
  );

/** A short fingerprint of the filters: a cursor from one query must not page another. */
export function filterFingerprint(filter: Record<string, string | undefined>): string {
  const canonical = Object.keys(filter)
    .sort()
    .map((k) => `${k}=${filter[k] ?? ''}`)
    .join('&');
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}

export function encodeCursor(position: CursorPosition, fingerprint: string): string {
  return Buffer.from(
    JSON.stringify({ v: 1, t: position.createdAtMicros, i: position.id, f: fingerprint }),
  ).toString('base64url');
}

export const ID_PATTERNS = {
  bigint: /^\d{1,19}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
};

/** `idKind`: the key's second column, a bigint (posts) or a uuid (analyses). */
export function decodeCursor(
  cursor: string,
  fingerprint: string,
  idKind: keyof typeof ID_PATTERNS = 'bigint',
): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('it is malformed');
  }
  // JSON.parse accepts `null` and bare numbers too: only an object can be a cursor.
  if (parsed === null || typeof parsed !== 'object') throw invalid('it is malformed');
  const c = parsed as { v?: unknown; t?: unknown; i?: unknown; f?: unknown };
  if (
    c.v !== 1 ||
    typeof c.t !== 'string' ||
    !/^-?\d{1,19}$/.test(c.t) ||
    typeof c.i !== 'string' ||
    !ID_PATTERNS[idKind].test(c.i)
  ) {
    throw invalid('it is malformed');
  }
  if (!isStorableMicros(BigInt(c.t)) || (idKind === 'bigint' && BigInt(c.i) > MAX_ID))
    throw invalid('it is malformed');
  if (c.f !== fingerprint) throw invalid('it was issued for different filters');
  return { createdAtMicros: c.t, id: c.i };
}
