import { authStatusSchema } from '@socialpulse/contracts';
import { countUsers } from '../../../db/repos/users.repo.js';
import type { AppDeps, ZodApp } from '../../types.js';

/**
 * GET /v1/auth/status: whether first-run setup is pending and whether sign-up is open, so that a
 * signed-out visitor's page can say how to get in. Public, and it reveals those two booleans
 * only: sign-up says as much already by answering 403 `setup_required` or `signup_closed`.
 */
export function registerAuthStatusRoute(app: ZodApp, deps: AppDeps): void {
  // Accounts are never deleted down to none: once one exists the answer stays, and the count
  // (a scan of users) is not repeated for every anonymous visit.
  let accountsExist = false;
  app.get(
    '/v1/auth/status',
    {
      config: { auth: { public: true as const } },
      schema: {
        tags: ['auth'],
        summary:
          'Whether first-run setup is pending and whether sign-up is open (no sign-in needed)',
        response: { 200: authStatusSchema },
      },
    },
    async () => {
      accountsExist ||= (await countUsers(deps.db.pool)) > 0;
      return { setup_pending: !accountsExist, signup_enabled: deps.auth.signupEnabled };
    },
  );
}
