import { Redis } from 'ioredis';

/**
 * The optional Redis connection: readiness checks, the shared rate-limit store and the
 * sign-in throttle. Everything that uses it keeps serving (in-process) when it fails.
 */
export interface RedisHealth {
  client: Redis;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createRedisHealth(url: string): RedisHealth {
  const client = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
  });
  // Errors surface through ping() and the users' fallbacks; without a listener ioredis would
  // print each reconnect attempt.
  client.on('error', () => undefined);
  return {
    client,
    async ping() {
      if (client.status === 'end') await client.connect();
      if (client.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`Redis is ${client.status}`)), 2000);
          client.once('ready', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const answer = await client.ping();
      if (answer !== 'PONG') throw new Error(`unexpected PING answer ${String(answer)}`);
    },
    async close() {
      client.disconnect();
      await Promise.resolve();
    },
  };
}
