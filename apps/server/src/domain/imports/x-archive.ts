import {
  asArray,
  asRecord,
  asText,
  pick,
  readLanguage,
  readXDate,
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
 * The X (Twitter) archive: `data/tweets.js` (older archives: `data/tweet.js`) and its parts
 * `tweets-part1.js`…, each `window.YTD.tweets.part0 = [ { "tweet": {…} }, … ]`. Deleted tweets,
 * note tweets and likes live in other files and are not posts of the account.
 */
export const X_TWEETS_ENTRY = /(^|\/)tweets?(-part\d+)?\.js$/i;
const X_ACCOUNT_ENTRY = /(^|\/)data\/account\.js$/i;
const X_MANIFEST_ENTRY = /(^|\/)data\/manifest\.js$/i;
/** Entries that say "this zip is an X archive" even when it lacks its tweets. */
export const X_ARCHIVE_MARKERS = [X_TWEETS_ENTRY, X_ACCOUNT_ENTRY, X_MANIFEST_ENTRY];

export interface XArchiveContext {
  handle: string | null;
  accountId: string | null;
  displayName: string | null;
  /** When X generated the archive: the capture time of its metrics. */
  generatedAt: string | null;
}

const SMALL_FILE = 8 << 20;

/** Parses `window.X = <json>` (account.js, manifest.js) read whole. */
export function parseJsAssignment(bytes: Buffer): unknown {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const eq = text.indexOf('=');
  if (eq === -1 || eq > 4096) return null;
  try {
    return JSON.parse(
      text
        .slice(eq + 1)
        .trim()
        .replace(/;\s*$/, ''),
    ) as unknown;
  } catch {
    return null;
  }
}

export function xContextFrom(account: unknown, manifest: unknown): XArchiveContext {
  const first = asRecord(asArray(account)[0]);
  const acc = asRecord(first?.account) ?? first;
  const config = asRecord(manifest);
  const user = asRecord(config?.userInfo);
  const generated = asText(asRecord(config?.archiveInfo)?.generationDate);
  const handle = asText(acc?.username) ?? asText(user?.userName);
  return {
    handle: handle?.replace(/^@/, '') ?? null,
    accountId: asText(acc?.accountId) ?? asText(user?.accountId),
    displayName: asText(acc?.accountDisplayName) ?? asText(user?.displayName),
    generatedAt:
      generated !== null && !Number.isNaN(Date.parse(generated))
        ? new Date(generated).toISOString()
        : null,
  };
}

function mediaTypeOf(tweet: Json): string {
  const media = asArray(
    asRecord(tweet.extended_entities)?.media ?? asRecord(tweet.entities)?.media,
  ).map(asRecord);
  const types = media.map((m) => asText(m?.type));
  if (types.some((t) => t === 'video' || t === 'animated_gif')) return 'video';
  if (types.length > 1) return 'carousel';
  if (types.length === 1) return 'image';
  return asArray(asRecord(tweet.entities)?.urls).length > 0 ? 'link' : 'text';
}

/** One element of tweets.js (`{ "tweet": {…} }`, or the bare tweet of older archives). */
export function mapTweet(
  element: Json,
  path: JsonPath,
  line: number,
  rawJson: string | null,
  context: XArchiveContext,
  file: string | undefined,
): ParsedItem {
  const wrapped = asRecord(element.tweet);
  const tweet = wrapped ?? element;
  const b = new RecordBuilder(`${formatPath(path)}${wrapped ? '.tweet' : ''}`);
  b.set('platform', 'x');
  const id = pick(tweet, ['id_str', 'id']);
  const idText = id === null ? null : asText(id.value);
  if (id === null || idText === null)
    b.fail('id_str', 'id_str is required (the tweet has no id)', undefined);
  else if (typeof id.value === 'number' && !Number.isSafeInteger(id.value))
    b.fail(id.key, 'id is a number too large to be exact; id_str is missing', id.value);
  else b.set('external_id', idText, id.key);

  const created = pick(tweet, ['created_at', 'createdAt']);
  const createdAt = created === null ? null : readXDate(created.value);
  if (created === null) b.fail('created_at', 'created_at is required', undefined);
  else if (createdAt === null)
    b.fail(
      created.key,
      'created_at is not a real date in X\'s format ("Wed Oct 10 20:19:24 +0000 2018")',
      created.value,
    );
  else b.set('created_at', createdAt, created.key);

  const text = pick(tweet, ['full_text', 'text']);
  if (text !== null) b.set('text', typeof text.value === 'string' ? text.value : null, text.key);
  b.count('likes', tweet, ['favorite_count', 'favourite_count', 'like_count']);
  b.count('shares', tweet, ['retweet_count', 'repost_count']);
  b.count('comments', tweet, ['reply_count']);
  b.count('impressions', tweet, ['impression_count']);
  const lang = pick(tweet, ['lang']);
  if (lang) b.set('language', readLanguage(lang.value), lang.key);
  b.set('media_type', mediaTypeOf(tweet));
  if (idText !== null)
    b.set(
      'url',
      context.handle
        ? `https://x.com/${context.handle}/status/${idText}`
        : `https://x.com/i/web/status/${idText}`,
    );
  b.set('account_handle', context.handle);
  b.set('account_external_id', context.accountId);
  b.set('author', context.displayName);
  b.set('metrics_captured_at', context.generatedAt);
  return b.toItem(line, rawJson, file);
}

async function* readTweets(
  source: ByteSource,
  context: XArchiveContext,
  options: ExportOptions,
  file: string | undefined,
): AsyncGenerator<ParsedItem> {
  for await (const event of scanJson(source, {
    ...options,
    jsAssignment: true,
    isTarget: (p) => p.length === 0,
  })) {
    if (event.kind === 'problem') yield scanProblem(event, file);
    else if (event.kind === 'element') {
      const item = event.item;
      if (item.kind === 'problem') yield elementProblem(item, event.path, file);
      else yield mapTweet(item.value, event.path, item.line, item.rawJson, context, file);
    }
  }
}

export async function* readXArchive(
  input: ExportInput,
  options: ExportOptions,
): AsyncGenerator<ParsedItem> {
  if (input.kind === 'bytes') {
    yield* readTweets(
      input.source,
      { handle: null, accountId: null, displayName: null, generatedAt: null },
      options,
      undefined,
    );
    return;
  }
  const { archive, label } = input;
  const small = async (pattern: RegExp): Promise<unknown> => {
    const entry = entriesMatching(archive, pattern)[0];
    const bytes = entry ? await readSmallEntry(entry, SMALL_FILE) : null;
    return bytes ? parseJsAssignment(bytes) : null;
  };
  const context = xContextFrom(await small(X_ACCOUNT_ENTRY), await small(X_MANIFEST_ENTRY));
  // Deleted tweets (`deleted-tweets.js`) end in "tweets.js" too but are not in the pattern's anchor.
  const partOf = (name: string): number => Number(/-part(\d+)\.js$/i.exec(name)?.[1] ?? 0);
  const parts = entriesMatching(archive, X_TWEETS_ENTRY).sort(
    (a, b) => partOf(a.name) - partOf(b.name),
  );
  if (archive.damage) yield problemAt(0, archive.damage, label);
  if (parts.length === 0) {
    yield problemAt(
      0,
      'the archive has no data/tweets.js (nor tweets-part1.js…): no posts to import',
      label,
    );
    return;
  }
  for (const entry of parts) {
    const file = entryLabel(label, entry);
    yield* readEntry(entry, file, (bytes) => readTweets(bytes, context, options, file));
  }
}
