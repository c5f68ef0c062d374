import { z } from 'zod';

/** The one error body every API route answers with. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable snake_case error code, e.g. `not_found`'),
      message: z.string(),
      details: z
        .record(z.string(), z.unknown())
        .nullable()
        .describe(
          'What more there is to say (the field, every validation problem, the limit, the request id of an internal error), or null',
        ),
    }),
  })
  .meta({ id: 'ErrorBody' });

export type ErrorBody = z.infer<typeof errorBodySchema>;
