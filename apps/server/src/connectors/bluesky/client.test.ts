import { describe, expect, it } from 'vitest';
import { createHttpClient } from '../http/http-client.js';
import { BlueskyConnector } from './client.js';

const did = 'did:plc:abcdefghijklmnopqrstuvwx';
const uri = (rkey: string): string => `at://${did}/app.bsky.feed.post/${rkey}`;

/** A getPosts postView as Bluesky returns it; `createdAt: null` leaves it without a creation time. */
function postView(rkey: string, createdAt: string | null): Record<string, unknown> {
  return {
    uri: uri(rkey),
    cid: `bafyrei${rkey}`,
    author: { did, handle: 'alice.bsky.social' },
    record: {
      $type: 'app.bsky.feed.post',
      text: 'hello',
      ...(createdAt === null ? {} : { createdAt }),
    },
    likeCount: 3,
    replyCount: 1,
    repostCount: 0,
    quoteCount: 0,
    ...(createdAt === null ? {} : { indexedAt: createdAt }),
  };
}

function connectorAnswering(posts: unknown[]): BlueskyConnector {
  const http = createHttpClient({
    maxAttempts: 1,
    fetch: () =>
      Promise.resolve(
        new Response(JSON.stringify({ posts }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
      ),
  });
  return new BlueskyConnector({ http, baseUrl: 'https://bsky.example' });
}

const ctx = { credential: { id: 'c1', accessToken: 'token' } };

describe('Bluesky metrics refresh', () => {
  it('a post getPosts returns but the mapper cannot read is unmappable, not deleted; a post it leaves out is deleted', async () => {
    const bsky = connectorAnswering([
      postView('3kaaaaaaaaaa2', '2026-03-01T10:00:00.000Z'),
      postView('3kbbbbbbbbbb2', null),
    ]);
    const result = await bsky.refreshMetrics(
      [uri('3kaaaaaaaaaa2'), uri('3kbbbbbbbbbb2'), uri('3kcccccccccc2')],
      ctx,
    );
    expect(result.snapshots.map((s) => s.external_id)).toEqual([uri('3kaaaaaaaaaa2')]);
    expect(result.gaps.map((g) => [g.reason, g.resourceId])).toEqual([
      ['unmappable', uri('3kbbbbbbbbbb2')],
      ['deleted', uri('3kcccccccccc2')],
    ]);
  });

  it('with a post that names no uri in the answer, a missing one is not called deleted', async () => {
    const anonymous = postView('3kdddddddddd2', '2026-03-01T10:00:00.000Z');
    delete anonymous.uri;
    const result = await connectorAnswering([anonymous]).refreshMetrics(
      [uri('3kdddddddddd2')],
      ctx,
    );
    expect(result.snapshots).toEqual([]);
    expect(result.gaps.map((g) => g.reason)).not.toContain('deleted');
    expect(result.gaps.map((g) => [g.reason, g.resourceId])).toContainEqual([
      'unmappable',
      uri('3kdddddddddd2'),
    ]);
  });
});
