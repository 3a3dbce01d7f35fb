// @ts-check
import js from '@eslint/js';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** Packages that need Node (I/O, native code, process state): never in the workflow sandbox. */
const nodeOnlyPackages = [
  'jose',
  'pino',
  'koa',
  '@koa/*',
  'pg',
  'better-sqlite3',
  'kysely',
  'prom-client',
  'undici',
  '@opentelemetry/*',
  'rate-limiter-flexible',
  'ioredis',
  'redis',
  'tsx',
];
/** `node:fs`, `fs`, `fs/promises`, …: matched as whole names (`domain` is a Node built-in too, and a folder here). */
const nodeBuiltins = `^(?:node:.*|(?:${builtinModules.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})(?:/.*)?)$`;
/** Top-level folders whose code runs in Node processes. */
const nodeSideFolders = [
  'lib',
  'api',
  'activities',
  'worker',
  'services',
  'edge',
  'store',
  'admin',
  'scripts',
  'bench',
  'web',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.tools/',
      '.data/',
      'dist/',
      'test-results/',
      'bench/results/',
      'web/**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // What the workflow sandbox may load: deterministic code only. Node built-ins, packages that do I/O and the
    // Node-side folders stay out of `domain/` and `workflows/`; workflows see activities only as types.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: nodeBuiltins,
              message: 'The workflow sandbox is deterministic: do I/O and crypto in activities.',
            },
            {
              group: nodeOnlyPackages,
              message: 'A Node-only package cannot run in the workflow sandbox.',
            },
            {
              group: [
                '@temporalio/activity',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/testing',
              ],
              message: 'Sandbox code imports only @temporalio/workflow and @temporalio/common.',
            },
            {
              group: nodeSideFolders.filter((f) => f !== 'activities').map((f) => `**/${f}/**`),
              message:
                'Node-side code cannot run in the workflow sandbox; shared pure code lives in domain/.',
            },
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'Workflows call activities through proxies: import their types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: nodeBuiltins,
              message: 'domain/ is pure: the workflow sandbox imports it.',
            },
            { group: nodeOnlyPackages, message: 'domain/ is pure: the workflow sandbox imports it.' },
            {
              group: [
                '@temporalio/activity',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/workflow',
              ],
              message: 'domain/ is shared by workflows and Node code: only @temporalio/common.',
            },
            {
              group: [...nodeSideFolders, 'workflows'].map((f) => `**/${f}/**`),
              message: 'domain/ depends on nothing else in the repository.',
            },
          ],
        },
      ],
    },
  },
);
