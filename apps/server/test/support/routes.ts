import type { ZodApp } from '../../src/api/types.js';

export interface RouteEntry {
  method: string;
  url: string;
}

/**
 * Every route the app has registered, read from `app.printRoutes({ commonPrefix: false })`:
 * a tree whose lines are `<indent>├── <segment> (METHOD, …)`, each segment continuing its
 * parent's path. HEAD routes Fastify adds for every GET are left out.
 */
export function registeredRoutes(app: ZodApp): RouteEntry[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const routes: RouteEntry[] = [];
  for (const line of tree.split('\n')) {
    const match = /^(.*?)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(match[2] ?? '');
    const url = stack.join('');
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if (method && method !== 'HEAD') routes.push({ method, url });
    }
  }
  return routes;
}

/** `/v1/workspaces/:workspaceId` in OpenAPI's spelling: `/v1/workspaces/{workspaceId}`. */
export const toOpenApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
