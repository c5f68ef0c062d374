import { z } from 'zod';
import { roleSchema } from './auth.js';
import { nameSchema } from './text.js';

export const workspaceSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    created_at: z.string(),
    post_count: z.number().int(),
    require_mfa: z.boolean().describe('Members must sign in with two-factor authentication'),
    role: roleSchema.nullable().describe("The caller's role (null for API keys)"),
  })
  .meta({ id: 'Workspace' });
export type Workspace = z.infer<typeof workspaceSchema>;

export const createWorkspaceSchema = z
  .object({ name: nameSchema(100) })
  .strict()
  .meta({ id: 'CreateWorkspace' });
export type CreateWorkspace = z.infer<typeof createWorkspaceSchema>;

export const workspaceListSchema = z.object({ data: z.array(workspaceSchema) });

export const workspaceParamsSchema = z.object({ workspaceId: z.uuid() });
