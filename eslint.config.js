// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const pgOnlyInDb = {
  paths: [
    {
      name: 'pg',
      message: 'Only apps/server/src/db/ talks to PostgreSQL: call a repo function instead.',
    },
    {
      name: 'pg-copy-streams',
      message: 'Only apps/server/src/db/ talks to PostgreSQL: call a repo function instead.',
    },
  ],
};

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.data/**', 'coverage/**', 'examples/**/*.jsonl'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'vitest.config.ts', 'examples/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Read settings through apps/server/src/config.ts (loadConfig), the only reader of process.env.',
        },
      ],
    },
  },
  {
    files: ['apps/server/src/**/*.ts'],
    ignores: ['apps/server/src/db/**'],
    rules: { 'no-restricted-imports': ['error', pgOnlyInDb] },
  },
  {
    files: ['apps/server/src/analysis/**/*.ts'],
    ignores: ['apps/server/src/analysis/**/*.test.ts', 'apps/server/src/analysis/**/training/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:fs',
                'node:fs/*',
                'fs',
                'node:net',
                'node:http',
                'node:https',
                'undici',
                'pg',
                '**/db/**',
                '**/api/**',
                '**/connectors/**',
              ],
              message:
                'analysis/ is pure: no I/O. Take data as arguments; load files in the caller (cli/ or jobs/).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/apps/server/**', '@socialpulse/server', '@socialpulse/server/*'],
              message:
                'The web app imports only @socialpulse/contracts and talks to the public API.',
            },
          ],
        },
      ],
    },
  },
  {
    // Config, tests, benches and tooling may read the environment directly.
    files: [
      'apps/server/src/config.ts',
      '**/*.test.ts',
      '**/*.int.test.ts',
      'apps/server/test/**',
      'bench/**',
      'vitest.config.ts',
      'scripts/**',
      'apps/server/scripts/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.test.ts', '**/*.int.test.ts', 'apps/server/test/**', 'bench/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
