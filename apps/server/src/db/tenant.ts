import type pg from 'pg';
import { withTransaction, withTransactionTail, type TransactionTail } from './pool.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who a transaction acts for. Row-level security reads these settings: tenant tables show
 * only `workspaceId`'s rows; workspaces and memberships also show the user's own.
 */
export interface TenantScope {
  workspaceId: string | null;
  userId: string | null;
}

/** Sets the scope for the rest of the current transaction (it must be inside BEGIN). */
export async function setTenantScope(client: pg.ClientBase, scope: TenantScope): Promise<void> {
  await client.query(
    "SELECT set_config('app.workspace_id', $1, true), set_config('app.user_id', $2, true)",
    [scope.workspaceId ?? '', scope.userId ?? ''],
  );
}

/**
 * How to open a transaction scoped to `scope`: BEGIN and the scope as one simple query (one round
 * trip: every API request and job step pays this), safe to inline because both values are checked
 * to be UUIDs (or empty); otherwise BEGIN, and the scope set by `work`'s first statement.
 */
function scoped<R>(
  scope: TenantScope,
  work: (client: pg.PoolClient) => Promise<R>,
): [begin: string, work: (client: pg.PoolClient) => Promise<R>] {
  const ids = [scope.workspaceId ?? '', scope.userId ?? ''];
  if (ids.every((id) => id === '' || UUID.test(id)))
    return [
      `BEGIN; SELECT set_config('app.workspace_id', '${ids[0]}', true), set_config('app.user_id', '${ids[1]}', true)`,
      work,
    ];
  return [
    'BEGIN',
    async (client) => {
      await setTenantScope(client, scope);
      return work(client);
    },
  ];
}

/** Runs `work` in one transaction scoped to a workspace and/or user. */
export async function withTenant<T>(
  pool: pg.Pool,
  scope: TenantScope,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const [begin, scopedWork] = scoped(scope, work);
  return withTransaction(pool, scopedWork, begin);
}

/** withTenant for a transaction whose last statements go out with its COMMIT (withTransactionTail). */
export async function withTenantTail<T>(
  pool: pg.Pool,
  scope: TenantScope,
  work: (client: pg.PoolClient) => Promise<() => TransactionTail<T>>,
): Promise<T> {
  const [begin, scopedWork] = scoped(scope, work);
  return withTransactionTail(pool, scopedWork, begin);
}

export type TenantRunner = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/** A runner bound to one scope, for code that makes several scoped calls (imports, exports). */
export function tenantRunner(pool: pg.Pool, scope: TenantScope): TenantRunner {
  return (work) => withTenant(pool, scope, work);
}
