import type { IncomingMessage } from 'node:http';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  errorBodySchema,
  importCreateQuerySchema,
  importListQuerySchema,
  importListSchema,
  importRejectListQuerySchema,
  importRejectListSchema,
  importResultSchema,
  importSummarySchema,
  workspaceParamsSchema,
  type ImportReject,
} from '@socialpulse/contracts';
import { AppError, notFound } from '../../../errors.js';
import { findImportRun, listImportRuns, listRejects } from '../../../db/repos/imports.repo.js';
import { insertAuditEntry } from '../../../db/repos/audit.repo.js';
import { auditedRequest } from '../../audit.js';
import { limitBytes } from '../../../domain/imports/byte-limit.js';
import { decodeCursor, encodeCursor, filterFingerprint } from '../../../domain/posts/cursor.js';
import {
  failedImportOf,
  formatFromContentType,
  importPosts,
} from '../../../domain/imports/import.service.js';
import { prepareStreamImport, type PreparedImport } from '../../../domain/imports/import-source.js';
import type { AppDeps, ZodApp } from '../../types.js';
import { presentImport, presentReject } from './imports.presenter.js';

const INLINE_REJECTS = 100;
const STREAMED_TYPES = [
  'text/csv',
  'application/x-ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/json',
  'application/zip',
  'application/octet-stream',
  'text/javascript',
];
const importParamsSchema = workspaceParamsSchema.extend({ importId: z.uuid() });
/**
 * The body is the file itself, streamed to the importer. The schema is for the OpenAPI
 * document (a generated client must know to send the bytes as they are): it accepts any value,
 * since what the content-type parser hands over is the request stream, read by the importer.
 */
const uploadBodySchema = z.unknown().meta({
  type: 'string',
  format: 'binary',
  description:
    'The file as it is on disk (CSV, JSON Lines, a JSON array, or a platform export), in the Content-Type that names it',
});

/**
 * Import routes live in their own encapsulated plugin: here the body parsers hand the raw
 * request stream to the importer instead of buffering it, for JSON too.
 */
export async function registerImportRoutes(app: ZodApp, deps: AppDeps): Promise<void> {
  const { pool } = deps.db;
  await app.register((scope: ZodApp, _options, done) => {
    scope.removeAllContentTypeParsers();
    // Any content type streams through: the format comes from it or from ?format=.
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    scope.post(
      '/v1/workspaces/:workspaceId/imports',
      {
        bodyLimit: deps.config.import.maxBytes,
        config: { auth: { permission: 'import' } },
        schema: {
          tags: ['imports'],
          summary:
            'Import posts from a CSV, JSON Lines or JSON array body, or from a platform data export (streamed)',
          description:
            'Send the file as the body with Content-Type text/csv, application/x-ndjson or application/json, ' +
            'or send a platform export as it was downloaded (X archive zip or tweets.js, Instagram or TikTok JSON or zip, ' +
            'YouTube Takeout videos.csv or Studio "Table data.csv"): exports are recognised from their bytes, ' +
            'and ?format= overrides any detection. A zip is written to a temporary file (bounded by IMPORT_MAX_BYTES) and removed afterwards. ' +
            'Valid records are written even when others are rejected; every reject is listed with its file, line, field and reason.',
          consumes: STREAMED_TYPES,
          body: uploadBodySchema,
          params: workspaceParamsSchema,
          querystring: importCreateQuerySchema,
          response: {
            201: importResultSchema,
            400: errorBodySchema,
            404: errorBodySchema,
            413: errorBodySchema,
            415: errorBodySchema,
          },
        },
      },
      async (request, reply) => {
        const { workspaceId } = request.params;
        const explicit = request.query.format;
        const hint = formatFromContentType(request.headers['content-type']);
        const body = request.body as IncomingMessage | undefined;
        if (
          !body ||
          typeof (body as Partial<IncomingMessage>)[Symbol.asyncIterator] !== 'function'
        ) {
          if (explicit === undefined && hint === null) {
            throw new AppError(
              'unsupported_media_type',
              'Send text/csv, application/x-ndjson or application/json, a platform export, or name the format with ?format=',
              {
                details: { field: 'content-type', value: request.headers['content-type'] ?? null },
              },
            );
          }
          throw new AppError('validation_failed', 'The request has no body to import', {
            details: { field: 'body' },
          });
        }
        const firstRejects: ImportReject[] = [];
        // Iterating the request with `for await` would destroy it when the import stops early
        // (payload_too_large, a database failure): light-my-request then rejects inject(), and a
        // real client may lose the answer. Keep the request alive and close the connection instead.
        const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
        let run: Awaited<ReturnType<typeof importPosts>>;
        let prepared: PreparedImport | null = null;
        try {
          // Detection reads the first bytes; a zip is spooled to a temporary file here.
          prepared = await prepareStreamImport(
            limitBytes(chunks, deps.config.import.maxBytes),
            request.query.file_name ?? null,
            { format: explicit, hint, limits: deps.config.import },
          );
          run = await importPosts(pool, prepared, {
            workspaceId,
            userId: request.actor().userId,
            source: 'api',
            batchSize: deps.config.import.batchSize,
            maxRecordBytes: deps.config.import.maxRecordBytes,
            onReject: (r) => {
              if (firstRejects.length < INLINE_REJECTS) firstRejects.push(presentReject(r));
            },
          });
        } catch (error) {
          await prepared?.close();
          // The rest of the body was never read. Node only discards an unread body by itself
          // when nothing started reading it, so the connection would stay open, stalled, until
          // the keep-alive timeout (blocking a graceful shutdown). Discard what still arrives
          // and close the connection after the answer, as Fastify does for its own body errors.
          if (!body.readableEnded) {
            void reply.header('connection', 'close');
            body.resume();
          }
          // A failed import names its run (what was written before the failure stays, with the
          // rejects so far) in `details.import`. The error handler hides a server error's
          // details; these are the caller's own, so a server error is answered here, logged as
          // the handler would.
          const failed = failedImportOf(error);
          if (failed !== null && error instanceof AppError && error.status >= 500) {
            request.log.error({ err: error }, 'request failed');
            // The route's response schemas list its 4xx answers only (app.int.test.ts pins
            // them), so its typed reply takes no 5xx status.
            const untyped: FastifyReply = reply;
            return untyped.status(error.status).send({
              error: {
                code: error.code,
                message: error.message,
                details: { requestId: request.id, import: failed },
              },
            });
          }
          throw error;
        }
        await prepared.close();
        await request.scoped((c) =>
          insertAuditEntry(c, {
            ...auditedRequest(request),
            workspaceId,
            action: 'import.completed',
            target: run.id,
            details: {
              read: run.read,
              inserted: run.inserted,
              updated: run.updated,
              rejected: run.rejected,
            },
          }),
        );
        return reply
          .status(201)
          .header('location', `/v1/workspaces/${workspaceId}/imports/${run.id}`)
          .send({
            ...presentImport(run),
            rejects: firstRejects,
            rejects_truncated: run.rejected > firstRejects.length,
          });
      },
    );
    done();
  });

  app.get(
    '/v1/workspaces/:workspaceId/imports',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['imports'],
        summary: 'Imports of a workspace, newest first',
        description: 'Pages are stable: follow `next_cursor` until it is null.',
        params: workspaceParamsSchema,
        querystring: importListQuerySchema,
        response: { 200: importListSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const { limit, cursor } = request.query;
      // The list has no filters; the fingerprint still keeps another list's cursor out.
      const fingerprint = filterFingerprint({ list: 'imports' });
      const before = cursor ? decodeCursor(cursor, fingerprint, 'uuid') : null;
      const rows = await request.scoped((c) =>
        listImportRuns(
          c,
          workspaceId,
          limit + 1,
          before && { startedAtMicros: before.createdAtMicros, id: before.id },
        ),
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map(presentImport),
        next_cursor:
          rows.length > limit && last
            ? encodeCursor({ createdAtMicros: last.startedAtMicros, id: last.id }, fingerprint)
            : null,
      };
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/imports/:importId',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['imports'],
        summary: 'One import and its counts',
        params: importParamsSchema,
        response: { 200: importSummarySchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const run = await request.scoped((c) =>
        findImportRun(c, request.params.workspaceId, request.params.importId),
      );
      if (!run) throw notFound('import', request.params.importId);
      return presentImport(run);
    },
  );

  app.get(
    '/v1/workspaces/:workspaceId/imports/:importId/rejects',
    {
      config: { auth: { permission: 'read' } },
      schema: {
        tags: ['imports'],
        summary: 'Every rejected record of an import, with file, line, field and reason',
        params: importParamsSchema,
        querystring: importRejectListQuerySchema,
        response: { 200: importRejectListSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { workspaceId, importId } = request.params;
      const rejects = await request.scoped(async (c) => {
        const run = await findImportRun(c, workspaceId, importId);
        if (!run) throw notFound('import', importId);
        return listRejects(c, run.id, request.query.after, request.query.limit);
      });
      const last = rejects[rejects.length - 1];
      return {
        data: rejects.map(presentReject),
        next_after: rejects.length === request.query.limit && last ? last.seq : null,
      };
    },
  );
}
