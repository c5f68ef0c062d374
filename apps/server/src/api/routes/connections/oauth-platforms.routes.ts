import { errorBodySchema, oauthPlatformListSchema } from '@socialpulse/contracts';
import { oauthPlatforms, oauthProviders } from '../../../connectors/oauth/providers.js';
import type { ConnectorProvider } from '../../../domain/collection/connectors.js';
import type { ZodApp } from '../../types.js';

/**
 * GET /v1/oauth/platforms: the platforms whose sign-in can start here, so that a client offers
 * only those (a flow for another is refused `oauth_not_configured`). Instance-wide, like the
 * configuration it reads; `connectors` is the one the OAuth routes use (tests point it elsewhere).
 */
export function registerOAuthPlatformsRoute(
  app: ZodApp,
  connectors: () => ConnectorProvider,
): void {
  app.get(
    '/v1/oauth/platforms',
    {
      config: { auth: { authenticated: true as const } },
      schema: {
        tags: ['connections'],
        summary: 'Platforms whose sign-in (OAuth) is configured on this instance',
        response: { 200: oauthPlatformListSchema, 401: errorBodySchema },
      },
    },
    () => ({
      platforms: oauthPlatforms().filter(
        (platform) =>
          oauthProviders[platform]?.dynamicRegistration === true ||
          connectors().oauthClient(platform) !== undefined,
      ),
    }),
  );
}
