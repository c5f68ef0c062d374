import QRCode from 'qrcode';
import { signUpSchema } from '@socialpulse/contracts';
import { AppError, validationFailed } from '../../errors.js';
import type { Pool } from '../../db/pool.js';
import { withTransaction } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import {
  findApiKeyByPrefixInWorkspace,
  lockLiveApiKey,
  findApiKeyCredential,
  insertApiKey,
  touchApiKey,
  type ApiKeyRecord,
} from '../../db/repos/api-keys.repo.js';
import { lockRole } from '../../db/repos/memberships.repo.js';
import {
  consumeResetToken,
  consumeSetupToken,
  findSession,
  insertRefreshToken,
  insertResetToken,
  insertSession,
  insertSetupToken,
  lockRefreshToken,
  markRefreshTokenRotated,
  revokeSession,
  revokeUserSessions,
  spendUserResetTokens,
  touchSession,
} from '../../db/repos/sessions.repo.js';
import {
  claimTotpStep,
  countUsers,
  deleteRecoveryCodes,
  findUserByEmail,
  getUser,
  insertUser,
  replaceRecoveryCodes,
  updateMfa,
  updatePassword,
  useRecoveryCode,
  type UserRecord,
} from '../../db/repos/users.repo.js';
import { adoptOrphanWorkspaces } from '../workspaces/workspaces.service.js';
import { acceptInvitation, openInvitation } from '../workspaces/invitations.service.js';
import {
  signAccessToken,
  signMfaToken,
  verifyMfaToken,
  ACCESS_TOKEN_TTL_S,
} from './access-tokens.js';
import type { LoginThrottle } from './login-throttle.js';
import type { MailTransport } from './mail.js';
import {
  assertStrongPassword,
  dummyPasswordHash,
  hashPassword,
  verifyPassword,
} from './passwords.js';
import { apiKeyScopes, scopesBeyondRole, type ApiKeyScope } from './permissions.js';
import type { SecretBox } from './secret-box.js';
import {
  createApiKeySecret,
  createRecoveryCodes,
  hashToken,
  normalizeRecoveryCode,
  parseApiKey,
  randomToken,
  safeEqual,
} from './tokens.js';
import { createTotpSecret, totpUri, verifyTotp } from './totp.js';

export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * A token rotated this recently may be presented again and gets a fresh token of the same
 * session: two browser tabs (or a client retrying a lost answer) that renew at the same moment
 * both present the one refresh cookie, and without it the second would end the session as
 * theft. Later reuse still revokes the session.
 */
export const REFRESH_REUSE_GRACE_MS = 10_000;
const RESET_TOKEN_TTL_MS = 30 * 60 * 1000;
const SETUP_TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface AuthDeps {
  pool: Pool;
  secretBox: SecretBox;
  jwtSecret: string;
  throttle: LoginThrottle;
  mail: MailTransport;
  signupEnabled: boolean;
  publicUrl: string;
  /** A mail that could not be sent (the SMTP server refused or is down); the request still answers as usual. */
  onMailError?: (error: unknown, purpose: string) => void;
}

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  /**
   * The request came straight from this machine: its socket's peer is a loopback address and it
   * carries no proxy's forwarding header. Not `ip`: behind a reverse proxy on the same host every
   * request's socket is loopback, and with TRUST_PROXY `ip` is whatever X-Forwarded-For says.
   */
  fromThisMachine?: boolean;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  sessionId: string;
  userId: string;
}

export type SignInResult =
  { kind: 'tokens'; tokens: IssuedTokens } | { kind: 'mfa_required'; mfaToken: string };

/**
 * PostgreSQL text cannot hold NUL, and jsonb (the audit details) refuses NUL and unpaired
 * surrogate escapes; the contracts' string schemas let both through, so a display name or key
 * name carrying one failed in the INSERT as a 500. Refuse it as a 400 instead.
 */
function assertStorableText(value: string | null | undefined, field: string): void {
  if (
    value &&
    (value.includes('\u0000') ||
      /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value))
  ) {
    throw validationFailed(`${field} must not contain NUL or unpaired surrogate characters`, {
      field,
    });
  }
}

/** The HTTP schema's email rule, so that the CLI and every other caller of signUp get it too. */
const emailRule = signUpSchema.shape.email;

/** Refuses an address the sign-in form would refuse: an account under it could never sign in. */
export function assertValidEmail(email: string): void {
  if (!emailRule.safeParse(email).success) {
    throw validationFailed(`email ${JSON.stringify(email)} is not a valid email address`, {
      field: 'email',
      value: email,
    });
  }
}

const invalidCredentials = (): AppError =>
  new AppError('unauthorized', 'Email or password is incorrect', {
    details: { reason: 'invalid_credentials' },
  });
const totpContext = (userId: string): string => `user:${userId}:totp`;

async function audit(
  deps: AuthDeps,
  meta: RequestMeta,
  entry: {
    userId: string | null;
    action: string;
    target?: string | null;
    details?: Record<string, unknown>;
  },
): Promise<void> {
  await withTransaction(deps.pool, (c) =>
    insertAuditEntry(c, {
      workspaceId: null,
      userId: entry.userId,
      actor: entry.userId ?? 'anonymous',
      action: entry.action,
      target: entry.target ?? null,
      details: entry.details ?? {},
      ip: meta.ip,
      requestId: meta.requestId,
    }),
  );
}

async function issueTokens(
  deps: AuthDeps,
  user: UserRecord,
  mfaVerified: boolean,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const refreshToken = randomToken();
  const session = await withTransaction(deps.pool, async (c) => {
    const s = await insertSession(c, {
      userId: user.id,
      mfaVerified,
      expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_MS),
      userAgent: meta.userAgent,
      ip: meta.ip,
    });
    await insertRefreshToken(
      c,
      s.id,
      hashToken(refreshToken),
      new Date(Date.now() + REFRESH_TOKEN_TTL_MS),
    );
    return s;
  });
  const accessToken = await signAccessToken(deps.jwtSecret, {
    userId: user.id,
    sessionId: session.id,
    mfa: mfaVerified,
  });
  return {
    accessToken,
    refreshToken,
    expiresIn: ACCESS_TOKEN_TTL_S,
    sessionId: session.id,
    userId: user.id,
  };
}

/** Serialises account creation against itself: two first sign-ups cannot both become admin. */
const ACCOUNT_CREATION_LOCK = 0x5350_0001;

/**
 * Creates an account. The first account of an instance is its admin and owns the workspaces
 * that have no owner (the Demo). Whoever reaches a fresh instance first would become its admin,
 * so the first account needs the one-time setup link unless the request comes from the machine
 * itself (the operator running `npm start` locally) or the operator's CLI. An invitation lets
 * its address sign up even when sign-up is closed, and joins the workspace at once.
 */
export async function signUp(
  deps: AuthDeps,
  input: {
    email: string;
    password: string;
    displayName?: string | null | undefined;
    invitationToken?: string | undefined;
  },
  meta: RequestMeta,
  options: { viaAdmin?: boolean; makeAdmin?: boolean } = {},
): Promise<UserRecord> {
  assertValidEmail(input.email.trim());
  assertStorableText(input.displayName, 'display_name');
  assertStrongPassword(input.password, [input.email, input.displayName ?? '']);
  const invitation = input.invitationToken
    ? await openInvitation(deps.pool, input.invitationToken)
    : null;
  if (invitation && invitation.email.toLowerCase() !== input.email.trim().toLowerCase()) {
    throw new AppError(
      'forbidden',
      'This invitation is for another email address; sign up with the address it was sent to',
      { details: { field: 'email', reason: 'invitation_email_mismatch' } },
    );
  }
  // Hashed before the lock: argon2id is the slow part, and the lock serialises every sign-up.
  const passwordHash = await hashPassword(input.password);
  const user = await withTransaction(deps.pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [ACCOUNT_CREATION_LOCK]);
    const existing = await countUsers(c);
    if (existing === 0 && !options.viaAdmin && meta.fromThisMachine !== true) {
      throw new AppError(
        'forbidden',
        'This instance has no account yet: create the admin account with the one-time setup link printed when the server started',
        { details: { reason: 'setup_required' } },
      );
    }
    if (existing > 0 && !deps.signupEnabled && !options.viaAdmin && !invitation) {
      throw new AppError(
        'forbidden',
        'Sign-up is closed on this instance; ask an administrator for an account or an invitation',
        { details: { reason: 'signup_closed' } },
      );
    }
    return insertUser(c, {
      email: input.email.trim(),
      displayName: input.displayName ?? null,
      passwordHash,
      isInstanceAdmin: existing === 0 || options.makeAdmin === true,
    });
  });
  if (user.isInstanceAdmin) await adoptOrphanWorkspaces(deps.pool, user.id);
  await audit(deps, meta, {
    userId: user.id,
    action: 'user.created',
    target: user.id,
    details: {
      instanceAdmin: user.isInstanceAdmin,
      ...(invitation ? { invitation: invitation.id } : {}),
    },
  });
  if (invitation && input.invitationToken)
    await acceptInvitation(deps.pool, input.invitationToken, user, meta);
  return user;
}

/** Issues a one-time link for creating the first account; null once an account exists. */
export async function createSetupLink(
  deps: AuthDeps,
  baseUrl = deps.publicUrl,
): Promise<string | null> {
  if ((await countUsers(deps.pool)) > 0) return null;
  const token = randomToken();
  await insertSetupToken(deps.pool, hashToken(token), new Date(Date.now() + SETUP_TOKEN_TTL_MS));
  return `${baseUrl}/setup?token=${token}`;
}

export async function completeSetup(
  deps: AuthDeps,
  token: string,
  input: { email: string; password: string; displayName?: string | null | undefined },
  meta: RequestMeta,
): Promise<IssuedTokens> {
  // Checked before the link is spent: a refused password must leave it usable for the retry.
  assertValidEmail(input.email.trim());
  assertStorableText(input.displayName, 'display_name');
  assertStrongPassword(input.password, [input.email, input.displayName ?? '']);
  if (
    (await countUsers(deps.pool)) > 0 ||
    !(await consumeSetupToken(deps.pool, hashToken(token)))
  ) {
    throw new AppError('forbidden', 'This setup link is invalid, used or expired', {
      details: { reason: 'setup_token_invalid' },
    });
  }
  const user = await signUp(deps, input, meta, { viaAdmin: true, makeAdmin: true });
  return issueTokens(deps, user, false, meta);
}

/** Starts a session for an account that just proved who it is (sign-up: no second password check). */
export async function startSession(
  deps: AuthDeps,
  user: UserRecord,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const tokens = await issueTokens(deps, user, false, meta);
  await audit(deps, meta, {
    userId: user.id,
    action: 'auth.signed_in',
    target: tokens.sessionId,
    details: { mfa: false, via: 'sign_up' },
  });
  return tokens;
}

export async function signIn(
  deps: AuthDeps,
  input: { email: string; password: string },
  meta: RequestMeta,
): Promise<SignInResult> {
  const ip = meta.ip ?? 'unknown';
  await deps.throttle.check(input.email, ip);
  const user = await findUserByEmail(deps.pool, input.email);
  // Verify against a dummy hash when the account does not exist: same time, no enumeration.
  const ok = await verifyPassword(
    user?.passwordHash ?? (await dummyPasswordHash()),
    input.password,
  );
  if (!user || !ok || user.disabledAt) {
    await deps.throttle.fail(input.email, ip);
    await audit(deps, meta, {
      userId: user?.id ?? null,
      action: 'auth.sign_in_failed',
      details: {
        email: input.email.slice(0, 320),
        reason: !user ? 'unknown_account' : user.disabledAt ? 'disabled' : 'wrong_password',
      },
    });
    throw invalidCredentials();
  }
  if (user.mfaEnabledAt) {
    // The password alone does not clear the account's failures: wrong codes count there too, and
    // someone who knows the password could otherwise sign in again between rounds of guesses and
    // never be locked. completeMfaSignIn clears them once the second factor passes.
    return { kind: 'mfa_required', mfaToken: await signMfaToken(deps.jwtSecret, user.id) };
  }
  await deps.throttle.succeed(input.email);
  const tokens = await issueTokens(deps, user, false, meta);
  await audit(deps, meta, {
    userId: user.id,
    action: 'auth.signed_in',
    target: tokens.sessionId,
    details: { mfa: false },
  });
  return { kind: 'tokens', tokens };
}

/** Checks a TOTP code (refusing replays) or consumes a recovery code. */
async function checkSecondFactor(
  deps: AuthDeps,
  user: UserRecord,
  input: { code?: string | undefined; recoveryCode?: string | undefined },
): Promise<'totp' | 'recovery_code' | null> {
  if (input.code && user.mfaSecretEnc) {
    const secret = deps.secretBox.decrypt(user.mfaSecretEnc, totpContext(user.id));
    const step = verifyTotp(secret, input.code, user.mfaLastStep);
    if (step !== null && (await claimTotpStep(deps.pool, user.id, step))) return 'totp';
    return null;
  }
  if (input.recoveryCode) {
    return (await useRecoveryCode(
      deps.pool,
      user.id,
      hashToken(normalizeRecoveryCode(input.recoveryCode)),
    ))
      ? 'recovery_code'
      : null;
  }
  return null;
}

export async function completeMfaSignIn(
  deps: AuthDeps,
  input: { mfaToken: string; code?: string | undefined; recoveryCode?: string | undefined },
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const userId = await verifyMfaToken(deps.jwtSecret, input.mfaToken);
  const user = await getUser(deps.pool, userId);
  const ip = meta.ip ?? 'unknown';
  await deps.throttle.check(user.email, ip);
  const factor = await checkSecondFactor(deps, user, input);
  if (!factor) {
    await deps.throttle.fail(user.email, ip);
    await audit(deps, meta, { userId: user.id, action: 'auth.mfa_failed' });
    throw new AppError('unauthorized', 'The code is incorrect or was already used', {
      details: { reason: 'invalid_mfa_code' },
    });
  }
  await deps.throttle.succeed(user.email);
  const tokens = await issueTokens(deps, user, true, meta);
  await audit(deps, meta, {
    userId: user.id,
    action: 'auth.signed_in',
    target: tokens.sessionId,
    details: { mfa: true, factor },
  });
  return tokens;
}

/**
 * Rotates a refresh token. A token that was already rotated, beyond the short grace window for
 * renewals racing each other (REFRESH_REUSE_GRACE_MS), means it leaked: the whole session is
 * revoked, and every token of it dies.
 */
export async function refreshSession(
  deps: AuthDeps,
  refreshToken: string,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const hash = hashToken(refreshToken);
  const outcome = await withTransaction(deps.pool, async (c) => {
    const token = await lockRefreshToken(c, hash);
    if (!token) return { kind: 'unknown' as const };
    const session = await findSession(c, token.sessionId);
    if (!session || session.revokedAt || session.expiresAt < new Date())
      return { kind: 'revoked' as const };
    const concurrentRenewal =
      token.rotatedMsAgo !== null && token.rotatedMsAgo <= REFRESH_REUSE_GRACE_MS;
    if (token.rotatedMsAgo !== null && !concurrentRenewal) {
      await revokeSession(c, session.id, 'refresh_token_reuse');
      return { kind: 'reuse' as const, session };
    }
    if (token.expiresAt < new Date()) return { kind: 'expired' as const };
    if (!concurrentRenewal) await markRefreshTokenRotated(c, hash);
    const next = randomToken();
    await insertRefreshToken(
      c,
      session.id,
      hashToken(next),
      new Date(Date.now() + REFRESH_TOKEN_TTL_MS),
    );
    await touchSession(c, session.id);
    return { kind: 'rotated' as const, session, next };
  });
  if (outcome.kind === 'reuse') {
    await audit(deps, meta, {
      userId: outcome.session.userId,
      action: 'auth.refresh_token_reused',
      target: outcome.session.id,
      details: { revoked: 'session' },
    });
    throw new AppError(
      'unauthorized',
      'This refresh token was already used; the session has been revoked. Sign in again.',
      { details: { reason: 'refresh_token_reused' } },
    );
  }
  if (outcome.kind !== 'rotated') {
    throw new AppError('unauthorized', 'The refresh token is invalid or expired; sign in again', {
      details: { reason: `refresh_token_${outcome.kind}` },
    });
  }
  const accessToken = await signAccessToken(deps.jwtSecret, {
    userId: outcome.session.userId,
    sessionId: outcome.session.id,
    mfa: outcome.session.mfaVerified,
  });
  return {
    accessToken,
    refreshToken: outcome.next,
    expiresIn: ACCESS_TOKEN_TTL_S,
    sessionId: outcome.session.id,
    userId: outcome.session.userId,
  };
}

export async function signOut(
  deps: AuthDeps,
  sessionId: string,
  userId: string,
  meta: RequestMeta,
): Promise<void> {
  await revokeSession(deps.pool, sessionId, 'sign_out');
  await audit(deps, meta, { userId, action: 'auth.signed_out', target: sessionId });
}

/** Whether a session is still valid (access tokens are checked against it: sign-out is immediate). */
export async function isSessionActive(
  deps: Pick<AuthDeps, 'pool'>,
  sessionId: string,
): Promise<boolean> {
  const session = await findSession(deps.pool, sessionId);
  return Boolean(session && !session.revokedAt && session.expiresAt > new Date());
}

export async function changePassword(
  deps: AuthDeps,
  userId: string,
  sessionId: string,
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<void> {
  const user = await getUser(deps.pool, userId);
  // A stolen session must not become a password oracle: same lockout as sign-in.
  const ip = meta.ip ?? 'unknown';
  await deps.throttle.check(user.email, ip);
  if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
    await deps.throttle.fail(user.email, ip);
    throw new AppError('unauthorized', 'The current password is incorrect', {
      details: { field: 'current_password' },
    });
  }
  assertStrongPassword(input.newPassword, [user.email, user.displayName ?? '']);
  const passwordHash = await hashPassword(input.newPassword);
  await withTransaction(deps.pool, async (c) => {
    await updatePassword(c, userId, passwordHash);
    await revokeUserSessions(c, userId, 'password_changed', sessionId);
    await spendUserResetTokens(c, userId);
  });
  await audit(deps, meta, { userId, action: 'auth.password_changed' });
}

/**
 * An error of a mail that carried a secret, fit for the log: its message (and the SMTP server's
 * answer) with the secret cut out, in case a server echoed the message back.
 */
function mailErrorWithout(error: unknown, secret: string): Error {
  const scrub = (text: string): string => text.split(secret).join('[redacted]');
  const e = error instanceof Error ? error : new Error(String(error));
  const clean = new Error(scrub(e.message));
  clean.name = e.name;
  for (const field of ['code', 'command', 'responseCode', 'response'] as const) {
    const value = (e as Error & Partial<Record<typeof field, unknown>>)[field];
    if (value !== undefined)
      Object.assign(clean, { [field]: typeof value === 'string' ? scrub(value) : value });
  }
  return clean;
}

/**
 * Sends a reset link if the account exists; answers the same either way, and the same when the
 * mail cannot be sent. The request does the same work for an unknown address as for a known one
 * (a token made, one transaction writing the audit entry, and the token when there is an account)
 * and the mail goes out after the answer, so that its time does not tell which addresses have an
 * account. A failed mail is reported to onMailError (logged) without the link's token.
 */
export async function requestPasswordReset(
  deps: AuthDeps,
  email: string,
  meta: RequestMeta,
): Promise<void> {
  const ip = meta.ip ?? 'unknown';
  const resetKey = `reset:${email}`;
  // Its own account key: a flood of reset requests neither locks the sign-in nor fills a mailbox.
  await deps.throttle.check(resetKey, ip);
  await deps.throttle.fail(resetKey, ip);
  const user = await findUserByEmail(deps.pool, email);
  const account = user && !user.disabledAt ? user : null;
  const token = randomToken();
  const tokenHash = hashToken(token);
  await withTransaction(deps.pool, async (c) => {
    if (account)
      await insertResetToken(c, account.id, tokenHash, new Date(Date.now() + RESET_TOKEN_TTL_MS));
    await insertAuditEntry(c, {
      workspaceId: null,
      userId: user?.id ?? null,
      actor: user?.id ?? 'anonymous',
      action: 'auth.password_reset_requested',
      details: account
        ? {}
        : {
            email: email.slice(0, 320),
            sent: false,
            reason: user ? 'disabled' : 'unknown_account',
          },
      ip: meta.ip,
      requestId: meta.requestId,
    });
  });
  if (!account) return;
  const message = {
    to: account.email,
    subject: 'Reset your SocialPulse password',
    text: `Someone asked to reset the password of ${account.email}.\n\nReset it within 30 minutes: ${deps.publicUrl}/reset-password?token=${token}\n\nIf it was not you, ignore this message.`,
  };
  // Not awaited: the answer leaves before the SMTP exchange. The async wrapper turns a transport
  // that throws at once into a rejection, which is always handled.
  void (async () => deps.mail.send(message))().catch((error: unknown) => {
    deps.onMailError?.(mailErrorWithout(error, token), 'password_reset');
  });
}

export async function resetPassword(
  deps: AuthDeps,
  token: string,
  newPassword: string,
  meta: RequestMeta,
): Promise<void> {
  const user = await withTransaction(deps.pool, async (c) => {
    const userId = await consumeResetToken(c, hashToken(token));
    if (!userId)
      throw new AppError('unauthorized', 'This reset link is invalid, used or expired', {
        details: { reason: 'reset_token_invalid' },
      });
    const u = await getUser(c, userId);
    assertStrongPassword(newPassword, [u.email, u.displayName ?? '']);
    await updatePassword(c, userId, await hashPassword(newPassword));
    await revokeUserSessions(c, userId, 'password_reset');
    // The other links of this user (older requests) die with the one just used.
    await spendUserResetTokens(c, userId);
    return u;
  });
  await audit(deps, meta, { userId: user.id, action: 'auth.password_reset' });
}

export async function startTotpEnrolment(
  deps: AuthDeps,
  userId: string,
): Promise<{ secret: string; uri: string; qrDataUrl: string }> {
  const user = await getUser(deps.pool, userId);
  if (user.mfaEnabledAt)
    throw new AppError(
      'conflict',
      'Two-factor authentication is already enabled; disable it first to enrol a new device',
    );
  const secret = createTotpSecret();
  await updateMfa(deps.pool, userId, {
    pendingSecretEnc: deps.secretBox.encrypt(secret, totpContext(userId)),
  });
  const uri = totpUri(secret, user.email);
  return { secret, uri, qrDataUrl: await QRCode.toDataURL(uri) };
}

/** Confirms enrolment with a code from the app; returns the recovery codes (shown once). */
export async function confirmTotpEnrolment(
  deps: AuthDeps,
  userId: string,
  sessionId: string,
  code: string,
  meta: RequestMeta,
): Promise<string[]> {
  const user = await getUser(deps.pool, userId);
  if (!user.mfaPendingSecretEnc)
    throw new AppError('conflict', 'Start the enrolment first (POST /v1/auth/mfa/totp)');
  const secret = deps.secretBox.decrypt(user.mfaPendingSecretEnc, totpContext(userId));
  const step = verifyTotp(secret, code, null);
  if (step === null)
    throw new AppError(
      'validation_failed',
      'The code does not match; check the device clock and try the next code',
      { details: { field: 'code' } },
    );
  const codes = createRecoveryCodes();
  await withTransaction(deps.pool, async (c) => {
    await updateMfa(c, userId, {
      secretEnc: user.mfaPendingSecretEnc,
      pendingSecretEnc: null,
      enabled: true,
      lastStep: step,
    });
    await replaceRecoveryCodes(
      c,
      userId,
      codes.map((rc) => hashToken(normalizeRecoveryCode(rc))),
    );
    await touchSession(c, sessionId, true);
  });
  await audit(deps, meta, { userId, action: 'auth.mfa_enabled' });
  return codes;
}

export async function disableMfa(
  deps: AuthDeps,
  userId: string,
  input: { password: string; code?: string | undefined; recoveryCode?: string | undefined },
  meta: RequestMeta,
): Promise<void> {
  const user = await getUser(deps.pool, userId);
  if (!user.mfaEnabledAt) return;
  const ip = meta.ip ?? 'unknown';
  await deps.throttle.check(user.email, ip);
  if (
    !(await verifyPassword(user.passwordHash, input.password)) ||
    !(await checkSecondFactor(deps, user, input))
  ) {
    await deps.throttle.fail(user.email, ip);
    throw new AppError('unauthorized', 'Password or code is incorrect', {
      details: { reason: 'invalid_credentials' },
    });
  }
  await withTransaction(deps.pool, async (c) => {
    await updateMfa(c, userId, {
      secretEnc: null,
      pendingSecretEnc: null,
      enabled: false,
      lastStep: null,
    });
    await deleteRecoveryCodes(c, userId);
  });
  await audit(deps, meta, { userId, action: 'auth.mfa_disabled' });
}

/** Operator reset (CLI `users reset-mfa`): for a user who lost their device and codes. */
export async function resetMfa(
  deps: Pick<AuthDeps, 'pool'>,
  userId: string,
  actor: string,
): Promise<void> {
  await withTransaction(deps.pool, async (c) => {
    await updateMfa(c, userId, {
      secretEnc: null,
      pendingSecretEnc: null,
      enabled: false,
      lastStep: null,
    });
    await deleteRecoveryCodes(c, userId);
    await revokeUserSessions(c, userId, 'mfa_reset');
    await insertAuditEntry(c, {
      workspaceId: null,
      userId,
      actor,
      action: 'auth.mfa_reset',
      target: userId,
    });
  });
}

export async function regenerateRecoveryCodes(
  deps: AuthDeps,
  userId: string,
  meta: RequestMeta,
): Promise<string[]> {
  const user = await getUser(deps.pool, userId);
  if (!user.mfaEnabledAt) throw new AppError('conflict', 'Enable two-factor authentication first');
  const codes = createRecoveryCodes();
  await replaceRecoveryCodes(
    deps.pool,
    userId,
    codes.map((rc) => hashToken(normalizeRecoveryCode(rc))),
  );
  await audit(deps, meta, { userId, action: 'auth.recovery_codes_regenerated' });
  return codes;
}

export interface ApiKeyPrincipal {
  keyId: string;
  workspaceId: string;
  scopes: ApiKeyScope[];
}

/** Checks a presented API key: known prefix, matching hash (constant time), not revoked or expired. */
export async function authenticateApiKey(
  deps: Pick<AuthDeps, 'pool'>,
  presented: string,
): Promise<ApiKeyPrincipal> {
  const parsed = parseApiKey(presented);
  const credential = parsed ? await findApiKeyCredential(deps.pool, parsed.prefix) : null;
  if (!credential || !safeEqual(credential.keyHash, hashToken(presented))) {
    throw new AppError('unauthorized', 'Invalid API key', {
      details: { reason: 'api_key_invalid' },
    });
  }
  if (credential.revokedAt)
    throw new AppError('unauthorized', 'This API key was revoked', {
      details: { reason: 'api_key_revoked' },
    });
  if (credential.expiresAt && credential.expiresAt < new Date())
    throw new AppError('unauthorized', 'This API key has expired', {
      details: { reason: 'api_key_expired' },
    });
  await touchApiKey(deps.pool, credential.id);
  return { keyId: credential.id, workspaceId: credential.workspaceId, scopes: credential.scopes };
}

/**
 * Creates an API key. A key created by another key (`mintedByKey`: a key with the admin scope)
 * records that key, and as its creator the person behind it: a key acts for whoever made the
 * key that made it, so removing or demoting that person reaches it too.
 */
export async function createApiKey(
  pool: Pool,
  input: {
    workspaceId: string;
    name: string;
    scopes: ApiKeyScope[];
    expiresAt: Date | null;
    createdBy: string | null;
    mintedByKey?: string | null;
    actor: string;
  },
  meta: RequestMeta,
): Promise<{ key: string; record: ApiKeyRecord }> {
  assertStorableText(input.name, 'name');
  const { key, prefix } = createApiKeySecret();
  const mintedByKey = input.mintedByKey ?? null;
  // The audit entry and the scope name who was signed in: nobody, when a key acts.
  const actingUser = mintedByKey ? null : input.createdBy;
  const record = await withTenant(
    pool,
    { workspaceId: input.workspaceId, userId: actingUser },
    async (c) => {
      const parent = mintedByKey
        ? await findApiKeyByPrefixInWorkspace(c, input.workspaceId, mintedByKey)
        : null;
      if (mintedByKey && !parent)
        throw new AppError('unauthorized', 'Invalid API key', {
          details: { reason: 'api_key_invalid' },
        });
      // Serialised with a removal or demotion of the person behind the new key, which revokes
      // their keys in its transaction: a key made meanwhile is refused here, or revoked there.
      if (parent && !(await lockLiveApiKey(c, input.workspaceId, parent.id)))
        throw new AppError('unauthorized', 'This API key has been revoked', {
          details: { reason: 'api_key_revoked' },
        });
      const person = parent ? parent.createdBy : input.createdBy;
      if (person) {
        const role = await lockRole(c, input.workspaceId, person);
        const beyond = role ? scopesBeyondRole(role) : apiKeyScopes;
        if (input.scopes.some((scope) => beyond.includes(scope)))
          throw new AppError(
            'forbidden',
            'The member behind this request may no longer grant these scopes in this workspace',
            { details: { reason: 'creator_cannot_grant', scopes: input.scopes } },
          );
      }
      const r = await insertApiKey(c, {
        workspaceId: input.workspaceId,
        name: input.name,
        prefix,
        keyHash: hashToken(key),
        scopes: input.scopes,
        createdBy: parent ? parent.createdBy : input.createdBy,
        createdByKey: parent?.id ?? null,
        expiresAt: input.expiresAt,
      });
      await insertAuditEntry(c, {
        workspaceId: input.workspaceId,
        userId: actingUser,
        actor: input.actor,
        action: 'api_key.created',
        target: prefix,
        details: {
          name: input.name,
          scopes: input.scopes,
          ...(parent ? { created_by_key: parent.prefix, on_behalf_of: parent.createdBy } : {}),
        },
        ip: meta.ip,
        requestId: meta.requestId,
      });
      return r;
    },
  );
  return { key, record };
}
