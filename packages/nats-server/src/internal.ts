// For sibling packages that fetch from Debian the same way (private apt state, a lock in
// the cache): the process runner, PATH lookup and the cache lock.
export { findOnPath, run } from './exec.ts';
export type { RunOutcome, RunResult } from './exec.ts';
export { acquireLock } from './lock.ts';
