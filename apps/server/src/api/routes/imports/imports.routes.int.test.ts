import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportReject, ImportResult, ImportSummary, Workspace } from '@socialpulse/contracts';
import {
  buildTestApp,
  callerFor,
  signUpUser,
  userIdOf,
  type Caller,
  type TestUser,
} from '../../../../test/support/app.js';
import {
  ALLOW_BOOM_POST,
  createTestDatabase,
  databaseUnavailable,
  REFUSE_BOOM_POST,
  type TestDatabase,
} from '../../../../test/support/db.js';
import { postRecord, toCsv, toJsonl } from '../../../../test/support/factories.js';
import { createInspector, type Inspector } from '../../../../test/support/inspect.js';
import {
  createWorkspace,
  expectError,
  getPostPage,
  importBody,
  walkPosts,
} from '../../../../test/support/http.js';
import type { ZodApp } from '../../types.js';

const BATCH = 7;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const CSV_COLUMNS = [
  'platform',
  'external_id',
  'created_at',
  'account_handle',
  'author',
  'text',
  'likes',
  'comments',
] as const;

type Reject = Pick<ImportReject, 'line' | 'field'> & { reason: string | RegExp };
/** One line of a test file: a record to write, a record to reject, or raw text to reject. */
type Entry =
  | { good: Record<string, unknown> }
  | { bad: Record<string, unknown> | string; field: string | null; reason: string | RegExp };

const inlineRejects = (
  rejects: readonly ImportReject[],
): { line: number; field: string | null; reason: string }[] =>
  rejects.map((r) => ({ line: r.line, field: r.field, reason: r.reason }));
const expectedRejects = (rejects: readonly Reject[]) =>
  rejects.map((r) => ({
    line: r.line,
    field: r.field,
    reason: typeof r.reason === 'string' ? r.reason : (expect.stringMatching(r.reason) as unknown),
  }));

describe.skipIf(databaseUnavailable() !== '')('imports API', () => {
  let db: TestDatabase;
  let app: ZodApp;

  let inspect: Inspector;
  /** The user every test imports as (it owns the workspaces it creates). */
  let owner: TestUser;
  let api: Caller;

  const postCount = (workspaceId: string): Promise<number> =>
    inspect.count('SELECT count(*) FROM posts WHERE workspace_id = $1', [workspaceId]);
  const importRunCount = (): Promise<number> => inspect.count('SELECT count(*) FROM imports');
  const summaryOf = (result: ImportResult): ImportSummary => {
    const { rejects: _rejects, rejects_truncated: _truncated, ...summary } = result;
    return summary;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    inspect = createInspector(db);
    app = await buildTestApp(db, { IMPORT_BATCH_SIZE: String(BATCH) });
    owner = await signUpUser(app);
    api = callerFor(app, owner);
  });
  afterAll(async () => {
    await app?.close();
    await inspect?.close();
    await db?.drop();
  });

  /** Lays out entries one per line after `firstLine - 1` leading lines; returns the rejects expected. */
  const plan = (
    entries: readonly Entry[],
    firstLine: number,
  ): { good: Record<string, unknown>[]; rejects: Reject[] } => ({
    good: entries.flatMap((e) => ('good' in e ? [e.good] : [])),
    rejects: entries.flatMap((e, i) =>
      'bad' in e ? [{ line: firstLine + i, field: e.field, reason: e.reason }] : [],
    ),
  });

  const mixed = (prefix: string, platform: string): Entry[] => {
    const entries: Entry[] = Array.from({ length: 40 }, (_, i) => ({
      good: postRecord({ external_id: `${prefix}-${i}`, platform }),
    }));
    entries.splice(3, 0, {
      bad: postRecord({ external_id: `${prefix}-bad-platform`, platform: 'myspace' }),
      field: 'platform',
      reason: /^platform /,
    });
    entries.splice(11, 0, {
      bad: postRecord({ external_id: `${prefix}-bad-likes`, platform, likes: -5 }),
      field: 'likes',
      reason: 'likes must not be negative',
    });
    entries.splice(20, 0, {
      bad: postRecord({
        external_id: `${prefix}-bad-date`,
        platform,
        created_at: '2026-01-01T10:00:00',
      }),
      field: 'created_at',
      reason: /^created_at must be an ISO 8601 timestamp with a time zone/,
    });
    entries.splice(33, 0, {
      bad: postRecord({ external_id: '', platform }),
      field: 'external_id',
      reason: /^external_id /,
    });
    return entries;
  };

  describe('POST /v1/workspaces/:id/imports', () => {
    it('imports a CSV body across several batches and reports every reject with its line, field and reason', async () => {
      const ws = await createWorkspace(api, 'CSV');
      const entries = mixed('csv', 'instagram');
      entries.splice(26, 0, {
        bad: 'instagram,too-few-columns',
        field: null,
        reason: `expected ${CSV_COLUMNS.length} columns, found 2`,
      });
      // Header on line 1, the first record on line 2.
      const { good, rejects } = plan(entries, 2);
      const lines = entries.map((e) => {
        const value = 'good' in e ? e.good : e.bad;
        return typeof value === 'string' ? value : toCsv([value], CSV_COLUMNS).split('\n')[1];
      });
      const body = `${CSV_COLUMNS.join(',')}\n${lines.join('\n')}\n`;

      const res = await api.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.id}/imports?file_name=posts.csv`,
        headers: { 'content-type': 'text/csv; charset=utf-8' },
        payload: body,
      });
      expect(res.statusCode, res.body).toBe(201);
      const result = res.json<ImportResult>();
      expect(result).toMatchObject({
        workspace_id: ws.id,
        status: 'completed',
        format: 'csv',
        file_name: 'posts.csv',
        error: null,
      });
      expect(result).toMatchObject({
        read: entries.length,
        inserted: good.length,
        updated: 0,
        unchanged: 0,
        rejected: rejects.length,
        rejects_truncated: false,
      });
      expect(good.length).toBeGreaterThan(BATCH * 4);
      expect(inlineRejects(result.rejects)).toEqual(expectedRejects(rejects));
      expect(result.rejects.every((r) => r.file === 'posts.csv')).toBe(true);
      expect(result.rejects.find((r) => r.field === 'likes')?.value).toBe('-5');
      expect(res.headers.location).toBe(`/v1/workspaces/${ws.id}/imports/${result.id}`);
      expect(result.finished_at).not.toBeNull();

      // What was written is exactly the good records.
      const posts = (
        await walkPosts(api, ws.id, { limit: 1000, fields: 'external_id,platform,likes,text' })
      ).flatMap((p) => p.data);
      expect(posts.map((p) => p.external_id).sort()).toEqual(
        good.map((g) => g.external_id as string).sort(),
      );
      const sample = good[5] as Record<string, unknown>;
      expect(posts.find((p) => p.external_id === sample.external_id)).toEqual({
        external_id: sample.external_id,
        platform: 'instagram',
        likes: sample.likes,
        text: sample.text,
      });

      // The audit log records the import with its counts and who ran it.
      const audit = await inspect.rows<{
        action: string;
        actor: string;
        user_id: string | null;
        target: string;
        details: unknown;
        request_id: string;
      }>(
        'SELECT action, actor, user_id::text, target, details, request_id FROM audit_log WHERE workspace_id = $1 AND action = $2',
        [ws.id, 'import.completed'],
      );
      const userId = await userIdOf(app, owner);
      expect(audit).toEqual([
        {
          action: 'import.completed',
          actor: userId,
          user_id: userId,
          target: result.id,
          details: {
            read: entries.length,
            inserted: good.length,
            updated: 0,
            rejected: rejects.length,
          },
          request_id: res.headers['x-request-id'],
        },
      ]);
    });

    it('imports a JSON Lines body; blank lines are skipped but still counted as lines', async () => {
      const ws = await createWorkspace(api, 'JSONL');
      const entries = mixed('jsonl', 'x');
      entries.splice(8, 0, {
        bad: '{"platform":"x","external_id":',
        field: null,
        reason: /^malformed JSON/,
      });
      entries.splice(15, 0, { bad: '[1,2,3]', field: null, reason: 'expected a JSON object' });
      entries.splice(25, 0, {
        bad: postRecord({
          external_id: 'jsonl-bad-url',
          platform: 'x',
          url: 'ftp://example.com/x',
        }),
        field: 'url',
        reason: /^url /,
      });
      const { good, rejects } = plan(entries, 1);
      const lines = entries.map((e) =>
        'good' in e
          ? JSON.stringify(e.good)
          : typeof e.bad === 'string'
            ? e.bad
            : JSON.stringify(e.bad),
      );
      // Two blank lines at the end (one with CRLF): no records, no rejects.
      const result = await importBody(
        api,
        ws.id,
        `${lines.join('\n')}\n\r\n\n`,
        'application/x-ndjson',
      );
      expect(result).toMatchObject({
        status: 'completed',
        format: 'jsonl',
        file_name: null,
        read: entries.length,
        inserted: good.length,
        rejected: rejects.length,
        rejects_truncated: false,
      });
      expect(inlineRejects(result.rejects)).toEqual(expectedRejects(rejects));
      expect(await postCount(ws.id)).toBe(good.length);
    });

    it.each(['application/jsonl', 'application/x-jsonlines'])(
      'accepts JSON Lines as %s too',
      async (contentType) => {
        const ws = await createWorkspace(api, `JSONL ${contentType}`);
        const result = await importBody(
          api,
          ws.id,
          toJsonl([postRecord(), postRecord()]),
          contentType,
        );
        expect(result).toMatchObject({ format: 'jsonl', inserted: 2, rejected: 0 });
      },
    );

    it('imports a JSON array body (application/json), one element rejected alone', async () => {
      const ws = await createWorkspace(api, 'JSON');
      const entries = mixed('json', 'bluesky');
      entries.splice(17, 0, { bad: '42', field: null, reason: 'expected a JSON object' });
      entries.splice(30, 0, {
        bad: '{"platform": "bluesky", "external_id": "json-unquoted", likes: 3}',
        field: null,
        reason: /^malformed JSON/,
      });
      // "[" on line 1, one element per line from line 2.
      const { good, rejects } = plan(entries, 2);
      const elements = entries.map((e) =>
        'good' in e
          ? JSON.stringify(e.good)
          : typeof e.bad === 'string'
            ? e.bad
            : JSON.stringify(e.bad),
      );
      const result = await importBody(
        api,
        ws.id,
        `[\n${elements.join(',\n')}\n]\n`,
        'application/json',
      );
      expect(result).toMatchObject({
        status: 'completed',
        format: 'json',
        read: entries.length,
        inserted: good.length,
        rejected: rejects.length,
      });
      expect(inlineRejects(result.rejects)).toEqual(expectedRejects(rejects));
      expect(await postCount(ws.id)).toBe(good.length);
    });

    it('lets ?format= override the content type', async () => {
      const ws = await createWorkspace(api, 'Override');
      const result = await importBody(
        api,
        ws.id,
        toCsv([postRecord(), postRecord(), postRecord()]),
        'application/json',
        'format=csv',
      );
      expect(result).toMatchObject({ format: 'csv', read: 3, inserted: 3, rejected: 0 });
    });

    it.each(['text/plain', 'application/octet-stream', 'text/plain; charset=utf-8'])(
      'lets ?format= name the format of a body sent as %s, which alone would be refused',
      async (contentType) => {
        const ws = await createWorkspace(api, `Override ${contentType}`);
        const result = await importBody(
          api,
          ws.id,
          toJsonl([postRecord(), postRecord()]),
          contentType,
          'format=jsonl',
        );
        expect(result).toMatchObject({
          status: 'completed',
          format: 'jsonl',
          read: 2,
          inserted: 2,
          rejected: 0,
          rejects: [],
        });
        expect(await postCount(ws.id)).toBe(2);
      },
    );

    it.each([
      ['CSV', 'text/csv', (r: Record<string, unknown>[]) => toCsv(r)],
      ['JSON Lines', 'application/x-ndjson', toJsonl],
      ['JSON', 'application/json', (r: Record<string, unknown>[]) => JSON.stringify(r)],
    ])(
      'is idempotent for %s: the same body twice leaves every post unchanged',
      async (format, contentType, encode) => {
        const ws = await createWorkspace(api, `Twice ${format}`);
        const records = Array.from({ length: 3 * BATCH + 2 }, () =>
          postRecord({ views: 1000, author: 'Twice' }),
        );
        const body = encode(records);
        const first = await importBody(api, ws.id, body, contentType);
        expect(first).toMatchObject({
          read: records.length,
          inserted: records.length,
          updated: 0,
          unchanged: 0,
          rejected: 0,
        });
        const before = await getPostPage(api, ws.id, { limit: 1000 });

        const second = await importBody(api, ws.id, body, contentType);
        expect(second).toMatchObject({
          status: 'completed',
          read: records.length,
          inserted: 0,
          updated: 0,
          unchanged: records.length,
          rejected: 0,
        });
        expect(second.id).not.toBe(first.id);
        // Nothing changed but the time series: one more snapshot per post.
        expect(await getPostPage(api, ws.id, { limit: 1000 })).toEqual(before);
        const snapshots = await api.inject({
          url: `/v1/workspaces/${ws.id}/posts/${before.data[0]?.id ?? ''}/snapshots`,
        });
        expect(snapshots.json<{ data: unknown[] }>().data).toHaveLength(2);
      },
    );

    it('counts a changed record as updated on the next import', async () => {
      const ws = await createWorkspace(api, 'Updated');
      const records = Array.from({ length: 10 }, (_, i) =>
        postRecord({ external_id: `u-${i}`, metrics_captured_at: '2026-01-01T00:00:00Z' }),
      );
      await importBody(api, ws.id, toJsonl(records), 'application/x-ndjson');
      const changed = records.map((r, i) =>
        i < 4 ? { ...r, likes: 10_000 + i, metrics_captured_at: '2026-02-01T00:00:00Z' } : r,
      );
      const result = await importBody(api, ws.id, toJsonl(changed), 'application/x-ndjson');
      expect(result).toMatchObject({ inserted: 0, updated: 4, unchanged: 6 });
    });

    it('lists only the first 100 rejects inline and says so with rejects_truncated', async () => {
      const ws = await createWorkspace(api, 'Truncated');
      const bad = Array.from({ length: 150 }, (_, i) =>
        JSON.stringify(postRecord({ external_id: `t-${i}`, likes: 'many' })),
      );
      const good = Array.from({ length: 10 }, () => JSON.stringify(postRecord()));
      const result = await importBody(
        api,
        ws.id,
        [...good.slice(0, 5), ...bad, ...good.slice(5)].join('\n'),
        'application/x-ndjson',
      );
      expect(result).toMatchObject({
        read: 160,
        inserted: 10,
        rejected: 150,
        rejects_truncated: true,
      });
      expect(result.rejects).toHaveLength(100);
      expect(result.rejects.map((r) => r.line)).toEqual(
        Array.from({ length: 100 }, (_, i) => i + 6),
      );
      expect(result.rejects.every((r) => r.field === 'likes' && r.value === 'many')).toBe(true);
    });

    it('answers 415 unsupported_media_type for other content types, without starting an import', async () => {
      const ws = await createWorkspace(api, 'Media');
      const runs = await importRunCount();
      for (const contentType of [
        'text/plain',
        'application/xml',
        'application/octet-stream',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
      ]) {
        const res = await api.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports`,
          headers: { 'content-type': contentType },
          payload: toCsv([postRecord()]),
        });
        expectError(res, 415, 'unsupported_media_type');
      }
      // No content type and no body: the route itself names what it accepts.
      const error = expectError(
        await api.inject({ method: 'POST', url: `/v1/workspaces/${ws.id}/imports` }),
        415,
        'unsupported_media_type',
      );
      expect(error.message).toContain('text/csv');
      expect(error.details).toEqual({ field: 'content-type', value: null });
      expect(await importRunCount()).toBe(runs);
      expect(await postCount(ws.id)).toBe(0);
    });

    it('refuses an unknown format or query parameter with 400', async () => {
      const ws = await createWorkspace(api, 'Bad query');
      for (const query of ['format=xml', 'mode=fast', `file_name=${'f'.repeat(256)}`]) {
        const res = await api.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports?${query}`,
          headers: { 'content-type': 'text/csv' },
          payload: toCsv([postRecord()]),
        });
        expectError(res, 400, 'validation_failed');
      }
      expect(await postCount(ws.id)).toBe(0);
    });

    it('refuses a file_name holding a NUL with 400 naming it, without starting an import', async () => {
      const ws = await createWorkspace(api, 'NUL name');
      const runs = await importRunCount();
      for (const name of ['a%00b.jsonl', 'a%00b.zip']) {
        const error = expectError(
          await api.inject({
            method: 'POST',
            url: `/v1/workspaces/${ws.id}/imports?file_name=${name}`,
            headers: { 'content-type': 'application/x-ndjson' },
            payload: toJsonl([postRecord()]),
          }),
          400,
          'validation_failed',
        );
        expect(error.details).toMatchObject({
          problems: [{ in: 'querystring', field: 'file_name', value: decodeURIComponent(name) }],
        });
      }
      expect(await importRunCount()).toBe(runs);
      expect(await postCount(ws.id)).toBe(0);
    });

    it('answers 404 for an unknown workspace and 400 for a malformed workspace id', async () => {
      const runs = await importRunCount();
      const body = toJsonl([postRecord()]);
      expectError(
        await api.inject({
          method: 'POST',
          url: `/v1/workspaces/${UNKNOWN_ID}/imports`,
          headers: { 'content-type': 'application/x-ndjson' },
          payload: body,
        }),
        404,
        'not_found',
      );
      expectError(
        await api.inject({
          method: 'POST',
          url: '/v1/workspaces/abc/imports',
          headers: { 'content-type': 'application/x-ndjson' },
          payload: body,
        }),
        400,
        'validation_failed',
      );
      expect(await importRunCount()).toBe(runs);
    });

    it('answers 401 unauthorized without credentials, without starting an import', async () => {
      const ws = await createWorkspace(api, 'Anonymous upload');
      const runs = await importRunCount();
      for (const query of ['', '?format=jsonl']) {
        const res = await app.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports${query}`,
          headers: { 'content-type': 'application/x-ndjson' },
          payload: toJsonl([postRecord()]),
        });
        expect(expectError(res, 401, 'unauthorized').details).toEqual({
          reason: 'missing_credentials',
        });
      }
      // An unknown content type is refused for want of credentials first.
      expectError(
        await app.inject({
          method: 'POST',
          url: `/v1/workspaces/${ws.id}/imports`,
          headers: { 'content-type': 'text/plain' },
          payload: 'x',
        }),
        401,
        'unauthorized',
      );
      expect(await importRunCount()).toBe(runs);
      expect(await postCount(ws.id)).toBe(0);
    });
  });

  describe('GET imports, one import and its rejects', () => {
    let ws: Workspace;
    let first: ImportResult;
    let second: ImportResult;
    beforeAll(async () => {
      ws = await createWorkspace(api, 'History');
      first = await importBody(
        api,
        ws.id,
        toJsonl([postRecord(), postRecord()]),
        'application/x-ndjson',
        'file_name=first.jsonl',
      );
      const bad = Array.from({ length: 150 }, (_, i) =>
        JSON.stringify(
          postRecord({
            external_id: `r-${i}`,
            created_at: i % 2 ? 'yesterday' : '2026-13-01T00:00:00Z',
          }),
        ),
      );
      second = await importBody(
        api,
        ws.id,
        ['{"platform":"x"}', ...bad, JSON.stringify(postRecord())].join('\n'),
        'application/x-ndjson',
        'file_name=second.jsonl',
      );
      expect(second).toMatchObject({
        read: 152,
        inserted: 1,
        rejected: 151,
        rejects_truncated: true,
      });
    });

    it('lists the imports of a workspace, newest first, and no other workspace’s', async () => {
      const elsewhere = await createWorkspace(api, 'Elsewhere');
      await importBody(api, elsewhere.id, toJsonl([postRecord()]), 'application/x-ndjson');
      const res = await api.inject({ url: `/v1/workspaces/${ws.id}/imports` });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        data: [summaryOf(second), summaryOf(first)],
        next_cursor: null,
      });
    });

    it('gets one import, equal to the summary the POST answered', async () => {
      for (const run of [first, second]) {
        const res = await api.inject({ url: `/v1/workspaces/${ws.id}/imports/${run.id}` });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual(summaryOf(run));
      }
    });

    it('pages through every reject with after, limit and next_after', async () => {
      const seen: (ImportReject & { seq: number })[] = [];
      let after = 0;
      let pages = 0;
      for (;;) {
        const res = await api.inject({
          url: `/v1/workspaces/${ws.id}/imports/${second.id}/rejects?limit=40&after=${after}`,
        });
        expect(res.statusCode).toBe(200);
        const page = res.json<{
          data: (ImportReject & { seq: number })[];
          next_after: number | null;
        }>();
        pages += 1;
        seen.push(...page.data);
        if (page.next_after === null) {
          expect(page.data.length).toBeLessThan(40);
          break;
        }
        expect(page.data).toHaveLength(40);
        expect(page.next_after).toBe(page.data.at(-1)?.seq);
        after = page.next_after;
      }
      expect(pages).toBe(4);
      expect(seen.map((r) => r.seq)).toEqual(Array.from({ length: 151 }, (_, i) => i + 1));
      expect(seen.map((r) => r.line)).toEqual(Array.from({ length: 151 }, (_, i) => i + 1));
      expect(seen[0]).toMatchObject({
        file: 'second.jsonl',
        field: 'external_id',
        reason: 'external_id is required',
        value: null,
      });
      expect(seen[1]).toMatchObject({ field: 'created_at', value: '2026-13-01T00:00:00Z' });
      expect(seen[2]).toMatchObject({ field: 'created_at', value: 'yesterday' });
      // The inline list is the first 100 of the same rejects.
      expect(second.rejects).toEqual(seen.slice(0, 100).map(({ seq: _seq, ...r }) => r));
    });

    it('ends with an empty page when the rejects fill the last page exactly', async () => {
      const url = (after: number) =>
        `/v1/workspaces/${ws.id}/imports/${second.id}/rejects?limit=151&after=${after}`;
      const full = (await api.inject({ url: url(0) })).json<{
        data: unknown[];
        next_after: number | null;
      }>();
      expect(full.data).toHaveLength(151);
      expect(full.next_after).toBe(151);
      expect((await api.inject({ url: url(151) })).json()).toEqual({ data: [], next_after: null });
    });

    it('defaults to the first 1000 rejects and starts after a given seq', async () => {
      const all = (
        await api.inject({ url: `/v1/workspaces/${ws.id}/imports/${second.id}/rejects` })
      ).json<{ data: { seq: number }[]; next_after: number | null }>();
      expect(all.data).toHaveLength(151);
      expect(all.next_after).toBeNull();
      const tail = (
        await api.inject({ url: `/v1/workspaces/${ws.id}/imports/${second.id}/rejects?after=140` })
      ).json<{ data: { seq: number }[] }>();
      expect(tail.data.map((r) => r.seq)).toEqual([
        141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151,
      ]);
      const none = await api.inject({ url: `/v1/workspaces/${ws.id}/imports/${first.id}/rejects` });
      expect(none.json()).toEqual({ data: [], next_after: null });
    });

    it('answers 401 unauthorized without credentials to the list, one import and its rejects', async () => {
      for (const url of [
        `/v1/workspaces/${ws.id}/imports`,
        `/v1/workspaces/${ws.id}/imports/${second.id}`,
        `/v1/workspaces/${ws.id}/imports/${second.id}/rejects`,
      ]) {
        const res = await app.inject({ url });
        expect(expectError(res, 401, 'unauthorized').details).toEqual({
          reason: 'missing_credentials',
        });
        expect(res.body).not.toContain(second.id);
      }
    });

    it.each(['limit=0', 'limit=10001', 'after=-1', 'after=x', 'page=2'])(
      'refuses rejects?%s with 400',
      async (query) => {
        expectError(
          await api.inject({
            url: `/v1/workspaces/${ws.id}/imports/${second.id}/rejects?${query}`,
          }),
          400,
          'validation_failed',
        );
      },
    );

    it('refuses an after past the largest seq PostgreSQL can compare (int4) with 400 naming it', async () => {
      const url = (after: number) =>
        `/v1/workspaces/${ws.id}/imports/${second.id}/rejects?after=${after}`;
      const error = expectError(
        await api.inject({ url: url(3_000_000_000) }),
        400,
        'validation_failed',
      );
      expect(error.message).toContain('after');
      expect(error.details).toMatchObject({
        problems: [{ in: 'querystring', field: 'after', value: '3000000000' }],
      });
      const last = await api.inject({ url: url(2_147_483_647) });
      expect(last.statusCode, last.body).toBe(200);
      expect(last.json()).toEqual({ data: [], next_after: null });
    });

    it('answers 404 for an unknown import or one of another workspace, and 400 for a malformed id', async () => {
      const elsewhere = await createWorkspace(api, 'Not here');
      for (const suffix of ['', '/rejects']) {
        const error = expectError(
          await api.inject({ url: `/v1/workspaces/${ws.id}/imports/${UNKNOWN_ID}${suffix}` }),
          404,
          'not_found',
        );
        expect(error.details).toEqual({ resource: 'import', id: UNKNOWN_ID });
        expectError(
          await api.inject({ url: `/v1/workspaces/${elsewhere.id}/imports/${second.id}${suffix}` }),
          404,
          'not_found',
        );
        expectError(
          await api.inject({ url: `/v1/workspaces/${ws.id}/imports/not-a-uuid${suffix}` }),
          400,
          'validation_failed',
        );
      }
      expectError(
        await api.inject({ url: `/v1/workspaces/${UNKNOWN_ID}/imports` }),
        404,
        'not_found',
      );
      expect((await api.inject({ url: `/v1/workspaces/${elsewhere.id}/imports` })).json()).toEqual({
        data: [],
        next_cursor: null,
      });
    });
  });

  describe('a database failure during an import', () => {
    beforeAll(async () => {
      // Not a data error (class 22/23): the batch is not bisected, the import fails.
      await inspect.rows(REFUSE_BOOM_POST);
    });
    afterAll(async () => {
      await inspect.rows(ALLOW_BOOM_POST);
    });

    it('answers 500 naming the import run that holds the batches written before it, and its rejects', async () => {
      const ws = await createWorkspace(api, 'Database failure');
      const good = Array.from({ length: 2 * BATCH }, (_, i) =>
        postRecord({ external_id: `before-${i}` }),
      );
      const body =
        toJsonl(good) +
        toJsonl([postRecord({ external_id: 'negative', likes: -1 })]) +
        toJsonl([postRecord({ external_id: 'boom' })]) +
        toJsonl(Array.from({ length: BATCH }, (_, i) => postRecord({ external_id: `after-${i}` })));
      const res = await api.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.id}/imports?file_name=failing.jsonl`,
        headers: { 'content-type': 'application/x-ndjson' },
        payload: body,
      });
      const error = expectError(res, 500, 'internal_error');
      expect(error.message).toContain('could not extend file (simulated)');
      const runs = (await api.inject({ url: `/v1/workspaces/${ws.id}/imports` })).json<{
        data: ImportSummary[];
      }>().data;
      expect(runs).toHaveLength(1);
      const run = runs[0] as ImportSummary;
      expect(run).toMatchObject({ status: 'failed', inserted: 2 * BATCH, rejected: 1 });
      expect(error.details).toEqual({
        requestId: expect.any(String) as unknown,
        import: {
          id: run.id,
          status: 'failed',
          read: run.read,
          inserted: run.inserted,
          updated: run.updated,
          unchanged: run.unchanged,
          rejected: run.rejected,
        },
      });
      expect(await postCount(ws.id)).toBe(2 * BATCH);
      const rejects = (
        await api.inject({ url: `/v1/workspaces/${ws.id}/imports/${run.id}/rejects` })
      ).json<{ data: ImportReject[] }>().data;
      expect(inlineRejects(rejects)).toEqual([
        { line: 2 * BATCH + 1, field: 'likes', reason: 'likes must not be negative' },
      ]);
    });
  });

  describe('?file_name= of a platform file with generic content', () => {
    it.each([
      ['reels.json', 'application/json', 'json'],
      ['posts_1.json', 'application/json', 'json'],
      ['videos.csv', 'text/csv', 'csv'],
      ['tweets.js', 'application/octet-stream', 'json'],
    ])('%s is imported as the generic format', async (name, type, format) => {
      const ws = await createWorkspace(api, `Named ${name}`);
      const records = [
        postRecord({ external_id: `${name}-1` }),
        postRecord({ external_id: `${name}-2` }),
      ];
      const body = format === 'csv' ? toCsv(records) : JSON.stringify(records);
      const result = await importBody(
        api,
        ws.id,
        body,
        type,
        `file_name=${encodeURIComponent(name)}`,
      );
      expect(result).toMatchObject({ format, file_name: name, inserted: 2, rejected: 0 });
    });
  });

  describe('a body over IMPORT_MAX_BYTES', () => {
    const MAX_BYTES = 20_000;
    let limitedApp: ZodApp;
    /** The same owner on an app with a small import limit (tokens are valid on both apps). */
    let limited: Caller;
    beforeAll(async () => {
      // Batches larger than what fits under the limit, so no batch write is in flight when the
      // limit is hit (see the report on import.service.ts for why that matters).
      limitedApp = await buildTestApp(db, {
        IMPORT_MAX_BYTES: String(MAX_BYTES),
        IMPORT_BATCH_SIZE: '1000',
      });
      limited = callerFor(limitedApp, owner);
    });
    afterAll(async () => limitedApp?.close());

    const overLimitLines = (prefix: string): string[] =>
      Array.from({ length: 400 }, (_, i) =>
        toJsonl([postRecord({ external_id: `${prefix}-${i}` })]),
      );

    it('answers 413 payload_too_large and keeps the records read before the limit in a failed import', async () => {
      const ws = await createWorkspace(limited, 'Too large');
      const lines = overLimitLines('big');
      expect(Buffer.byteLength(lines.join(''))).toBeGreaterThan(2 * MAX_BYTES);
      const res = await limited.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.id}/imports?file_name=big.jsonl`,
        headers: { 'content-type': 'application/x-ndjson' },
        // A stream, so the body arrives in chunks as it would over the network.
        payload: Readable.from(lines),
      });
      const error = expectError(res, 413, 'payload_too_large');
      expect(error.message).toContain('IMPORT_MAX_BYTES');
      // The rest of the body was never read: the connection must not be reused.
      expect(res.headers.connection).toBe('close');

      const runs = (await limited.inject({ url: `/v1/workspaces/${ws.id}/imports` })).json<{
        data: ImportSummary[];
      }>().data;
      expect(runs).toHaveLength(1);
      const run = runs[0] as ImportSummary;
      // The answer names the import run that holds what was written, and its counts.
      expect(error.details).toEqual({
        limit: MAX_BYTES,
        import: {
          id: run.id,
          status: 'failed',
          read: run.read,
          inserted: run.inserted,
          updated: run.updated,
          unchanged: run.unchanged,
          rejected: run.rejected,
        },
      });
      expect(run).toMatchObject({
        status: 'failed',
        file_name: 'big.jsonl',
        rejected: 0,
        error: error.message,
      });
      expect(run.finished_at).not.toBeNull();
      expect(run.read).toBeGreaterThan(0);
      expect(run.read).toBeLessThan(lines.length);
      // Everything counted as read arrived within the limit.
      expect(Buffer.byteLength(lines.slice(0, run.read).join(''))).toBeLessThanOrEqual(MAX_BYTES);
      // The stored counts agree with the posts table.
      expect(await postCount(ws.id)).toBe(run.inserted);
    });

    it('answers 413 to a real HTTP client and closes the connection instead of leaving it open', async () => {
      const ws = await createWorkspace(limited, 'Too large over HTTP');
      // Megabytes: far more than the server reads before the limit, whatever its stream buffers
      // (Node 22 reads 64 KiB at a time, and had this test's first 100 kB whole before the limit).
      const body = overLimitLines('http').join('').repeat(40);
      expect(body.length).toBeGreaterThan(2_000_000);
      const server = await buildTestApp(db, {
        IMPORT_MAX_BYTES: String(MAX_BYTES),
        IMPORT_BATCH_SIZE: '1000',
      });
      try {
        await server.listen({ host: '127.0.0.1', port: 0 });
        const { port } = server.server.address() as AddressInfo;
        const agent = new http.Agent({ keepAlive: true });
        const outcome = await new Promise<{
          status: number;
          connection: string | undefined;
          body: string;
          socketClosed: Promise<void>;
        }>((resolve, reject) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: `/v1/workspaces/${ws.id}/imports`,
              agent,
              headers: { ...owner.headers, 'content-type': 'application/x-ndjson' },
            },
            (response) => {
              const socket = response.socket;
              const socketClosed = new Promise<void>((done) => socket.once('close', () => done()));
              let text = '';
              response.setEncoding('utf8');
              response.on('data', (d: string) => (text += d));
              response.on('end', () =>
                resolve({
                  status: response.statusCode ?? 0,
                  connection: response.headers.connection,
                  body: text,
                  socketClosed,
                }),
              );
            },
          );
          req.on('error', reject);
          for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
          req.end();
        });
        expect(outcome.status).toBe(413);
        expect(JSON.parse(outcome.body)).toMatchObject({ error: { code: 'payload_too_large' } });
        expect(outcome.connection).toBe('close');
        // The server ends the connection now; before the fix it stayed open until the
        // keep-alive timeout (72 s), blocking graceful shutdown, and this wait timed out.
        await outcome.socketClosed;
        agent.destroy();
      } finally {
        await server.close();
      }
    });
  });
});
