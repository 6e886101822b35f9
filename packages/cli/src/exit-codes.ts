/** Exit codes of the `mosaic` command; documented in packages/cli/README.md. */
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
