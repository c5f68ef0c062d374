import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const contracts = fileURLToPath(new URL('./packages/contracts/src/index.ts', import.meta.url));

export default defineConfig({
  resolve: { alias: { '@socialpulse/contracts': contracts } },
  test: {
    // Tests wait for events, never sleep; a hung test must fail rather than stall CI.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    retry: 0,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'apps/**/src/**/*.test.ts',
            'packages/**/src/**/*.test.ts',
            'apps/server/test/simulator/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['apps/**/*.int.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['apps/server/test/global-setup.ts'],
          // Each file gets its own cloned database, so files may run in parallel.
          fileParallelism: true,
        },
      },
    ],
  },
});
