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
