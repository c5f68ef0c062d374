/**
 * What a failed database call says about trying it again, by its SQLSTATE (`code` on
 * node-postgres's DatabaseError), read off the error object.
 */
import { CommitOutcomeUnknownError } from './pool.js';

/**
 * The SQLSTATE of a server-reported error, or null. Node's system errors also carry a `code`
 * (ECONNRESET, EPIPE…); no SQLSTATE class starts with E, so they are not taken for one.
 */
export function sqlStateOf(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code) ? code : null;
}

/** SQLSTATE classes after which the same statement may succeed later. */
const TRANSIENT_CLASSES = new Set([
  '08', // connection exception
  '40', // transaction rollback: serialization failure, deadlock
  '53', // insufficient resources: too many connections, disk full, out of memory
  '57', // operator intervention: admin shutdown, crash shutdown, cannot connect now
]);

/**
 * True when the failure may go away by itself and the statement may simply be tried again: the connection failed (no SQLSTATE: ECONNRESET,
 * ECONNREFUSED, "Connection terminated…", a connect timeout), or the server reported a class
 * above or a lock not available (55P03). Constraint and data errors (classes 22, 23) and every
 * other SQLSTATE are permanent: the same statement would fail again. A JavaScript error thrown
 * before anything was sent (a TypeError, say) is a bug, not an outage, and is permanent too. So
 * is a COMMIT that got no answer (CommitOutcomeUnknownError): its work may be stored already.
 */
export function isTransientDbError(error: unknown): boolean {
  // Sent, unanswered: it may be stored, and trying it again could store it twice.
  if (error instanceof CommitOutcomeUnknownError) return false;
  const state = sqlStateOf(error);
  if (state !== null) return state === '55P03' || TRANSIENT_CLASSES.has(state.slice(0, 2));
  return !(
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof SyntaxError ||
    error instanceof ReferenceError
  );
}
