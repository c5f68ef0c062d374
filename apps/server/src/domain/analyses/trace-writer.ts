import { isTransientDbError } from '../../db/errors.js';
import type { Pool } from '../../db/pool.js';
import { insertTraces, type TraceRecord } from '../../db/repos/traces.repo.js';
import { withTenant } from '../../db/tenant.js';

/** The default bound on traces kept for a later attempt while the database cannot take them. */
export const DEFAULT_MAX_BUFFERED_TRACES = 20_000;

/**
 * Buffers traces and writes them in batches (one statement per workspace per flush), so that
 * recording every model call costs one insert per hundreds of calls, not one per call.
 *
 * A workspace's batch that fails for a reason that may pass (a lost connection, a serialization
 * failure, a server restarting: see isTransientDbError) goes back into the buffer, ahead of what
 * came since, and is tried again at the next flush (the timer re-arms). At most `maxBuffered`
 * traces are kept: past that the oldest are dropped and reported (`onError(error, lost)`). A batch
 * refused for good (a constraint or data error) is reported and dropped at once. `close()` makes
 * one last attempt and reports whatever is still unstored. The first batch put aside after a
 * success is announced (`onDeferred`), and so is the attempt that stores what was put aside
 * (`onCaughtUp`): an outage is told once at each end, not once a second.
 */
export class TraceWriter {
  /** Traces that failed a transient error, oldest first: older than all of `buffer`. */
  private retry: TraceRecord[] = [];
  /** Traces added since the last attempt. */
  private buffer: TraceRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Attempts started so far; the one in progress, if any, is number `attempts`. */
  private attempts = 0;
  private attempting = false;
  /** Some traces failed a transient error and have not been stored since. */
  private deferring = false;
  /** For each workspace whose traces were ever dropped, the last attempt that dropped some. */
  private readonly lastLoss = new Map<string, number>();

  constructor(
    private readonly pool: Pool,
    private readonly options: {
      maxBatch?: number;
      intervalMs?: number;
      /** Traces kept for a later attempt at most (default 20,000); the oldest go first. */
      maxBuffered?: number;
      /** Traces that will never be stored: refused for good, past the bound, or left at close. */
      onError?: (error: unknown, lost: number) => void;
      /** Traces put aside for a later attempt, the first time since everything was stored. */
      onDeferred?: (error: unknown, pending: number) => void;
      /** The traces put aside are stored (`stored`: what this attempt wrote, them included). */
      onCaughtUp?: (stored: number) => void;
    } = {},
  ) {}

  add(traces: readonly TraceRecord[]): void {
    if (traces.length === 0) return;
    this.buffer.push(...traces);
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush();
    else this.arm();
  }

  /**
   * Writes everything buffered so far, traces kept from failed attempts included. Resolves, once
   * tried, to the workspaces some of whose traces are still not stored: kept for a later attempt,
   * or dropped since this call (by this attempt or one that ran meanwhile). A workspace absent
   * from it had every trace added before the call stored. Never rejects.
   */
  flush(): Promise<ReadonlySet<string>> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // An attempt in progress may hold traces added before this call, and lose them.
    const since = this.attempting ? this.attempts : this.attempts + 1;
    const done = this.flushing.then(() => this.attempt(since));
    this.flushing = done;
    return done;
  }

  /** One last attempt; what is still not stored after it is reported lost. */
  async close(): Promise<ReadonlySet<string>> {
    this.closed = true;
    return this.flush();
  }

  private arm(): void {
    this.timer ??= setTimeout(() => void this.flush(), this.options.intervalMs ?? 1000);
  }

  private async attempt(since: number): Promise<ReadonlySet<string>> {
    this.attempting = true;
    this.attempts += 1;
    const attempt = this.attempts;
    try {
      const batch = this.retry.length === 0 ? this.buffer : [...this.retry, ...this.buffer];
      this.retry = [];
      this.buffer = [];
      const byWorkspace = new Map<string, TraceRecord[]>();
      for (const t of batch) {
        const list = byWorkspace.get(t.workspaceId);
        if (list) list.push(t);
        else byWorkspace.set(t.workspaceId, [t]);
      }
      // Workspaces whose batch failed: kept for a later attempt, or dropped.
      const failed = new Set<string>();
      const kept = new Set<string>();
      let transient: unknown = null;
      for (const [workspaceId, traces] of byWorkspace) {
        try {
          await withTenant(this.pool, { workspaceId, userId: null }, (c) =>
            insertTraces(c, traces),
          );
        } catch (error) {
          failed.add(workspaceId);
          if (isTransientDbError(error) && !this.closed) {
            kept.add(workspaceId);
            transient = error;
          } else {
            this.lastLoss.set(workspaceId, attempt);
            this.report(error, traces.length);
          }
        }
      }
      if (kept.size > 0) {
        this.keep(
          batch.filter((t) => kept.has(t.workspaceId)),
          transient,
          attempt,
        );
        if (!this.deferring) {
          this.deferring = true;
          this.notify(() => this.options.onDeferred?.(transient, this.retry.length));
        }
      } else if (this.deferring) {
        // Nothing is put aside any more: stored, or reported lost (then it is no catching up).
        this.deferring = false;
        if (failed.size === 0) this.notify(() => this.options.onCaughtUp?.(batch.length));
      }
      for (const [workspaceId, at] of this.lastLoss) if (at >= since) failed.add(workspaceId);
      return failed;
    } finally {
      this.attempting = false;
    }
  }

  /**
   * Puts the traces of the workspaces that failed a transient error back, ahead of those added
   * since (they are older), drops the oldest past the bound, and re-arms the timer.
   */
  private keep(traces: TraceRecord[], error: unknown, attempt: number): void {
    this.retry = traces;
    const max = this.options.maxBuffered ?? DEFAULT_MAX_BUFFERED_TRACES;
    const excess = this.retry.length + this.buffer.length - max;
    if (excess > 0) {
      const fromRetry = Math.min(excess, this.retry.length);
      const lost = [
        ...this.retry.splice(0, fromRetry),
        ...this.buffer.splice(0, excess - fromRetry),
      ];
      for (const t of lost) this.lastLoss.set(t.workspaceId, attempt);
      this.report(error, lost.length);
    }
    // A close() that came meanwhile made its own last attempt: no timer after it.
    if (!this.closed) this.arm();
  }

  private report(error: unknown, lost: number): void {
    this.notify(() => this.options.onError?.(error, lost));
  }

  private notify(call: () => void): void {
    try {
      call();
    } catch {
      // A failing reporter must not stop the writer.
    }
  }
}
