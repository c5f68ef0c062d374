import type { Pool } from '../../db/pool.js';
import { insertTraces, type TraceRecord } from '../../db/repos/traces.repo.js';
import { withTenant } from '../../db/tenant.js';

/**
 * Buffers traces and writes them in batches (one statement per workspace per flush), so that
 * recording every model call costs one insert per hundreds of calls, not one per call.
 */
export class TraceWriter {
  private buffer: TraceRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    private readonly options: {
      maxBatch?: number;
      intervalMs?: number;
      onError?: (error: unknown, lost: number) => void;
    } = {},
  ) {}

  add(traces: readonly TraceRecord[]): void {
    if (traces.length === 0) return;
    this.buffer.push(...traces);
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.intervalMs ?? 1000);
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      const byWorkspace = new Map<string, TraceRecord[]>();
      for (const t of batch) {
        const list = byWorkspace.get(t.workspaceId);
        if (list) list.push(t);
        else byWorkspace.set(t.workspaceId, [t]);
      }
      for (const [workspaceId, traces] of byWorkspace) {
        try {
          await withTenant(this.pool, { workspaceId, userId: null }, (c) =>
            insertTraces(c, traces),
          );
        } catch (error) {
          this.options.onError?.(error, traces.length);
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
