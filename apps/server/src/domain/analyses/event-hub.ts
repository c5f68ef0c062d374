import type { Pool } from '../../db/pool.js';
import { listen } from '../../db/job-queue.js';
import {
  ANALYSIS_EVENTS_CHANNEL,
  eventsAfter,
  type AnalysisEvent,
} from '../../db/repos/analyses.repo.js';
import { withTenant } from '../../db/tenant.js';

type Wake = () => void;

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

  /**
   * Yields the analysis's events after `afterId`, then each new one as it is appended, until
   * `signal` aborts. Reads run in the workspace's scope (row-level security).
   */
  async *follow(
    workspaceId: string,
    analysisId: string,
    afterId: number,
    signal: AbortSignal,
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
    try {
      while (!signal.aborted) {
        if (!pending) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // A missed notification (LISTEN reconnecting) costs at most this long.
            setTimeout(resolve, 5000).unref();
          });
          wake = null;
        }
        pending = false;
        const events = await withTenant(this.pool, { workspaceId, userId: null }, (c) =>
          eventsAfter(c, analysisId, last),
        );
        for (const event of events) {
          last = event.id;
          yield event;
        }
        if (events.length === 1000) pending = true;
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
