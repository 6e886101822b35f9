// For sibling packages that fetch from Debian their own way (nats-server from newer suites,
// Python packages onto sys.path): private apt, the cache lock, the process runner.
export { openPrivateApt } from './apt.ts';
export type { PrivateApt, PrivateAptOptions } from './apt.ts';
export type { AptInstall } from './apt-output.ts';
export { safeName } from './cache.ts';
export { findOnPath, run } from './exec.ts';
export type { RunOutcome, RunResult } from './exec.ts';
export { acquireLock, findOrFetch } from './lock.ts';
