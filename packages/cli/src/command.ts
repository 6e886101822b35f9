import { parseArgs } from 'node:util';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { optionsHelp, type OptionDefs, type OptionValues } from './options.ts';
import { nearestWord } from './suggest.ts';

/** A command line checked against a command's definitions: every value typed and valid. */
export interface ParsedArgs {
  values: Readonly<Record<string, unknown>>;
  positionals: string[];
}

/** One `mosaic` sub-command: its words, its help and what it does. */
export interface Command {
  /** The words that select it, e.g. `['keys', 'generate']`. */
  path: readonly string[];
  summary: string;
  /** Full `--help` text: usage line, description, options (generated), examples, exit codes. */
  help: string;
  /** Its options, defined once: `--help` and the parser both read them. */
  options: OptionDefs;
  /** How many positional arguments it takes. */
  positionals: { min: number; max: number };
  run(args: ParsedArgs, io: CliIo): Promise<ExitCode>;
}

/** What a command is made of; `defineCommand` turns it into a `Command`. */
export interface CommandSpec<D extends OptionDefs> {
  path: readonly string[];
  summary: string;
  /** The usage line(s), starting with `Usage: mosaic <path>`. */
  usage: string;
  /** What it does: between the usage and the options. */
  description?: string;
  options: D;
  /** After the options: examples and exit codes. */
  footer: string;
  positionals: { min: number; max: number };
  run(args: { values: OptionValues<D>; positionals: string[] }, io: CliIo): Promise<ExitCode>;
}

/**
 * Builds a command whose `--help` option section is generated from the same definitions
 * its command line is parsed with, so the two cannot disagree.
 *
 * @example
 * ```ts
 * export const show = defineCommand({
 *   path: ['rules', 'show'], summary: '…', usage: 'Usage: mosaic rules show …', footer: '…',
 *   options: { agency: string({ description: 'the agency', placeholder: '<id>', required: true }) },
 *   positionals: { min: 0, max: 0 },
 *   async run({ values }, io) { … values.agency is a string … },
 * });
 * ```
 */
export function defineCommand<const D extends OptionDefs>(spec: CommandSpec<D>): Command {
  const help = [spec.usage, spec.description, optionsHelp(spec.options), spec.footer]
    .filter((part) => part !== undefined && part !== '')
    .join('\n\n');
  return {
    path: spec.path,
    summary: spec.summary,
    help,
    options: spec.options,
    positionals: spec.positionals,
    run: (args, io) =>
      spec.run({ values: args.values as OptionValues<D>, positionals: args.positionals }, io),
  };
}

/** A usage error of a command, in the form every command uses: `mosaic <cmd>: <message>`. */
export function usageError(
  command: Pick<Command, 'path'>,
  message: string,
  details?: unknown,
): MosaicError {
  return new MosaicError(
    ErrorCode.Usage,
    `mosaic ${command.path.join(' ')}: ${message}`,
    details === undefined ? {} : { details },
  );
}

/**
 * Parses a command's arguments strictly against its definitions: an unknown flag, a
 * missing value, a stray word, a missing required option or a value the option does not
 * take is a usage error naming the option and what it expects.
 */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const defs = command.options;
  const { tokens } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.entries(defs).map(([name, def]) => [
        name,
        { type: def.kind === 'boolean' ? ('boolean' as const) : ('string' as const) },
      ]),
    ),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const given = new Map<string, string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const def = Object.hasOwn(defs, token.name) ? defs[token.name] : undefined;
    if (def === undefined) {
      const near = nearestWord(token.name, Object.keys(defs));
      throw usageError(
        command,
        `unknown option ${token.rawName}` +
          (near === undefined ? ' (see --help)' : ` (did you mean --${near}?)`),
      );
    }
    if (def.kind === 'boolean') {
      if (token.value !== undefined) throw usageError(command, `--${token.name} takes no value`);
      given.set(token.name, '');
    } else {
      const value = token.value;
      if (value === undefined)
        throw usageError(command, `--${token.name} needs a value ${def.placeholder}`);
      // As node's strict parser: "--out --verify" is a forgotten value, not a file "--verify".
      if (!token.inlineValue && value.length > 1 && value.startsWith('-'))
        throw usageError(
          command,
          `--${token.name} needs a value ${def.placeholder}, not the option ${JSON.stringify(value)} (write --${token.name}=${value} if that is the value)`,
        );
      given.set(token.name, value);
    }
  }
  if (positionals.length < command.positionals.min)
    throw usageError(command, 'missing argument (see --help)');
  if (positionals.length > command.positionals.max)
    throw usageError(
      command,
      `unexpected argument ${JSON.stringify(positionals[command.positionals.max])}`,
    );
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defs)) {
    const raw = given.get(name);
    if (raw === undefined) {
      if (def.required) throw usageError(command, `--${name} is required (see --help)`);
      values[name] = def.default;
      continue;
    }
    const parsed = def.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && 'expected' in parsed) {
      const near = def.choices === undefined ? undefined : nearestWord(raw, def.choices);
      throw usageError(
        command,
        `--${name} must be ${String(parsed.expected)}, not ${JSON.stringify(raw)}` +
          (near === undefined ? '' : ` (did you mean ${near}?)`),
        { option: name, value: raw },
      );
    }
    values[name] = parsed;
  }
  return { values, positionals };
}
