import { readFileSync } from 'node:fs';
import { ErrorCode, isMosaicError } from '@mosaic/errors';
import { parseCommandArgs, type Command } from './command.ts';
import { agencyAdd, agencyList, agencyRemove, agencyShow } from './commands/agency.ts';
import { agencyLeafnode } from './commands/agency-leafnode.ts';
import { agencyTokenIssue, agencyTokenList, agencyTokenRevoke } from './commands/agency-token.ts';
import { agreementsAdd, agreementsList, agreementsRemove } from './commands/agreements.ts';
import { auditCheckProof, auditProve, auditVerify } from './commands/audit.ts';
import { demo } from './commands/demo.ts';
import { dev } from './commands/dev.ts';
import { hubInit } from './commands/hub-init.ts';
import { serveCommand } from './commands/serve.ts';
import { keysGenerate } from './commands/keys-generate.ts';
import { keysRevoke } from './commands/keys-revoke.ts';
import { keysRotate } from './commands/keys-rotate.ts';
import { publish } from './commands/publish.ts';
import { replay } from './commands/replay.ts';
import { rulesSet, rulesShow } from './commands/rules.ts';
import { schemaValidate } from './commands/schema-validate.ts';
import { selectorsCheck, selectorsRegister, selectorsWithdraw } from './commands/selectors.ts';
import { sign } from './commands/sign.ts';
import { exportStix, importStix } from './commands/stix.ts';
import { exportMispFeed } from './commands/misp.ts';
import { subscribe } from './commands/subscribe.ts';
import { verify } from './commands/verify.ts';
import { nearestCommands } from './suggest.ts';
import { ExitCode, OUTPUT_CLOSED_HELP, exitCodeOf } from './exit-codes.ts';
import { guardOutput, reportError, writeLine, type CliIo } from './io.ts';

export const commands: readonly Command[] = [
  keysGenerate,
  sign,
  verify,
  schemaValidate,
  demo,
  dev,
  hubInit,
  serveCommand,
  publish,
  subscribe,
  selectorsRegister,
  selectorsWithdraw,
  selectorsCheck,
  agencyAdd,
  agencyList,
  agencyShow,
  agencyRemove,
  agencyLeafnode,
  agencyTokenIssue,
  agencyTokenRevoke,
  agencyTokenList,
  agreementsList,
  agreementsAdd,
  agreementsRemove,
  keysRotate,
  keysRevoke,
  rulesShow,
  rulesSet,
  replay,
  exportStix,
  exportMispFeed,
  importStix,
  auditVerify,
  auditProve,
  auditCheckProof,
];

const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

function overview(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const lines = commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return `Usage: mosaic <command> [options]

Mosaic shares signed, schema-validated indicator reports between agencies.

Commands:
${lines.join('\n')}

Run "mosaic <command> --help" for a command's options and examples.
Results go to stdout, diagnostics to stderr.
Exit codes: 0 ok, 1 rejected or invalid input, 2 usage error, 3 environment error
            (file, key, server), 4 internal error, 141 standard output closed by its
            reader (e.g. "| head -1"; the command stops quietly).`;
}

function helpOf(command: Command): string {
  return `${command.help}\n${OUTPUT_CLOSED_HELP}`;
}

/** Finds the command whose words start argv, longest match first. */
function select(argv: string[]): { command: Command; rest: string[] } | undefined {
  const matches = commands
    .filter((c) => c.path.every((word, i) => argv[i] === word))
    .sort((a, b) => b.path.length - a.path.length);
  const command = matches[0];
  return command && { command, rest: argv.slice(command.path.length) };
}

/**
 * Runs `mosaic` with the given arguments and returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await run(['schema', 'validate', 'report.json']);
 * ```
 */
export async function run(
  argv: string[],
  io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<ExitCode> {
  guardOutput(io.stdout);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const topic = argv[0] === 'help' ? select(argv.slice(1)) : undefined;
    writeLine(
      argv.length === 0 ? io.stderr : io.stdout,
      topic ? helpOf(topic.command) : overview(),
    );
    return argv.length === 0 ? ExitCode.Usage : ExitCode.Ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    writeLine(io.stdout, version);
    return ExitCode.Ok;
  }
  const selected = select(argv);
  if (!selected) {
    writeLine(io.stderr, `error ${ErrorCode.Usage}: unknown command "${argv.join(' ')}"`);
    const nearest = nearestCommands(
      argv,
      commands.map((c) => c.path),
    );
    if (nearest.length > 0)
      writeLine(
        io.stderr,
        `did you mean ${nearest.map((n) => `"mosaic ${n}"`).join(' or ')}? (mosaic --help lists every command)`,
      );
    else writeLine(io.stderr, `\n${overview()}`);
    return ExitCode.Usage;
  }
  const { command, rest } = selected;
  if (rest.includes('--help') || rest.includes('-h')) {
    writeLine(io.stdout, helpOf(command));
    return ExitCode.Ok;
  }
  try {
    return await command.run(parseCommandArgs(command, rest), io);
  } catch (err) {
    if (isMosaicError(err)) {
      // The reader has gone: nobody is left to tell, and stopping was the point.
      if (err.code !== ErrorCode.OutputClosed) reportError(io.stderr, err);
      return exitCodeOf(err.code);
    }
    writeLine(
      io.stderr,
      `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return ExitCode.Internal;
  }
}
