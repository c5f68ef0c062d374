import { describe, expect, it } from 'vitest';
import { createConnectorProvider } from './connectors.js';

describe('a Mastodon account named by a user', () => {
  it('is not looked up on an instance that resolves to this machine', async () => {
    // No configured Mastodon base URL: the instance comes from the handle, as in production.
    const connectors = createConnectorProvider({ maxAttempts: 2, backoffBaseMs: 1 });
    for (const handle of ['@alice@localhost', '@alice@127.0.0.1', '@alice@169.254.169.254']) {
      const connector = connectors.create('mastodon', undefined, { handle });
      const failure = await connector
        .resolveAccount({ handle }, { credential: { id: 'c', accessToken: 't' } })
        .catch((e: unknown) => e);
      expect(failure, handle).toMatchObject({
        kind: 'forbidden',
        platformCode: 'non_public_address',
      });
    }
  });
});
