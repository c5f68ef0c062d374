import { createHash } from 'node:crypto';
import {
  asArray,
  asRecord,
  asText,
  fixMetaMojibake,
  pick,
  readUnixSeconds,
  RecordBuilder,
  type Json,
} from './export-values.js';
import {
  elementProblem,
  entriesMatching,
  entryLabel,
  problemAt,
  readEntry,
  readSmallEntry,
  scanProblem,
  type ExportInput,
  type ExportOptions,
} from './export-input.js';
import { formatPath, scanJson, type JsonPath } from './json-scanner.js';
import type { ByteSource, ParsedItem } from './parsed-item.js';

/**
 * Instagram "download your information" (JSON): `content/posts_1.json` (newer:
 * `your_instagram_activity/content/posts_1.json` or `…/media/posts_1.json`) is an array of
 * posts `{ media: [{ uri, creation_timestamp, title }], title?, creation_timestamp? }`;
 * `reels.json` and `stories.json` wrap theirs in `ig_reels_media` / `ig_stories`. The export
 * has no ids, permalinks or counts: the id is the media file's name, metrics stay unknown.
 */
export const INSTAGRAM_POSTS_ENTRY = /(^|\/)(content|media)\/(posts_\d+|reels|stories)\.json$/i;
const INSTAGRAM_PROFILE_ENTRY = /(^|\/)personal_information\.json$/i;
export const INSTAGRAM_MARKERS = [INSTAGRAM_POSTS_ENTRY, INSTAGRAM_PROFILE_ENTRY];

export interface InstagramContext {
  handle: string | null;
  name: string | null;
}

const isTarget = (path: JsonPath): boolean =>
  path.length === 0 || (path.length === 1 && typeof path[0] === 'string' && /^ig_/i.test(path[0]));

export function instagramContextFrom(profile: unknown): InstagramContext {
  const user = asRecord(asArray(asRecord(profile)?.profile_user)[0]);
  const map = asRecord(user?.string_map_data);
  const value = (key: string): string | null => {
    const found = map ? pick(map, [key]) : null;
    const text = asText(asRecord(found?.value)?.value);
    return text === null ? null : fixMetaMojibake(text);
  };
  return { handle: value('Username')?.replace(/^@/, '') ?? null, name: value('Name') };
}

function fileStem(uri: string): string | null {
  const base = uri.split(/[\\/]/).pop() ?? '';
  const stem = base.replace(/\.[A-Za-z0-9]{1,5}$/, '');
  return stem === '' ? null : stem;
}

export function mapInstagramPost(
  element: Json,
  path: JsonPath,
  line: number,
  rawJson: string | null,
  context: InstagramContext,
  file: string | undefined,
): ParsedItem {
  const b = new RecordBuilder(formatPath(path));
  b.set('platform', 'instagram');
  // Stories are media items themselves; posts and reels hold a `media` list.
  const mediaList = Array.isArray(element.media) ? element.media.map(asRecord) : [element];
  const first = mediaList[0] ?? null;
  const mediaKey = Array.isArray(element.media) ? 'media[0]' : '';
  const sub = (key: string): string => (mediaKey ? `${mediaKey}.${key}` : key);

  const ownTime = pick(element, ['creation_timestamp', 'taken_at']);
  const mediaTime = first ? pick(first, ['creation_timestamp', 'taken_at']) : null;
  const time = ownTime ?? mediaTime;
  const timeKey = ownTime ? ownTime.key : mediaTime ? sub(mediaTime.key) : 'creation_timestamp';
  const createdAt = time ? readUnixSeconds(time.value) : null;
  if (!time) b.fail(timeKey, 'creation_timestamp is required', undefined);
  else if (!createdAt)
    b.fail(timeKey, 'creation_timestamp is not a Unix time in seconds', time.value);
  else b.set('created_at', createdAt, timeKey);

  const caption = asText(element.title) ?? (first ? asText(first.title) : null);
  if (caption !== null)
    b.set(
      'text',
      fixMetaMojibake(caption),
      asText(element.title) !== null ? 'title' : sub('title'),
    );

  const uri = first ? asText(first.uri) : null;
  const stem = uri === null ? null : fileStem(uri);
  if (stem !== null) b.set('external_id', stem, sub('uri'));
  else if (createdAt !== null) {
    // No file to name the post by: a digest of what identifies it in this export.
    b.set(
      'external_id',
      `export-${createHash('sha256')
        .update(`${String(time?.value)}\n${caption ?? ''}`)
        .digest('hex')
        .slice(0, 24)}`,
    );
  }

  const container = typeof path[0] === 'string' ? path[0].toLowerCase() : '';
  const isVideo = (m: Json | null): boolean => /\.(mp4|mov|m4v|webm)$/i.test(asText(m?.uri) ?? '');
  b.set(
    'media_type',
    container.includes('reel')
      ? 'reel'
      : container.includes('stor')
        ? 'story'
        : mediaList.length > 1
          ? 'carousel'
          : isVideo(first)
            ? 'video'
            : 'image',
  );
  b.set('account_handle', context.handle);
  b.set('author', context.name);
  return b.toItem(line, rawJson, file);
}

async function* readPosts(
  source: ByteSource,
  context: InstagramContext,
  options: ExportOptions,
  file: string | undefined,
): AsyncGenerator<ParsedItem> {
  for await (const event of scanJson(source, { ...options, isTarget })) {
    if (event.kind === 'problem') yield scanProblem(event, file);
    else if (event.kind === 'element') {
      const item = event.item;
      if (item.kind === 'problem') yield elementProblem(item, event.path, file);
      else yield mapInstagramPost(item.value, event.path, item.line, item.rawJson, context, file);
    }
  }
}

export async function* readInstagramExport(
  input: ExportInput,
  options: ExportOptions,
): AsyncGenerator<ParsedItem> {
  if (input.kind === 'bytes') {
    yield* readPosts(input.source, { handle: null, name: null }, options, undefined);
    return;
  }
  const { archive, label } = input;
  const profileEntry = entriesMatching(archive, INSTAGRAM_PROFILE_ENTRY)[0];
  let profile: unknown = null;
  const bytes = profileEntry ? await readSmallEntry(profileEntry, 8 << 20) : null;
  if (bytes) {
    try {
      profile = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
    } catch {
      profile = null;
    }
  }
  const context = instagramContextFrom(profile);
  const files = entriesMatching(archive, INSTAGRAM_POSTS_ENTRY);
  if (archive.damage) yield problemAt(0, archive.damage, label);
  if (files.length === 0) {
    yield problemAt(
      0,
      'the archive has no content/posts_1.json (nor reels.json, stories.json): no posts to import',
      label,
    );
    return;
  }
  for (const entry of files) {
    const file = entryLabel(label, entry);
    yield* readEntry(entry, file, (source) => readPosts(source, context, options, file));
  }
}
