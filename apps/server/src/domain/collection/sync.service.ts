import type { Platform } from '@socialpulse/contracts';
import type {
  Connector,
  ConnectorContext,
  Credential,
  Gap,
  MetricSnapshot,
  CollectedPost,
  PostPage,
} from '../../connectors/connector.js';
import { toImportRecord } from '../../connectors/connector.js';
import { isConnectorError, type ConnectorError } from '../../connectors/errors.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import {
  advanceRefreshes,
  deleteRefreshes,
  findConnection,
  findConnectionForUpdate,
  insertRefreshPlan,
  listDueRefreshes,
  listRefreshesOf,
  newestPostCreatedAt,
  updateConnection,
  type Connection,
  type DueRefresh,
} from '../../db/repos/connections.repo.js';
import {
  findDeadLetter,
  insertDeadLetter,
  markDeadLetterReplayed,
  recordDeadLetterFailure,
  type DeadLetter,
} from '../../db/repos/dead-letters.repo.js';
import type { ImportPostRow } from '../../db/repos/posts-import.repo.js';
import {
  findSyncRun,
  finishSyncRun,
  insertSyncRun,
  startSyncRun,
  updateSyncRunProgress,
  writeSyncedPosts,
  type SyncGap,
  type SyncKind,
  type SyncProgress,
  type SyncRun,
  type SyncTrigger,
} from '../../db/repos/sync-runs.repo.js';
import { withTenant } from '../../db/tenant.js';
import { sanitizeText } from '../../analysis/nlp/text.js';
import type { Logger } from '../../observability/logger.js';
import type { SecretBox } from '../auth/secret-box.js';
import { currentCredential, isTokenRefusal } from '../connections/token-renewal.js';
import { findUnstorableString, mayHoldUnstorable } from '../imports/parsed-item.js';
import { validateRecord } from '../imports/record-validator.js';
import { countingHttp, type ConnectorProvider } from './connectors.js';
import { nextRefresh } from './refresh-plan.js';

export interface SyncDeps {
  pool: Pool;
  secretBox: SecretBox;
  connectors: ConnectorProvider;
  logger?: Logger;
  /** Injected clock (tests); default the wall clock. */
  now?: () => Date;
  limits?: Partial<SyncLimits>;
}

export interface SyncLimits {
  /** How far before the newest stored post an incremental sync starts again (late edits, clock skew). */
  overlapMs: number;
  /** Pages of posts per run; the rest continues at the next run from the remembered cursor. */
  maxPagesPerRun: number;
  /** refreshMetrics batches per run: one run never spends a platform's whole window on metrics. */
  maxMetricBatchesPerRun: number;
  /** When a limit gives no reset time, wait this long. */
  defaultBlockMs: number;
}

export const defaultSyncLimits: SyncLimits = {
  overlapMs: 60 * 60_000,
  maxPagesPerRun: 50,
  maxMetricBatchesPerRun: 10,
  defaultBlockMs: 15 * 60_000,
};

/** The connector's incremental state, kept in platform_connections.cursor. */
interface SyncCursor {
  /** created_at of the newest post collected so far. */
  newestCreatedAt?: string;
  /** A posts run that stopped early (a limit, the page cap) continues from here. */
  resume?: { cursor: string; since: string | null } | null;
}

type Outcome = 'completed' | 'partial' | 'failed';

/** Errors that end the run with the budget of the platform spent. */
const LIMIT_KINDS = new Set(['rate_limited', 'usage_cap_exceeded', 'quota_exceeded']);
/** Errors worth a dead letter (the request may succeed when replayed, or needs a look). */
const DEAD_LETTER_KINDS = new Set([
  'transient',
  'circuit_open',
  'malformed_response',
  'bad_request',
]);

class RunState {
  readonly progress: SyncProgress = {
    requests: 0,
    postsCollected: 0,
    snapshots: 0,
    skipped: 0,
    gaps: [],
  };
  outcome: Outcome = 'completed';
  error: Record<string, unknown> | null = null;
  deadLettered = false;

  gap(g: Omit<SyncGap, 'count'> & { count?: number }): void {
    const same = this.progress.gaps.find(
      (x) => x.what === g.what && x.reason === g.reason && x.detail === g.detail,
    );
    if (same) {
      same.count += g.count ?? 1;
      if (g.resourceIds)
        same.resourceIds = [...(same.resourceIds ?? []), ...g.resourceIds].slice(0, 100);
      return;
    }
    this.progress.gaps.push({ ...g, count: g.count ?? 1 });
    if (this.progress.gaps.length > 200)
      this.progress.gaps.splice(0, this.progress.gaps.length - 200);
  }

  connectorGaps(what: string, gaps: readonly Gap[]): void {
    for (const g of gaps)
      this.gap({
        what,
        reason: g.reason,
        detail: g.detail,
        ...(g.resourceId ? { resourceIds: [g.resourceId] } : {}),
      });
  }
}

interface RunContext {
  deps: SyncDeps;
  limits: SyncLimits;
  connection: Connection;
  connector: Connector;
  ctx: ConnectorContext;
  run: SyncRun;
  state: RunState;
  requests: () => number;
  now: () => Date;
  replayOf: DeadLetter | null;
}

const scopeOf = (workspaceId: string): { workspaceId: string; userId: null } => ({
  workspaceId,
  userId: null,
});

export interface SyncRequest {
  workspaceId: string;
  connectionId: string;
  kind: SyncKind;
  trigger: SyncTrigger;
  /** A queued run to carry out (created when the job was queued); else one is created. */
  runId?: string;
  /** Replays this dead letter's operation instead of a normal run. */
  deadLetterId?: string;
  /**
   * Stops the run (its request in flight aborted, what was written kept, the cursor saved for the
   * next run): the queue job's signal, aborted when pg-boss gives the job up (its time limit
   * passed, or its claim was lost) and would otherwise run it again beside this one.
   */
  signal?: AbortSignal;
}

/** A finished run, and whether a posts sync was asked for while it went (it is due now). */
export interface SyncOutcome {
  run: SyncRun;
  /**
   * Something made the connection due while the run went (a platform webhook, a reconnect, a
   * resume): the run left that request in place, and a posts sync should follow it at once.
   */
  followUp: boolean;
}

/**
 * One sync of a connection: `posts` pages through new posts (since the newest stored one, minus
 * an overlap) and plans their metric refreshes; `metrics` refreshes the posts whose refresh is
 * due. Writes go through the import write path (newest metrics win, snapshots appended). The
 * run records requests, counts and what could not be collected and why.
 */
export async function syncConnection(deps: SyncDeps, request: SyncRequest): Promise<SyncRun> {
  return (await runSync(deps, request)).run;
}

/** syncConnection, also saying whether a sync was asked for while the run went (the queue's worker queues it). */
export async function runSync(deps: SyncDeps, request: SyncRequest): Promise<SyncOutcome> {
  const limits = { ...defaultSyncLimits, ...deps.limits };
  const now = deps.now ?? ((): Date => new Date());
  const { workspaceId, connectionId } = request;
  const tenant = scopeOf(workspaceId);

  const prepared = await withTenant(deps.pool, tenant, async (c) => {
    const connection = await findConnection(c, workspaceId, connectionId);
    let run = request.runId ? await findSyncRun(c, workspaceId, request.runId) : null;
    if (request.runId && run && !['queued', 'running'].includes(run.status))
      return { connection, run, skip: true };
    run ??= await insertSyncRun(c, {
      workspaceId,
      connectionId,
      kind: request.kind,
      trigger: request.trigger,
    });
    const replayOf = request.deadLetterId
      ? await findDeadLetter(c, workspaceId, request.deadLetterId)
      : null;
    if (!connection || connection.status !== 'active') {
      const error = {
        code: 'connection_not_active',
        message: `connection ${connectionId} is ${connection?.status ?? 'gone'}; nothing was collected`,
        status: connection?.status ?? null,
      };
      return {
        connection,
        run: await finishSyncRun(c, workspaceId, run.id, 'failed', emptyProgress(), error),
        skip: true,
      };
    }
    await startSyncRun(c, workspaceId, run.id);
    // Claimed: the scheduler does not see the connection due while this run goes.
    const scheduled =
      request.kind === 'posts'
        ? new Date(now().getTime() + connection.pollMinutes * 60_000)
        : connection.nextSyncAt;
    if (request.kind === 'posts')
      await updateConnection(c, workspaceId, connectionId, { nextSyncAt: scheduled });
    return { connection, run, replayOf, scheduled, skip: false };
  });
  if (prepared.skip || !prepared.connection) return { run: prepared.run, followUp: false };
  const { connection, run } = prepared;
  const scheduled = prepared.scheduled ?? null;

  const state = new RunState();
  const counter = countingHttp(deps.connectors.http);
  const renewal = {
    pool: deps.pool,
    secretBox: deps.secretBox,
    connectors: deps.connectors,
    logger: deps.logger,
    now,
  };
  let credential: Credential;
  try {
    // Renewed first when the token is about to expire.
    credential = await currentCredential(renewal, connection, null);
  } catch (error) {
    if (isConnectorError(error) && error.kind !== 'auth_expired') {
      // The token endpoint is down or limited: nothing collected, the connection stays active.
      state.outcome = 'failed';
      state.error = error.toJSON();
      return finish({ deps, limits, connection, run, state, now, scheduled }, {});
    }
    deps.logger?.warn(
      { err: error, connectionId, workspaceId },
      'connection credentials could not be used',
    );
    state.outcome = 'failed';
    state.error = isConnectorError(error)
      ? error.toJSON()
      : {
          code: 'platform_auth_expired',
          message: 'the stored credentials could not be opened; reconnect the account',
        };
    return finish(
      { deps, limits, connection, run, state, now, scheduled },
      { status: 'platform_auth_expired', lastError: state.error },
    );
  }
  let connector: Connector;
  try {
    connector = deps.connectors.create(connection.platform, counter.http, {
      handle: connection.handle,
      ...(connection.api ? { tiktokApi: connection.api } : {}),
    });
  } catch (error) {
    state.outcome = 'failed';
    state.error = {
      code: 'connector_unavailable',
      message: error instanceof Error ? error.message : String(error),
    };
    return finish({ deps, limits, connection, run, state, now, scheduled }, {});
  }
  const rc: RunContext = {
    deps,
    limits,
    connection,
    connector,
    ctx: { credential, ...(request.signal ? { signal: request.signal } : {}) },
    run,
    state,
    requests: () => counter.count(),
    now,
    replayOf: prepared.replayOf ?? null,
  };

  let connectionChange: Parameters<typeof updateConnection>[3] = {};
  const operation = (): Promise<Parameters<typeof updateConnection>[3]> =>
    request.kind === 'posts' ? syncPosts(rc) : refreshMetrics(rc);
  try {
    try {
      connectionChange = await operation();
    } catch (error) {
      if (!isTokenRefusal(error)) throw error;
      // The platform refused the token (revoked early, clock skew, a rotated grant): renew once
      // and go on from where the run stopped (its cursor and refresh plan are saved as it goes).
      const refused = rc.ctx.credential.accessToken;
      rc.ctx = {
        ...rc.ctx,
        credential: await currentCredential(renewal, connection, 'refused', refused),
      };
      // The first attempt saved its cursor page by page: the retry resumes from there instead of
      // the cursor read before the run, which would restart from the newest posts and skip the
      // pages between the last one written and the overlap.
      const latest = await withTenant(deps.pool, tenant, (c) =>
        findConnection(c, workspaceId, connectionId),
      );
      if (latest) rc.connection = latest;
      connectionChange = await operation();
    }
  } catch (error) {
    if (request.signal?.aborted) {
      // Stopped from outside, as at the page cap: the pages written stay, and the next run
      // continues from the cursor saved with the last of them.
      const what = request.kind === 'posts' ? 'posts' : 'metrics';
      state.outcome = 'partial';
      state.error = {
        code: 'sync_stopped',
        message:
          'the sync job was stopped (its time limit passed, or another worker took it over); the next run continues from where this one stopped',
      };
      state.gap({ what, reason: 'stopped', detail: String(state.error.message) });
      if (request.kind === 'posts') connectionChange = { nextSyncAt: rc.now() };
    } else if (!isConnectorError(error)) {
      deps.logger?.error(
        { err: error, connectionId, workspaceId, platform: connection.platform },
        'sync failed',
      );
      state.outcome = 'failed';
      state.error = {
        code: 'internal_error',
        message: error instanceof Error ? error.message : String(error),
      };
    } else {
      connectionChange = handleConnectorError(rc, error, request.kind);
    }
  }
  state.progress.requests = counter.count();

  if (rc.replayOf) {
    await withTenant(deps.pool, scopeOf(workspaceId), async (c) => {
      const id = rc.replayOf?.id ?? '';
      // A failure of the replayed operation itself was recorded on the dead letter already.
      if (state.deadLettered) return;
      if (state.outcome === 'completed') await markDeadLetterReplayed(c, workspaceId, id);
      else
        await recordDeadLetterFailure(
          c,
          workspaceId,
          id,
          state.error ?? { code: 'replay_incomplete', message: 'the replay did not complete' },
          1,
        );
    });
  }
  return finish({ deps, limits, connection, run, state, now, scheduled }, connectionChange);
}

const emptyProgress = (): SyncProgress => ({
  requests: 0,
  postsCollected: 0,
  snapshots: 0,
  skipped: 0,
  gaps: [],
});

async function finish(
  f: {
    deps: SyncDeps;
    limits: SyncLimits;
    connection: Connection;
    run: SyncRun;
    state: RunState;
    now: () => Date;
    /** next_sync_at as this run left it at its start (its claim, for a posts run). */
    scheduled: Date | null;
  },
  change: Parameters<typeof updateConnection>[3],
): Promise<SyncOutcome> {
  const { deps, connection, run, state } = f;
  return withTenant(deps.pool, scopeOf(connection.workspaceId), async (c) => {
    // Locked: a webhook marking the connection due now either committed before (seen here) or
    // waits for this transaction (and its next_sync_at lands after the one written here).
    const current = await findConnectionForUpdate(c, connection.workspaceId, connection.id);
    // Anything else that moved next_sync_at while the run went asked for a sync (a platform
    // webhook, a reconnect, a resume). The run read the platform before that request: writing its
    // own schedule over it would leave what the request announced for the next regular poll.
    const due = current?.nextSyncAt ?? null;
    const requested =
      due !== null && (f.scheduled === null || due.getTime() !== f.scheduled.getTime());
    const { nextSyncAt, ...rest } = change;
    const updated = await updateConnection(c, connection.workspaceId, connection.id, {
      lastSyncAt: f.now(),
      lastError: state.outcome === 'completed' ? null : state.error,
      ...rest,
      ...(requested || nextSyncAt === undefined ? {} : { nextSyncAt }),
    });
    const finished = await finishSyncRun(
      c,
      connection.workspaceId,
      run.id,
      state.outcome,
      state.progress,
      state.error,
    );
    // A blocked or no longer active connection waits: the request stays due for the scheduler.
    const followUp =
      requested &&
      updated?.status === 'active' &&
      (updated.blockedUntil === null || updated.blockedUntil <= f.now());
    return { run: finished, followUp };
  });
}

/** Applies the handling the error's kind implies; returns what changes on the connection. */
function handleConnectorError(
  rc: RunContext,
  error: ConnectorError,
  kind: SyncKind,
): Parameters<typeof updateConnection>[3] {
  const { state, connection, limits } = rc;
  const now = rc.now().getTime();
  const detail = error.toJSON();
  const what = kind === 'posts' ? 'posts' : 'metrics';
  if (LIMIT_KINDS.has(error.kind)) {
    const resetAt =
      error.resetAt ??
      (error.retryAfterMs !== null ? now + error.retryAfterMs : now + limits.defaultBlockMs);
    const reset = new Date(Math.max(resetAt, now + 1000));
    state.outcome = 'partial';
    state.error = detail;
    state.gap({
      what,
      reason: error.kind,
      detail: `${error.message} (stopped; the rest is collected after the reset)`,
      resetAt: reset.toISOString(),
    });
    const nextSyncAt =
      kind === 'posts'
        ? reset
        : connection.nextSyncAt && connection.nextSyncAt > reset
          ? undefined
          : reset;
    return { blockedUntil: reset, ...(nextSyncAt ? { nextSyncAt } : {}) };
  }
  if (error.kind === 'auth_expired') {
    state.outcome = 'failed';
    state.error = detail;
    return { status: 'platform_auth_expired' };
  }
  if (error.kind === 'not_found' || error.kind === 'forbidden') {
    state.gap({ what, reason: error.kind, detail: error.message });
    state.outcome =
      state.progress.postsCollected + state.progress.snapshots > 0 ? 'partial' : 'failed';
    state.error = detail;
    return {};
  }
  // transient after the HTTP layer's retries, an open circuit, a malformed answer, a refused request
  state.outcome =
    state.progress.postsCollected + state.progress.snapshots > 0 ? 'partial' : 'failed';
  state.error = detail;
  state.gap({ what, reason: error.kind, detail: error.message });
  return {};
}

/** A dead letter for a failed operation, or one more attempt on the one being replayed. */
async function deadLetter(
  rc: RunContext,
  operation: string,
  request: Record<string, unknown>,
  error: ConnectorError,
): Promise<void> {
  const { connection } = rc;
  const attempts =
    DEAD_LETTER_KINDS.has(error.kind) && error.retryable ? rc.deps.connectors.maxAttempts : 1;
  rc.state.deadLettered = true;
  await withTenant(rc.deps.pool, scopeOf(connection.workspaceId), async (c) => {
    if (rc.replayOf && rc.replayOf.operation === operation) {
      await recordDeadLetterFailure(
        c,
        connection.workspaceId,
        rc.replayOf.id,
        error.toJSON(),
        attempts,
      );
      return;
    }
    await insertDeadLetter(c, {
      workspaceId: connection.workspaceId,
      connectionId: connection.id,
      operation,
      request: {
        platform: connection.platform,
        connection_id: connection.id,
        sync_run_id: rc.run.id,
        endpoint: error.endpoint,
        ...request,
      },
      error: error.toJSON(),
      attempts,
    });
  });
}

async function saveProgress(c: PoolClient, rc: RunContext): Promise<void> {
  rc.state.progress.requests = rc.requests();
  await updateSyncRunProgress(c, rc.connection.workspaceId, rc.run.id, rc.state.progress);
}

/**
 * Why PostgreSQL could not store the record (a NUL character, invalid Unicode: its text and jsonb
 * refuse them, and the whole page's write with them), or null. The schema lets both through.
 */
function unstorable(fields: Record<string, unknown>, rawJson: string, raw: unknown): string | null {
  const found =
    findUnstorableString(fields) ??
    (mayHoldUnstorable(rawJson) ? findUnstorableString(raw, 'raw') : null);
  return found ? `${found.path || 'a field name'} ${found.reason}` : null;
}

/** A JSON value with every string (keys too) passed through `clean`. */
function cleanJson(value: unknown, clean: (text: string) => string): unknown {
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return value.map((v) => cleanJson(v, clean));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [clean(k), cleanJson(v, clean)]),
    );
  return value;
}

/**
 * The raw record, storable: a NUL or an unpaired surrogate in free text (a caption, a title, the
 * platform's own copy of them in `raw`) costs a character, not the post. PostgreSQL's text and
 * jsonb refuse both, and a post dropped for one character of its caption is data lost for good
 * (the next run reads it the same way). Identifiers and dates are left as they are: changed, they
 * would name another post, so a record with one of those still fails the checks and is skipped.
 */
function storableRaw(raw: unknown): { raw: unknown; rawJson: string } {
  const rawJson = JSON.stringify(raw ?? null);
  if (!mayHoldUnstorable(rawJson) || findUnstorableString(raw) === null) return { raw, rawJson };
  const cleaned = cleanJson(raw ?? null, sanitizeText);
  return { raw: cleaned, rawJson: JSON.stringify(cleaned) };
}

function storablePost(post: CollectedPost): CollectedPost & { rawJson: string } {
  const { raw, rawJson } = storableRaw(post.raw);
  const free = { text: post.text, author: post.author };
  if (findUnstorableString(free) === null) return { ...post, raw, rawJson };
  return {
    ...post,
    text: post.text === null ? null : sanitizeText(post.text),
    author: post.author === null ? null : sanitizeText(post.author),
    raw,
    rawJson,
  };
}

function rowOf(collected: CollectedPost): { row: ImportPostRow } | { why: string } {
  const { rawJson, ...post } = storablePost(collected);
  const record = toImportRecord(post);
  const why = unstorable({ ...record }, rawJson, post.raw);
  if (why !== null) return { why };
  const checked = validateRecord({ ...record }, 0, rawJson);
  return checked.ok
    ? { row: checked.row }
    : { why: `a post did not fit the common model: ${checked.reject.reason}` };
}

function snapshotRow(snapshot: MetricSnapshot, post: DueRefresh): ImportPostRow | { why: string } {
  const { raw, rawJson } = storableRaw(snapshot.raw);
  const why = unstorable(
    { external_id: snapshot.external_id, captured_at: snapshot.captured_at },
    rawJson,
    raw,
  );
  if (why !== null) return { why };
  return {
    platform: snapshot.platform,
    externalId: snapshot.external_id,
    accountHandle: null,
    accountExternalId: null,
    author: null,
    text: null,
    language: null,
    createdAt: post.createdAt.toISOString(),
    url: null,
    mediaType: null,
    likes: snapshot.likes,
    comments: snapshot.comments,
    shares: snapshot.shares,
    views: snapshot.views,
    saves: snapshot.saves,
    impressions: snapshot.impressions,
    metricsCapturedAt: snapshot.captured_at,
    rawJson,
  };
}

const hasMetrics = (r: ImportPostRow): boolean =>
  [r.likes, r.comments, r.shares, r.views, r.saves, r.impressions].some((v) => v !== null);

/** A record left out of the run, counted and reported with its reason. */
function skip(state: RunState, what: 'posts' | 'metrics', externalId: string, why: string): void {
  state.progress.skipped += 1;
  state.gap({ what, reason: 'unmappable', detail: why, resourceIds: [externalId] });
}

/** The rows the write stored: those PostgreSQL refused are skipped like unmappable ones. */
function storedRows(
  state: RunState,
  what: 'posts' | 'metrics',
  rows: readonly ImportPostRow[],
  refused: readonly { index: number; reason: string }[],
): ImportPostRow[] {
  if (refused.length === 0) return [...rows];
  const out = new Set(refused.map((r) => r.index));
  for (const r of refused)
    skip(state, what, rows[r.index]?.externalId ?? '', `rejected by the database: ${r.reason}`);
  return rows.filter((_, i) => !out.has(i));
}

async function syncPosts(rc: RunContext): Promise<Parameters<typeof updateConnection>[3]> {
  const { connection, connector, state, limits, deps } = rc;
  const workspaceId = connection.workspaceId;
  const source = `sync:${connection.platform}`;
  const stored = (connection.cursor ?? {}) as SyncCursor;
  const newestStored = connection.accountId
    ? await withTenant(deps.pool, scopeOf(workspaceId), (c) =>
        newestPostCreatedAt(c, workspaceId, connection.platform, connection.accountId ?? ''),
      )
    : null;
  const newestKnown = [
    newestStored?.getTime(),
    stored.newestCreatedAt ? Date.parse(stored.newestCreatedAt) : undefined,
  ].filter((t): t is number => t !== undefined && !Number.isNaN(t));
  const replay = rc.replayOf?.operation === 'list_posts' ? rc.replayOf.request : null;
  const resume = replay
    ? {
        cursor: typeof replay.cursor === 'string' ? replay.cursor : null,
        since: typeof replay.since === 'string' ? replay.since : null,
      }
    : (stored.resume ?? null);
  const since = resume
    ? resume.since
    : newestKnown.length > 0
      ? new Date(Math.max(...newestKnown) - limits.overlapMs).toISOString()
      : null;
  let cursor: string | null = resume?.cursor ?? null;
  let newest = newestKnown.length > 0 ? Math.max(...newestKnown) : null;
  const account = { externalId: connection.externalAccountId ?? '', handle: connection.handle };

  const fetchPage = (from: string | null): Promise<PostPage> => {
    const fetching = connector.listPosts(account, from, rc.ctx, since ? { since } : {});
    // Awaited later (after the previous page's write); a failure meanwhile must not go unhandled.
    fetching.catch(() => undefined);
    return fetching;
  };
  let pending: Promise<PostPage> | null = null;
  for (let page = 0; ; page += 1) {
    if (page >= limits.maxPagesPerRun) {
      // The page cap: continue at the next run (due now) from here.
      state.gap({
        what: 'posts',
        reason: 'page_cap',
        detail: `stopped after ${limits.maxPagesPerRun} pages; the next run continues from the remembered cursor`,
      });
      return saveCursor(
        rc,
        { newestCreatedAt: iso(newest), resume: cursor ? { cursor, since } : null },
        { nextSyncAt: rc.now() },
      );
    }
    let result: PostPage;
    try {
      result = await (pending ?? fetchPage(cursor));
    } catch (error) {
      if (isConnectorError(error)) {
        if (DEAD_LETTER_KINDS.has(error.kind))
          await deadLetter(rc, 'list_posts', { cursor, since }, error);
        // Remember where we stopped: the next run (after a reset) continues from this page.
        await saveCursor(
          rc,
          { newestCreatedAt: iso(newest), resume: cursor ? { cursor, since } : null },
          {},
        );
      }
      throw error;
    }
    const mapped: ImportPostRow[] = [];
    for (const post of result.posts) {
      const checked = rowOf(post);
      if ('why' in checked) {
        skip(state, 'posts', post.external_id, checked.why);
        continue;
      }
      mapped.push(checked.row);
    }
    state.connectorGaps('posts', result.gaps);
    // Records the connector could not map were on the page and are not stored: each one is
    // skipped, as those the checks above leave out are (their gaps merge, their count must not).
    state.progress.skipped += result.gaps.filter((g) => g.reason === 'unmappable').length;
    const next = result.hasMore ? result.nextCursor : null;
    // The next page is asked for while this one is written: a sequential pager would otherwise
    // leave the platform's budget idle for the length of every database write.
    pending = next !== null && page + 1 < limits.maxPagesPerRun ? fetchPage(next) : null;
    const writtenAt = rc.now();
    await withTenant(deps.pool, scopeOf(workspaceId), async (c) => {
      const written = await writeSyncedPosts(
        c,
        workspaceId,
        source,
        mapped,
        writtenAt.toISOString(),
      );
      const rows = storedRows(state, 'posts', mapped, written.refused);
      for (const row of rows) {
        const created = Date.parse(row.createdAt);
        if (!Number.isNaN(created) && (newest === null || created > newest)) newest = created;
      }
      await insertRefreshPlan(
        c,
        workspaceId,
        connection.id,
        connection.platform,
        rows.map((r) => ({
          externalId: r.externalId,
          ...nextRefresh(new Date(r.createdAt), writtenAt),
        })),
      );
      state.progress.postsCollected += rows.length;
      state.progress.snapshots += rows.filter(hasMetrics).length;
      cursor = next;
      await updateConnection(c, workspaceId, connection.id, {
        cursor: { newestCreatedAt: iso(newest), resume: cursor ? { cursor, since } : null },
      });
      await saveProgress(c, rc);
    });
    if (next === null) break;
  }
  const limit = connector.capabilities.historyLimit;
  if (since === null && limit !== null && state.progress.postsCollected >= limit) {
    state.gap({
      what: 'posts',
      reason: 'history_limit',
      detail: `${connection.platform} lists only the ${limit} newest posts; import the platform's data export for older ones`,
    });
  }
  return {
    nextSyncAt: new Date(rc.now().getTime() + connection.pollMinutes * 60_000),
    blockedUntil: null,
  };
}

const iso = (ms: number | null): string | undefined =>
  ms === null ? undefined : new Date(ms).toISOString();

async function saveCursor(
  rc: RunContext,
  cursor: SyncCursor,
  change: Parameters<typeof updateConnection>[3],
): Promise<Parameters<typeof updateConnection>[3]> {
  await withTenant(rc.deps.pool, scopeOf(rc.connection.workspaceId), (c) =>
    updateConnection(c, rc.connection.workspaceId, rc.connection.id, { cursor: { ...cursor } }),
  );
  return change;
}

async function refreshMetrics(rc: RunContext): Promise<Parameters<typeof updateConnection>[3]> {
  const { connection, connector, state, limits, deps } = rc;
  const workspaceId = connection.workspaceId;
  const source = `sync:${connection.platform}`;
  const batchSize = Math.max(1, connector.capabilities.metricsBatchSize);
  const replay = rc.replayOf?.operation === 'refresh_metrics' ? rc.replayOf.request : null;
  const due = await withTenant(deps.pool, scopeOf(workspaceId), (c) =>
    replay
      ? listRefreshesOf(
          c,
          workspaceId,
          connection.platform,
          Array.isArray(replay.external_ids)
            ? replay.external_ids.filter((x): x is string => typeof x === 'string')
            : [],
        )
      : listDueRefreshes(
          c,
          workspaceId,
          connection.id,
          rc.now(),
          batchSize * limits.maxMetricBatchesPerRun,
        ),
  );
  for (let i = 0; i < due.length; i += batchSize) {
    const batch = due.slice(i, i + batchSize);
    const ids = batch.map((d) => d.externalId);
    let result;
    try {
      result = await connector.refreshMetrics(ids, rc.ctx);
    } catch (error) {
      if (!isConnectorError(error)) throw error;
      if (error.kind === 'not_found' || error.kind === 'forbidden') {
        // The batch request failed as a whole (a route the platform no longer serves, a refused
        // token scope): that says nothing about its posts. Only a connector's per-post gaps mark
        // a post gone; these stay planned and are asked for again at their next stage.
        state.gap({ what: 'metrics', reason: error.kind, detail: error.message, resourceIds: ids });
        state.progress.skipped += ids.length;
        await withTenant(deps.pool, scopeOf(workspaceId), (c) => advance(c, rc, batch, new Set()));
        continue;
      }
      if (DEAD_LETTER_KINDS.has(error.kind)) {
        await deadLetter(rc, 'refresh_metrics', { external_ids: ids }, error);
        // The dead letter is the way back for these posts: their plan moves on.
        state.progress.skipped += ids.length;
        await withTenant(deps.pool, scopeOf(workspaceId), (c) => advance(c, rc, batch, new Set()));
        if (error.kind === 'transient' || error.kind === 'circuit_open') throw error;
        state.gap({ what: 'metrics', reason: error.kind, detail: error.message, resourceIds: ids });
        continue;
      }
      throw error;
    }
    const byId = new Map(batch.map((d) => [d.externalId, d]));
    const mapped: ImportPostRow[] = [];
    for (const s of result.snapshots) {
      const post = byId.get(s.external_id);
      if (!post) continue;
      const row = snapshotRow({ ...s, platform: connection.platform as Platform }, post);
      if ('why' in row)
        // Counted below with the batch's other posts that got no snapshot.
        state.gap({
          what: 'metrics',
          reason: 'unmappable',
          detail: row.why,
          resourceIds: [s.external_id],
        });
      else mapped.push(row);
    }
    state.connectorGaps('metrics', result.gaps);
    const gone = new Set(
      result.gaps
        .filter(
          (g) => (g.reason === 'deleted' || g.reason === 'not_found') && g.resourceId !== null,
        )
        .map((g) => g.resourceId ?? ''),
    );
    const seen = new Set(mapped.map((r) => r.externalId));
    state.progress.skipped += ids.filter((id) => !seen.has(id)).length;
    await withTenant(deps.pool, scopeOf(workspaceId), async (c) => {
      const written = await writeSyncedPosts(
        c,
        workspaceId,
        source,
        mapped,
        rc.now().toISOString(),
      );
      const rows = storedRows(state, 'metrics', mapped, written.refused);
      state.progress.snapshots += rows.filter(hasMetrics).length;
      await advance(c, rc, batch, gone);
      await saveProgress(c, rc);
    });
  }
  return {};
}

/** Refreshed posts move to their next stage; posts the platform says are gone leave the plan. */
async function advance(
  c: PoolClient,
  rc: RunContext,
  batch: readonly DueRefresh[],
  gone: ReadonlySet<string>,
): Promise<void> {
  const workspaceId = rc.connection.workspaceId;
  const now = rc.now();
  await deleteRefreshes(
    c,
    workspaceId,
    batch.filter((d) => gone.has(d.externalId)).map((d) => d.postId),
  );
  await advanceRefreshes(
    c,
    workspaceId,
    batch
      .filter((d) => !gone.has(d.externalId))
      .map((d) => ({ postId: d.postId, ...nextRefresh(d.createdAt, now, d.stage) })),
  );
}
