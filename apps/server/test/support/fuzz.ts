/** Inputs and checks shared by the fuzz tests of the HTTP API (fast-check). */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** Runs per property (FUZZ_RUNS raises it for a longer local session). */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 40);

/**
 * Strings with every kind of character: NUL, lone surrogates, control characters, huge numbers,
 * six digits (a TOTP code's shape), dates at and beyond the edges.
 */
export const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 20 }),
  fc.stringMatching(/^\d{6}$/),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udc00x',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59+23:59',
    '-1',
    '1e309',
    '0'.repeat(300),
  ),
);

/** Any JSON-ish value a body field could be given. */
export const anyValue = fc.oneof(
  anyString,
  fc.jsonValue({ maxDepth: 2 }),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
);

export interface ErrorBody {
  error?: { code?: unknown; message?: unknown; details?: { problems?: { in?: string }[] } };
}

/** The answer is not a 5xx, and a refusal is one of our error bodies with a snake_case code. */
export function expectHandled(res: LightMyRequestResponse, input: unknown): void {
  const where = `${res.statusCode} ${res.body.slice(0, 300)} for ${JSON.stringify(input)?.slice(0, 300) ?? String(input)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  if (res.statusCode >= 400) {
    const body = res.json<ErrorBody>();
    expect(body.error?.code, where).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(typeof body.error?.message, where).toBe('string');
  }
}
