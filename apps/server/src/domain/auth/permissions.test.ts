import { describe, expect, it } from 'vitest';
import { memberRefusal, type Role } from './permissions.js';

describe('memberRefusal', () => {
  const base = {
    role: 'analyst' as Role | null,
    sessionUsedMfa: false,
    workspaceRequiresMfa: false,
    mfaRequiredRoles: [] as Role[],
    permission: 'analyze' as const,
  };

  it('lets a member act as their role allows', () => {
    expect(memberRefusal(base)).toBeNull();
    expect(memberRefusal({ ...base, role: 'viewer', permission: 'read' })).toBeNull();
  });

  it('refuses a non-member first, then a missing second factor, then the role', () => {
    expect(memberRefusal({ ...base, role: null, workspaceRequiresMfa: true })).toBe('not_a_member');
    expect(memberRefusal({ ...base, role: 'viewer', workspaceRequiresMfa: true })).toBe(
      'mfa_required',
    );
    expect(memberRefusal({ ...base, mfaRequiredRoles: ['analyst'] })).toBe('mfa_required');
    expect(memberRefusal({ ...base, mfaRequiredRoles: ['owner'] })).toBeNull();
    expect(memberRefusal({ ...base, sessionUsedMfa: true, workspaceRequiresMfa: true })).toBeNull();
    expect(memberRefusal({ ...base, role: 'viewer' })).toBe('permission');
  });
});
