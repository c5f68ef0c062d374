import nodemailer from 'nodemailer';
import type { Logger } from '../../observability/logger.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Where outgoing mail (password resets, invitations) goes. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
}

/** The default: writes each message to the log, for instances without SMTP. */
export function createLogMailTransport(logger: Logger): MailTransport {
  const log = logger.child({ component: 'mail' });
  return {
    send(message) {
      log.info(
        { to: message.to, subject: message.subject, body: message.text },
        'mail (no SMTP_URL configured: delivered to the log)',
      );
      return Promise.resolve();
    },
  };
}

export function createSmtpMailTransport(smtpUrl: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport(smtpUrl);
  return {
    async send(message) {
      await transporter.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    },
  };
}

/** Keeps messages in memory: for tests that must read a reset link. */
export function createMemoryMailTransport(): MailTransport & { sent: MailMessage[] } {
  const sent: MailMessage[] = [];
  return {
    sent,
    send(message) {
      sent.push(message);
      return Promise.resolve();
    },
  };
}
