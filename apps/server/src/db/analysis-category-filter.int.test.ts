/**
 * Migration 0016: the results' category filter (`GET …/results?category=`) reads the side table
 * `analysis_result_categories`, filled by a trigger on the results' insert, instead of
 * `category = $n OR local -> 'categories' ? $n` (not leakproof: no index under row-level security).
 * Same rows as that condition, page after page; the side table is a tenant table like the results;
 * and the application role's plan reads it by its index.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../test/support/db.js';
import { listResults, type ResultFilter } from './repos/analyses.repo.js';
import { withTenant } from './tenant.js';

let db: TestDatabase;
let wsA: string;
let wsB: string;
/** Small analysis of A: every shape `local -> 'categories'` may take. */
let small: string;
/** Large analyses (20,000 results each), A's and B's, for the plan. */
let largeA: string;
let largeB: string;

const SMALL = 300;
const LARGE = 20_000;

async function newAnalysis(workspace: string, posts: number): Promise<string> {
  const { rows } = await db.adminPool.query<{ id: string }>(
    `INSERT INTO analyses (workspace_id, fairness_key, status, engines, selection, options, chunk_size, total_posts, chunk_count)
     VALUES ($1, 'system', 'running', '{local,llm}', '{}', '{}', 100, $2, $2 / 100) RETURNING id`,
    [workspace, posts],
  );
  return rows[0]!.id;
}

async function newPosts(workspace: string, n: number, prefix: string): Promise<number[]> {
  const { rows } = await db.adminPool.query<{ id: number }>(
    `INSERT INTO posts (workspace_id, platform, external_id, text, created_at, metrics_captured_at, source)
     SELECT $1, 'x', $2 || g, 'post ' || g, now(), now(), 'import' FROM generate_series(1, $3) g RETURNING id`,
    [workspace, prefix, n],
  );
  return rows.map((r) => r.id).sort((x, y) => x - y);
}

/** The results' insert of a chunk's commit (analysis_chunk_commit): as the application role, scoped. */
async function insertResults(
  workspace: string,
  analysis: string,
  rows: { postId: number; label: string; category: string | null; local: unknown }[],
): Promise<number> {
  return withTenant(db.pool, { workspaceId: workspace, userId: null }, async (c) => {
    const r = await c.query(
      `INSERT INTO analysis_results (analysis_id, workspace_id, post_id, chunk_seq, sentiment_label, category, local)
       SELECT $1, $2, r."postId", 0, r.label, r.category, r.local
         FROM jsonb_to_recordset($3::jsonb) AS r("postId" bigint, label text, category text, local jsonb)
       ON CONFLICT (analysis_id, post_id) DO NOTHING`,
      [analysis, workspace, JSON.stringify(rows)],
    );
    return r.rowCount ?? 0;
  });
}

const LABELS = ['negative', 'neutral', 'positive'];
const LLM = ['refunds', 'Refunds', 'shipping', null, 'praise', 'billing', null];
const LOCAL: unknown[] = [
  { categories: ['billing'] },
  { categories: ['refunds', 'billing'] },
  { categories: [] },
  { keywords: ['no categories'] },
  null,
  { categories: ['delivery', 7, ['refunds'], null] },
  { categories: 'refunds' },
  { categories: { refunds: true, delivery: 1 } },
  { categories: ['refunds', 'refunds'] },
  { categories: null },
  { categories: ['REFUNDS'] },
];

beforeAll(async () => {
  db = await createTestDatabase();
  const ws = await db.adminPool.query<{ id: string }>(
    "INSERT INTO workspaces (name) VALUES ('categories-a'), ('categories-b') RETURNING id",
  );
  [wsA, wsB] = ws.rows.map((r) => r.id) as [string, string];

  small = await newAnalysis(wsA, SMALL);
  const smallPosts = await newPosts(wsA, SMALL, 's');
  const rows = smallPosts.map((postId, i) => ({
    postId,
    label: LABELS[i % LABELS.length]!,
    category: LLM[i % LLM.length]!,
    local: LOCAL[i % LOCAL.length],
  }));
  // Chunks of 100, one of them written twice (a retried commit): ON CONFLICT leaves it alone.
  for (let i = 0; i < SMALL; i += 100)
    expect(await insertResults(wsA, small, rows.slice(i, i + 100))).toBe(100);
  expect(await insertResults(wsA, small, rows.slice(50, 150))).toBe(0);

  // Large analyses: 'recall' on 0.05% of the results, as the LLM's
  // category or a rule's; 'common' on 20%. Written by the owner (the trigger fires all the same).
  [largeA, largeB] = [await newAnalysis(wsA, LARGE), await newAnalysis(wsB, LARGE)];
  const postsA = await newPosts(wsA, LARGE, 'a');
  const postsB = await newPosts(wsB, LARGE, 'b');
  for (const [analysis, workspace, posts] of [
    [largeA, wsA, postsA],
    [largeB, wsB, postsB],
  ] as const) {
    await db.adminPool.query(
      `INSERT INTO analysis_results (analysis_id, workspace_id, post_id, chunk_seq, sentiment_label, category, local)
       SELECT $1, $2, p.id, (p.i - 1) / 100, CASE WHEN p.i % 100 = 0 THEN 'negative' ELSE 'neutral' END,
              CASE WHEN p.i % 4000 = 7 THEN 'recall' ELSE 'c' || (p.i % 8) END,
              jsonb_build_object('categories', CASE WHEN p.i % 4000 = 2007 THEN '["recall"]'::jsonb
                                                    WHEN p.i % 5 = 0 THEN '["common"]'::jsonb ELSE '[]'::jsonb END)
         FROM unnest($3::bigint[]) WITH ORDINALITY AS p(id, i)`,
      [analysis, workspace, posts],
    );
  }
  await db.adminPool.query(
    'VACUUM ANALYZE analysis_results, analysis_result_categories, posts, analyses',
  );
});

afterAll(async () => {
  await db?.drop();
});

const inA = <T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> =>
  withTenant(db.pool, { workspaceId: wsA, userId: null }, work);

/**
 * Post ids of the filter as the condition before 0016 selects them (all of them, in order), in any
 * letter case, as the filter now matches.
 */
async function expected(analysis: string, filter: ResultFilter): Promise<number[]> {
  return inA(async (c) => {
    const { rows } = await c.query<{ post_id: number }>(
      `SELECT post_id FROM analysis_results r
        WHERE r.analysis_id = $1
          AND (lower(r.category) = lower($2) OR lower((r.local -> 'categories')::text)::jsonb ? lower($2))
          AND ($3::text IS NULL OR r.sentiment_label = $3) ORDER BY post_id`,
      [analysis, filter.category, filter.label ?? null],
    );
    return rows.map((r) => Number(r.post_id));
  });
}

/** Every page of listResults, as the route pages (limit + 1 rows, the last row's post id as cursor). */
async function paged(analysis: string, filter: ResultFilter, pageSize: number): Promise<number[]> {
  const all: number[] = [];
  let after: string | null = null;
  for (;;) {
    const rows = await inA((c) => listResults(c, analysis, filter, after, pageSize + 1));
    const page = rows.slice(0, pageSize);
    all.push(...page.map((r) => Number(r.post_id)));
    if (rows.length <= pageSize) return all;
    after = String(page[page.length - 1]!.post_id);
  }
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const nodesOf = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodesOf)];

/** The application role's plan of the statement listResults sends (recorded, then explained). */
async function planOf(
  analysis: string,
  filter: ResultFilter,
  after: string | null,
): Promise<PlanNode[]> {
  return inA(async (c) => {
    let sent: { text: string; values: unknown[] } | undefined;
    const recorder = new Proxy(c, {
      get: (target, key) =>
        key === 'query'
          ? (text: string, values: unknown[]) => {
              sent = { text, values };
              return Promise.resolve({ rows: [] });
            }
          : (Reflect.get(target, key) as unknown),
    });
    await listResults(recorder, analysis, filter, after, 101);
    if (!sent) throw new Error('listResults sent nothing');
    const { rows } = await c.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `EXPLAIN (FORMAT JSON) ${sent.text}`,
      sent.values,
    );
    return nodesOf(rows[0]!['QUERY PLAN'][0]!.Plan);
  });
}

describe.skipIf(databaseUnavailable() !== '')('the results’ category filter (0016)', () => {
  it.each([
    ['refunds', 'the LLM’s, a rule’s, a lone string, an object’s key', true],
    ['Refunds', 'another letter case, the same rows', true],
    ['shipping', 'the LLM’s only', true],
    ['billing', 'a rule’s and the LLM’s, on the same result', true],
    ['delivery', 'among non-string elements', true],
    ['7', 'a number is not a category', false],
    ['nothing', 'none', false],
  ])(
    'returns the rows the old condition returned: %s (%s), every page, with and without a label',
    async (category, _what, matches) => {
      for (const label of [undefined, 'negative']) {
        const filter: ResultFilter = { category, label };
        const want = await expected(small, filter);
        expect(want.length > 0).toBe(matches);
        expect(await paged(small, filter, 7)).toEqual(want);
        expect(await paged(small, filter, 1000)).toEqual(want);
      }
    },
  );

  it('pages a large analysis the same way, with the cursor and a label', async () => {
    for (const filter of [
      { category: 'recall' },
      { category: 'common', label: 'negative' },
      { category: 'c3' },
    ]) {
      const want = await expected(largeA, filter);
      expect(want.length).toBeGreaterThan(0);
      expect(await paged(largeA, filter, 101)).toEqual(want);
    }
  });

  it('keeps the side table inside the workspace: row-level security as on the results', async () => {
    const owner = await db.adminPool.query<{ workspace_id: string; n: number }>(
      'SELECT workspace_id, count(*)::int AS n FROM analysis_result_categories GROUP BY 1',
    );
    const count = (ws: string): number => owner.rows.find((r) => r.workspace_id === ws)?.n ?? 0;
    expect(count(wsB)).toBeGreaterThan(0);

    const seen = await inA(
      async (c) =>
        (
          await c.query<{ workspace_id: string; analysis_id: string }>(
            'SELECT workspace_id, analysis_id FROM analysis_result_categories',
          )
        ).rows,
    );
    expect(seen).toHaveLength(count(wsA));
    expect(new Set(seen.map((r) => r.workspace_id))).toEqual(new Set([wsA]));
    // B's analysis, asked for by id from A's scope: nothing, through the table or the filter.
    expect(
      await inA(
        async (c) =>
          (
            await c.query('SELECT 1 FROM analysis_result_categories WHERE analysis_id = $1', [
              largeB,
            ])
          ).rowCount,
      ),
    ).toBe(0);
    expect(await inA((c) => listResults(c, largeB, { category: 'recall' }, null, 101))).toEqual([]);
    // No scope: nothing.
    expect((await db.pool.query('SELECT 1 FROM analysis_result_categories')).rowCount).toBe(0);
    // A row carrying B's workspace, written from A's scope: refused.
    const [bRow] = (
      await db.adminPool.query<{ post_id: number }>(
        'SELECT post_id FROM analysis_result_categories WHERE analysis_id = $1 LIMIT 1',
        [largeB],
      )
    ).rows;
    await expect(
      inA((c) =>
        c.query(
          "INSERT INTO analysis_result_categories (analysis_id, workspace_id, category, post_id) VALUES ($1, $2, 'x', $3)",
          [largeB, wsB, bRow!.post_id],
        ),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('lets the application role read and add side-table rows, never change or remove them (0017)', async () => {
    for (const statement of [
      "UPDATE analysis_result_categories SET category = 'changed'",
      'DELETE FROM analysis_result_categories',
    ])
      await expect(inA((c) => c.query(statement))).rejects.toMatchObject({ code: '42501' });
    expect(
      await inA(
        async (c) => (await c.query('SELECT 1 FROM analysis_result_categories LIMIT 1')).rowCount,
      ),
    ).toBe(1);
  });

  it('keys its rows to their analysis: the analysis’s workspace, deleted with it', async () => {
    const error = await db.adminPool
      .query(
        "INSERT INTO analysis_result_categories (analysis_id, workspace_id, category, post_id) VALUES ($1, $2, 'x', 1)",
        [small, wsB],
      )
      .then(
        () => null,
        (e: unknown) => e as { code?: string; constraint?: string },
      );
    expect(error).toMatchObject({
      code: '23503',
      constraint: 'analysis_result_categories_analysis_fkey',
    });
    const doomed = await newAnalysis(wsA, 100);
    const [post] = await newPosts(wsA, 1, 'd');
    await insertResults(wsA, doomed, [
      { postId: post!, label: 'neutral', category: 'gone', local: { categories: ['gone2'] } },
    ]);
    const rowsOf = async (): Promise<number> =>
      (
        await db.adminPool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM analysis_result_categories WHERE analysis_id = $1',
          [doomed],
        )
      ).rows[0]!.n;
    expect(await rowsOf()).toBe(2);
    await db.adminPool.query('DELETE FROM analyses WHERE id = $1', [doomed]);
    expect(await rowsOf()).toBe(0);
  });

  it.each([
    ['a rare category, first page', { category: 'recall' }, false],
    [
      'a rare category with a label, after a cursor',
      { category: 'recall', label: 'neutral' },
      true,
    ],
  ] as const)(
    'plans %s under row-level security with the side table’s index, not a scan of the results',
    async (_name, filter, withCursor) => {
      const after = withCursor ? String((await expected(largeA, filter))[0]) : null;
      const nodes = await planOf(largeA, filter, after);
      const summary = nodes.map((n) =>
        [n['Node Type'], n['Relation Name'], n['Index Name']].filter(Boolean).join(' '),
      );
      expect(
        nodes.some(
          (n) =>
            (n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan') &&
            n['Index Name'] === 'analysis_result_categories_pkey',
        ),
        summary.join('\n'),
      ).toBe(true);
      expect(
        nodes.filter((n) => n['Node Type'] === 'Seq Scan'),
        summary.join('\n'),
      ).toEqual([]);
    },
  );
});
