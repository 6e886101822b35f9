/**
 * The errno code (`ENOENT`, `EEXIST`, …) of a Node system error, or undefined for any other
 * thrown value: the one way to tell which failure of a file or process call happened.
 *
 * @example
 * ```ts
 * await mkdir(lock).catch((err: unknown) => { if (errnoOf(err) !== 'EEXIST') throw err; });
 * ```
 */
export function errnoOf(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/**
 * Whether a process with this pid runs: `kill(pid, 0)` sends nothing, and only ESRCH means
 * none. EPERM is a running process of another user. Used by the pid-file locks to take over
 * a lock whose owner is gone.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ESRCH') return false;
    if (errnoOf(err) === 'EPERM') return true;
    throw err;
  }
}
