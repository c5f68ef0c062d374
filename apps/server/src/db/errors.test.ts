import { describe, expect, it } from 'vitest';
import { isTransientDbError, sqlStateOf } from './errors.js';
import { CommitOutcomeUnknownError } from './pool.js';

const withCode = (code: string): Error => Object.assign(new Error(code), { code });

describe('isTransientDbError', () => {
  it('retries what may pass: lost connections, rollbacks, resources, restarts, lock timeouts', () => {
    for (const code of ['08006', '40001', '40P01', '53300', '57P01', '55P03'])
      expect(isTransientDbError(withCode(code)), code).toBe(true);
    expect(isTransientDbError(withCode('ECONNRESET'))).toBe(true);
    expect(isTransientDbError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not retry what would fail again, or what may already be stored', () => {
    for (const code of ['23505', '23514', '22P02', '42P01'])
      expect(isTransientDbError(withCode(code)), code).toBe(false);
    expect(isTransientDbError(new TypeError('bug'))).toBe(false);
    // A COMMIT sent and never answered may have committed: trying again could store it twice.
    const unknown = new CommitOutcomeUnknownError('COMMIT got no answer', {
      cause: withCode('ECONNRESET'),
    });
    expect(isTransientDbError(unknown)).toBe(false);
  });

  it('reads a SQLSTATE, never a Node system error code, as one', () => {
    expect(sqlStateOf(withCode('40001'))).toBe('40001');
    expect(sqlStateOf(withCode('EPIPE'))).toBeNull();
    expect(sqlStateOf(null)).toBeNull();
  });
});
