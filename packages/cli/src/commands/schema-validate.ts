import { parseReport } from '@mosaic/contract';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeLine } from '../io.ts';

export const schemaValidate = defineCommand({
  path: ['schema', 'validate'],
  summary: 'check a report against the strict report schema',
  usage: 'Usage: mosaic schema validate <report.json | ->',
  description: `Runs the hardened JSON parser (size, depth, duplicate and forbidden keys, unsafe
characters) and the strict report schema (schemas/report.schema.json). On success prints
{"valid":true,"reportId":…,"issuer":…} on stdout; otherwise every issue, with its path,
on stderr.`,
  options: {},
  footer: `Example:
  mosaic schema validate schemas/examples/valid/recruitment-advert.json

Exit codes: 0 valid, 1 invalid, 2 usage error, 3 unreadable file.`,
  positionals: { min: 1, max: 1 },
  async run({ positionals }, io) {
    const report = parseReport(await readInput(positionals[0] ?? '-', io));
    writeLine(
      io.stdout,
      JSON.stringify({ valid: true, reportId: report.reportId, issuer: report.issuer }),
    );
    return ExitCode.Ok;
  },
});
