import type { MediaType } from '@socialpulse/contracts';
import type { CollectedPost } from '../connector.js';
import {
  asArray,
  asRecord,
  asString,
  asText,
  firstCount,
  htmlToText,
  plus,
  toIsoTimestamp,
  toLanguage,
  type Json,
} from '../mapping.js';

function mediaType(status: Json): MediaType {
  const types = asArray(status.media_attachments).map((m) => asString(asRecord(m)?.type));
  if (types.length > 1) return 'carousel';
  if (types[0] === 'video' || types[0] === 'gifv') return 'video';
  if (types[0] === 'image') return 'image';
  if (asRecord(status.card) !== null) return 'link';
  return 'text';
}

/**
 * An account's handle in its one unambiguous form, `name@host`: Mastodon's `acct` is bare for
 * accounts of the instance asked, which is the form a connection stores only with its instance.
 */
export function fullAcct(acct: string | null, instanceHost: string | null): string | null {
  if (acct === null) return null;
  const bare = acct.replace(/^@/, '');
  return bare.includes('@') || instanceHost === null ? bare : `${bare}@${instanceHost}`;
}

/**
 * A Status entity → a post; boosts (`reblog` set) are someone else's post and give null.
 * `instanceHost`: the host of the instance that answered (completes local accounts' handles).
 */
export function mapMastodonStatus(
  status: Json,
  capturedAt: string,
  instanceHost: string | null = null,
): CollectedPost | null {
  if (asRecord(status.reblog) !== null) return null;
  const id = asText(status.id);
  const createdAt = toIsoTimestamp(status.created_at);
  if (id === null || createdAt === null) return null;
  const account = asRecord(status.account);
  const content = asString(status.content) ?? asString(status.text);
  const spoiler = asText(status.spoiler_text);
  const text = content === null ? null : htmlToText(content);
  return {
    platform: 'mastodon',
    external_id: id,
    account_external_id: asText(account?.id),
    account_handle: fullAcct(asText(account?.acct), instanceHost),
    author: asText(account?.display_name) ?? asText(account?.acct),
    created_at: createdAt,
    text: spoiler && text ? `${spoiler}\n\n${text}` : (text ?? spoiler),
    language: toLanguage(status.language),
    url: asText(status.url) ?? asText(status.uri),
    media_type: mediaType(status),
    metrics: {
      likes: firstCount(status, 'favourites_count'),
      comments: firstCount(status, 'replies_count'),
      shares: plus(firstCount(status, 'reblogs_count'), firstCount(status, 'quotes_count')),
      views: null,
      saves: null,
      impressions: null,
    },
    metrics_captured_at: capturedAt,
    raw: status,
  };
}

/** The `rel="next"` URL of a Link header. */
export function nextLink(link: string | null): string | null {
  if (link === null) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /<([^>]+)>\s*;(.*)$/.exec(part.trim());
    if (match && /rel="?next"?/.test(match[2] ?? '')) return match[1] ?? null;
  }
  return null;
}
