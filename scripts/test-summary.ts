// Prints the one line CI reads, "N passed, N failed", from vitest's JSON report.
import { readFileSync } from 'node:fs';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTestSuites: number;
  testResults: { status: string; message?: string; name: string }[];
}

const file = process.argv[2] ?? '.vitest-results.json';
const result = JSON.parse(readFileSync(file, 'utf8')) as VitestJson;
// A test file that fails to load has no test results of its own: count it as a failure.
const brokenFiles = result.testResults.filter(
  (f) => f.status === 'failed' && f.message !== undefined && f.message !== '',
).length;
const failed = result.numFailedTests + brokenFiles;
const skipped = result.numPendingTests + result.numTodoTests;
process.stdout.write(
  `${result.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`,
);
process.exitCode = failed > 0 || result.numPassedTests === 0 ? 1 : 0;
