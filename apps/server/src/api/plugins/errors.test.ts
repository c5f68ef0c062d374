/**
 * Validation problems name the field and the value received (never a secret's), on the real
 * contract schemas the routes use.
 */
import Fastify from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analysisResultQuerySchema,
  analysisSettingsPatchSchema,
  signInSchema,
} from '@socialpulse/contracts';
import { registerErrorHandling } from './errors.js';

interface Body {
  error: {
    code: string;
    message: string;
    details: { problems: { in: string; field: string | null; message: string; value?: unknown }[] };
  };
}

describe('validation problems', () => {
  const app = Fastify().withTypeProvider<ZodTypeProvider>();

  beforeAll(async () => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    registerErrorHandling(app);
    app.get('/results', { schema: { querystring: analysisResultQuerySchema } }, () => ({}));
    app.post('/sign-in', { schema: { body: signInSchema } }, () => ({}));
    app.patch('/settings', { schema: { body: analysisSettingsPatchSchema } }, () => ({}));
    await app.ready();
  });
  afterAll(() => app.close());

  const query = async (qs: string): Promise<Body['error']> => {
    const res = await app.inject({ method: 'GET', url: `/results?${qs}` });
    expect(res.statusCode, res.body).toBe(400);
    return res.json<Body>().error;
  };
  const send = async (
    method: 'POST' | 'PATCH',
    url: string,
    payload: unknown,
  ): Promise<Body['error']> => {
    const res = await app.inject({ method, url, payload: payload as object });
    expect(res.statusCode, res.body).toBe(400);
    return res.json<Body>().error;
  };

  it('an invalid option names the value received', async () => {
    const error = await query('label=Negative');
    expect(error.details.problems).toEqual([
      {
        in: 'querystring',
        field: 'label',
        message: expect.stringContaining('Invalid option') as unknown,
        value: 'Negative',
      },
    ]);
    expect(error.message).toMatch(/^querystring\.label: Invalid option.*\(got "Negative"\)$/);
  });

  it('a malformed cursor names the value received', async () => {
    // Longer than any cursor the API issues: refused by the schema, before the route reads it.
    const error = await query(`cursor=${'x'.repeat(201)}`);
    expect(error.details.problems).toEqual([
      {
        in: 'querystring',
        field: 'cursor',
        message: expect.any(String) as unknown,
        value: `${'x'.repeat(99)}…`,
      },
    ]);
  });

  it('an unknown parameter is named as the field, each one, without its value', async () => {
    // An unexpected name may hold a secret ("passwd=…"): the name is enough to find a typo.
    expect((await query('sentiment=positive')).details.problems).toEqual([
      { in: 'querystring', field: 'sentiment', message: 'Unrecognized key' },
    ]);
    const two = await query('sentiment=positive&passwd=hunter2');
    expect(two.details.problems.map((p) => [p.field, p.value])).toEqual([
      ['sentiment', undefined],
      ['passwd', undefined],
    ]);
    expect(two.message).toBe('querystring.sentiment: Unrecognized key');
    expect(JSON.stringify(two)).not.toContain('hunter2');
  });

  it('a long value is cut to 100 characters', async () => {
    const [p] = (await query(`topic=${'t'.repeat(300)}`)).details.problems;
    expect(p?.field).toBe('topic');
    expect(p?.value).toBe(`${'t'.repeat(99)}…`);
    const [repeated] = (await query('limit=1&limit=2')).details.problems;
    expect(repeated).toMatchObject({ field: 'limit', value: ['1', '2'] });
  });

  it('a missing field has no value', async () => {
    const error = await send('POST', '/sign-in', { password: 'x' });
    const email = error.details.problems.find((p) => p.field === 'email');
    expect(email).toBeDefined();
    expect(email).not.toHaveProperty('value');
  });

  it('never echoes a secret: by its name, as an unknown key, or inside an object', async () => {
    const secret = 'hunter2-do-not-echo';
    const signIn = await send('POST', '/sign-in', { email: 'not-an-email', password: 7 });
    expect(signIn.details.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'email', value: 'not-an-email' }),
        { in: 'body', field: 'password', message: expect.any(String) as unknown },
      ]),
    );
    const unknown = await send('POST', '/sign-in', {
      email: 'a@example.com',
      password: 'long enough password',
      refresh_token: secret,
    });
    expect(unknown.details.problems).toEqual([
      { in: 'body', field: 'refresh_token', message: 'Unrecognized key' },
    ]);
    const nested = await send('PATCH', '/settings', { llm: { api_key: 5, timeout_ms: 'soon' } });
    expect(nested.details.problems).toEqual(
      expect.arrayContaining([
        { in: 'body', field: 'llm.api_key', message: expect.any(String) as unknown },
        expect.objectContaining({ field: 'llm.timeout_ms', value: 'soon' }),
      ]),
    );
    const whole = await send('PATCH', '/settings', { llm: [{ api_key: secret }] });
    expect(whole.details.problems).toEqual([
      expect.objectContaining({ field: 'llm', value: [{ api_key: '[redacted]' }] }),
    ]);
    for (const error of [signIn, unknown, nested, whole])
      expect(JSON.stringify(error)).not.toContain(secret);
  });

  it('refuses a base URL with a key in it, without echoing the key', async () => {
    const secret = 'sk-in-the-url';
    const error = await send('PATCH', '/settings', {
      llm: { base_url: `https://me:${secret}@llm.example.com/v1` },
    });
    expect(error.details.problems).toEqual([
      {
        in: 'body',
        field: 'llm.base_url',
        message: 'must not contain a user name or password; send the key as api_key',
        value: 'https://***@llm.example.com/v1',
      },
    ]);
    const nested = await send('PATCH', '/settings', {
      llm: [{ base_url: `https://me:${secret}@llm.example.com/v1` }],
    });
    expect(nested.details.problems).toEqual([
      expect.objectContaining({
        field: 'llm',
        value: [{ base_url: 'https://***@llm.example.com/v1' }],
      }),
    ]);
    for (const e of [error, nested]) expect(JSON.stringify(e)).not.toContain(secret);
  });
});
