import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The node flags of the `socialpulse` executable, from its `#!/usr/bin/env -S node …` line. */
function shebangFlags(): string[] {
  const first = readFileSync(new URL('./main.ts', import.meta.url), 'utf8').split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node((?: --[a-z-]+=\S+)*)$/.exec(first);
  if (!match)
    throw new Error(`main.ts does not start with "#!/usr/bin/env -S node <flags>": ${first}`);
  return (match[1] ?? '').trim().split(' ').filter(Boolean);
}

describe('how SocialPulse processes are launched', () => {
  it('runs `npm start` and `npm run socialpulse` with the node flags of the socialpulse executable', () => {
    const flags = shebangFlags();
    expect(flags).toContain('--heap-growing-percent=20');
    const pkg = JSON.parse(
      readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8'),
    ) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain(
      `node ${flags.join(' ')} apps/server/dist/cli/main.js serve`,
    );
    expect(pkg.scripts.socialpulse).toBe(`node ${flags.join(' ')} apps/server/dist/cli/main.js`);
  });
});
