import { ErrorClass, ErrorCode, errorClass, isErrorCode } from '@mosaic/errors';

/** Exit codes of the `mosaic` command; docs/errors.md says which each error code gets. */
export const ExitCode = {
  Ok: 0,
  /** The input was examined and refused: invalid report, failed verification, rejected submission. */
  Rejected: 1,
  /** The command line was wrong. */
  Usage: 2,
  /** The environment failed: a file, a key file, a server. */
  Environment: 3,
  /** A bug in mosaic itself: please report it with the stack trace printed. */
  Internal: 4,
  /**
   * Standard output was closed by its reader (EPIPE, e.g. `| head -1`): the command stopped
   * at the first line it could not write, without a message — 128 + SIGPIPE, what a shell
   * reports for a Unix tool that the closed pipe killed, so `set -o pipefail` treats it alike.
   */
  OutputClosed: 141,
} as const;

/** Appended to every command's --help: the exit code every command shares. */
export const OUTPUT_CLOSED_HELP =
  'Every command: 141 when standard output is closed by its reader (e.g. "| head -1"):\n' +
  'it stops at the first line it cannot write, without a message.';

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const byClass: Record<ErrorClass, ExitCode> = {
  [ErrorClass.Input]: ExitCode.Rejected,
  [ErrorClass.Usage]: ExitCode.Usage,
  [ErrorClass.Environment]: ExitCode.Environment,
  [ErrorClass.Internal]: ExitCode.Internal,
};

/**
 * The exit code for a failure with `code`: its class's (input 1, usage 2, environment 3,
 * internal 4), except ERR_OUTPUT_CLOSED, which exits 141 like a tool killed by SIGPIPE.
 *
 * @example
 * ```ts
 * process.exitCode = exitCodeOf(err.code); // 3 for ERR_IO
 * ```
 */
export function exitCodeOf(code: ErrorCode): ExitCode {
  if (code === ErrorCode.OutputClosed) return ExitCode.OutputClosed;
  // A code of a newer hub, passed on from its reply: the hub refused.
  if (!isErrorCode(code)) return ExitCode.Rejected;
  return byClass[errorClass(code)];
}
