import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postFieldNames, type Post, type Workspace } from '@socialpulse/contracts';
import {
  buildTestApp,
  callerFor,
  createApiKeyAs,
  noRateLimits,
  signUpUser,
  type Caller,
  type TestUser,
} from '../../../../test/support/app.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../../test/support/db.js';
import { postRecord } from '../../../../test/support/factories.js';
import { createInspector, type Inspector } from '../../../../test/support/inspect.js';
import {
  createWorkspace,
  expectError,
  getPostPage,
  importRecords,
  postsUrl,
  walkPosts,
} from '../../../../test/support/http.js';
import { runCli } from '../../../../test/support/server-process.js';
import type { ZodApp } from '../../types.js';

interface CatalogPost {
  external_id: string;
  platform: string;
  account_handle: string | null;
  text: string | null;
  author: string | null;
  created_at: string;
}

/** The filter fixture: every filter below is checked against this list. */
const catalog: CatalogPost[] = [
  {
    external_id: 'x-acme-1',
    platform: 'x',
    account_handle: 'Acme',
    text: 'Ripe banana bread recipe',
    author: 'Acme Kitchen',
    created_at: '2026-03-01T10:00:00Z',
  },
  {
    external_id: 'x-acme-2',
    platform: 'x',
    account_handle: 'acme',
    text: 'Green banana smoothie',
    author: 'Acme Kitchen',
    created_at: '2026-03-02T10:00:00Z',
  },
  {
    external_id: 'x-beta-1',
    platform: 'x',
    account_handle: 'Beta',
    text: 'Apple pie',
    author: 'Beta Bakes',
    created_at: '2026-03-03T10:00:00Z',
  },
  {
    external_id: 'ig-acme-1',
    platform: 'instagram',
    account_handle: '@ACME',
    text: 'Banana split sundae',
    author: 'Acme',
    created_at: '2026-03-04T10:00:00Z',
  },
  {
    external_id: 'ig-gamma-1',
    platform: 'instagram',
    account_handle: 'gamma',
    text: 'Zucchini noodles',
    author: 'Gamma',
    created_at: '2026-03-05T10:00:00Z',
  },
  // 08:00Z: the offset must be honoured by the since/until filters.
  {
    external_id: 'yt-none-1',
    platform: 'youtube',
    account_handle: null,
    text: 'BANANA unboxing',
    author: 'Zucchini Fan',
    created_at: '2026-03-06T10:00:00+02:00',
  },
  {
    external_id: 'x-acme-3',
    platform: 'x',
    account_handle: 'ACME',
    text: null,
    author: null,
    created_at: '2026-03-07T00:00:00Z',
  },
];

const newestFirst = (posts: readonly CatalogPost[]): string[] =>
  [...posts]
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))
    .map((p) => p.external_id);

const externalIds = (data: readonly Partial<Post>[]): (string | undefined)[] =>
  data.map((p) => p.external_id);

describe.skipIf(databaseUnavailable() !== '')('posts API', () => {
  let db: TestDatabase;
  let app: ZodApp;
  let main: Workspace;
  let ties: Workspace;
  let other: Workspace;
  let inspect: Inspector;
  /** The owner of the three workspaces: every test reads as this user unless it says otherwise. */
  let owner: TestUser;
  let api: Caller;

  /** The reference order, straight from PostgreSQL: (created_at DESC, id DESC). */
  const dbOrder = async (workspaceId: string, platform?: string): Promise<string[]> =>
    (
      await inspect.rows<{ id: string }>(
        'SELECT id::text AS id FROM posts WHERE workspace_id = $1 AND ($2::text IS NULL OR platform = $2) ORDER BY created_at DESC, id DESC',
        [workspaceId, platform ?? null],
      )
    ).map((r) => r.id);

  beforeAll(async () => {
    db = await createTestDatabase();
    inspect = createInspector(db);
    // Small batches: the fixtures below span several of them. Hundreds of reads a minute.
    app = await buildTestApp(db, { IMPORT_BATCH_SIZE: '7', ...noRateLimits });
    owner = await signUpUser(app);
    api = callerFor(app, owner);
    main = await createWorkspace(api, 'Main');
    ties = await createWorkspace(api, 'Ties');
    other = await createWorkspace(api, 'Other');
    await importRecords(
      api,
      main.id,
      catalog.map((p) => postRecord({ ...p })),
    );

    // 40 posts at one instant, 6 that differ from it by microseconds only, 14 spread out;
    // shuffled so that id order and time order disagree.
    const same = '2026-05-05T05:05:05.123456Z';
    const records = [
      ...Array.from({ length: 40 }, (_, i) =>
        postRecord({
          external_id: `tie-${i}`,
          created_at: same,
          platform: i % 3 === 0 ? 'tiktok' : 'x',
        }),
      ),
      ...Array.from({ length: 6 }, (_, i) =>
        postRecord({
          external_id: `micro-${i}`,
          created_at: `2026-05-05T05:05:05.12345${i % 2 === 0 ? 5 : 7}Z`,
          platform: 'x',
        }),
      ),
      ...Array.from({ length: 14 }, (_, i) =>
        postRecord({
          external_id: `spread-${i}`,
          created_at: new Date(Date.UTC(2026, 4, 1 + i * 2)).toISOString(),
          platform: 'tiktok',
        }),
      ),
    ];
    const shuffled = records
      .map((r, i) => ({ r, k: (i * 7919) % records.length }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.r);
    await importRecords(api, ties.id, shuffled);
  });
  afterAll(async () => {
    await app?.close();
    await inspect?.close();
    await db?.drop();
  });

  describe('filters', () => {
    it('lists every post newest first with the full post shape', async () => {
      const page = await getPostPage(api, main.id);
      expect(externalIds(page.data)).toEqual(newestFirst(catalog));
      expect(page.next_cursor).toBeNull();
      for (const post of page.data)
        expect(Object.keys(post).sort()).toEqual([...postFieldNames].sort());
      const yt = page.data.find((p) => p.external_id === 'yt-none-1');
      expect(yt).toMatchObject({
        platform: 'youtube',
        created_at: '2026-03-06T08:00:00.000Z',
        account_handle: null,
        account_id: null,
        workspace_id: main.id,
        source: 'api',
      });
    });

    // A model of the filters (platform, account, since, until) checked on every combination.
    const platformsToTry = [undefined, 'x', 'instagram', 'tiktok'];
    const accountsToTry = [undefined, 'acme', '@Acme', 'ACME', 'beta', 'nobody'];
    const windows: { since?: string; until?: string }[] = [
      {},
      { since: '2026-03-02T10:00:00Z' },
      { until: '2026-03-04T10:00:00Z' },
      { since: '2026-03-02T10:00:00Z', until: '2026-03-04T10:00:00Z' },
      { since: '2026-03-06T09:00:00+02:00', until: '2026-03-06T12:00:00+02:00' },
    ];
    const combos = platformsToTry.flatMap((platform) =>
      accountsToTry.flatMap((account) => windows.map((w) => ({ platform, account, ...w }))),
    );

    it(`matches the model on all ${combos.length} combinations of platform, account, since and until`, async () => {
      for (const combo of combos) {
        const expected = newestFirst(
          catalog.filter(
            (p) =>
              (!combo.platform || p.platform === combo.platform) &&
              (!combo.account ||
                (p.account_handle ?? '').replace(/^@/, '').toLowerCase() ===
                  combo.account.replace(/^@/, '').toLowerCase()) &&
              (!combo.since || Date.parse(p.created_at) >= Date.parse(combo.since)) &&
              (!combo.until || Date.parse(p.created_at) < Date.parse(combo.until)),
          ),
        );
        const page = await getPostPage(api, main.id, combo);
        expect({ combo, ids: externalIds(page.data) }).toEqual({ combo, ids: expected });
      }
    });

    it('filters by account across platforms, case-insensitively, with or without @', async () => {
      for (const account of ['acme', 'ACME', '@acme', '@AcMe']) {
        expect(externalIds((await getPostPage(api, main.id, { account })).data)).toEqual([
          'x-acme-3',
          'ig-acme-1',
          'x-acme-2',
          'x-acme-1',
        ]);
      }
      expect(
        externalIds(
          (await getPostPage(api, main.id, { account: 'acme', platform: 'instagram' })).data,
        ),
      ).toEqual(['ig-acme-1']);
    });

    // A numeric account is an account id or a handle made of digits (it used to be a 500:
    // "function lower(bigint) does not exist").
    it('filters by SocialPulse account id', async () => {
      const beta = (await getPostPage(api, main.id, { account: 'beta' })).data[0];
      expect(beta?.account_id).toMatch(/^\d+$/);
      expect(
        externalIds((await getPostPage(api, main.id, { account: beta?.account_id ?? '' })).data),
      ).toEqual(['x-beta-1']);
    });

    it('treats since as inclusive and until as exclusive', async () => {
      const at = '2026-03-03T10:00:00Z';
      expect(
        externalIds(
          (await getPostPage(api, main.id, { since: at, until: '2026-03-03T10:00:00.001Z' })).data,
        ),
      ).toEqual(['x-beta-1']);
      expect(
        externalIds(
          (await getPostPage(api, main.id, { since: '2026-03-03T09:00:00Z', until: at })).data,
        ),
      ).toEqual([]);
    });

    it.each([
      ['banana', ['yt-none-1', 'ig-acme-1', 'x-acme-2', 'x-acme-1']],
      ['BANANA', ['yt-none-1', 'ig-acme-1', 'x-acme-2', 'x-acme-1']],
      ['zucchini', ['yt-none-1', 'ig-gamma-1']], // in the text of one and the author of the other
      ['"banana bread"', ['x-acme-1']],
      ['banana -ripe', ['yt-none-1', 'ig-acme-1', 'x-acme-2']],
      ['apple or zucchini', ['yt-none-1', 'ig-gamma-1', 'x-beta-1']],
      ['kitchen', ['x-acme-2', 'x-acme-1']],
      ['durian', []],
    ])('searches the full text with q=%j', async (q, expected) => {
      expect(externalIds((await getPostPage(api, main.id, { q })).data)).toEqual(expected);
    });

    it('combines every filter with AND', async () => {
      const page = await getPostPage(api, main.id, {
        q: 'banana',
        platform: 'x',
        account: '@acme',
        since: '2026-03-01T12:00:00Z',
        until: '2026-03-07T00:00:00Z',
      });
      expect(externalIds(page.data)).toEqual(['x-acme-2']);
      expect(
        (await getPostPage(api, main.id, { q: 'banana', platform: 'instagram', account: 'gamma' }))
          .data,
      ).toEqual([]);
    });

    it.each([
      ['since after until', { since: '2026-03-05T00:00:00Z', until: '2026-03-01T00:00:00Z' }],
      ['since equal to until', { since: '2026-03-05T00:00:00Z', until: '2026-03-05T00:00:00Z' }],
      [
        'the same instant in two offsets',
        { since: '2026-03-05T02:00:00+02:00', until: '2026-03-05T00:00:00Z' },
      ],
    ])('refuses %s with 400', async (_what, query) => {
      const error = expectError(
        await api.inject({ url: postsUrl(main.id, query) }),
        400,
        'validation_failed',
      );
      expect(error.message).toContain('since');
    });

    it.each([
      ['a date without time', { since: '2026-03-05' }],
      ['a time without zone', { since: '2026-03-05T00:00:00' }],
      ['an impossible date', { until: '2026-02-30T00:00:00Z' }],
      // zod's ISO check accepts these; PostgreSQL does not (they used to be 500s).
      ['year 0000', { since: '0000-01-01T00:00:00Z' }],
      ['an offset past 15:59', { until: '2026-03-05T00:00:00+16:00' }],
      ['a NUL in q', { q: 'banana\u0000' }],
      ['a NUL in account', { account: 'ac\u0000me' }],
      ['an unknown platform', { platform: 'myspace' }],
      ['an empty q', { q: '' }],
      ['an unknown parameter', { sort: 'likes' }],
    ])('refuses %s with 400 validation_failed', async (_what, query) => {
      expectError(await api.inject({ url: postsUrl(main.id, query) }), 400, 'validation_failed');
    });

    it('accepts the earliest and widest values PostgreSQL can hold', async () => {
      expect(
        externalIds(
          (
            await getPostPage(api, main.id, {
              since: '0001-01-01T00:00:00+15:59',
              until: '9999-12-31T23:59:59-15:59',
            })
          ).data,
        ),
      ).toEqual(newestFirst(catalog));
    });

    it('names an unknown query parameter', async () => {
      const error = expectError(
        await api.inject({ url: postsUrl(main.id, { sort: 'likes' }) }),
        400,
        'validation_failed',
      );
      expect(JSON.stringify(error)).toContain('sort');
    });
  });

  describe('cursor pagination', () => {
    it.each([1, 3, 4, 7, 50])(
      'walks every post exactly once in (created_at DESC, id DESC) order, ties included, with limit %i',
      async (limit) => {
        const pages = await walkPosts(api, ties.id, { limit, fields: 'id' });
        const ids = pages.flatMap((p) => p.data.map((d) => d.id));
        expect(ids).toEqual(await dbOrder(ties.id));
        expect(ids).toHaveLength(60);
        expect(new Set(ids).size).toBe(60);
        expect(pages).toHaveLength(Math.ceil(60 / limit));
        for (const page of pages.slice(0, -1)) expect(page.data).toHaveLength(limit);
        expect(pages.at(-1)?.next_cursor).toBeNull();
      },
    );

    it('walks a filtered list; posts a microsecond apart and the 40-way tie keep their exact order', async () => {
      const pages = await walkPosts(api, ties.id, {
        limit: 4,
        platform: 'x',
        fields: 'id,external_id,created_at,platform',
      });
      const data = pages.flatMap((p) => p.data);
      expect(data.every((p) => p.platform === 'x')).toBe(true);
      expect(data.map((d) => d.id)).toEqual(await dbOrder(ties.id, 'x'));
      // All of these share one millisecond, the precision of created_at in the API: the order
      // is decided by microseconds, then by id.
      const sameMs = data
        .filter((d) => d.created_at === '2026-05-05T05:05:05.123Z')
        .map((d) => d.external_id ?? '');
      const group = (id: string): number =>
        id.startsWith('tie-') ? 1 : /^micro-[135]$/.test(id) ? 0 : 2;
      expect(sameMs.map(group)).toEqual([...sameMs.map(group)].sort());
      expect(sameMs.map(group)).toEqual([0, 0, 0, ...Array.from({ length: 26 }, () => 1), 2, 2, 2]);
      const tied = data
        .filter((d) => d.external_id?.startsWith('tie-'))
        .map((d) => BigInt(d.id ?? '0'));
      expect(tied).toEqual([...tied].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    });

    it('keeps a cursor valid when only limit or fields change', async () => {
      const first = await getPostPage(api, ties.id, { limit: 5 });
      const ids = first.data.map((d) => d.id);
      let cursor = first.next_cursor;
      let limit = 2;
      while (cursor) {
        const page = await getPostPage(api, ties.id, {
          limit,
          cursor,
          fields: limit % 2 ? 'id,text' : 'id',
        });
        ids.push(...page.data.map((d) => d.id));
        cursor = page.next_cursor;
        limit = (limit % 9) + 1;
      }
      expect(ids).toEqual(await dbOrder(ties.id));
    });

    it('answers the default page of 50 and accepts limit 1 to 1000', async () => {
      const page = await getPostPage(api, ties.id);
      expect(page.data).toHaveLength(50);
      expect(page.next_cursor).not.toBeNull();
      expect((await getPostPage(api, ties.id, { limit: 1 })).data).toHaveLength(1);
      const all = await getPostPage(api, ties.id, { limit: 1000 });
      expect(all.data).toHaveLength(60);
      expect(all.next_cursor).toBeNull();
      // Exactly one page: no cursor to an empty page.
      expect((await getPostPage(api, ties.id, { limit: 60 })).next_cursor).toBeNull();
    });

    it.each(['0', '1001', '-1', '1.5', 'abc', ''])(
      'refuses limit=%j with 400 validation_failed',
      async (limit) => {
        const error = expectError(
          await api.inject({ url: `${postsUrl(ties.id)}?limit=${limit}` }),
          400,
          'validation_failed',
        );
        expect(error.details).toMatchObject({
          problems: [expect.objectContaining({ field: 'limit' })],
        });
      },
    );

    it('refuses a cursor reused with different filters or in another workspace with 400 invalid_cursor', async () => {
      const { next_cursor: cursor } = await getPostPage(api, ties.id, { limit: 2, platform: 'x' });
      expect(cursor).toEqual(expect.any(String));
      const reuse = async (workspaceId: string, query: Record<string, string>) =>
        expectError(
          await api.inject({ url: postsUrl(workspaceId, { ...query, cursor: cursor ?? '' }) }),
          400,
          'invalid_cursor',
        );
      const otherFilters: Record<string, string>[] = [
        {},
        { platform: 'tiktok' },
        { platform: 'x', q: 'post' },
        { platform: 'x', since: '2020-01-01T00:00:00Z' },
        { platform: 'x', account: 'acme' },
      ];
      for (const query of otherFilters) {
        const error = await reuse(ties.id, query);
        expect(error.message).toContain('different filters');
        expect(error.details).toEqual({ field: 'cursor' });
      }
      await reuse(other.id, { platform: 'x' });
      // The same filters still accept it.
      expect(
        (
          await api.inject({
            url: postsUrl(ties.id, { platform: 'x', limit: 2, cursor: cursor ?? '' }),
          })
        ).statusCode,
      ).toBe(200);
    });

    const b64 = (value: unknown): string =>
      Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

    it.each([
      ['garbage', 'garbage'],
      ['punctuation', '!!!***'],
      ['JSON null', b64('null')],
      ['a JSON number', b64('42')],
      ['a JSON string', b64('"cursor"')],
      ['a JSON array', b64([1, 2])],
      ['an unknown version', b64({ v: 2, t: '1', i: '1', f: 'x' })],
      ['a non-numeric time', b64({ v: 1, t: 'yesterday', i: '1', f: 'x' })],
    ])('refuses %s as a cursor with 400 invalid_cursor', async (_what, cursor) => {
      const error = expectError(
        await api.inject({ url: postsUrl(ties.id, { cursor }) }),
        400,
        'invalid_cursor',
      );
      expect(error.details).toEqual({ field: 'cursor' });
    });

    it('refuses a tampered cursor whose position PostgreSQL cannot represent with 400 invalid_cursor (not a 500)', async () => {
      const { next_cursor: cursor } = await getPostPage(api, ties.id, { limit: 2 });
      const genuine = JSON.parse(Buffer.from(cursor ?? '', 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      for (const change of [
        { t: '9999999999999999999' },
        { t: '9223372036854775807' },
        { t: '-9223372036854775808' },
        { i: '9999999999999999999' },
      ]) {
        expectError(
          await api.inject({
            url: postsUrl(ties.id, { limit: 2, cursor: b64({ ...genuine, ...change }) }),
          }),
          400,
          'invalid_cursor',
        );
      }
      // Positions in range are honoured, even far away: before the first post, nothing is left.
      const early = await getPostPage(api, ties.id, {
        limit: 2,
        cursor: b64({ ...genuine, t: '-62135596800000000' }),
      });
      expect(early).toEqual({ data: [], next_cursor: null });
    });

    it('refuses a cursor over 500 characters with 400 validation_failed', async () => {
      expectError(
        await api.inject({ url: postsUrl(ties.id, { cursor: 'a'.repeat(501) }) }),
        400,
        'validation_failed',
      );
    });
  });

  describe('sparse fieldsets', () => {
    it('returns only the requested keys, with the values of the full post', async () => {
      const full = await getPostPage(api, main.id);
      const sparse = await getPostPage(api, main.id, { fields: 'id,text,likes' });
      expect(sparse.data).toHaveLength(full.data.length);
      sparse.data.forEach((post, i) => {
        expect(Object.keys(post).sort()).toEqual(['id', 'likes', 'text']);
        const whole = full.data[i];
        expect(post).toEqual({ id: whole?.id, text: whole?.text, likes: whole?.likes });
      });
    });

    it('trims spaces, ignores empty items and keeps a null value as null', async () => {
      const page = await getPostPage(api, main.id, {
        fields: ' external_id , text,,',
        platform: 'x',
        account: 'acme',
        limit: 1,
      });
      expect(page.data).toEqual([{ external_id: 'x-acme-3', text: null }]);
    });

    it('accepts every field of a post by name', async () => {
      const page = await getPostPage(api, main.id, { fields: postFieldNames.join(','), limit: 1 });
      expect(Object.keys(page.data[0] ?? {}).sort()).toEqual([...postFieldNames].sort());
    });

    it.each([
      ['id,bogus', ['bogus']],
      ['colour,id,size', ['colour', 'size']],
      ['ID', ['ID']],
      ['raw', ['raw']],
    ])('refuses fields=%j with 400 naming the unknown fields', async (fields, unknown) => {
      const error = expectError(
        await api.inject({ url: postsUrl(main.id, { fields }) }),
        400,
        'validation_failed',
      );
      for (const name of unknown) expect(error.message).toContain(`"${name}"`);
      expect(error.details).toMatchObject({
        field: 'fields',
        value: fields,
        allowed: postFieldNames,
      });
    });

    it.each(['', ',', ' , '])('refuses fields=%j (no field named) with 400', async (fields) => {
      const error = expectError(
        await api.inject({ url: postsUrl(main.id, { fields }) }),
        400,
        'validation_failed',
      );
      expect(error.details).toMatchObject({ field: 'fields' });
    });
  });

  describe('one post and its snapshots', () => {
    it('gets a post by id, equal to its list entry', async () => {
      const listed = (await getPostPage(api, main.id, { q: 'smoothie' })).data[0];
      const res = await api.inject({ url: `/v1/workspaces/${main.id}/posts/${listed?.id ?? ''}` });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(listed);
    });

    it("lists a post's metric snapshots in time order while the post keeps the newest metrics", async () => {
      const ws = await createWorkspace(api, 'Snapshots');
      const base = {
        external_id: 'snap-1',
        created_at: '2026-01-01T00:00:00Z',
        text: 'time series',
      };
      await importRecords(api, ws.id, [
        postRecord({ ...base, likes: 10, views: 100, metrics_captured_at: '2026-01-02T00:00:00Z' }),
      ]);
      await importRecords(api, ws.id, [
        postRecord({ ...base, likes: 30, views: 300, metrics_captured_at: '2026-01-04T00:00:00Z' }),
      ]);
      // An older observation arriving last adds a point but does not roll the metrics back.
      await importRecords(api, ws.id, [
        postRecord({
          ...base,
          likes: 20,
          views: null,
          metrics_captured_at: '2026-01-03T00:00:00Z',
        }),
      ]);
      const [post] = (await getPostPage(api, ws.id)).data;
      expect(post).toMatchObject({
        likes: 30,
        views: 300,
        metrics_captured_at: '2026-01-04T00:00:00.000Z',
      });

      const res = await api.inject({
        url: `/v1/workspaces/${ws.id}/posts/${post?.id ?? ''}/snapshots`,
      });
      expect(res.statusCode).toBe(200);
      const { data } = res.json<{ data: Record<string, unknown>[] }>();
      expect(data.map((s) => [s.captured_at, s.likes, s.views])).toEqual([
        ['2026-01-02T00:00:00.000Z', 10, 100],
        ['2026-01-03T00:00:00.000Z', 20, null],
        ['2026-01-04T00:00:00.000Z', 30, 300],
      ]);
      expect(Object.keys(data[0] ?? {}).sort()).toEqual([
        'captured_at',
        'comments',
        'impressions',
        'likes',
        'saves',
        'shares',
        'views',
      ]);
    });

    it('answers 404 for an unknown post and 400 for a malformed post id', async () => {
      for (const suffix of ['', '/snapshots']) {
        const error = expectError(
          await api.inject({ url: `/v1/workspaces/${main.id}/posts/999999999${suffix}` }),
          404,
          'not_found',
        );
        expect(error.details).toEqual({ resource: 'post', id: '999999999' });
        for (const bad of ['abc', '-1', '1.5', '1234567890123456789']) {
          expectError(
            await api.inject({ url: `/v1/workspaces/${main.id}/posts/${bad}${suffix}` }),
            400,
            'validation_failed',
          );
        }
      }
    });
  });

  describe('export', () => {
    const exportUrl = (workspaceId: string, query: Record<string, string> = {}): string =>
      `/v1/workspaces/${workspaceId}/posts/export?${new URLSearchParams(query).toString()}`;
    const exportAudits = async (workspaceId: string): Promise<Record<string, unknown>[]> =>
      (
        await inspect.rows<{ actor: string; details: Record<string, unknown> }>(
          "SELECT actor, details FROM audit_log WHERE workspace_id = $1 AND action = 'posts.exported' ORDER BY id",
          [workspaceId],
        )
      ).map((r) => ({ actor: r.actor, ...r.details }));

    it('streams what `socialpulse export` writes for the same filters, as CSV or JSON Lines', async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-posts-export-'));
      try {
        const cases: { workspace: Workspace; filters: Record<string, string> }[] = [
          { workspace: main, filters: {} },
          { workspace: main, filters: { platform: 'x', account: 'acme', q: 'banana' } },
          {
            workspace: main,
            filters: { since: '2026-03-02T10:00:00Z', until: '2026-03-06T09:00:00+01:00' },
          },
          { workspace: ties, filters: { platform: 'tiktok' } },
        ];
        for (const { workspace, filters } of cases) {
          for (const format of ['csv', 'jsonl'] as const) {
            const res = await api.inject({ url: exportUrl(workspace.id, { format, ...filters }) });
            const what = `${workspace.name} ${format} ${JSON.stringify(filters)}`;
            expect(res.statusCode, `${what}: ${res.body}`).toBe(200);
            expect(res.headers['content-type']).toBe(
              format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
            );
            expect(res.headers['content-disposition']).toBe(
              `attachment; filename="posts-${workspace.id}.${format}"`,
            );
            const cli = await runCli(
              [
                'export',
                '--workspace',
                workspace.name,
                '--format',
                format,
                ...Object.entries(filters).flatMap(([k, v]) => [`--${k}`, v]),
              ],
              { DATABASE_URL: db.url, DATA_DIR: dataDir },
            );
            expect(cli.code, cli.stderr).toBe(0);
            expect(res.body, what).toBe(cli.stdout);
            expect(res.body.length, what).toBeGreaterThan(100);
          }
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      // The filters select what the posts list shows, in its order.
      const jsonl = await api.inject({
        url: exportUrl(main.id, { platform: 'x', account: 'acme', q: 'banana' }),
      });
      const listed = await getPostPage(api, main.id, {
        platform: 'x',
        account: 'acme',
        q: 'banana',
      });
      expect(
        jsonl.body
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { external_id: string }).external_id),
      ).toEqual(externalIds(listed.data));
    });

    it('is documented with its filters and both formats', async () => {
      const doc = (await app.inject({ url: '/openapi.json' })).json<{
        paths: Record<
          string,
          Record<
            string,
            {
              parameters?: { name: string; in: string }[];
              responses: Record<string, { content?: Record<string, unknown> }>;
            }
          >
        >;
      }>();
      const op = doc.paths['/v1/workspaces/{workspaceId}/posts/export']?.get;
      expect(
        op?.parameters
          ?.filter((p) => p.in === 'query')
          .map((p) => p.name)
          .sort(),
      ).toEqual(['account', 'format', 'platform', 'q', 'since', 'until']);
      expect(Object.keys(op?.responses['200']?.content ?? {}).sort()).toEqual([
        'application/x-ndjson',
        'text/csv',
      ]);
      expect(Object.keys(op?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '400', '401', '403', '404']),
      );
    });

    it('is compressed when the client accepts it, and JSON Lines by default', async () => {
      const plain = await api.inject({ url: exportUrl(ties.id) });
      expect(plain.headers['content-type']).toBe('application/x-ndjson');
      for (const format of ['csv', 'jsonl'] as const) {
        const res = await api.inject({
          url: exportUrl(ties.id, { format }),
          headers: { 'accept-encoding': 'gzip' },
        });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-encoding'], format).toBe('gzip');
        const body = gunzipSync(res.rawPayload).toString('utf8');
        expect(body).toBe((await api.inject({ url: exportUrl(ties.id, { format }) })).body);
      }
      expect(plain.body.trim().split('\n')).toHaveLength(60);
    });

    it('records each export in the audit log with the filters it applied; a refused one is not an export', async () => {
      const ws = await createWorkspace(api, 'Audited export');
      await importRecords(api, ws.id, [postRecord({ external_id: 'audited-1' })]);
      const refused: Record<string, string>[] = [
        { limit: '5' },
        { cursor: 'abc' },
        { fields: 'id' },
        { format: 'xml' },
        { since: '2026-03-02T00:00:00Z', until: '2026-03-01T00:00:00Z' },
        { account: 'a\u0000b' },
      ];
      for (const query of refused)
        expectError(await api.inject({ url: exportUrl(ws.id, query) }), 400, 'validation_failed');
      expect(await exportAudits(ws.id)).toEqual([]);
      const key = callerFor(app, await createApiKeyAs(app, owner, ws.id, ['read']));
      const res = await key.inject({ url: exportUrl(ws.id, { format: 'csv', account: 'evil' }) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body.trim().split('\n')).toHaveLength(1);
      expect(await exportAudits(ws.id)).toEqual([
        {
          actor: expect.stringContaining('key') as unknown,
          format: 'csv',
          filters: { account: 'evil' },
          destination: 'http',
        },
      ]);
    });
  });

  describe('workspace isolation', () => {
    it("answers 404 for a post of workspace A requested under workspace B, and B's list never shows it", async () => {
      const a = (await getPostPage(api, main.id, { limit: 1 })).data[0];
      const id = a?.id ?? '';
      expect(id).not.toBe('');
      expect((await api.inject({ url: `/v1/workspaces/${main.id}/posts/${id}` })).statusCode).toBe(
        200,
      );
      expectError(
        await api.inject({ url: `/v1/workspaces/${other.id}/posts/${id}` }),
        404,
        'not_found',
      );
      expectError(
        await api.inject({ url: `/v1/workspaces/${other.id}/posts/${id}/snapshots` }),
        404,
        'not_found',
      );
      expectError(
        await api.inject({ url: `/v1/workspaces/${ties.id}/posts/${id}` }),
        404,
        'not_found',
      );
      expect(await getPostPage(api, other.id)).toEqual({ data: [], next_cursor: null });
      const tiesIds = (await walkPosts(api, ties.id, { limit: 1000, fields: 'id' })).flatMap((p) =>
        p.data.map((d) => d.id),
      );
      expect(tiesIds).not.toContain(id);
    });

    it('answers 401 unauthorized without credentials on every posts route, and nothing of the posts', async () => {
      const id = (await getPostPage(api, main.id, { limit: 1 })).data[0]?.id ?? '';
      for (const url of [
        postsUrl(main.id),
        postsUrl(main.id, { q: 'banana', limit: 1 }),
        `/v1/workspaces/${main.id}/posts/${id}`,
        `/v1/workspaces/${main.id}/posts/${id}/snapshots`,
      ]) {
        const res = await app.inject({ url });
        const error = expectError(res, 401, 'unauthorized');
        expect(error.details).toEqual({ reason: 'missing_credentials' });
        expect(res.body).not.toContain('banana');
      }
    });

    it("answers 404 to a user who is not a member, and a read key sees its own workspace's posts only", async () => {
      const stranger = callerFor(app, await signUpUser(app));
      for (const url of [postsUrl(main.id), `/v1/workspaces/${main.id}/posts/1`]) {
        const error = expectError(await stranger.inject({ url }), 404, 'not_found');
        expect(error.details).toEqual({ resource: 'workspace', id: main.id });
      }
      const key = callerFor(app, await createApiKeyAs(app, owner, main.id, ['read']));
      expect(await getPostPage(key, main.id, { limit: 1000 })).toEqual(
        await getPostPage(api, main.id, { limit: 1000 }),
      );
      expectError(await key.inject({ url: postsUrl(other.id) }), 404, 'not_found');
    });

    it('answers 404 for the posts of an unknown workspace and 400 for a malformed workspace id', async () => {
      const error = expectError(
        await api.inject({ url: postsUrl('00000000-0000-4000-8000-000000000000') }),
        404,
        'not_found',
      );
      expect(error.details).toMatchObject({ resource: 'workspace' });
      expectError(await api.inject({ url: '/v1/workspaces/nope/posts' }), 400, 'validation_failed');
      expectError(
        await api.inject({ url: '/v1/workspaces/nope/posts/1' }),
        400,
        'validation_failed',
      );
    });
  });
});
