import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactQuery, redactUrl } from './logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger redaction', () => {
  it('never writes credentials, in either spelling, at the top level or one level down', () => {
    const out = capture();
    const logger = createLogger('info', out.stream);
    const secrets = {
      password: 'hunter2-top',
      new_password: 'np-1',
      current_password: 'cp-1',
      token: 'tok-1',
      access_token: 'at-1',
      refresh_token: 'rt-1',
      refreshToken: 'rt-2',
      mfa_token: 'mt-1',
      recovery_code: 'rc-1',
      api_key: 'sp_abcdefgh_x',
      client_secret: 'cs-1',
      jwtSecret: 'js-1',
      encryptionKey: 'ek-1',
      csrf_token: 'csrf-1',
    };
    logger.info(
      {
        ...secrets,
        body: secrets,
        req: {
          headers: {
            authorization: 'Bearer abc',
            cookie: 'sp_access=abc',
            'x-csrf-token': 'csrf-2',
          },
        },
      },
      'request',
    );
    const [line] = out.lines();
    const text = JSON.stringify(line);
    for (const value of [...Object.values(secrets), 'Bearer abc', 'sp_access=abc', 'csrf-2'])
      expect(text).not.toContain(value);
    expect((line as { body: Record<string, unknown> }).body.password).toBe('[redacted]');
  });

  it('keeps what operators need: error codes, messages and ids', () => {
    const out = capture();
    createLogger('info', out.stream).warn(
      { err: { code: 'chunk_failed', message: 'boom' }, analysis: 'a-1' },
      'chunk attempt failed',
    );
    expect(out.lines()[0]).toMatchObject({
      err: { code: 'chunk_failed', message: 'boom' },
      analysis: 'a-1',
    });
  });

  it('strips the password from connection URLs', () => {
    expect(redactUrl('postgres://app:s3cret@db.example:5432/sp')).not.toContain('s3cret');
  });
});

describe('redactQuery', () => {
  it.each([
    ['/reset-password?token=abc', '/reset-password?token=[redacted]'],
    ['/p?q=coffee&limit=5', '/p?q=coffee&limit=5'],
    ['/cb?code=c1&state=s1&scope=read', '/cb?code=[redacted]&state=[redacted]&scope=read'],
    ['/w?hub.verify_token=v&hub.challenge=9', '/w?hub.verify_token=[redacted]&hub.challenge=9'],
    ['/w?crc_token=x', '/w?crc_token=[redacted]'],
    // Escaped and oddly cased names are judged by what they decode to.
    ['/x?ACCESS%5FTOKEN=a&api-key=b', '/x?ACCESS%5FTOKEN=[redacted]&api-key=[redacted]'],
    ['/x?%E0%A4%A=1&token', '/x?%E0%A4%A=1&token'],
    ['/x?a=1&&b=2&', '/x?a=1&&b=2&'],
    ['/no-query', '/no-query'],
  ])('%s → %s', (url, expected) => {
    expect(redactQuery(url)).toBe(expected);
  });
});
