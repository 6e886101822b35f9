import { defineConfig } from 'vitest/config';

// CI reads the counts from the JSON report (see .ci/run); people read the default reporter.
const ci =
  process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time: most of the suite waits on nats-server and child processes, and
    // one at a time the run takes close to half an hour on a 2-core machine.
    maxWorkers: 2,
    reporters: ci ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-results.json' },
  },
});
