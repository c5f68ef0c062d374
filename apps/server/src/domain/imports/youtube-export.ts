import { parseCsv } from './csv-parser.js';
import {
  asText,
  pick,
  readCount,
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
 * click-through rate (%)…) with a first "Total" row, in a folder and zip named after the period
 * chosen in Studio (`Content 2024-01-01_2024-01-28 Channel`). Its figures cover that period,
 * not the video's lifetime (see coversLifetime); the raw record keeps the whole row.
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

/**
 * The period an export covers, from the name Studio gives its folder and zip
 * (`Content 2024-01-01_2024-01-28 Channel name`), as the first and last day (`YYYY-MM-DD`).
 */
export interface StudioPeriod {
  first: string;
  last: string;
}

const PERIOD_IN_NAME = /(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})/g;
const DAY_MS = 86_400_000;

/**
 * The period of the first name (the entry's path, then the archive's or file's name) that
 * carries one: the match nearest the file, as a folder may sit inside another dated one.
 */
export function studioPeriodOf(names: readonly (string | null | undefined)[]): StudioPeriod | null {
  for (const name of names) {
    if (!name) continue;
    const found = [...name.matchAll(PERIOD_IN_NAME)].at(-1);
    if (!found) continue;
    const first = found[1] as string;
    const last = found[2] as string;
    const from = readDay(first);
    const to = readDay(last);
    if (from !== null && to !== null && from <= to) return { first, last };
  }
  return null;
}

/**
 * When a reading of the period's figures is taken to be: the end of its last day, or now if
 * that is still to come (an export ending today), so that a reading never looks newer than a
 * later sync's.
 */
function periodEnd(period: StudioPeriod, now: number): string {
  const end = Date.parse(`${period.last}T23:59:59Z`);
  return new Date(Math.min(end, now)).toISOString().replace('.000Z', 'Z');
}

/**
 * Studio's figures cover the export's period. For a video published after the period's first
 * day they are all the video ever had up to its last day: a lifetime reading at that time.
 * Anything else (published before or on the first day, whose time zone the export does not
 * say, or a period the name does not carry) is a slice of the video's life, which the model
 * has no place for: stored as lifetime metrics it would replace the counts and dent the series.
 */
function coversLifetime(createdAt: string | null, period: StudioPeriod | null): boolean {
  if (createdAt === null || period === null) return false;
  return Date.parse(createdAt) >= Date.parse(`${period.first}T00:00:00Z`) + DAY_MS;
}

const STUDIO_COUNTS: readonly (readonly [string, readonly string[]])[] = [
  ['views', ['Views']],
  ['impressions', ['Impressions']],
  ['likes', ['Likes']],
  ['comments', ['Comments added', 'Comments']],
  ['shares', ['Shares']],
];

export interface StudioRow {
  item: ParsedItem;
  /** The row's figures were left out: they cover only part of the video's life. */
  periodOnly: boolean;
}

/**
 * One row of `Table data.csv`, or null for the table's Total row. The title becomes the text
 * of a video known from nothing else; the common record keeps a YouTube video's title and
 * description together in `text` (the API's and Takeout's mapping), so the import service
 * writes Studio's text, publish day and raw row only where a post has none (`fillGapsOnly`):
 * the title alone would erase a synced or Takeout-imported description.
 */
export function mapStudioRow(
  row: Json,
  line: number,
  file: string | undefined,
  period: StudioPeriod | null,
  now: number = Date.now(),
): StudioRow | null {
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
  const lifetime = coversLifetime(createdAt, period);
  const counts = { allowZeroFraction: true };
  for (const [field, keys] of STUDIO_COUNTS) {
    if (lifetime) {
      b.count(field, row, keys, counts);
      continue;
    }
    // Not stored, but still read: a figure that is no count means the file is not what it seems.
    const found = pick(row, keys);
    const checked = found ? readCount(found.value, counts) : null;
    if (found && checked && !checked.ok)
      b.fail(found.key, `${field} (${found.key}) ${checked.reason}`, found.value);
  }
  // Also for a row without figures: its raw record then replaces a newer sync's only if the
  // period ended after that sync, and the post's metric time is not moved to the import's.
  if (period) b.set('metrics_captured_at', periodEnd(period, now));
  b.set('media_type', 'video');
  const item = b.toItem(line, JSON.stringify(row), file);
  return { item, periodOnly: item.kind === 'record' && !lifetime && hasFigures(row) };
}

const hasFigures = (row: Json): boolean =>
  STUDIO_COUNTS.some(([, keys]) => {
    const found = pick(row, keys);
    return found !== null && asText(found.value) !== null;
  });

/** Lines named in a notice before "and N more". */
const LINES_SHOWN = 10;

function listLines(lines: readonly number[]): string {
  const shown = lines.slice(0, LINES_SHOWN).join(', ');
  return lines.length > LINES_SHOWN ? `${shown} and ${lines.length - LINES_SHOWN} more` : shown;
}

/**
 * The notice for the rows whose figures were left out, reported like a reject of the header
 * line (the import report's only place for what a user must know): the posts were imported.
 */
function periodNotice(
  lines: readonly number[],
  period: StudioPeriod | null,
  file: string | undefined,
): ParsedItem {
  const videos = `${lines.length} video${lines.length === 1 ? '' : 's'} (line${lines.length === 1 ? '' : 's'} ${listLines(lines)})`;
  const kept =
    "The posts were imported without them and without a metric snapshot; each post's raw record keeps the row";
  const reason =
    period === null
      ? `the figures of ${videos} were not stored as metrics: a Studio export covers the period chosen in Studio, which Studio writes in the name of its folder and zip ("Content 2024-01-01_2024-01-28 …") and which this file's name does not carry, so they may be a part of each video's life rather than its lifetime counts, which they would replace. ${kept}. Import the zip as Studio saved it (or the file under its folder) to store the figures of the videos published within the period`
      : `the figures of ${videos} were not stored as metrics: those videos were published on or before ${period.first}, and the figures cover only ${period.first} to ${period.last}, not each video's lifetime, whose counts they would replace. ${kept}. The figures of videos published after ${period.first} are their lifetime counts and were stored as of ${period.last}; an export whose period starts before a video was published (Studio's "Lifetime") gives them for every video`;
  return problemAt(1, reason, file, 'Views');
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
  period: StudioPeriod | null,
): AsyncGenerator<ParsedItem> {
  const periodOnly: number[] = [];
  for await (const item of parseCsv(source, { ...options, requiredColumns: ['Content'] })) {
    if (item.kind === 'problem') yield { ...item, ...(file === undefined ? {} : { file }) };
    else {
      const mapped = mapStudioRow(item.value, item.line, file, period);
      if (!mapped) continue;
      if (mapped.periodOnly) periodOnly.push(item.line);
      yield mapped.item;
    }
  }
  if (periodOnly.length > 0) yield periodNotice(periodOnly, period, file);
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
    yield* readStudioCsv(input.source, options, undefined, studioPeriodOf([input.label]));
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
    const period = studioPeriodOf([entry.name, input.label]);
    yield* readEntry(entry, file, (source) => readStudioCsv(source, options, file, period));
  }
}
