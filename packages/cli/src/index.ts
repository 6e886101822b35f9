export { run, commands } from './main.ts';
export { ExitCode } from './exit-codes.ts';
export type { Command } from './command.ts';
export type { CliIo } from './io.ts';
export { defaultVerifyWorkers } from './verify-pool.ts';
export { compile } from './compile.ts';
