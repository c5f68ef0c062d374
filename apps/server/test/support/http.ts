/**
 * Helpers for API tests that go through buildApp() and inject(). Every /v1 route needs
 * credentials: pass a `Caller` (callerFor in ./app.ts), not the bare app.
 */
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { ErrorBody, ImportResult, Post, Workspace } from '@socialpulse/contracts';
import type { Injector } from './app.js';
import { toJsonl } from './factories.js';

export type Response = LightMyRequestResponse;

/**
 * Asserts that a response is the one error body of the API, exactly
 * `{"error":{"code","message","details"}}` with `details` an object or null, with the given
 * status and code; returns the error.
 */
export function expectError(res: Response, status: number, code: string): ErrorBody['error'] {
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<Record<string, unknown>>();
  expect(Object.keys(body)).toEqual(['error']);
  const error = body.error as Record<string, unknown>;
  expect(Object.keys(error)).toEqual(['code', 'message', 'details']);
  expect(
    error.details === null || (typeof error.details === 'object' && !Array.isArray(error.details)),
  ).toBe(true);
  expect(error.code).toBe(code);
  expect(error.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  expect(typeof error.message).toBe('string');
  expect((error.message as string).length).toBeGreaterThan(0);
  return error as ErrorBody['error'];
}

/** Creates a workspace as a signed-in user (who becomes its owner); expects 201. */
export async function createWorkspace(app: Injector, name: string): Promise<Workspace> {
  const res = await app.inject({ method: 'POST', url: '/v1/workspaces', payload: { name } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Workspace>();
}

/** Posts a body to the import route; expects 201 and returns the import result. */
export async function importBody(
  app: Injector,
  workspaceId: string,
  body: string | Buffer,
  contentType: string,
  query = '',
): Promise<ImportResult> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/imports${query ? `?${query}` : ''}`,
    headers: { 'content-type': contentType },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<ImportResult>();
}

/** Imports records as JSON Lines and expects none of them to be rejected. */
export async function importRecords(
  app: Injector,
  workspaceId: string,
  records: readonly Record<string, unknown>[],
): Promise<ImportResult> {
  const result = await importBody(app, workspaceId, toJsonl(records), 'application/x-ndjson');
  expect(result.rejects).toEqual([]);
  expect(result.status).toBe('completed');
  return result;
}

export interface PostPage {
  data: Partial<Post>[];
  next_cursor: string | null;
}

export const postsUrl = (
  workspaceId: string,
  query: Record<string, string | number | undefined> = {},
): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return `/v1/workspaces/${workspaceId}/posts${qs ? `?${qs}` : ''}`;
};

export async function getPostPage(
  app: Injector,
  workspaceId: string,
  query: Record<string, string | number | undefined> = {},
): Promise<PostPage> {
  const res = await app.inject({ url: postsUrl(workspaceId, query) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<PostPage>();
}

/** Follows next_cursor to the end; returns every page. Fails after maxPages to stop a loop. */
export async function walkPosts(
  app: Injector,
  workspaceId: string,
  query: Record<string, string | number | undefined>,
  maxPages = 1000,
): Promise<PostPage[]> {
  const pages: PostPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await getPostPage(app, workspaceId, { ...query, cursor });
    pages.push(page);
    cursor = page.next_cursor ?? undefined;
    if (pages.length > maxPages) throw new Error(`pagination did not end after ${maxPages} pages`);
  } while (cursor);
  return pages;
}
