import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** One `mosaic` sub-command: its words, its help and what it does. */
export interface Command {
  /** The words that select it, e.g. `['keys', 'generate']`. */
  path: readonly string[];
  summary: string;
  /** Full `--help` text: usage line, options, examples, exit codes. */
  help: string;
  options: Options;
  /** How many positional arguments it takes. */
  positionals: { min: number; max: number };
  run(args: ParsedArgs, io: CliIo): Promise<ExitCode>;
}

/** Parses a command's arguments strictly: unknown flags and stray words are usage errors. */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw new MosaicError(ErrorCode.Usage, (cause as Error).message, { cause });
  }
  const { positionals } = parsed;
  const name = command.path.join(' ');
  if (positionals.length < command.positionals.min) {
    throw new MosaicError(ErrorCode.Usage, `mosaic ${name}: missing argument (see --help)`);
  }
  if (positionals.length > command.positionals.max) {
    throw new MosaicError(
      ErrorCode.Usage,
      `mosaic ${name}: unexpected argument ${JSON.stringify(positionals[command.positionals.max])}`,
    );
  }
  return { values: parsed.values as ParsedArgs['values'], positionals };
}

/** Reads a string option that the command cannot do without. */
export function requireOption(args: ParsedArgs, name: string, command: Command): string {
  const value = args.values[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new MosaicError(
      ErrorCode.Usage,
      `mosaic ${command.path.join(' ')}: --${name} is required (see --help)`,
    );
  }
  return value;
}
