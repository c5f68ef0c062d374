import { z } from 'zod';
import {
  errorBodySchema,
  metricSnapshotListSchema,
  postListQuerySchema,
  postListSchema,
  postSchema,
  workspaceParamsSchema,
} from '@socialpulse/contracts';
import { getPost, listSnapshots } from '../../../db/repos/posts.repo.js';
import { listPostPage, parseFields } from '../../../domain/posts/posts.service.js';
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
