import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../workspaces/workspaces.service.js';
import { listRejects } from '../../db/repos/imports.repo.js';
import { withTenant } from '../../db/tenant.js';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { buildZip } from '../../../test/fixtures/exports/zip-writer.js';
import { toJsonl } from '../../../test/support/factories.js';
import { importPosts } from './import.service.js';
import { prepareStreamImport } from './import-source.js';

/**
 * A YouTube Studio "Content" export (Analytics → Export current view) read through the import
 * service: its figures cover the period chosen in Studio, which must not pass for a video's
 * lifetime counts.
 */
describe.skipIf(databaseUnavailable() !== '')('YouTube Studio exports on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const OLD = 'OldVideo001';
  const NEW = 'NewVideo001';
  const SYNCED_TEXT = 'How we test\n\nThe long description the channel wrote.';

  const table = [
    'Content,Video title,Video publish time,Duration,Views,Watch time (hours),Subscribers,Impressions,Impressions click-through rate (%)',
    'Total,,,,2500,120.5,14,40000,4.2',
    `${OLD},How we test,"Mar 3, 2023",600,2000,100.0,10,30000,4.0`,
    `${NEW},A new one,"Jan 10, 2024",300,500,20.5,4,10000,5.0`,
    '',
  ].join('\n');
  const PERIOD = 'Content 2024-01-01_2024-01-28 Sample Channel';

  const workspace = (name: string) =>
    createWorkspace(db.pool, name, null, { userId: null, label: 'test' });

  /** What the sync writes for a video: title and description in `text`, lifetime counts. */
  async function syncedVideo(workspaceId: string): Promise<void> {
    const record = {
      platform: 'youtube',
      external_id: OLD,
      created_at: '2023-03-03T17:45:00Z',
      text: SYNCED_TEXT,
      media_type: 'live',
      views: 1_000_000,
      likes: 40_000,
      impressions: 9_000_000,
      metrics_captured_at: '2024-01-05T12:00:00Z',
    };
    await importPosts(
      db.pool,
      { fileName: 'sync.jsonl', format: 'jsonl', stream: Readable.from([toJsonl([record])]) },
      { workspaceId, source: 'sync:youtube', batchSize: 10, maxRecordBytes: 65536 },
    );
  }

  async function importStudio(workspaceId: string, body: Buffer | string, fileName: string) {
    const prepared = await prepareStreamImport(Readable.from([body]), fileName);
    try {
      expect(prepared.format).toBe('youtube-studio');
      const run = await importPosts(db.pool, prepared, {
        workspaceId,
        source: 'test',
        batchSize: 10,
        maxRecordBytes: 65536,
      });
      const rejects = await withTenant(db.pool, { workspaceId, userId: null }, (c) =>
        listRejects(c, run.id, 0, 100),
      );
      return { run, rejects };
    } finally {
      await prepared.close();
    }
  }

  const post = async (workspaceId: string, externalId: string) =>
    (
      await db.adminPool.query<{
        text: string | null;
        media_type: string | null;
        created_at: Date;
        views: number | null;
        likes: number | null;
        impressions: number | null;
      }>(
        'SELECT text, media_type, created_at, views, likes, impressions FROM posts WHERE workspace_id = $1 AND external_id = $2',
        [workspaceId, externalId],
      )
    ).rows[0];
  const snapshots = async (workspaceId: string, externalId: string) =>
    (
      await db.adminPool.query<{ captured_at: Date; views: number | null }>(
        `SELECT s.captured_at, s.views FROM post_metric_snapshots s JOIN posts p ON p.id = s.post_id
         WHERE s.workspace_id = $1 AND p.external_id = $2 ORDER BY s.captured_at`,
        [workspaceId, externalId],
      )
    ).rows.map((s) => [s.captured_at.toISOString(), s.views]);

  it("a 28-day export after a sync keeps the video's lifetime counts, series and description", async () => {
    const ws = await workspace('studio after sync');
    await syncedVideo(ws.id);
    const zip = buildZip([{ name: `${PERIOD}/Table data.csv`, data: table }]).zip;
    const { run, rejects } = await importStudio(ws.id, zip, `${PERIOD}.zip`);

    expect(run).toMatchObject({ status: 'completed', inserted: 1 });
    const old = await post(ws.id, OLD);
    expect(old).toMatchObject({
      text: SYNCED_TEXT,
      // Studio gives the publish day only, and every upload as a video: the sync's stay.
      created_at: new Date('2023-03-03T17:45:00Z'),
      media_type: 'live',
      views: 1_000_000,
      likes: 40_000,
      impressions: 9_000_000,
    });
    // The sync's reading only: no 2,000-view point in the series.
    expect(await snapshots(ws.id, OLD)).toEqual([['2024-01-05T12:00:00.000Z', 1_000_000]]);

    // Published within the period: the period's figures are all it ever had, as of its last day.
    // Known from Studio alone: its title is its text.
    expect(await post(ws.id, NEW)).toMatchObject({ text: 'A new one', views: 500 });
    expect(await snapshots(ws.id, NEW)).toEqual([['2024-01-28T23:59:59.000Z', 500]]);

    // The report says which rows' figures were left out, where and why.
    expect(run.rejected).toBe(1);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({
      file: `${PERIOD}.zip:${PERIOD}/Table data.csv`,
      line: 1,
      field: 'Views',
    });
    expect(rejects[0]?.reason).toContain('1 video (line 3)');
    expect(rejects[0]?.reason).toContain('2024-01-01 to 2024-01-28');
    expect(rejects[0]?.reason).toContain('not stored as metrics');
  });

  it('the same export imported again adds no second reading', async () => {
    const ws = await workspace('studio twice');
    const zip = buildZip([{ name: `${PERIOD}/Table data.csv`, data: table }]).zip;
    await importStudio(ws.id, zip, `${PERIOD}.zip`);
    const again = await importStudio(ws.id, zip, `${PERIOD}.zip`);
    expect(again.run).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    expect(await snapshots(ws.id, NEW)).toEqual([['2024-01-28T23:59:59.000Z', 500]]);
    expect(await snapshots(ws.id, OLD)).toEqual([]);
  });

  it('a Table data.csv whose period is unknown stores no figures and says so', async () => {
    const ws = await workspace('studio unknown period');
    await syncedVideo(ws.id);
    const { run, rejects } = await importStudio(ws.id, table, 'Table data.csv');

    expect(run).toMatchObject({ status: 'completed', inserted: 1 });
    expect(await post(ws.id, OLD)).toMatchObject({ text: SYNCED_TEXT, views: 1_000_000 });
    expect(await snapshots(ws.id, OLD)).toEqual([['2024-01-05T12:00:00.000Z', 1_000_000]]);
    expect(await post(ws.id, NEW)).toMatchObject({ views: null, impressions: null });
    expect(await snapshots(ws.id, NEW)).toEqual([]);
    expect(rejects.map((r) => [r.file, r.line, r.field])).toEqual([['Table data.csv', 1, 'Views']]);
    expect(rejects[0]?.reason).toContain('2 videos (lines 3, 4)');
  });

  it('the file under its dated folder (a path) carries the period', async () => {
    const ws = await workspace('studio path');
    const { rejects } = await importStudio(ws.id, table, `/home/me/${PERIOD}/Table data.csv`);
    expect(await post(ws.id, NEW)).toMatchObject({ views: 500, impressions: 10_000 });
    expect(await post(ws.id, OLD)).toMatchObject({ views: null });
    expect(rejects.map((r) => [r.line, r.field])).toEqual([[1, 'Views']]);
  });
});
