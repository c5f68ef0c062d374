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
          'What more there is to say (the field, every validation problem, the limit, the request id of an internal error), or null. `validation_failed` lists its problems as `problems: [{in, field, message, value?}]`: `in` is the part of the request (body, querystring, params, headers), `field` the dotted path (an unknown key is named as the field; null for the part as a whole), and `value` what was received (a string cut to 100 characters, an object or array as its JSON cut likewise); `value` is absent when nothing was received, for headers (Last-Event-ID excepted), and for anything named like a credential (password, token, secret, key, authorization, cookie, credentials, code, signature).',
        ),
    }),
  })
  .meta({ id: 'ErrorBody' });

export type ErrorBody = z.infer<typeof errorBodySchema>;
