/**
 * Following an analysis's progress stream (Server-Sent Events, same origin, the session's
 * cookies). An event only says that something changed: the page reads the analysis again, so an
 * event missed across a reconnect costs nothing, and the stream resumes where it left off (the
 * browser sends Last-Event-ID on its own reconnects; a reopened stream asks for ?after=).
 */

/** The event types the server sends (its OpenAPI description lists them). */
export const analysisEventTypes = [
  'queued',
  'started',
  'chunk_completed',
  'chunk_failed',
  'chunk_dead',
  'paused',
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
  'summary',
] as const;

export interface FollowHandlers {
  /** An event arrived (its data parsed; null when it was not JSON), with its id. */
  onEvent(type: string, data: unknown, id: number): void;
  /** The server ended the stream because the caller lost access (its message, for people). */
  onRevoked(message: string): void;
  /**
   * The browser gave the stream up (refused, e.g. an expired access token, or answered 204
   * after the last event). Answers whether the analysis may still change, after whatever it
   * needs to find out (reading the analysis renews the session); if so the stream reopens.
   */
  mayContinue(): Promise<boolean>;
}

const MAX_REOPEN_DELAY_MS = 30_000;

/**
 * Follows the stream at `path`, from the event after `afterId`, until the returned function is
 * called or the stream is over.
 */
export function followEvents(path: string, afterId: number, handlers: FollowHandlers): () => void {
  let lastId = afterId;
  let source: EventSource | null = null;
  let stopped = false;
  let reopenDelayMs = 1_000;
  let reopenTimer: ReturnType<typeof setTimeout> | undefined;

  const stop = (): void => {
    stopped = true;
    clearTimeout(reopenTimer);
    source?.close();
    source = null;
  };

  const open = (): void => {
    if (stopped) return;
    const stream = new EventSource(lastId > 0 ? `${path}?after=${lastId}` : path);
    source = stream;
    for (const type of analysisEventTypes)
      stream.addEventListener(type, (event: MessageEvent<string>) => {
        const id = Number(event.lastEventId);
        if (Number.isSafeInteger(id) && id > lastId) lastId = id;
        reopenDelayMs = 1_000;
        handlers.onEvent(type, parseData(event.data), lastId);
      });
    stream.addEventListener('error', (event) => {
      // The server's own `error` event (it carries data) ends the stream for good.
      if (event instanceof MessageEvent && typeof event.data === 'string' && event.data) {
        const data = parseData(event.data) as { message?: unknown } | null;
        stop();
        handlers.onRevoked(
          typeof data?.message === 'string' ? data.message : 'You can no longer follow this.',
        );
        return;
      }
      // A dropped connection is retried by the browser (CONNECTING); a refused one is CLOSED.
      if (stream.readyState !== EventSource.CLOSED || stopped) return;
      source = null;
      void handlers.mayContinue().then(
        (goOn) => {
          if (!goOn || stopped) return;
          reopenTimer = setTimeout(open, reopenDelayMs);
          reopenDelayMs = Math.min(MAX_REOPEN_DELAY_MS, reopenDelayMs * 2);
        },
        () => undefined,
      );
    });
  };

  open();
  return stop;
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
