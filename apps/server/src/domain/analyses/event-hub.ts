import type { AppError } from '../../errors.js';
import type { Pool } from '../../db/pool.js';
import { listen } from '../../db/job-queue.js';
import {
  ANALYSIS_EVENTS_CHANNEL,
  eventStreamOver,
  eventsAfter,
  type AnalysisEvent,
} from '../../db/repos/analyses.repo.js';
import { withTenant } from '../../db/tenant.js';

type Wake = () => void;

/**
 * A follower's periodic access check: `access` answers null while the caller may still see the
 * analysis, else the refusal a new request would get.
 */
export interface AccessRecheck {
  everyMs: number;
  access: () => Promise<AppError | null>;
}

/** Ends a follow() whose caller lost access to the analysis (see AccessRecheck). */
export class FollowerAccessRevoked extends Error {
  constructor(readonly refusal: AppError) {
    super(refusal.message);
    this.name = 'FollowerAccessRevoked';
  }
}

/**
 * How long after an LLM analysis's end its follower waits for the job summary's event. The
 * worker always appends one (the summary, or why there is none) unless it died meanwhile.
 */
export const SUMMARY_GRACE_SECONDS = 300;

/**
 * Fans progress events out to this process's SSE and WebSocket subscribers. Workers of any
 * process append events and NOTIFY; one LISTEN connection here wakes the subscribers of that
 * analysis, which read what they have not seen from the events table (so nothing is lost
 * between a reconnect and the notification, and Last-Event-ID resumes exactly).
 */
export class AnalysisEventHub {
  private readonly subscribers = new Map<string, Set<Wake>>();
  private listening: Promise<{ close(): Promise<void> }> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly ownerUrl: string,
  ) {}

  private ensureListening(): Promise<{ close(): Promise<void> }> {
    this.listening ??= listen(
      this.ownerUrl,
      ANALYSIS_EVENTS_CHANNEL,
      (payload) => {
        const analysisId = payload.split(':')[0] ?? '';
        for (const wake of this.subscribers.get(analysisId) ?? []) wake();
      },
      // Events appended while the session was down were not announced: every follower rereads.
      { onReconnect: () => this.subscribers.forEach((set) => set.forEach((wake) => wake())) },
    ).catch((error: unknown) => {
      this.listening = null;
      throw error;
    });
    return this.listening;
  }

  /** Whether a follower that has seen up to `afterId` has nothing more to wait for. */
  isOver(workspaceId: string, analysisId: string, afterId: number): Promise<boolean> {
    return withTenant(this.pool, { workspaceId, userId: null }, (c) =>
      eventStreamOver(c, analysisId, afterId, SUMMARY_GRACE_SECONDS),
    );
  }

  /**
   * Yields the analysis's events after `afterId`, then each new one as it is appended, until
   * `signal` aborts or, with `untilOver`, the stream is over (see isOver): after the final event
   * and, for an analysis that asked the LLM, the summary's. Reads run in the workspace's scope
   * (row-level security), with the access checked when the stream opened: `recheck` checks it
   * again every so often, and throws FollowerAccessRevoked once it is gone (no event read after
   * a failed check is yielded).
   */
  async *follow(
    workspaceId: string,
    analysisId: string,
    afterId: number,
    signal: AbortSignal,
    options: { untilOver?: boolean; recheck?: AccessRecheck } = {},
  ): AsyncGenerator<AnalysisEvent> {
    await this.ensureListening();
    let pending = true;
    let wake: Wake | null = null;
    const onWake: Wake = () => {
      pending = true;
      wake?.();
    };
    const set = this.subscribers.get(analysisId) ?? new Set<Wake>();
    set.add(onWake);
    this.subscribers.set(analysisId, set);
    const onAbort = (): void => onWake();
    signal.addEventListener('abort', onAbort);
    let last = afterId;
    const recheck = options.recheck;
    let recheckAt = recheck ? Date.now() + recheck.everyMs : Infinity;
    try {
      while (!signal.aborted) {
        if (!pending) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // A missed notification (LISTEN reconnecting) costs at most 5 s; a due access check
            // wakes an idle follower too (a paused analysis may have no event for days).
            setTimeout(resolve, Math.max(0, Math.min(5000, recheckAt - Date.now()))).unref();
          });
          wake = null;
          if (signal.aborted) return;
        }
        // Checked here, between reads, rather than on a timer of its own: checks never pile up
        // behind a slow database, and nothing read after a failed one is sent.
        if (recheck && Date.now() >= recheckAt) {
          const refusal = await recheck.access();
          if (refusal) throw new FollowerAccessRevoked(refusal);
          recheckAt = Date.now() + recheck.everyMs;
        }
        pending = false;
        const events = await withTenant(this.pool, { workspaceId, userId: null }, (c) =>
          eventsAfter(c, analysisId, last),
        );
        let ending = false;
        for (const event of events) {
          last = event.id;
          ending ||= TERMINAL_EVENTS.has(event.type) || event.type === 'summary';
          yield event;
        }
        if (events.length === 1000) pending = true;
        // Asked only when caught up, or after an event that may be the last one.
        else if (
          options.untilOver &&
          (events.length === 0 || ending) &&
          (await this.isOver(workspaceId, analysisId, last))
        )
          return;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(onWake);
      if (set.size === 0) this.subscribers.delete(analysisId);
    }
  }

  async close(): Promise<void> {
    const listening = this.listening;
    this.listening = null;
    if (listening) await (await listening.catch(() => null))?.close();
  }
}

export const TERMINAL_EVENTS: ReadonlySet<string> = new Set([
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
]);
