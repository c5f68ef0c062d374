import { Redis } from 'ioredis';

/** A Redis connection used for readiness (later issues add the cache and rate limits). */
export interface RedisHealth {
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createRedisHealth(url: string): RedisHealth {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  // Errors surface through ping(); without a listener ioredis would print each reconnect attempt.
  client.on('error', () => undefined);
  return {
    async ping() {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      const answer = await client.ping();
      if (answer !== 'PONG') throw new Error(`unexpected PING answer ${String(answer)}`);
    },
    async close() {
      client.disconnect();
      await Promise.resolve();
    },
  };
}
