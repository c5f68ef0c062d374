import { z } from 'zod';
import { platformSchema } from './posts.js';

/**
 * GET /v1/auth/status: what a signed-out visitor's home page needs to say how to get in, and
 * nothing more (no counts, no addresses).
 */
export const authStatusSchema = z
  .object({
    setup_pending: z
      .boolean()
      .describe(
        'No account exists yet: the first (admin) account is created with the one-time setup link the server prints when it starts',
      ),
    signup_enabled: z
      .boolean()
      .describe('Anyone may create an account with POST /v1/auth/sign-up (once setup is done)'),
  })
  .meta({ id: 'AuthStatus' });
export type AuthStatus = z.infer<typeof authStatusSchema>;

/** GET /v1/oauth/platforms: the platforms whose sign-in (OAuth) the operator configured. */
export const oauthPlatformListSchema = z
  .object({
    platforms: z
      .array(platformSchema)
      .describe(
        'Platforms that POST …/connections/oauth can start a sign-in for on this instance (Mastodon registers itself with each instance and is always there); every platform can still be connected with a pasted token',
      ),
  })
  .meta({ id: 'OAuthPlatformList' });
export type OAuthPlatformList = z.infer<typeof oauthPlatformListSchema>;
