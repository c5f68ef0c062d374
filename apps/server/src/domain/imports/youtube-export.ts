import { parseCsv } from './csv-parser.js';
import {
  asText,
  pick,
  readDay,
  readIsoTimestamp,
  readLanguage,
  RecordBuilder,
  type Json,
} from './export-values.js';
import {
  entriesMatching,
  entryLabel,
  problemAt,
  readEntry,
  readSmallEntry,
  type ExportInput,
  type ExportOptions,
} from './export-input.js';
import type { ByteSource, ParsedItem } from './parsed-item.js';

/**
 * Google Takeout: `YouTube and YouTube Music/videos/video metadata/videos.csv` (Video ID,
 * Video Title (Original), Video Description (Original), Approx Duration (ms), Video Create
 * Timestamp, Video Publish Timestamp, Channel ID, Privacy…). No metrics.
 */
export const TAKEOUT_VIDEOS_ENTRY = /(^|\/)(video metadata\/)?videos\.csv$/i;
const TAKEOUT_CHANNEL_ENTRY = /(^|\/)channels?\/channel\.csv$/i;
/**
 * YouTube Studio → Analytics → Export: `Table data.csv` (Content = video id, Video title,
 * Video publish time, Views, Watch time (hours), Subscribers, Impressions, Impressions
 * click-through rate (%)…) with a first "Total" row. Its figures cover the period chosen in
 * Studio, not the video's lifetime; the raw record keeps the rest.
 */
export const STUDIO_TABLE_ENTRY = /(^|\/)table data\.csv$/i;

export interface TakeoutContext {
  channelId: string | null;
  channelTitle: string | null;
}

const watchUrl = (id: string): string =>
  `https://www.youtube.com/watch?v=${encodeURIComponent(id)}`;
const VIDEO_ID = /^[A-Za-z0-9_-]{6,64}$/;

export function mapTakeoutVideo(
  row: Json,
  line: number,
  context: TakeoutContext,
  file: string | undefined,
): ParsedItem {
  const b = new RecordBuilder('');
  b.set('platform', 'youtube');
  const id = pick(row, ['Video ID', 'Video Id', 'VideoID']);
  const idText = id ? (asText(id.value)?.trim() ?? null) : null;
  if (!id || idText === null) b.fail('Video ID', 'Video ID is required', undefined);
  else if (!VIDEO_ID.test(idText)) b.fail(id.key, 'Video ID is not a YouTube video id', id.value);
  else {
    b.set('external_id', idText, id.key);
    b.set('url', watchUrl(idText));
  }
  const published = pick(row, [
    'Video Publish Timestamp',
    'Video Published Timestamp',
    'Publish Timestamp',
  ]);
  const created = pick(row, [
    'Video Create Timestamp',
    'Video Created Timestamp',
    'Create Timestamp',
    'Creation Timestamp',
  ]);
  const when = published && readIsoTimestamp(published.value) ? published : created;
  const createdAt = when ? readIsoTimestamp(when.value) : null;
  if (!when)
    b.fail(
      'Video Create Timestamp',
      'Video Create Timestamp (or Video Publish Timestamp) is required',
      undefined,
    );
  else if (!createdAt)
    b.fail(when.key, `${when.key} is not an ISO 8601 timestamp with a zone`, when.value);
  else b.set('created_at', createdAt, when.key);

  const title = pick(row, ['Video Title (Original)', 'Video title', 'Video Title', 'Title']);
  const description = pick(row, [
    'Video Description (Original)',
    'Video description',
    'Video Description',
    'Description',
  ]);
  const titleText = title ? asText(title.value) : null;
  const descriptionText = description ? asText(description.value) : null;
  b.set(
    'text',
    titleText && descriptionText
      ? `${titleText}\n\n${descriptionText}`
      : (titleText ?? descriptionText),
    title?.key ?? description?.key,
  );
  const language = pick(row, ['Video Audio Language', 'Video Language', 'Default Language']);
  if (language) b.set('language', readLanguage(language.value), language.key);
  const channel = pick(row, ['Channel ID', 'Channel Id']);
  b.set(
    'account_external_id',
    (channel ? asText(channel.value) : null) ?? context.channelId,
    channel?.key,
  );
  b.set('author', context.channelTitle);
  b.set('media_type', 'video');
  return b.toItem(line, JSON.stringify(row), file);
}

export function mapStudioRow(row: Json, line: number, file: string | undefined): ParsedItem | null {
  const id = pick(row, ['Content', 'Video', 'Video ID']);
  const idText = id ? (asText(id.value)?.trim() ?? null) : null;
  // The totals of the table, not a video.
  if (idText !== null && /^total$/i.test(idText)) return null;
  const b = new RecordBuilder('');
  b.set('platform', 'youtube');
  if (!id || idText === null) b.fail('Content', 'Content (the video id) is required', undefined);
  else if (!VIDEO_ID.test(idText)) b.fail(id.key, 'Content is not a YouTube video id', id.value);
  else {
    b.set('external_id', idText, id.key);
    b.set('url', watchUrl(idText));
  }
  const published = pick(row, [
    'Video publish time',
    'Video Publish Time',
    'Publish time',
    'Published',
  ]);
  const createdAt = published ? readDay(published.value) : null;
  if (!published) b.fail('Video publish time', 'Video publish time is required', undefined);
  else if (!createdAt)
    b.fail(
      published.key,
      'Video publish time is not a date ("Jan 5, 2023" or "2023-01-05")',
      published.value,
    );
  else b.set('created_at', createdAt, published.key);
  const title = pick(row, ['Video title', 'Video Title', 'Title']);
  if (title) b.set('text', asText(title.value), title.key);
  const counts = { allowZeroFraction: true };
  b.count('views', row, ['Views'], counts);
  b.count('impressions', row, ['Impressions'], counts);
  b.count('likes', row, ['Likes'], counts);
  b.count('comments', row, ['Comments added', 'Comments'], counts);
  b.count('shares', row, ['Shares'], counts);
  b.set('media_type', 'video');
  return b.toItem(line, JSON.stringify(row), file);
}

async function* readTakeoutCsv(
  source: ByteSource,
  context: TakeoutContext,
  options: ExportOptions,
  file: string | undefined,
): AsyncGenerator<ParsedItem> {
  for await (const item of parseCsv(source, { ...options, requiredColumns: ['Video ID'] })) {
    if (item.kind === 'problem') yield { ...item, ...(file === undefined ? {} : { file }) };
    else yield mapTakeoutVideo(item.value, item.line, context, file);
  }
}

async function* readStudioCsv(
  source: ByteSource,
  options: ExportOptions,
  file: string | undefined,
): AsyncGenerator<ParsedItem> {
  for await (const item of parseCsv(source, { ...options, requiredColumns: ['Content'] })) {
    if (item.kind === 'problem') yield { ...item, ...(file === undefined ? {} : { file }) };
    else {
      const mapped = mapStudioRow(item.value, item.line, file);
      if (mapped) yield mapped;
    }
  }
}

/** The channel's id and title from Takeout's `channels/channel.csv` (its first row). */
async function takeoutContext(
  input: Extract<ExportInput, { kind: 'archive' }>,
  options: ExportOptions,
): Promise<TakeoutContext> {
  const entry = entriesMatching(input.archive, TAKEOUT_CHANNEL_ENTRY)[0];
  const bytes = entry ? await readSmallEntry(entry, 1 << 20) : null;
  if (!bytes) return { channelId: null, channelTitle: null };
  for await (const item of parseCsv([bytes], { ...options, requiredColumns: ['Channel ID'] })) {
    if (item.kind === 'record') {
      const title = pick(item.value, ['Channel Title (Original)', 'Channel Title', 'Title']);
      return {
        channelId: asText(item.value['Channel ID']),
        channelTitle: title ? asText(title.value) : null,
      };
    }
  }
  return { channelId: null, channelTitle: null };
}

export async function* readYoutubeTakeout(
  input: ExportInput,
  options: ExportOptions,
): AsyncGenerator<ParsedItem> {
  if (input.kind === 'bytes') {
    yield* readTakeoutCsv(
      input.source,
      { channelId: null, channelTitle: null },
      options,
      undefined,
    );
    return;
  }
  const context = await takeoutContext(input, options);
  // `video metadata/videos.csv` is the 2023+ place; older Takeouts put videos.csv one level up.
  const candidates = entriesMatching(input.archive, TAKEOUT_VIDEOS_ENTRY);
  const current = candidates.filter((e) => /(^|\/)video metadata\/videos\.csv$/i.test(e.name));
  const files = current.length > 0 ? current : candidates;
  if (input.archive.damage) yield problemAt(0, input.archive.damage, input.label);
  if (files.length === 0) {
    yield problemAt(
      0,
      'the archive has no "YouTube and YouTube Music/videos/video metadata/videos.csv": no videos to import',
      input.label,
    );
    return;
  }
  for (const entry of files) {
    const file = entryLabel(input.label, entry);
    yield* readEntry(entry, file, (source) => readTakeoutCsv(source, context, options, file));
  }
}

export async function* readYoutubeStudio(
  input: ExportInput,
  options: ExportOptions,
): AsyncGenerator<ParsedItem> {
  if (input.kind === 'bytes') {
    yield* readStudioCsv(input.source, options, undefined);
    return;
  }
  const files = entriesMatching(input.archive, STUDIO_TABLE_ENTRY);
  if (input.archive.damage) yield problemAt(0, input.archive.damage, input.label);
  if (files.length === 0) {
    yield problemAt(0, 'the archive has no "Table data.csv": no videos to import', input.label);
    return;
  }
  for (const entry of files) {
    const file = entryLabel(input.label, entry);
    yield* readEntry(entry, file, (source) => readStudioCsv(source, options, file));
  }
}
