import { z } from 'zod';

export const workspaceSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    created_at: z.string(),
    post_count: z.number().int(),
  })
  .meta({ id: 'Workspace' });
export type Workspace = z.infer<typeof workspaceSchema>;

export const createWorkspaceSchema = z
  .object({ name: z.string().trim().min(1).max(100) })
  .strict()
  .meta({ id: 'CreateWorkspace' });
export type CreateWorkspace = z.infer<typeof createWorkspaceSchema>;

export const workspaceListSchema = z.object({ data: z.array(workspaceSchema) });

export const workspaceParamsSchema = z.object({ workspaceId: z.uuid() });
