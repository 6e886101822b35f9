import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The fault-injection runs first: each is a cluster under faults for minutes, and started
 * last (on a fresh clone vitest knows no durations and runs the larger files first) they
 * would end the run minutes after everything else. The rest in vitest's own order.
 */
class FaultRunsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const long = (f: TestSpecification): boolean => /\/packages\/faults\/test\//.test(f.moduleId);
    return [...sorted.filter(long), ...sorted.filter((f) => !long(f))];
  }
}

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
    // Three files at a time on a 2-core machine: most of the suite waits on nats-server, child
    // processes, elections and fault timers rather than computing (one at a time the run took
    // close to half an hour before the fault-injection runs were added).
    maxWorkers: 3,
    sequence: { sequencer: FaultRunsFirst },
    reporters: ci ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-results.json' },
  },
});
