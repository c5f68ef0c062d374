import { z } from 'zod';

// PostgreSQL's text type cannot hold NUL: a parameter with one fails the query.
const hasNoNul = (v: string): boolean => !v.includes('\u0000');
const NO_NUL = 'must not contain NUL characters';

/** Text PostgreSQL can take as a parameter (a filter value, a file name): no NUL. */
export const storableTextSchema = (max: number) => z.string().max(max).refine(hasNoNul, NO_NUL);

/** A name or label PostgreSQL can store: trimmed, no NUL, well-formed Unicode. */
export const nameSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine(hasNoNul, NO_NUL)
    .refine((v) => v.isWellFormed(), 'must be valid Unicode (no unpaired surrogates)');

/**
 * An http(s) URL a server calls: without a user name or password in it. A key there would be
 * stored and shown as plain configuration, and never sent: the LLM client's HTTP library drops a
 * URL's credentials (and fetch refuses such a URL).
 */
export const callableUrlSchema = (keyHint: string) =>
  z.url({ protocol: /^https?$/ }).refine((v) => {
    const url = new URL(v);
    return url.username === '' && url.password === '';
  }, `must not contain a user name or password; ${keyHint}`);

/** `text` with any URL's user name and password replaced by `***`, for messages that echo input. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi, '$1***@');
}
