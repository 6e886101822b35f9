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
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
