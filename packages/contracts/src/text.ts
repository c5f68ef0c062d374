import { z } from 'zod';

/** A name or label PostgreSQL can store: trimmed, no NUL, well-formed Unicode. */
export const nameSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
    .refine((v) => v.isWellFormed(), 'must be valid Unicode (no unpaired surrogates)');
