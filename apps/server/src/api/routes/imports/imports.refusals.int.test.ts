import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportResult, ImportSummary } from '@socialpulse/contracts';
import { buildTestApp, callerFor, signUpUser, type Caller } from '../../../../test/support/app.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import { postRecord, toJsonl } from '../../../../test/support/factories.js';
import { createWorkspace, expectError, importBody } from '../../../../test/support/http.js';
import type { ZodApp } from '../../types.js';

interface OpenApiOperation {
  parameters?: { name: string; in: string; schema?: Record<string, unknown> }[];
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema?: Record<string, unknown> }>;
  };
  responses: Record<string, unknown>;
}

describe.skipIf(databaseUnavailable() !== '')('imports API: refusals, paging, the document', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let api: Caller;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db);
    api = callerFor(app, await signUpUser(app));
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const listRuns = async (workspaceId: string): Promise<ImportSummary[]> =>
    (await api.inject({ url: `/v1/workspaces/${workspaceId}/imports` })).json<{
      data: ImportSummary[];
    }>().data;

  describe('a file refused as a whole', () => {
    const refusals = [
      {
        name: 'a CSV header without a required column',
        body: 'platform,external_id,text\nx,z1,hello\n',
        type: 'text/csv',
        fileName: 'posts.csv',
        reason: 'the header lacks required column(s): created_at',
        value: 'platform,external_id,text',
      },
      {
        name: 'JSON Lines sent as application/json',
        body: toJsonl([postRecord(), postRecord()]),
        type: 'application/json',
        fileName: 'posts.jsonl',
        reason: expect.stringMatching(
          /^expected a JSON array: the file must start with "\[" \(for one JSON object per line, send JSON Lines/,
        ) as unknown,
        value: expect.stringMatching(/^\{"/) as unknown,
      },
    ];

    for (const refusal of refusals) {
      it(`${refusal.name}: 400 validation_failed naming the file, line and reason, and a failed run that read nothing`, async () => {
        const ws = await createWorkspace(api, `Refused ${refusal.fileName}`);
        const res = await api.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports?file_name=${refusal.fileName}`,
          headers: { 'content-type': refusal.type },
          payload: refusal.body,
        });
        const error = expectError(res, 400, 'validation_failed');
        expect(error.message).toMatch(
          new RegExp(`^the file was refused: ${refusal.fileName} line 1: `),
        );
        const runs = await listRuns(ws.id);
        expect(runs).toHaveLength(1);
        const run = runs[0] as ImportSummary;
        expect(error.details).toEqual({
          file: refusal.fileName,
          line: 1,
          field: null,
          reason: refusal.reason,
          value: refusal.value,
          import: {
            id: run.id,
            status: 'failed',
            read: 0,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            rejected: 0,
          },
        });
        expect(run).toMatchObject({
          status: 'failed',
          read: 0,
          rejected: 0,
          error: error.message,
        });
        expect(run.finished_at).not.toBeNull();
      });
    }

    it('a CSV header whose names differ from the format only in letter case says so', async () => {
      const ws = await createWorkspace(api, 'Letter case');
      const res = await api.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.id}/imports`,
        headers: { 'content-type': 'text/csv' },
        payload: 'Platform,External_ID,Created_At\nx,1,2026-11-04T00:00:00Z\n',
      });
      const error = expectError(res, 400, 'validation_failed');
      expect(error.message).toBe(
        'the file was refused: line 1: the header lacks required column(s): platform, external_id, created_at; ' +
          'column names are case-sensitive: rename "Platform" → "platform", "External_ID" → "external_id", "Created_At" → "created_at"',
      );
    });
  });

  describe('GET imports: limit and cursor', () => {
    it('pages through every run, newest first, with limit and next_cursor', async () => {
      const ws = await createWorkspace(api, 'Many runs');
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const run = await importBody(api, ws.id, toJsonl([postRecord()]), 'application/x-ndjson');
        ids.push(run.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await api.inject({
          url: `/v1/workspaces/${ws.id}/imports?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        });
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json<{ data: ImportSummary[]; next_cursor: string | null }>();
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data.map((r) => r.id));
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());

      const all = await api.inject({ url: `/v1/workspaces/${ws.id}/imports` });
      expect(all.json()).toMatchObject({ next_cursor: null });
      expect(all.json<{ data: ImportResult[] }>().data.map((r) => r.id)).toEqual(
        [...ids].reverse(),
      );
    });

    it('refuses a limit out of range and a malformed cursor with 400', async () => {
      const ws = await createWorkspace(api, 'Bad paging');
      for (const query of ['limit=0', 'limit=201', 'limit=x']) {
        const res = await api.inject({ url: `/v1/workspaces/${ws.id}/imports?${query}` });
        expectError(res, 400, 'validation_failed');
      }
      const res = await api.inject({ url: `/v1/workspaces/${ws.id}/imports?cursor=garbage` });
      expectError(res, 400, 'invalid_cursor');
    });
  });

  describe('the OpenAPI document', () => {
    let doc: { paths: Record<string, Record<string, OpenApiOperation>> };
    beforeAll(async () => {
      const res = await app.inject({ url: '/docs/json' });
      expect(res.statusCode).toBe(200);
      doc = res.json();
    });
    const base = '/v1/workspaces/{workspaceId}/imports';

    it('declares the upload body in every content type the import route consumes', () => {
      const post = doc.paths[base]?.post;
      const content = post?.requestBody?.content ?? {};
      expect(Object.keys(content).sort()).toEqual(
        [
          'application/json',
          'application/jsonl',
          'application/octet-stream',
          'application/x-jsonlines',
          'application/x-ndjson',
          'application/zip',
          'text/csv',
          'text/javascript',
        ].sort(),
      );
      for (const [type, media] of Object.entries(content))
        expect(media.schema, type).toMatchObject({ type: 'string', format: 'binary' });
      expect(post?.requestBody?.required).toBe(true);
    });

    it('declares the statuses the import routes answer', () => {
      const codes = (path: string, method: string): string[] =>
        Object.keys(doc.paths[path]?.[method]?.responses ?? {}).sort();
      for (const path of [base, `${base}/{importId}`, `${base}/{importId}/rejects`])
        expect(codes(path, 'get'), path).toEqual(['200', '400', '401', '403', '404', '429']);
      const list = doc.paths[base]?.get;
      expect(
        list?.parameters
          ?.filter((p) => p.in === 'query')
          .map((p) => p.name)
          .sort(),
      ).toEqual(['cursor', 'limit']);
    });

    it('answers the 400 it declares for a negative after', async () => {
      const ws = await createWorkspace(api, 'Declared 400');
      const run = await importBody(api, ws.id, toJsonl([postRecord()]), 'application/x-ndjson');
      const res = await api.inject({
        url: `/v1/workspaces/${ws.id}/imports/${run.id}/rejects?after=-1`,
      });
      expectError(res, 400, 'validation_failed');
    });
  });
});
