import { parseReport } from '@mosaic/contract';
import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeLine } from '../io.ts';

export const schemaValidate: Command = {
  path: ['schema', 'validate'],
  summary: 'check a report against the strict report schema',
  help: `Usage: mosaic schema validate <report.json | ->

Runs the hardened JSON parser (size, depth, duplicate and forbidden keys, unsafe
characters) and the strict report schema (schemas/report.schema.json). On success prints
{"valid":true,"reportId":…,"issuer":…} on stdout; otherwise every issue, with its path,
on stderr.

Options:
  -h, --help   show this help

Example:
  mosaic schema validate schemas/examples/valid/recruitment-advert.json

Exit codes: 0 valid, 1 invalid, 2 usage error, 3 unreadable file.`,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const report = parseReport(await readInput(args.positionals[0] ?? '-', io));
    writeLine(
      io.stdout,
      JSON.stringify({ valid: true, reportId: report.reportId, issuer: report.issuer }),
    );
    return ExitCode.Ok;
  },
};
