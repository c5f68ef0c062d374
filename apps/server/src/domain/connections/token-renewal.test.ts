import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedInstance, normaliseInstance, safeReturnPath } from './oauth.service.js';
import { renewalDue } from './token-renewal.js';

describe('renewalDue', () => {
  const hour = 3600_000;
  it('renews in the last quarter of a token life, never later than 5 minutes before expiry', () => {
    const issued = Date.UTC(2026, 10, 1);
    const x = {
      accessToken: 'a',
      refreshToken: 'r',
      obtainedAt: new Date(issued).toISOString(),
      expiresAt: new Date(issued + 2 * hour).toISOString(),
      via: 'oauth' as const,
    };
    expect(renewalDue('x', x, issued + 1.4 * hour)).toBe(false);
    expect(renewalDue('x', x, issued + 1.6 * hour)).toBe(true);
    expect(renewalDue('x', { ...x, refreshToken: undefined }, issued + 3 * hour)).toBe(false); // nothing to renew with
    expect(renewalDue('mastodon', { accessToken: 'a', via: 'oauth' }, issued)).toBe(false);
    // Meta: a 60-day token is re-exchanged in its last 15 days, and not before it is a day old.
    const meta = {
      accessToken: 'a',
      via: 'oauth' as const,
      obtainedAt: new Date(issued).toISOString(),
      expiresAt: new Date(issued + 60 * 24 * hour).toISOString(),
    };
    expect(renewalDue('instagram', meta, issued + 44 * 24 * hour)).toBe(false);
    expect(renewalDue('instagram', meta, issued + 46 * 24 * hour)).toBe(true);
  });

  it('property: once due it stays due until expiry, and a token is always due past its expiry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 90 * 86_400 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        (lifeSeconds, a, b) => {
          const issued = 1_700_000_000_000;
          const life = lifeSeconds * 1000;
          const creds = {
            accessToken: 'a',
            refreshToken: 'r',
            obtainedAt: new Date(issued).toISOString(),
            expiresAt: new Date(issued + life).toISOString(),
            via: 'oauth' as const,
          };
          const [early, late] = [Math.min(a, b), Math.max(a, b)].map(
            (permille) => issued + Math.floor((life * permille) / 1000),
          ) as [number, number];
          if (renewalDue('tiktok', creds, early))
            expect(renewalDue('tiktok', creds, late)).toBe(true);
          expect(renewalDue('tiktok', creds, issued + life + 1)).toBe(true);
        },
      ),
    );
  });
});

describe('what a flow may point at', () => {
  it('Mastodon instances are public https hosts; the configured one (simulator, proxy) is the exception', () => {
    expect(allowedInstance(normaliseInstance('mastodon.social'), undefined)).toBe(
      'https://mastodon.social',
    );
    expect(allowedInstance(normaliseInstance('https://fosstodon.org/'), undefined)).toBe(
      'https://fosstodon.org',
    );
    for (const bad of [
      'http://mastodon.social',
      '169.254.169.254',
      'https://127.0.0.1',
      'https://[::1]',
      'localhost',
      'https://db.internal',
      'https://intranet',
    ])
      expect(() => allowedInstance(normaliseInstance(bad), undefined), bad).toThrow(
        /Mastodon instance/,
      );
    expect(
      allowedInstance(
        normaliseInstance('http://127.0.0.1:4010/mastodon'),
        'http://127.0.0.1:4010/mastodon',
      ),
    ).toBe('http://127.0.0.1:4010/mastodon');
    expect(() => normaliseInstance('https://user:pw@mastodon.social')).toThrow();
    expect(() => normaliseInstance('mastodon.social?x=1')).toThrow();
  });

  it('return_to is a path of this application, never another origin', () => {
    expect(safeReturnPath('/connections?tab=1')).toBe('/connections?tab=1');
    expect(safeReturnPath(undefined)).toBeNull();
    for (const bad of [
      '//evil.example',
      'https://evil.example',
      '/\\evil.example',
      'connections',
      '/a\r\nLocation: x',
    ])
      expect(() => safeReturnPath(bad), bad).toThrow(/return_to/);
  });
});
