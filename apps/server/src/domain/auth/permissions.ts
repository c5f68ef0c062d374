/**
 * The permission matrix: what each workspace role and each API-key scope may do.
 * Documented in docs/security.md; the authorization test enumerates every route against it.
 */
export const roles = ['owner', 'admin', 'analyst', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const permissions = [
  'read',
  'import',
  'analyze',
  'manage_analyses',
  'manage_connections',
  'manage_members',
  'manage_api_keys',
  'read_audit',
  'manage_workspace',
] as const;
export type Permission = (typeof permissions)[number];

export const rolePermissions: Record<Role, readonly Permission[]> = {
  owner: permissions,
  admin: [
    'read',
    'import',
    'analyze',
    'manage_analyses',
    'manage_connections',
    'manage_members',
    'manage_api_keys',
    'read_audit',
  ],
  analyst: ['read', 'import', 'analyze'],
  viewer: ['read'],
};

export const apiKeyScopes = ['read', 'write', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/** API keys act for a workspace, never for a person: they cannot manage members or the workspace. */
export const scopePermissions: Record<ApiKeyScope, readonly Permission[]> = {
  read: ['read'],
  write: ['read', 'import', 'analyze'],
  admin: [
    'read',
    'import',
    'analyze',
    'manage_analyses',
    'manage_connections',
    'manage_api_keys',
    'read_audit',
  ],
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return rolePermissions[role].includes(permission);
}

export function scopesAllow(scopes: readonly ApiKeyScope[], permission: Permission): boolean {
  return scopes.some((s) => scopePermissions[s].includes(permission));
}

/**
 * The key scopes a role does not cover: a scope allowing anything the role may not do. A member
 * moved to such a role loses the keys they made with those scopes (a demoted admin must not keep
 * acting as one through a key).
 */
export function scopesBeyondRole(role: Role): ApiKeyScope[] {
  return apiKeyScopes.filter((scope) => scopePermissions[scope].some((p) => !roleAllows(role, p)));
}

const rank: Record<Role, number> = { owner: 3, admin: 2, analyst: 1, viewer: 0 };

/** Admins manage members below owner; only owners grant, change or remove an owner. */
export function canAssignRole(actor: Role, from: Role | null, to: Role | null): boolean {
  if (!roleAllows(actor, 'manage_members')) return false;
  if (actor === 'owner') return true;
  return (from === null || rank[from] < rank.owner) && (to === null || rank[to] < rank.owner);
}

/**
 * Why a signed-in user may not act in a workspace, or null when they may: no longer a member,
 * two-factor authentication required (by the workspace, or by the instance for their role) but
 * not used for this session, or a role without the permission. One rule for a request's
 * authorization and for an open stream's re-check, each saying it in its own words.
 */
export function memberRefusal(input: {
  role: Role | null;
  sessionUsedMfa: boolean;
  workspaceRequiresMfa: boolean;
  mfaRequiredRoles: readonly Role[];
  permission: Permission;
}): 'not_a_member' | 'mfa_required' | 'permission' | null {
  const { role } = input;
  if (!role) return 'not_a_member';
  if (
    !input.sessionUsedMfa &&
    (input.workspaceRequiresMfa || input.mfaRequiredRoles.includes(role))
  )
    return 'mfa_required';
  if (!roleAllows(role, input.permission)) return 'permission';
  return null;
}
