import { Secret, TOTP } from 'otpauth';

/** RFC 6238 TOTP: 30-second steps, 6 digits, SHA-1 (what every authenticator app supports). */
const PERIOD = 30;
/** Accept one step either side for clock skew. */
const WINDOW = 1;

export function createTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpFor(secretBase32: string, account: string): TOTP {
  return new TOTP({
    issuer: 'SocialPulse',
    label: account,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: Secret.fromBase32(secretBase32),
  });
}

export function totpUri(secretBase32: string, account: string): string {
  return totpFor(secretBase32, account).toString();
}

/**
 * Returns the time step of a valid code (so the caller can refuse its replay), or null.
 * `afterStep`: the last step already accepted for this user.
 */
export function verifyTotp(
  secretBase32: string,
  code: string,
  afterStep: number | null,
  now = Date.now(),
): number | null {
  if (!/^\d{6}$/.test(code.trim())) return null;
  const delta = totpFor(secretBase32, '').validate({
    token: code.trim(),
    window: WINDOW,
    timestamp: now,
  });
  if (delta === null) return null;
  const step = Math.floor(now / 1000 / PERIOD) + delta;
  if (afterStep !== null && step <= afterStep) return null;
  return step;
}

/** The code for a time (tests and the CLI's enrolment check use it). */
export function generateTotp(secretBase32: string, now = Date.now()): string {
  return totpFor(secretBase32, '').generate({ timestamp: now });
}
