import { z } from 'zod';
import {
  errorBodySchema,
  meSchema,
  mfaDisableSchema,
  mfaVerifySchema,
  passwordChangeSchema,
  passwordResetRequestSchema,
  passwordResetSchema,
  recoveryCodesSchema,
  refreshSchema,
  setupSchema,
  signInResponseSchema,
  signInSchema,
  signUpSchema,
  tokenResponseSchema,
  totpConfirmSchema,
  totpEnrolmentSchema,
} from '@socialpulse/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../errors.js';
import { getUser } from '../../../db/repos/users.repo.js';
import {
  changePassword,
  completeMfaSignIn,
  completeSetup,
  confirmTotpEnrolment,
  disableMfa,
  refreshSession,
  regenerateRecoveryCodes,
  REFRESH_TOKEN_TTL_MS,
  requestPasswordReset,
  resetPassword,
  signIn,
  signOut,
  signUp,
  startSession,
  startTotpEnrolment,
  type IssuedTokens,
  type RequestMeta,
} from '../../../domain/auth/auth.service.js';
import { ACCESS_TOKEN_TTL_S } from '../../../domain/auth/access-tokens.js';
import { ACCESS_COOKIE, REFRESH_COOKIE, type Principal } from '../../plugins/auth.js';
import type { AppDeps, ZodApp } from '../../types.js';
import { registerAuthStatusRoute } from './auth-status.routes.js';

/** @fastify/csrf-protection's cookie holding the CSRF secret (its default name). */
const CSRF_COOKIE = '_csrf';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'];

/**
 * Straight from this machine: the socket's own peer (not `request.ip`, which TRUST_PROXY takes
 * from X-Forwarded-For) is loopback, and no proxy forwarded the request (a reverse proxy on the
 * same host connects from loopback on behalf of anyone).
 */
const fromThisMachine = (request: FastifyRequest): boolean =>
  LOOPBACK.test(request.raw.socket.remoteAddress ?? '') &&
  FORWARDING_HEADERS.every((name) => request.headers[name] === undefined);

const meta = (request: FastifyRequest): RequestMeta => ({
  ip: request.ip,
  userAgent: request.headers['user-agent']?.slice(0, 500) ?? null,
  requestId: request.id,
  fromThisMachine: fromThisMachine(request),
});
const noContent = { 204: z.null().describe('Done') };
const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  429: errorBodySchema,
};

/**
 * A CSRF token bound to `sessionId`. `rotate`: a new session (a sign-in) gets a new secret too,
 * so that a _csrf cookie planted or read before the sign-in is worth nothing after it.
 */
function csrfTokenFor(reply: FastifyReply, sessionId: string, rotate: boolean): string {
  if (rotate) delete reply.request.cookies[CSRF_COOKIE];
  return reply.generateCsrf({ userInfo: sessionId });
}

/**
 * Sets the browser cookies (HTTP-only, Secure, SameSite) and answers the tokens for API clients.
 * `newSession`: false for a refresh (the same session, whose CSRF secret stays).
 */
function sendTokens(reply: FastifyReply, tokens: IssuedTokens, status = 200, newSession = true) {
  void reply.setCookie(ACCESS_COOKIE, tokens.accessToken, {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
    maxAge: ACCESS_TOKEN_TTL_S,
  });
  void reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/v1/auth',
    maxAge: REFRESH_TOKEN_TTL_MS / 1000,
  });
  const csrf = csrfTokenFor(reply, tokens.sessionId, newSession);
  return reply.status(status).send({
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    token_type: 'Bearer' as const,
    expires_in: tokens.expiresIn,
    csrf_token: csrf,
  });
}

function clearCookies(reply: FastifyReply): void {
  void reply.clearCookie(ACCESS_COOKIE, { path: '/' });
  void reply.clearCookie(REFRESH_COOKIE, { path: '/v1/auth' });
}

const userOf = (request: FastifyRequest): Extract<Principal, { kind: 'user' }> => {
  const p = request.principal;
  if (p?.kind !== 'user') throw new AppError('unauthorized', 'Sign in first');
  return p;
};

export function registerAuthRoutes(app: ZodApp, deps: AppDeps): void {
  const auth = deps.auth;
  const authLimit = {
    max: deps.config.rateLimits.authPerMinute,
    timeWindow: 60_000,
    keyGenerator: (r: FastifyRequest) => `auth:${r.ip}`,
  };
  const publicRoute = { auth: { public: true as const }, rateLimit: authLimit };
  const userRoute = { auth: { user: true as const } };

  app.post(
    '/v1/auth/sign-up',
    {
      config: publicRoute,
      schema: {
        tags: ['auth'],
        summary: 'Create an account (the first one becomes the instance admin)',
        body: signUpSchema,
        response: { 201: tokenResponseSchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request, reply) => {
      const user = await signUp(
        auth,
        {
          email: request.body.email,
          password: request.body.password,
          displayName: request.body.display_name,
          invitationToken: request.body.invitation_token,
        },
        meta(request),
      );
      return sendTokens(reply, await startSession(auth, user, meta(request)), 201);
    },
  );

  app.post(
    '/v1/auth/setup',
    {
      config: publicRoute,
      schema: {
        tags: ['auth'],
        summary:
          'Create the first (admin) account with the one-time setup link printed at first start',
        body: setupSchema,
        response: { 201: tokenResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tokens = await completeSetup(
        auth,
        request.body.token,
        {
          email: request.body.email,
          password: request.body.password,
          displayName: request.body.display_name,
        },
        meta(request),
      );
      return sendTokens(reply, tokens, 201);
    },
  );

  app.post(
    '/v1/auth/sign-in',
    {
      config: publicRoute,
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: signInSchema,
        response: { 200: signInResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const result = await signIn(auth, request.body, meta(request));
      if (result.kind === 'mfa_required')
        return reply.send({ mfa_required: true as const, mfa_token: result.mfaToken });
      return sendTokens(reply, result.tokens);
    },
  );

  app.post(
    '/v1/auth/mfa/verify',
    {
      config: publicRoute,
      schema: {
        tags: ['auth'],
        summary: 'Finish a sign-in with a TOTP code or a recovery code',
        body: mfaVerifySchema,
        response: { 200: tokenResponseSchema, ...errors },
      },
    },
    async (request, reply) =>
      sendTokens(
        reply,
        await completeMfaSignIn(
          auth,
          {
            mfaToken: request.body.mfa_token,
            code: request.body.code,
            recoveryCode: request.body.recovery_code,
          },
          meta(request),
        ),
      ),
  );

  app.post(
    '/v1/auth/refresh',
    // nullish, not optional: a browser refreshing from its cookie sends no body, which Fastify
    // hands over as null, and `.optional()` refused that with a 400 (the cookie flow never worked).
    {
      config: publicRoute,
      schema: {
        tags: ['auth'],
        summary: 'Rotate the refresh token (body or cookie) for new tokens',
        body: refreshSchema.nullish(),
        response: { 200: tokenResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const token = request.body?.refresh_token ?? request.cookies[REFRESH_COOKIE];
      if (!token)
        throw new AppError('unauthorized', 'No refresh token', {
          details: { reason: 'missing_credentials' },
        });
      try {
        return sendTokens(reply, await refreshSession(auth, token, meta(request)), 200, false);
      } catch (error) {
        clearCookies(reply);
        throw error;
      }
    },
  );

  app.post(
    '/v1/auth/sign-out',
    {
      config: { auth: { public: true } },
      schema: {
        tags: ['auth'],
        summary: 'End this session (its refresh tokens stop working)',
        response: noContent,
      },
    },
    async (request, reply) => {
      const p = request.principal;
      if (p?.kind === 'user') await signOut(auth, p.sessionId, p.userId, meta(request));
      clearCookies(reply);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/auth/password/forgot',
    {
      config: publicRoute,
      schema: {
        tags: ['auth'],
        summary: 'Email a single-use reset link (same answer whether the account exists or not)',
        body: passwordResetRequestSchema,
        response: { 202: z.object({ status: z.literal('sent_if_account_exists') }), ...errors },
      },
    },
    async (request, reply) => {
      await requestPasswordReset(auth, request.body.email, meta(request));
      return reply.status(202).send({ status: 'sent_if_account_exists' as const });
    },
  );

  app.post(
    '/v1/auth/password/reset',
    {
      config: publicRoute,
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with a reset token; ends every session',
        body: passwordResetSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => {
      await resetPassword(auth, request.body.token, request.body.new_password, meta(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/auth/csrf',
    {
      config: userRoute,
      schema: {
        tags: ['auth'],
        summary:
          'A CSRF token for cookie-authenticated writes (send it as x-csrf-token); for a page that lost the one of its sign-in',
        response: {
          200: z.object({ csrf_token: z.string() }),
          401: errorBodySchema,
          403: errorBodySchema,
        },
      },
    },
    async (request, reply) =>
      reply.send({ csrf_token: csrfTokenFor(reply, userOf(request).sessionId, false) }),
  );

  app.get(
    '/v1/auth/me',
    {
      config: userRoute,
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user',
        response: { 200: meSchema, 401: errorBodySchema, 403: errorBodySchema },
      },
    },
    async (request) => {
      const p = userOf(request);
      const user = await getUser(deps.db.pool, p.userId);
      return {
        id: user.id,
        email: user.email,
        display_name: user.displayName,
        is_instance_admin: user.isInstanceAdmin,
        mfa_enabled: user.mfaEnabledAt !== null,
        session_mfa: p.mfa,
      };
    },
  );

  app.post(
    '/v1/auth/password',
    {
      config: userRoute,
      schema: {
        tags: ['auth'],
        summary: 'Change the password; other sessions end',
        body: passwordChangeSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => {
      const p = userOf(request);
      await changePassword(
        auth,
        p.userId,
        p.sessionId,
        { currentPassword: request.body.current_password, newPassword: request.body.new_password },
        meta(request),
      );
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/auth/mfa/totp',
    {
      config: userRoute,
      schema: {
        tags: ['auth'],
        summary: 'Start TOTP enrolment: a secret, an otpauth:// URI and its QR code',
        response: { 201: totpEnrolmentSchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request, reply) => {
      const e = await startTotpEnrolment(auth, userOf(request).userId);
      return reply
        .status(201)
        .send({ secret: e.secret, otpauth_uri: e.uri, qr_code_data_url: e.qrDataUrl });
    },
  );

  app.post(
    '/v1/auth/mfa/totp/confirm',
    {
      config: userRoute,
      schema: {
        tags: ['auth'],
        summary: 'Confirm enrolment with a code; returns recovery codes once',
        body: totpConfirmSchema,
        response: { 200: recoveryCodesSchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request) => {
      const p = userOf(request);
      return {
        recovery_codes: await confirmTotpEnrolment(
          auth,
          p.userId,
          p.sessionId,
          request.body.code,
          meta(request),
        ),
      };
    },
  );

  app.post(
    '/v1/auth/mfa/recovery-codes',
    {
      config: userRoute,
      schema: {
        tags: ['auth'],
        summary: 'Replace the recovery codes (the old ones stop working)',
        response: { 200: recoveryCodesSchema, 409: errorBodySchema, ...errors },
      },
    },
    async (request) => ({
      recovery_codes: await regenerateRecoveryCodes(auth, userOf(request).userId, meta(request)),
    }),
  );

  app.post(
    '/v1/auth/mfa/disable',
    {
      config: userRoute,
      schema: {
        tags: ['auth'],
        summary: 'Turn two-factor authentication off (password and a code)',
        body: mfaDisableSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => {
      await disableMfa(
        auth,
        userOf(request).userId,
        {
          password: request.body.password,
          code: request.body.code,
          recoveryCode: request.body.recovery_code,
        },
        meta(request),
      );
      return reply.status(204).send(null);
    },
  );

  registerAuthStatusRoute(app, deps);
}
