import { asText, pick, readUtcDateTime, RecordBuilder, type Json } from './export-values.js';
import {
  elementProblem,
  entriesMatching,
  entryLabel,
  problemAt,
  readEntry,
  scanProblem,
  type ExportInput,
  type ExportOptions,
} from './export-input.js';
import { formatPath, scanJson, type JsonPath } from './json-scanner.js';
import type { ByteSource, ParsedItem } from './parsed-item.js';

/**
 * TikTok "download your data" (JSON): one `user_data.json` (newer: `user_data_tiktok.json`).
 * The account's own videos are `Video.Videos.VideoList[]` (newer: `Post.Posts.VideoList[]`)
 * with `Date` ("2023-01-01 12:00:00", UTC), `Link`, `Likes` (a string), `Desc`/`Title`.
 * Activity sections hold lists named `VideoList` too (videos the user *watched*): only lists
 * under a top-level Video/Post section are the user's posts.
 */
export const TIKTOK_ENTRY = /(^|\/)user_data(_tiktok)?\.json$/i;

const OWN_SECTIONS = new Set(['video', 'videos', 'post', 'posts']);

export const isOwnVideoList = (path: JsonPath): boolean => {
  const first = path[0];
  const last = path[path.length - 1];
  return (
    path.length >= 2 &&
    typeof first === 'string' &&
    OWN_SECTIONS.has(first.trim().toLowerCase()) &&
    typeof last === 'string' &&
    /^(video|post)s?list$/i.test(last.replace(/\s+/g, ''))
  );
};

/** `Profile.<section>.ProfileMap.userName` in either layout. */
const isUserName = (path: JsonPath): boolean => {
  const first = path[0];
  const last = path[path.length - 1];
  return (
    typeof first === 'string' &&
    /^profile$/i.test(first.trim()) &&
    typeof last === 'string' &&
    /^user ?name$/i.test(last)
  );
};

export interface TiktokContext {
  handle: string | null;
}

/** The video id in a share link: `https://www.tiktokv.com/share/video/7183456789012345678/`. */
export function tiktokIdFromLink(link: string): string | null {
  const m =
    /\/(?:video|v)\/(\d{6,25})(?:[/?.#]|$)/.exec(link) ??
    /(?:^|[/=])(\d{15,25})(?:[/?.#&]|$)/.exec(link);
  return m ? (m[1] as string) : null;
}

export function mapTiktokVideo(
  video: Json,
  path: JsonPath,
  line: number,
  rawJson: string | null,
  context: TiktokContext,
  file: string | undefined,
): ParsedItem {
  const b = new RecordBuilder(formatPath(path));
  b.set('platform', 'tiktok');
  const date = pick(video, ['Date', 'CreateTime', 'Create Time', 'Created']);
  const createdAt = date ? readUtcDateTime(date.value) : null;
  if (!date) b.fail('Date', 'Date is required', undefined);
  else if (!createdAt)
    b.fail(date.key, 'Date is not a real date and time ("2023-01-01 12:00:00")', date.value);
  else b.set('created_at', createdAt, date.key);

  const link = pick(video, ['Link', 'VideoLink', 'Video Link', 'ShareLink', 'Url']);
  const linkText = link ? asText(link.value) : null;
  const idField = pick(video, ['VideoId', 'Video ID', 'Id', 'ID']);
  const id =
    (idField ? asText(idField.value) : null) ?? (linkText ? tiktokIdFromLink(linkText) : null);
  if (id === null)
    b.fail(
      link?.key ?? 'Link',
      'Link is required and must contain the video id (…/video/<id>)',
      link?.value,
    );
  else b.set('external_id', id, idField ? idField.key : (link?.key ?? 'Link'));
  if (id !== null) {
    const url = context.handle
      ? `https://www.tiktok.com/@${context.handle}/video/${id}`
      : linkText !== null && /^https?:\/\//i.test(linkText)
        ? linkText
        : null;
    b.set('url', url, context.handle ? undefined : link?.key);
  }

  const text = pick(video, ['Desc', 'Description', 'Title', 'Caption']);
  if (text) b.set('text', asText(text.value), text.key);
  b.count('likes', video, ['Likes', 'LikeCount', 'Like Count', 'likes']);
  b.count('comments', video, ['Comments', 'CommentCount', 'Comment Count']);
  b.count('shares', video, ['Shares', 'ShareCount', 'Share Count']);
  b.count('views', video, ['Views', 'ViewCount', 'Plays', 'PlayCount']);
  b.set('media_type', 'video');
  b.set('account_handle', context.handle);
  return b.toItem(line, rawJson, file);
}

async function* readUserData(
  source: ByteSource,
  options: ExportOptions,
  file: string | undefined,
): AsyncGenerator<ParsedItem> {
  const context: TiktokContext = { handle: null };
  let lists = 0;
  let lastLine = 0;
  for await (const event of scanJson(source, {
    ...options,
    isTarget: isOwnVideoList,
    wantScalar: isUserName,
  })) {
    if (event.kind === 'scalar') {
      // The profile usually precedes the videos; videos read before it carry no account.
      const handle = asText(event.value);
      if (handle !== null && context.handle === null) context.handle = handle.replace(/^@/, '');
    } else if (event.kind === 'problem') yield scanProblem(event, file);
    else {
      if (event.path[event.path.length - 1] === 0) lists += 1;
      const item = event.item;
      lastLine = item.line;
      if (item.kind === 'problem') yield elementProblem(item, event.path, file);
      else yield mapTiktokVideo(item.value, event.path, item.line, item.rawJson, context, file);
    }
  }
  if (lists === 0) {
    yield problemAt(
      lastLine,
      'no videos of the account were found: Video.Videos.VideoList (or Post.Posts.VideoList) is absent or empty',
      file,
    );
  }
}

export async function* readTiktokExport(
  input: ExportInput,
  options: ExportOptions,
): AsyncGenerator<ParsedItem> {
  if (input.kind === 'bytes') {
    yield* readUserData(input.source, options, undefined);
    return;
  }
  const { archive, label } = input;
  const files = entriesMatching(archive, TIKTOK_ENTRY);
  if (archive.damage) yield problemAt(0, archive.damage, label);
  if (files.length === 0) {
    yield problemAt(
      0,
      'the archive has no user_data.json (nor user_data_tiktok.json): no posts to import',
      label,
    );
    return;
  }
  for (const entry of files) {
    const file = entryLabel(label, entry);
    yield* readEntry(entry, file, (source) => readUserData(source, options, file));
  }
}
