import type { Pool } from '../../db/pool.js';
import { findDelivery, markConnectionsDue, settleDelivery } from '../../db/repos/webhooks.repo.js';
import { withTenant } from '../../db/tenant.js';
import { accountsOf } from './webhooks.service.js';
import type { WebhookPlatform } from './signatures.js';

/**
 * Processes a stored delivery: finds the connected accounts it concerns and makes their sync due
 * now (the scheduler collects them at its next pass). A delivery about no connected account is
 * `ignored`, not an error.
 */
export async function processDelivery(
  pool: Pool,
  id: number,
): Promise<{ status: 'processed' | 'ignored'; connections: string[] }> {
  return withTenant(pool, { workspaceId: null, userId: null }, async (c) => {
    const delivery = await findDelivery(c, id);
    if (!delivery || delivery.status !== 'received')
      return { status: 'ignored' as const, connections: [] };
    const accounts = accountsOf(
      delivery.platform as WebhookPlatform,
      delivery.payload,
      delivery.raw,
    );
    // Meta and TikTok deliveries name the platform as "meta"; connections are per product.
    const platforms =
      delivery.platform === 'meta' ? ['instagram', 'facebook'] : [delivery.platform];
    const connections: string[] = [];
    for (const platform of platforms)
      connections.push(...(await markConnectionsDue(c, platform, accounts)));
    const status = connections.length > 0 ? ('processed' as const) : ('ignored' as const);
    await settleDelivery(
      c,
      id,
      status,
      connections,
      connections.length > 0
        ? null
        : {
            code: 'no_connection',
            message: `no active connection for ${accounts.join(', ') || 'any account in the delivery'}`,
          },
    );
    return { status, connections };
  });
}
