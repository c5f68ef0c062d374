import { Readable } from 'node:stream';
import { z } from 'zod';
import {
  errorBodySchema,
  metricSnapshotListSchema,
  postExportQuerySchema,
  postListQuerySchema,
  postListSchema,
  postSchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
import { getPost, listSnapshots } from '../../../db/repos/posts.repo.js';
import { appliedExportFilters, exportPosts } from '../../../domain/posts/export.service.js';
import { listPostPage, parseFields, toFilter } from '../../../domain/posts/posts.service.js';
import type { AppDeps, ZodApp } from '../../types.js';
import { pickFields, presentPost, presentSnapshot } from './posts.presenter.js';

const postParamsSchema = workspaceParamsSchema.extend({
  postId: z.string().regex(/^\d{1,18}$/, 'must be a post id'),
});

export function registerPostRoutes(app: ZodApp, _deps: AppDeps): void {
  app.get(
    '/v1/workspaces/:workspaceId/posts',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['posts'],
        summary: 'List posts, newest first',
        description:
          'Filters combine with AND. Pages are stable: follow `next_cursor` until it is null.',
        params: workspaceParamsSchema,
        querystring: postListQuerySchema,
        response: { 200: postListSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const fields = parseFields(request.query.fields);
      const page = await request.scoped((c) =>
        listPostPage(c, request.params.workspaceId, request.query),
      );
      return {
        data: page.posts.map((p) => pickFields(presentPost(p), fields)),
        next_cursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/posts/export',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['posts'],
        summary: 'Export posts as CSV or JSON Lines in the import format (streamed)',
        description:
          "Every post matching the posts list's filters, newest first, in the columns of `socialpulse export`: the file imports back unchanged. Recorded in the audit log.",
        params: workspaceParamsSchema,
        querystring: postExportQuerySchema,
        response: {
          200: {
            description: 'The posts, one per line (CSV with a header row)',
            content: {
              'text/csv': { schema: z.string() },
              'application/x-ndjson': { schema: z.string() },
            },
          },
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const { format, ...filters } = request.query;
      // Validated before the audit entry: a refused export never started.
      const filter = toFilter(workspaceId, filters);
      // Recorded before the data leaves: an export that fails halfway was still an export.
      await request.scoped((c) =>
        insertAuditEntry(c, {
          ...auditedRequest(request),
          workspaceId,
          action: 'posts.exported',
          target: workspaceId,
          details: { format, filters: appliedExportFilters(filters), destination: 'http' },
        }),
      );
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="posts-${workspaceId}.${format}"`)
        .send(
          // A stream bypasses the serializer: the page is read only when the client takes it.
          Readable.from(exportPosts((work) => request.scoped(work), filter, format)) as never,
        );
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/posts/:postId',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['posts'],
        summary: 'Get one post',
        params: postParamsSchema,
        response: { 200: postSchema, 404: errorBodySchema },
      },
    },
    async (request) =>
      presentPost(
        await request.scoped((c) => getPost(c, request.params.workspaceId, request.params.postId)),
      ),
  );

  app.get(
    '/v1/workspaces/:workspaceId/posts/:postId/snapshots',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['posts'],
        summary: "A post's metric time series (one point per import or sync)",
        params: postParamsSchema,
        response: { 200: metricSnapshotListSchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId, postId } = request.params;
      const snapshots = await request.scoped(async (c) => {
        await getPost(c, workspaceId, postId);
        return listSnapshots(c, workspaceId, postId);
      });
      return { data: snapshots.map(presentSnapshot) };
    },
  );
}
