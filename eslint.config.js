// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Pure cores stay free of I/O, timers and network libraries so they can be tested with a fake clock
// (STYLE.md "pure cores, thin adapters").
const PURE_CORE_FILES = [
  'gateway/route-table.ts',
  'gateway/traffic-split.ts',
  'gateway/picker.ts',
  'gateway/activator-queue.ts',
  'gateway/in-flight.ts',
  'gateway/revision-runtime.ts',
  'gateway/cluster-probes.ts',
  'gateway/upstream/response-parser.ts',
  'gateway/upstream/ws-frames.ts',
  'gateway/client-address.ts',
  'gateway/access-log-encoder.ts',
  'gateway/ids.ts',
  'autoscaler/cluster-drain.ts',
  'autoscaler/kpa.ts',
  'autoscaler/window.ts',
  'autoscaler/config.ts',
  'controller/reconcile.ts',
  'controller/rollout.ts',
  'controller/config/network.ts',
  'controller/state.ts',
  'controller/api/*.ts',
  'lib/go-duration.ts',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**', 'bench/results/**', '.kedge/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: PURE_CORE_FILES.filter((f) => !f.includes('.test.')),
    ignores: ['**/*.test.ts', '**/*.bench.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'undici', 'undici/*', 'prom-client', '@trufflesuite/*', '@kubernetes/*'],
              message: 'pure core: no I/O here',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'setTimeout',
        'setInterval',
        'setImmediate',
        'process',
        'performance',
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
