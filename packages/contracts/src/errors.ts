import { z } from 'zod';

/** The one error body every API route answers with. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable snake_case error code, e.g. `not_found`'),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'ErrorBody' });

export type ErrorBody = z.infer<typeof errorBodySchema>;
