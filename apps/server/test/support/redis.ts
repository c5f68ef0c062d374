import { createServer } from 'node:net';
import { createRedisHealth } from '../../src/observability/redis-health.js';

/**
 * Why Redis tests cannot run here ('' when they can). In CI a missing Redis is an error, not a
 * skip; locally the reason is printed and the tests skip.
 */
export async function redisUnavailable(url: string): Promise<string> {
  const health = createRedisHealth(url);
  try {
    await health.ping();
    return '';
  } catch (error) {
    const reason = `Redis is not reachable at ${url}: ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI requires it)`);
    process.stdout.write(`\n[integration] skipping Redis tests: ${reason}\n`);
    return reason;
  } finally {
    await health.close();
  }
}

/** A local TCP port nothing listens on: bound by the OS, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
