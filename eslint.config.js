import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;
const workspaces = ['packages', 'services'].flatMap((dir) =>
  readdirSync(join(root, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${dir}/${entry.name}`),
);

/** Packages reach each other through their public entry only. */
const publicEntryOnly = {
  group: ['@mosaic/*/src/*', '@mosaic/*/test/*'],
  message: 'import a package through its public entry',
};

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.cache/**',
      '.mosaic/**',
      'coverage/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  importX.flatConfigs.recommended,
  importX.flatConfigs.typescript,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'packages/*/bin/*.js'] },
        tsconfigRootDir: root,
      },
    },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      'import-x/no-cycle': 'error',
      'import-x/no-extraneous-dependencies': 'error',
      'import-x/no-unresolved': 'off',
      'import-x/no-named-as-default-member': 'off',
      'no-restricted-imports': ['error', { patterns: [publicEntryOnly] }],
    },
  },
  // The CLI acts on a running hub as its operator (@mosaic/operator) or as an agency
  // (@mosaic/sdk); only `mosaic dev` runs a hub in its own process, and `mosaic hub init`
  // writes a production hub's configuration, and `mosaic serve` runs its services.
  {
    files: ['packages/cli/src/**'],
    ignores: [
      'packages/cli/src/commands/dev.ts',
      'packages/cli/src/dev-demo.ts',
      'packages/cli/src/commands/hub-init.ts',
      'packages/cli/src/commands/serve.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@mosaic/hub',
              message:
                'only mosaic dev (commands/dev.ts, dev-demo.ts) runs a hub mosaic hub init (commands/hub-init.ts) configures one and mosaic serve (commands/serve.ts) runs its services; act on one with @mosaic/operator, @mosaic/sdk, @mosaic/protocol or @mosaic/identities',
            },
          ],
          patterns: [publicEntryOnly],
        },
      ],
    },
  },
  // Tests, scripts and benchmarks may use the root devDependencies as well as their package's own.
  ...workspaces.map((ws) => ({
    files: [`${ws}/test/**`, `${ws}/scripts/**`, `${ws}/bench/**`],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: true, packageDir: [root, join(root, ws)] },
      ],
    },
  })),
  // The root benchmark (npm run bench) drives the hub through the same NATS client as the
  // test kit, whose dependencies it shares.
  {
    files: ['bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: true, packageDir: [root, join(root, 'packages/testkit')] },
      ],
    },
  },
  {
    files: ['test/**', 'scripts/**', 'vitest.config.ts', 'eslint.config.js'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: true }],
    },
  },
);
