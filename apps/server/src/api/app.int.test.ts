import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postFieldNames, type Workspace } from '@socialpulse/contracts';
import {
  buildTestApp,
  callerFor,
  noRateLimits,
  signUpUser,
  type Caller,
} from '../../test/support/app.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { postRecord, toJsonl } from '../../test/support/factories.js';
import {
  createWorkspace,
  expectError,
  getPostPage,
  importBody,
  importRecords,
  type Response,
} from '../../test/support/http.js';
import { createInspector } from '../../test/support/inspect.js';
import { parseMetrics, sumOf } from '../../test/support/metrics.js';
import { closedPort, redisUnavailable } from '../../test/support/redis.js';
import { registeredRoutes, toOpenApiPath } from '../../test/support/routes.js';
import { loadConfig } from '../config.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../observability/logger.js';
import { createRedisHealth } from '../observability/redis-health.js';
import { buildApp, webDistDir } from './app.js';
import { createAppDeps } from './deps.js';
import type { ZodApp } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** A log destination that keeps every line written to it. */
function logCapture(): { lines: string[]; logs: Writable } {
  const lines: string[] = [];
  const logs = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logs };
}

const dbReason = databaseUnavailable();
// Decided before the tests are collected: skipped (with the reason printed) only outside CI.
const redisReason = dbReason === '' ? await redisUnavailable(inject('redisUrl')) : dbReason;

describe.skipIf(dbReason !== '')('the HTTP app (cross-cutting)', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let ws: Workspace;
  /** The signed-in owner of the workspaces: `app.inject` is an anonymous caller, `api.inject` this user. */
  let api: Caller;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The property test alone sends 500 reads in well under a minute.
    app = await buildTestApp(db, { IMPORT_BATCH_SIZE: '50', ...noRateLimits });
    api = callerFor(app, await signUpUser(app));
    ws = await createWorkspace(api, 'Cross-cutting');
    // Enough posts that a list is far over the compression threshold.
    await importRecords(
      api,
      ws.id,
      Array.from({ length: 120 }, (_, i) =>
        postRecord({
          external_id: `cc-${i}`,
          text: `post ${i}: ${'lorem ipsum dolor sit amet '.repeat(4)}`,
          platform: i % 2 ? 'x' : 'reddit',
        }),
      ),
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  describe('error bodies', () => {
    const cases: [string, () => Promise<Response>, number, string][] = [
      ['an unknown route', () => app.inject({ url: '/nope' }), 404, 'not_found'],
      ['an unknown /v1 route', () => app.inject({ url: '/v1/nope?x=1' }), 404, 'not_found'],
      [
        'a method with no route',
        () => app.inject({ method: 'DELETE', url: '/v1/workspaces' }),
        404,
        'not_found',
      ],
      [
        'an unknown workspace',
        () => api.inject({ url: `/v1/workspaces/${UNKNOWN_ID}` }),
        404,
        'not_found',
      ],
      [
        'a malformed id',
        () => api.inject({ url: '/v1/workspaces/x/posts' }),
        400,
        'validation_failed',
      ],
      [
        'a malformed URL (answered by Fastify before any hook)',
        () => api.inject({ url: '/v1/workspaces/%zz/posts' }),
        400,
        'validation_failed',
      ],
      [
        'an unknown query parameter',
        () => api.inject({ url: `/v1/workspaces/${ws.id}/posts?nope=1` }),
        400,
        'validation_failed',
      ],
      [
        'a body that is not JSON',
        () =>
          api.inject({
            method: 'POST',
            url: '/v1/workspaces',
            headers: { 'content-type': 'application/json' },
            payload: '{',
          }),
        400,
        'validation_failed',
      ],
      [
        'an unsupported body type',
        () =>
          api.inject({
            method: 'POST',
            url: '/v1/workspaces',
            headers: { 'content-type': 'application/xml' },
            payload: '<a/>',
          }),
        415,
        'unsupported_media_type',
      ],
      [
        'a JSON body over the API limit',
        () =>
          api.inject({
            method: 'POST',
            url: '/v1/workspaces',
            payload: { name: 'x'.repeat(2 * 1024 * 1024) },
          }),
        413,
        'payload_too_large',
      ],
      [
        'a bad cursor',
        () => api.inject({ url: `/v1/workspaces/${ws.id}/posts?cursor=zzz` }),
        400,
        'invalid_cursor',
      ],
      // Adding a member twice: the caller is already the owner.
      [
        'a conflict',
        async () =>
          api.inject({
            method: 'POST',
            url: `/v1/workspaces/${ws.id}/members`,
            payload: {
              email: (await api.inject({ url: '/v1/auth/me' })).json<{ email: string }>().email,
              role: 'viewer',
            },
          }),
        409,
        'conflict',
      ],
      [
        'an import of an unsupported type',
        () =>
          api.inject({
            method: 'POST',
            url: `/v1/workspaces/${ws.id}/imports`,
            headers: { 'content-type': 'text/plain' },
            payload: 'x',
          }),
        415,
        'unsupported_media_type',
      ],
      [
        'a JSON body sent as text/plain',
        () =>
          api.inject({
            method: 'POST',
            url: `/v1/workspaces/${ws.id}/analyses`,
            headers: { 'content-type': 'text/plain' },
            payload: '{}',
          }),
        415,
        'unsupported_media_type',
      ],
      // Callers without (valid) credentials.
      [
        'a workspace route without credentials',
        () => app.inject({ url: `/v1/workspaces/${ws.id}/posts` }),
        401,
        'unauthorized',
      ],
      [
        'the workspace list without credentials',
        () => app.inject({ url: '/v1/workspaces' }),
        401,
        'unauthorized',
      ],
      [
        'an import without credentials',
        () =>
          app.inject({
            method: 'POST',
            url: `/v1/workspaces/${ws.id}/imports`,
            headers: { 'content-type': 'text/csv' },
            payload: 'x',
          }),
        401,
        'unauthorized',
      ],
      [
        'an access token that is not a token',
        () =>
          app.inject({
            url: `/v1/workspaces/${ws.id}/posts`,
            headers: { authorization: 'Bearer not-a-token' },
          }),
        401,
        'unauthorized',
      ],
      [
        'an authorization header that is not Bearer',
        () =>
          app.inject({
            url: `/v1/workspaces/${ws.id}/posts`,
            headers: { authorization: 'Basic dXNlcjpwYXNz' },
          }),
        401,
        'unauthorized',
      ],
      [
        'an API key that does not exist',
        () =>
          app.inject({
            url: `/v1/workspaces/${ws.id}/posts`,
            headers: { authorization: 'Bearer sp_abcdefgh_0123456789abcdef0123456789abcdef' },
          }),
        401,
        'unauthorized',
      ],
    ];

    it.each(cases)(
      'answers %s with exactly {"error":{"code","message","details"}}',
      async (_what, request, status, code) => {
        const res = await request();
        expectError(res, status, code);
        expect(res.headers['x-request-id']).toEqual(expect.any(String));
      },
    );

    it('answers an unknown /v1 route with JSON even to a browser', async () => {
      expectError(
        await app.inject({ url: '/v1/nope', headers: { accept: 'text/html' } }),
        404,
        'not_found',
      );
      expectError(
        await api.inject({ url: '/v1/nope', headers: { accept: 'text/html' } }),
        404,
        'not_found',
      );
    });

    it('answers a caller without credentials with 401 unauthorized, saying credentials are missing, even to a browser', async () => {
      const error = expectError(
        await app.inject({
          url: `/v1/workspaces/${ws.id}/posts`,
          headers: { accept: 'text/html' },
        }),
        401,
        'unauthorized',
      );
      expect(error.details).toEqual({ reason: 'missing_credentials' });
    });

    it('serves the web app (or the API notice) for an unknown page a browser asks for', async () => {
      const res = await app.inject({
        url: '/some/page',
        headers: { accept: 'text/html,application/xhtml+xml' },
      });
      if (existsSync(`${webDistDir}index.html`)) {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.body).toContain('<div id="root">');
      } else {
        expectError(res, 404, 'not_found');
      }
    });

    it('logs requests without the credentials in their query strings (one-time links, OAuth callbacks, webhook handshakes)', async () => {
      const { lines, logs } = logCapture();
      const logger = createLogger('info', logs);
      const loggedApp = await buildApp(
        createAppDeps(
          loadConfig({ LOG_LEVEL: 'info', DATABASE_URL: db.url }, {}),
          db,
          null,
          logger,
        ),
        { logger },
      );
      const secrets = ['reset-SECRET-1', 'oauth-CODE-2', 'oauth-STATE-3', 'verify-TOKEN-4'];
      try {
        for (const url of [
          `/reset-password?token=${secrets[0]}`,
          `/v1/oauth/x/callback?code=${secrets[1]}&state=${secrets[2]}`,
          `/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=${secrets[3]}&hub.challenge=42`,
        ])
          await loggedApp.inject({ url, headers: { accept: 'text/html' } });
      } finally {
        await loggedApp.close();
      }
      const text = lines.join('');
      for (const secret of secrets) expect(text).not.toContain(secret);
      const urls = lines
        .map((l) => (JSON.parse(l) as { req?: { url?: string } }).req?.url)
        .filter((u) => u !== undefined);
      expect(urls).toEqual([
        '/reset-password?token=[redacted]',
        '/v1/oauth/x/callback?code=[redacted]&state=[redacted]',
        '/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=42',
      ]);
    });

    it('answers an unexpected failure with internal_error, hides its cause, and logs it with its stack and request id', async () => {
      // A database of its own, broken on purpose: the posts table is gone.
      const broken = await createTestDatabase();
      const owner = createInspector(broken);
      const { lines, logs } = logCapture();
      const logger = createLogger('error', logs);
      const brokenApp = await buildApp(
        createAppDeps(
          loadConfig({ LOG_LEVEL: 'error', DATABASE_URL: broken.url }, {}),
          broken,
          null,
          logger,
        ),
        { logger },
      );
      try {
        const user = callerFor(brokenApp, await signUpUser(brokenApp));
        const w = await createWorkspace(user, 'Broken');
        await owner.rows('ALTER TABLE posts RENAME TO posts_gone');
        const res = await user.inject({
          url: `/v1/workspaces/${w.id}/posts`,
          headers: { 'x-request-id': 'broken-1' },
        });
        const error = expectError(res, 500, 'internal_error');
        expect(error.details).toEqual({ requestId: 'broken-1' });
        expect(error.message).not.toMatch(/posts|relation|SELECT/i);
        const logged = lines
          .map(
            (l) =>
              JSON.parse(l) as {
                level: number;
                requestId?: string;
                err?: { stack?: string; message?: string };
              },
          )
          .filter((l) => l.requestId === 'broken-1' && l.level >= 50);
        expect(logged).toHaveLength(1);
        expect(logged[0]?.err?.message).toMatch(/relation "posts" does not exist/);
        expect(logged[0]?.err?.stack).toMatch(/\n\s+at /);
      } finally {
        await brokenApp.close();
        await owner.close();
        await broken.drop();
      }
    });
  });

  describe('request ids', () => {
    it('makes a fresh uuid per request when the caller sends none', async () => {
      const a = await app.inject({ url: '/healthz' });
      const b = await app.inject({ url: '/healthz' });
      expect(a.headers['x-request-id']).toMatch(UUID);
      expect(b.headers['x-request-id']).toMatch(UUID);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it.each(['abc-123', 'trace:span.1_2', 'A'.repeat(128), '0'])(
      'echoes the safe caller id %j, with credentials or without',
      async (id) => {
        for (const caller of [api, app]) {
          for (const url of ['/healthz', `/v1/workspaces/${ws.id}/posts?limit=1`, '/v1/nope']) {
            expect(
              (await caller.inject({ url, headers: { 'x-request-id': id } })).headers[
                'x-request-id'
              ],
            ).toBe(id);
          }
        }
        // The same request: a page to the owner, 401 to nobody.
        const url = `/v1/workspaces/${ws.id}/posts?limit=1`;
        expect([
          (await api.inject({ url })).statusCode,
          (await app.inject({ url })).statusCode,
        ]).toEqual([200, 401]);
      },
    );

    it.each(['has space', 'semi;colon', '<script>', 'A'.repeat(129), 'quote"d', 'slash/ed'])(
      'replaces the unsafe caller id %j',
      async (id) => {
        const res = await app.inject({ url: '/healthz', headers: { 'x-request-id': id } });
        expect(res.headers['x-request-id']).toMatch(UUID);
      },
    );

    it('answers an empty caller id with a fresh one', async () => {
      expect(
        (await app.inject({ url: '/healthz', headers: { 'x-request-id': '' } })).headers[
          'x-request-id'
        ],
      ).toMatch(UUID);
    });
  });

  describe('ETag and 304', () => {
    const lists = () => [
      '/v1/workspaces',
      `/v1/workspaces/${ws.id}/posts`,
      `/v1/workspaces/${ws.id}/posts?platform=x&limit=5&fields=id,text`,
      `/v1/workspaces/${ws.id}/imports`,
    ];

    it('tags every list and answers a matching If-None-Match with 304 and no body', async () => {
      for (const url of lists()) {
        const first = await api.inject({ url });
        expect(first.statusCode).toBe(200);
        const etag = first.headers.etag;
        expect(etag, url).toMatch(/^W\/".+"$/);
        const again = await api.inject({ url });
        expect(again.headers.etag).toBe(etag);
        const notModified = await api.inject({ url, headers: { 'if-none-match': String(etag) } });
        expect(notModified.statusCode, url).toBe(304);
        expect(notModified.body).toBe('');
        expect(notModified.rawPayload.length).toBe(0);
        expect(notModified.headers.etag).toBe(etag);
        expect(notModified.headers['x-request-id']).toEqual(expect.any(String));
        // Another tag, or a list of tags without it, gets the full answer.
        const other = await api.inject({ url, headers: { 'if-none-match': 'W/"something-else"' } });
        expect(other.statusCode).toBe(200);
        expect(other.body).toBe(first.body);
        // A caller without credentials learns nothing from a tag, not even that it still matches.
        expectError(
          await app.inject({ url, headers: { 'if-none-match': String(etag) } }),
          401,
          'unauthorized',
        );
      }
    });

    it('gives a new tag when the list changes, so the old tag no longer yields 304', async () => {
      const before = await api.inject({ url: '/v1/workspaces' });
      await createWorkspace(api, 'Another');
      const after = await api.inject({
        url: '/v1/workspaces',
        headers: { 'if-none-match': String(before.headers.etag) },
      });
      expect(after.statusCode).toBe(200);
      expect(after.headers.etag).not.toBe(before.headers.etag);
      expect(after.json<{ data: Workspace[] }>().data.map((w) => w.name)).toContain('Another');
    });

    it('distinguishes pages and sparse fieldsets', async () => {
      const full = await api.inject({ url: `/v1/workspaces/${ws.id}/posts?limit=5` });
      const sparse = await api.inject({ url: `/v1/workspaces/${ws.id}/posts?limit=5&fields=id` });
      expect(sparse.headers.etag).not.toBe(full.headers.etag);
      expect(
        (
          await api.inject({
            url: `/v1/workspaces/${ws.id}/posts?limit=5&fields=id`,
            headers: { 'if-none-match': String(full.headers.etag) },
          })
        ).statusCode,
      ).toBe(200);
    });
  });

  describe('compression', () => {
    const url = () => `/v1/workspaces/${ws.id}/posts?limit=1000`;

    it.each([
      ['br', brotliDecompressSync],
      ['gzip', gunzipSync],
    ])(
      'compresses a large posts list with %s to the same bytes as the plain answer',
      async (encoding, decompress) => {
        const plain = await api.inject({ url: url(), headers: { 'accept-encoding': 'identity' } });
        expect(plain.statusCode).toBe(200);
        expect(plain.headers['content-encoding']).toBeUndefined();
        expect(plain.json<{ data: unknown[] }>().data).toHaveLength(120);

        const packed = await api.inject({ url: url(), headers: { 'accept-encoding': encoding } });
        expect(packed.statusCode).toBe(200);
        expect(packed.headers['content-encoding']).toBe(encoding);
        expect(String(packed.headers.vary)).toMatch(/accept-encoding/i);
        expect(packed.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
        expect(decompress(packed.rawPayload).toString('utf8')).toBe(plain.body);
        // The tag describes the representation's content, the same either way.
        expect(packed.headers.etag).toBe(plain.headers.etag);
        const notModified = await api.inject({
          url: url(),
          headers: { 'accept-encoding': encoding, 'if-none-match': String(plain.headers.etag) },
        });
        expect(notModified.statusCode).toBe(304);
        expect(notModified.rawPayload.length).toBe(0);
      },
    );

    it('prefers br when the client accepts both', async () => {
      const res = await api.inject({
        url: url(),
        headers: { 'accept-encoding': 'gzip, deflate, br' },
      });
      expect(res.headers['content-encoding']).toBe('br');
    });

    it('leaves small answers uncompressed', async () => {
      const res = await api.inject({ url: '/healthz', headers: { 'accept-encoding': 'br, gzip' } });
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.json()).toEqual({ status: 'ok' });
    });
  });

  describe('OpenAPI and docs', () => {
    // Routes that are deliberately not part of the API description (`OPTIONS *` answers CORS
    // preflight requests for every route).
    const isHidden = (url: string): boolean =>
      url === '*' ||
      url === '/' ||
      url === '/openapi.json' ||
      url.startsWith('/docs') ||
      (!url.startsWith('/v1/') && /\.[a-z0-9]+$/i.test(url));

    it('serves an OpenAPI 3.1 document describing exactly the registered routes', async () => {
      const res = await app.inject({ url: '/openapi.json' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const doc = res.json<{
        openapi: string;
        info: { title: string };
        paths: Record<string, Record<string, unknown>>;
        components?: { schemas?: Record<string, unknown> };
      }>();
      expect(doc.openapi).toMatch(/^3\.1\./);
      expect(doc.info.title).toBe('SocialPulse API');

      const routes = registeredRoutes(app);
      // The parser really read the tree.
      expect(routes).toEqual(
        expect.arrayContaining([
          { method: 'GET', url: '/healthz' },
          { method: 'POST', url: '/v1/workspaces/:workspaceId/imports' },
          { method: 'GET', url: '/v1/workspaces/:workspaceId/posts/:postId/snapshots' },
        ]),
      );
      const expected = routes
        .filter((r) => !isHidden(r.url))
        .map((r) => `${r.method} ${toOpenApiPath(r.url)}`)
        .sort();
      const documented = Object.entries(doc.paths)
        .flatMap(([path, ops]) =>
          Object.keys(ops)
            .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
            .map((m) => `${m.toUpperCase()} ${path}`),
        )
        .sort();
      expect(documented).toEqual(expected);
      expect(documented.length).toBeGreaterThanOrEqual(12);
      // And every documented operation really answers.
      for (const entry of documented) {
        const [method, path] = entry.split(' ') as [string, string];
        expect(app.hasRoute({ method, url: path.replace(/\{([^}]+)\}/g, ':$1') }), entry).toBe(
          true,
        );
      }
    });

    it('says how each /v1 operation is called, so that the docs page can authorize', async () => {
      const doc = (await app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
        components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
      }>();
      expect(doc.components.securitySchemes).toMatchObject({
        accessToken: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'http', scheme: 'bearer' },
        sessionCookie: { type: 'apiKey' },
      });
      const schemes = (method: string, path: string) =>
        doc.paths[path]?.[method]?.security?.flatMap((s) => Object.keys(s));
      expect(schemes('post', '/v1/auth/sign-in')).toEqual([]);
      expect(schemes('get', '/v1/auth/me')).toEqual(['accessToken', 'sessionCookie']);
      expect(schemes('get', '/v1/workspaces/{workspaceId}/posts')).toEqual([
        'accessToken',
        'sessionCookie',
        'apiKey',
      ]);
      const undeclared = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/v1/'))
        .flatMap(([path, ops]) =>
          Object.entries(ops)
            .filter(([, op]) => !Array.isArray(op.security))
            .map(([method]) => `${method} ${path}`),
        );
      expect(undeclared).toEqual([]);
    });

    it('documents the request schemas that validate requests', async () => {
      const doc = (await app.inject({ url: '/openapi.json' })).json<{
        paths: Record<
          string,
          Record<
            string,
            {
              parameters?: { name: string; in: string }[];
              requestBody?: { content: Record<string, unknown> };
              responses: Record<string, unknown>;
            }
          >
        >;
      }>();
      const list = doc.paths['/v1/workspaces/{workspaceId}/posts']?.get;
      expect(
        list?.parameters
          ?.filter((p) => p.in === 'query')
          .map((p) => p.name)
          .sort(),
      ).toEqual(['account', 'cursor', 'fields', 'limit', 'platform', 'q', 'since', 'until']);
      expect(list?.parameters?.find((p) => p.in === 'path')?.name).toBe('workspaceId');
      expect(Object.keys(list?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '400', '404']),
      );
      const create = doc.paths['/v1/workspaces']?.post;
      expect(Object.keys(create?.requestBody?.content ?? {})).toContain('application/json');
      const imports = doc.paths['/v1/workspaces/{workspaceId}/imports']?.post;
      expect(
        imports?.parameters
          ?.filter((p) => p.in === 'query')
          .map((p) => p.name)
          .sort(),
      ).toEqual(['file_name', 'format']);
      // At least these; that 401 and 403 are listed too is checked (and fails) below.
      expect(Object.keys(imports?.responses ?? {}).sort()).toEqual(
        expect.arrayContaining(['201', '400', '404', '413', '415']),
      );
      const text = JSON.stringify(doc);
      for (const field of postFieldNames) expect(text).toContain(`"${field}"`);
    });

    it('documents 401 and 403 on every workspace route, and exactly the answers of the import route', async () => {
      const doc = (await app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      }>();
      const imports = doc.paths['/v1/workspaces/{workspaceId}/imports']?.post;
      expect(Object.keys(imports?.responses ?? {}).sort()).toEqual([
        '201',
        '400',
        '401',
        '403',
        '404',
        '413',
        '415',
        '429',
      ]);
      const missing = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/v1/workspaces/{workspaceId}'))
        .flatMap(([path, ops]) =>
          Object.entries(ops).map(([method, op]) => ({
            operation: `${method.toUpperCase()} ${path}`,
            codes: Object.keys(op.responses),
          })),
        )
        .filter(({ codes }) => !codes.includes('401') || !codes.includes('403'))
        .map(({ operation }) => operation);
      expect(missing).toEqual([]);
    });

    it('serves the interactive docs UI at /docs, reading the same document', async () => {
      const page = await app.inject({ url: '/docs' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toMatch(/swagger-ui/i);
      const initializer = await app.inject({ url: '/docs/static/swagger-initializer.js' });
      expect(initializer.statusCode).toBe(200);
      const fromUi = await app.inject({ url: '/docs/json' });
      expect(fromUi.statusCode).toBe(200);
      expect(fromUi.json()).toEqual((await app.inject({ url: '/openapi.json' })).json());
    });
  });

  describe('health and readiness', () => {
    it('answers /healthz', async () => {
      const res = await app.inject({ url: '/healthz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    });

    it('answers /readyz with 200 while the database answers (Redis not configured)', async () => {
      const res = await app.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        status: 'ok',
        checks: { database: { status: 'ok' }, redis: { status: 'not_configured' } },
      });
    });

    it('answers /readyz with 503 when the database does not answer', async () => {
      const url = new URL(db.url);
      url.pathname = '/socialpulse_no_such_database';
      const pool = createPool(url.toString(), 1);
      const noDb = await buildApp(
        createAppDeps(
          loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url }, {}),
          { pool, secrets: db.secrets, url: db.url },
          null,
          createLogger('silent'),
        ),
      );
      try {
        const res = await noDb.inject({ url: '/readyz' });
        expect(res.statusCode).toBe(503);
        const body = res.json<{
          status: string;
          checks: { database: { status: string; error?: string }; redis: { status: string } };
        }>();
        expect(body.status).toBe('unavailable');
        expect(body.checks.database).toEqual({
          status: 'failed',
          error: expect.stringContaining('socialpulse_no_such_database') as unknown,
        });
        expect(body.checks.redis).toEqual({ status: 'not_configured' });
        // Liveness does not depend on the database.
        expect((await noDb.inject({ url: '/healthz' })).statusCode).toBe(200);
      } finally {
        await noDb.close();
        await pool.end();
      }
    });

    describe.skipIf(redisReason !== '')('with Redis configured', () => {
      it('answers 200 with redis ok when Redis answers', async () => {
        const redis = createRedisHealth(inject('redisUrl'));
        const withRedis = await buildTestApp(db, {}, redis);
        try {
          const res = await withRedis.inject({ url: '/readyz' });
          expect(res.statusCode).toBe(200);
          expect(res.json()).toEqual({
            status: 'ok',
            checks: { database: { status: 'ok' }, redis: { status: 'ok' } },
          });
        } finally {
          await withRedis.close();
          await redis.close();
        }
      });

      it('answers 503 with redis failed when nothing listens at the Redis address', async () => {
        const redis = createRedisHealth(`redis://127.0.0.1:${await closedPort()}`);
        const withRedis = await buildTestApp(db, {}, redis);
        try {
          for (let attempt = 0; attempt < 2; attempt += 1) {
            // Twice: the second check runs while the client is reconnecting.
            const res = await withRedis.inject({ url: '/readyz' });
            expect(res.statusCode).toBe(503);
            const body = res.json<{
              status: string;
              checks: { database: unknown; redis: { status: string; error?: string } };
            }>();
            expect(body.status).toBe('unavailable');
            expect(body.checks.database).toEqual({ status: 'ok' });
            expect(body.checks.redis.status).toBe('failed');
            expect(body.checks.redis.error).toEqual(expect.any(String));
          }
        } finally {
          await withRedis.close();
          await redis.close();
        }
      });
    });
  });

  describe('metrics', () => {
    const scrape = async () => {
      const res = await app.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseMetrics(res.body);
    };
    const HISTOGRAM = 'socialpulse_http_request_duration_seconds_count';

    it('counts request durations by route template, method and status', async () => {
      const route = '/v1/workspaces/:workspaceId/posts';
      const before = await scrape();
      const ok = sumOf(before, HISTOGRAM, { route, method: 'GET', status: '200' });
      const bad = sumOf(before, HISTOGRAM, { route, method: 'GET', status: '400' });
      const anonymous = sumOf(before, HISTOGRAM, { route, method: 'GET', status: '401' });
      await getPostPage(api, ws.id, { limit: 1 });
      await getPostPage(api, ws.id, { limit: 2 });
      await api.inject({ url: `/v1/workspaces/${ws.id}/posts?limit=0` });
      await app.inject({ url: `/v1/workspaces/${ws.id}/posts?limit=1` });
      const after = await scrape();
      expect(sumOf(after, HISTOGRAM, { route, method: 'GET', status: '200' })).toBe(ok + 2);
      expect(sumOf(after, HISTOGRAM, { route, method: 'GET', status: '400' })).toBe(bad + 1);
      expect(sumOf(after, HISTOGRAM, { route, method: 'GET', status: '401' })).toBe(anonymous + 1);
      // Buckets and sums are there too, labelled by the route template, never the raw URL.
      expect(
        after.some(
          (s) =>
            s.name === 'socialpulse_http_request_duration_seconds_bucket' &&
            s.labels.route === route &&
            s.labels.le === '+Inf',
        ),
      ).toBe(true);
      expect(
        after.some(
          (s) =>
            s.name === 'socialpulse_http_request_duration_seconds_sum' && s.labels.route === route,
        ),
      ).toBe(true);
      expect(after.some((s) => s.labels.route?.includes(ws.id))).toBe(false);
    });

    it('labels unknown paths as unmatched instead of one series per URL', async () => {
      const before = sumOf(await scrape(), HISTOGRAM, { route: 'unmatched', status: '404' });
      await app.inject({ url: '/no/such/path-1' });
      await app.inject({ url: '/no/such/path-2' });
      const after = await scrape();
      expect(sumOf(after, HISTOGRAM, { route: 'unmatched', status: '404' })).toBe(before + 2);
      expect(after.some((s) => s.labels.route?.includes('/no/such'))).toBe(false);
    });

    it('counts imported records by outcome', async () => {
      const name = 'socialpulse_import_records_total';
      const before = await scrape();
      const other = await createWorkspace(api, 'Metrics import');
      const body = [toJsonl([postRecord(), postRecord(), postRecord()]), '{"broken"\n'].join('');
      const first = await importBody(api, other.id, body, 'application/x-ndjson');
      const second = await importBody(api, other.id, body, 'application/x-ndjson');
      expect(first).toMatchObject({ inserted: 3, rejected: 1 });
      expect(second).toMatchObject({ unchanged: 3, rejected: 1 });
      const after = await scrape();
      const delta = (outcome: string) =>
        sumOf(after, name, { outcome, source: 'api' }) -
        sumOf(before, name, { outcome, source: 'api' });
      expect({
        inserted: delta('inserted'),
        updated: delta('updated'),
        unchanged: delta('unchanged'),
        rejected: delta('rejected'),
      }).toEqual({ inserted: 3, updated: 0, unchanged: 3, rejected: 2 });
      expect(
        sumOf(after, 'socialpulse_import_runs_total', { status: 'completed', source: 'api' }) -
          sumOf(before, 'socialpulse_import_runs_total', { status: 'completed', source: 'api' }),
      ).toBe(2);
    });

    it('exposes the database pool gauges', async () => {
      // The gauges read the pool of the app built last (one app per process in production).
      const fresh = await buildTestApp(db);
      await fresh.inject({ url: '/readyz' });
      const res = await fresh.inject({ url: '/metrics' });
      await fresh.close();
      const samples = parseMetrics(res.body);
      for (const name of [
        'socialpulse_db_pool_connections',
        'socialpulse_db_pool_idle_connections',
        'socialpulse_db_pool_waiting_requests',
      ]) {
        expect(samples.filter((s) => s.name === name)).toHaveLength(1);
      }
      expect(sumOf(samples, 'socialpulse_db_pool_connections')).toBeGreaterThan(0);
    });
  });

  describe('arbitrary query strings on the posts list (property)', () => {
    const keys = ['platform', 'account', 'since', 'until', 'q', 'limit', 'cursor', 'fields'];
    const interesting = [
      'x',
      'tiktok',
      '@acme',
      '123',
      '999999999999999999',
      '2026-01-01T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59+15:59',
      '2026-01-01T00:00:00+23:59',
      '2026-02-29T00:00:00Z',
      '0',
      '-1',
      '1e3',
      'NaN',
      'id,text',
      'id,,nope',
      '"quoted phrase" -not or',
      ':*&|!()',
      '\u0000',
      'bnVsbA',
      Buffer.from(JSON.stringify({ v: 1, t: '99999999999999999999', i: '1', f: 'x' })).toString(
        'base64url',
      ),
    ];
    // Percent-encodes every UTF-8 byte, so any string (even a lone surrogate) becomes a query value.
    const encode = (s: string): string =>
      [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    // Weighted towards the real parameters and the values that once reached PostgreSQL as 500s.
    const key = fc.oneof(
      { arbitrary: fc.constantFrom(...keys), weight: 5 },
      { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
    );
    const value = fc.oneof(
      { arbitrary: fc.constantFrom(...interesting), weight: 4 },
      { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
      { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
      { arbitrary: fc.integer().map(String), weight: 1 },
    );
    const pair = fc.tuple(key, value).map(([k, v]) => `${encode(k)}=${encode(v)}`);
    // Raw text too: malformed escapes, bare keys, stray separators.
    const raw = fc.string({
      unit: fc.constantFrom('%', '&', '=', '+', 'a', 'F', '0', '9', '.', '-', '_', '~', ';'),
      maxLength: 30,
    });
    // Plausible queries: each real parameter at most once, so that the request reaches the database.
    const plausible = fc
      .uniqueArray(fc.tuple(fc.constantFrom(...keys), value), {
        selector: ([k]) => k,
        maxLength: 3,
      })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${encode(v)}`).join('&'));
    const query = fc.oneof(
      plausible,
      fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&')),
      raw,
      fc
        .tuple(fc.array(pair, { maxLength: 3 }), raw)
        .map(([pairs, r]) => `${pairs.join('&')}&${r}`),
    );

    it('never answers with a 5xx: only 200 or a 4xx with an error code', async () => {
      await fc.assert(
        fc.asyncProperty(query, async (qs) => {
          const res = await api.inject({ url: `/v1/workspaces/${ws.id}/posts?${qs}` });
          if (res.statusCode === 200) {
            const body = res.json<{ data: unknown[]; next_cursor: string | null }>();
            expect(Array.isArray(body.data)).toBe(true);
            return;
          }
          expect(res.statusCode, `${qs} → ${res.body}`).toBeGreaterThanOrEqual(400);
          expect(res.statusCode, `${qs} → ${res.body}`).toBeLessThan(500);
          expectError(res, res.statusCode, res.json<{ error: { code: string } }>().error.code);
        }),
        { numRuns: 500 },
      );
    });
  });
});
