// Lint for every TypeScript file: typescript-eslint's strict, type-checked rules; formatting is
// Prettier's (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'test-output/**', '.build-cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Sources by their package's tsconfig, the page by its own, tests and scripts by tsconfig.tests.json.
        project: [
          'packages/*/tsconfig.json',
          'broker/tsconfig.json',
          'services/*/tsconfig.json',
          'web/tsconfig.json',
          'web/page/tsconfig.json',
          'tsconfig.tests.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // noUncheckedIndexedAccess makes every checked index `T | undefined`; `bytes[i]!` after a
      // bounds check is the readable way to say so in the JPEG and MQTT byte parsers.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers and booleans print as expected in messages and log lines.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => resolve()` is the callback idiom, not a confusing value.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_name` marks a value left out on purpose (a rest sibling, an unused callback argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // node:test runs the promise `test()` and `describe()` return.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
    },
  },
  // What each part may import (ARCHITECTURE.md): the wire contract nothing from Node or other
  // parts, the page only the wire contract, a service no other service and no test code.
  {
    files: ['packages/wire/src/**/*.ts', 'web/page/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '@camqtt/*', '!@camqtt/wire'],
              message: 'The wire contract and the page run in browsers: no Node, no service code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/service-kit/src/**/*.ts', 'broker/src/**/*.ts', 'services/*/src/**/*.ts', 'web/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@camqtt/*', '!@camqtt/wire', '!@camqtt/service-kit'],
              message: 'A service uses the wire contract and the service kit, never another service or test code.',
            },
            {
              group: ['../../*'],
              message: 'Import shared code through its package (@camqtt/wire, @camqtt/service-kit).',
            },
          ],
        },
      ],
    },
  },
  {
    // A before() hook may throw before it assigns what the after() hook cleans up, which
    // TypeScript cannot see: `await stack?.stop()` there is a needed check, not a redundant one.
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-unnecessary-condition': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node, parserOptions: { project: false, program: null } },
  },
  prettier,
);
