/**
 * The two configured mail transports, end to end through the API: with SMTP_URL the nodemailer
 * SMTP transport hands a password-reset mail to a real SMTP server (a local one, no auth, no
 * TLS) whose link then resets the password; without it the log transport writes the message to
 * the log. A mail that cannot be sent leaves the answer as usual and is logged.
 */
import { Writable } from 'node:stream';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { signUpUser, strongPassword } from '../../../test/support/app.js';
import { buildTestAppWithDeps } from '../../../test/support/app-deps.js';
import { closedPort } from '../../../test/support/redis.js';
import type { ZodApp } from '../../api/types.js';
import { createLogger } from '../../observability/logger.js';

interface ReceivedMail {
  from: string | null;
  to: string[];
  raw: string;
}

/** An SMTP server on a free local port that keeps what it receives. */
async function startSmtpServer(): Promise<{
  port: number;
  received: ReceivedMail[];
  next: () => Promise<ReceivedMail>;
  close: () => Promise<void>;
}> {
  const received: ReceivedMail[] = [];
  const waiting: ((mail: ReceivedMail) => void)[] = [];
  const address = (a: SMTPServerAddress | false): string | null => (a ? a.address : null);
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mail = {
          from: address(session.envelope.mailFrom),
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        };
        received.push(mail);
        waiting.shift()?.(mail);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const bound = server.server.address();
  if (bound === null || typeof bound === 'string') throw new Error('no TCP address');
  return {
    port: bound.port,
    received,
    // Call before the request that sends: resolves with the next message received.
    next: () => new Promise<ReceivedMail>((resolve) => waiting.push(resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
/** The text body of a raw RFC 5322 message, with its transfer encoding undone. */
function textBody(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') {
    body = Buffer.from(
      body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
  } else if (encoding === 'base64') {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { headers, body };
}

/** Collects what a pino logger writes, one parsed JSON object per line. */
function logCapture(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { stream, lines };
}

const resetLink = /https:\/\/pulse\.example\.com\/reset-password\?token=([A-Za-z0-9_-]+)/;

async function resetWith(
  app: ZodApp,
  token: string,
  email: string,
  oldPassword: string,
): Promise<void> {
  const newPassword = strongPassword();
  const reset = await app.inject({
    method: 'POST',
    url: '/v1/auth/password/reset',
    payload: { token, new_password: newPassword },
  });
  expect(reset.statusCode, reset.body).toBe(204);
  const signIn = (password: string) =>
    app.inject({ method: 'POST', url: '/v1/auth/sign-in', payload: { email, password } });
  expect((await signIn(newPassword)).statusCode).toBe(200);
  expect((await signIn(oldPassword)).statusCode).toBe(401);
  // Single-use.
  const again = await app.inject({
    method: 'POST',
    url: '/v1/auth/password/reset',
    payload: { token, new_password: strongPassword() },
  });
  expect(again.statusCode).toBe(401);
}

const limits = { RATE_LIMIT_AUTH_PER_MINUTE: '1000000', PUBLIC_URL: 'https://pulse.example.com' };

describe.skipIf(databaseUnavailable() !== '')('mail transports', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describe('SMTP (SMTP_URL set)', () => {
    let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
    let app: ZodApp;
    beforeAll(async () => {
      smtp = await startSmtpServer();
      ({ app } = await buildTestAppWithDeps(db, {
        ...limits,
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        MAIL_FROM: 'SocialPulse <pulse@example.com>',
      }));
    });
    afterAll(async () => {
      await app?.close();
      await smtp?.close();
    });

    it('delivers the reset mail to the SMTP server, and its link resets the password', async () => {
      const user = await signUpUser(app);
      const arrived = smtp.next();
      const forgot = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: user.email },
      });
      expect(forgot.statusCode).toBe(202);
      const mail = await arrived;
      expect(mail.from).toBe('pulse@example.com');
      expect(mail.to).toEqual([user.email]);
      const { headers, body } = textBody(mail.raw);
      expect(headers.subject).toBe('Reset your SocialPulse password');
      expect(headers.to).toContain(user.email);
      expect(headers.from).toContain('pulse@example.com');
      const token = resetLink.exec(body)?.[1];
      expect(token, body).toBeDefined();
      // The answer itself never carries the link.
      expect(forgot.body).not.toContain(token);
      await resetWith(app, token ?? '', user.email, user.password);
    });

    it('sends nothing for an unknown address, with the same answer', async () => {
      const before = smtp.received.length;
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: `nobody-${Date.now()}@example.com` },
      });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({ status: 'sent_if_account_exists' });
      // A mail for someone known afterwards arrives alone: nothing was queued for the unknown one.
      const user = await signUpUser(app);
      const arrived = smtp.next();
      await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: user.email },
      });
      expect((await arrived).to).toEqual([user.email]);
      expect(smtp.received.length).toBe(before + 1);
    });
  });

  it('an unreachable SMTP server: the request answers as usual and the failure is logged', async () => {
    const capture = logCapture();
    const { app } = await buildTestAppWithDeps(
      db,
      { ...limits, SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` },
      { logger: createLogger('info', capture.stream) },
    );
    try {
      const user = await signUpUser(app);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: user.email },
      });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({ status: 'sent_if_account_exists' });
      // The mail goes out after the answer (its time must not tell that the account exists):
      // the failure is logged when the connection is refused.
      await vi.waitFor(() =>
        expect(capture.lines.some((l) => l.msg === 'could not send mail')).toBe(true),
      );
      const failure = capture.lines.find((l) => l.msg === 'could not send mail');
      expect(failure, JSON.stringify(capture.lines)).toMatchObject({ purpose: 'password_reset' });
      // Logged without the link.
      expect(JSON.stringify(failure)).not.toMatch(/reset-password\?token=/);
    } finally {
      await app.close();
    }
  });

  it('without SMTP_URL the log transport writes the message to the log, and its link works', async () => {
    const capture = logCapture();
    const { app } = await buildTestAppWithDeps(db, limits, {
      logger: createLogger('info', capture.stream),
    });
    try {
      const user = await signUpUser(app);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/password/forgot',
        payload: { email: user.email },
      });
      expect(res.statusCode).toBe(202);
      const lines = capture.lines.filter((l) => l.component === 'mail');
      expect(lines).toHaveLength(1);
      const line = lines[0] ?? {};
      expect(line).toMatchObject({
        level: 30,
        to: user.email,
        subject: 'Reset your SocialPulse password',
        msg: expect.stringContaining('delivered to the log') as unknown,
      });
      const token = resetLink.exec(String(line.body))?.[1];
      expect(token, String(line.body)).toBeDefined();
      await resetWith(app, token ?? '', user.email, user.password);
    } finally {
      await app.close();
    }
  });
});
