import { z } from 'zod';
import { nameSchema } from './text.js';

const email = z.email().max(320);
const password = z.string().min(1).max(256);

const invitationToken = z.string().min(10).max(200);
export const signUpSchema = z
  .object({
    email,
    password,
    display_name: nameSchema(100).optional(),
    invitation_token: invitationToken
      .optional()
      .describe(
        'An invitation to a workspace: its address may sign up even when sign-up is closed, and joins the workspace at once',
      ),
  })
  .strict()
  .meta({ id: 'SignUp' });
export const signInSchema = z.object({ email, password }).strict().meta({ id: 'SignIn' });
export const setupSchema = z
  .object({
    email,
    password,
    display_name: nameSchema(100).optional(),
    token: z.string().min(10).max(200),
  })
  .strict()
  .meta({ id: 'Setup' });

export const tokenResponseSchema = z
  .object({
    access_token: z.string(),
    refresh_token: z.string().describe('Also set as an HTTP-only cookie for browsers'),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().describe('Seconds until the access token expires'),
    csrf_token: z.string().describe('Send as x-csrf-token on cookie-authenticated writes'),
  })
  .meta({ id: 'Tokens' });

export const signInResponseSchema = z
  .union([tokenResponseSchema, z.object({ mfa_required: z.literal(true), mfa_token: z.string() })])
  .meta({ id: 'SignInResult' });

export const mfaVerifySchema = z
  .object({
    mfa_token: z.string().min(10).max(2000),
    code: z.string().max(10).optional(),
    recovery_code: z.string().max(40).optional(),
  })
  .strict()
  .refine(
    (v) => (v.code === undefined) !== (v.recovery_code === undefined),
    'send exactly one of code or recovery_code',
  )
  .meta({ id: 'MfaVerify' });

export const refreshSchema = z
  .object({ refresh_token: z.string().min(10).max(200).optional() })
  .strict()
  .meta({ id: 'Refresh' });
export const passwordChangeSchema = z
  .object({ current_password: password, new_password: password })
  .strict()
  .meta({ id: 'PasswordChange' });
export const passwordResetRequestSchema = z
  .object({ email })
  .strict()
  .meta({ id: 'PasswordResetRequest' });
export const passwordResetSchema = z
  .object({ token: z.string().min(10).max(200), new_password: password })
  .strict()
  .meta({ id: 'PasswordReset' });

export const meSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    display_name: z.string().nullable(),
    is_instance_admin: z.boolean(),
    mfa_enabled: z.boolean(),
    session_mfa: z.boolean(),
  })
  .meta({ id: 'Me' });

export const totpEnrolmentSchema = z
  .object({ secret: z.string(), otpauth_uri: z.string(), qr_code_data_url: z.string() })
  .meta({ id: 'TotpEnrolment' });
export const totpConfirmSchema = z
  .object({ code: z.string().min(6).max(10) })
  .strict()
  .meta({ id: 'TotpConfirm' });
export const recoveryCodesSchema = z
  .object({ recovery_codes: z.array(z.string()).describe('Shown once: store them safely') })
  .meta({ id: 'RecoveryCodes' });
export const mfaDisableSchema = z
  .object({
    password,
    code: z.string().max(10).optional(),
    recovery_code: z.string().max(40).optional(),
  })
  .strict()
  .meta({ id: 'MfaDisable' });

export const roleSchema = z.enum(['owner', 'admin', 'analyst', 'viewer']);
export const memberSchema = z
  .object({
    user_id: z.uuid(),
    email: z.string(),
    display_name: z.string().nullable(),
    role: roleSchema,
    mfa_enabled: z.boolean(),
    joined_at: z.string(),
  })
  .meta({ id: 'Member' });
export const memberListSchema = z.object({ data: z.array(memberSchema) });
export const addMemberSchema = z
  .object({ email, role: roleSchema })
  .strict()
  .meta({ id: 'AddMember' });
export const createInvitationSchema = z
  .object({ email, role: roleSchema, expires_in_days: z.number().int().min(1).max(30).default(7) })
  .strict()
  .meta({ id: 'CreateInvitation' });
export const invitationSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: roleSchema,
    invited_by: z.uuid().nullable(),
    created_at: z.string(),
    expires_at: z.string(),
  })
  .meta({ id: 'Invitation' });
export const createdInvitationSchema = invitationSchema
  .extend({
    invite_url: z
      .string()
      .describe(
        'The single-use link (shown only now): mailed to the address, and yours to pass on if mail is not configured',
      ),
    mailed: z.boolean().describe('Whether the mail transport accepted the message'),
  })
  .meta({ id: 'CreatedInvitation' });
export const invitationListSchema = z.object({ data: z.array(invitationSchema) });
export const invitationTokenSchema = z
  .object({ token: invitationToken })
  .strict()
  .meta({ id: 'InvitationToken' });
export const invitationPreviewSchema = z
  .object({
    workspace: z.object({ id: z.uuid(), name: z.string() }),
    email: z.string(),
    role: roleSchema,
    expires_at: z.string(),
  })
  .meta({ id: 'InvitationPreview' });
export const invitationAcceptedSchema = z
  .object({ workspace_id: z.uuid(), role: roleSchema })
  .meta({ id: 'InvitationAccepted' });
export const updateMemberSchema = z
  .object({ role: roleSchema })
  .strict()
  .meta({ id: 'UpdateMember' });

export const apiKeyScopeSchema = z.enum(['read', 'write', 'admin']);
export const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('The visible start of the key'),
    scopes: z.array(apiKeyScopeSchema),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    created_by: z
      .object({
        user_id: z
          .uuid()
          .nullable()
          .describe(
            'The member who created the key; for a key created by another key, the member behind that key',
          ),
        email: z.string().nullable().describe("That member's email"),
        api_key_prefix: z
          .string()
          .nullable()
          .describe('The prefix of the API key that created this key, when a key did'),
      })
      .nullable()
      .describe(
        "Who created the key; null for keys made by the operator's CLI. Removing a member (or moving them to a role below a key's scopes) revokes the keys they created, with the keys those minted",
      ),
  })
  .meta({ id: 'ApiKey' });
export const apiKeyListSchema = z.object({ data: z.array(apiKeySchema) });
export const createApiKeySchema = z
  .object({
    name: nameSchema(100),
    scopes: z.array(apiKeyScopeSchema).min(1).max(3),
    expires_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .meta({ id: 'CreateApiKey' });
export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().describe('The full key: shown only now') })
  .meta({ id: 'CreatedApiKey' });

export const auditEntrySchema = z
  .object({
    id: z.string(),
    actor: z.string(),
    user_id: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    ip: z.string().nullable(),
    request_id: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'AuditEntry' });
export const auditListSchema = z.object({
  data: z.array(auditEntrySchema),
  next_before: z.string().nullable(),
});
export const auditQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z
      .string()
      .regex(/^\d{1,18}$/)
      .optional(),
  })
  .strict();
export const instanceAuditQuerySchema = auditQuerySchema
  .extend({ user_id: z.uuid().optional() })
  .strict();

export const updateWorkspaceSchema = z
  .object({ name: nameSchema(100).optional(), require_mfa: z.boolean().optional() })
  .strict()
  .meta({ id: 'UpdateWorkspace' });
