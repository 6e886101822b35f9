import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { requireOption, type Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeLine } from '../io.ts';

export const sign: Command = {
  path: ['sign'],
  summary: 'sign a report as a compact JWS',
  help: `Usage: mosaic sign --key <private.jwk> <report.json | ->

Validates the report against the strict schema, then signs its exact bytes with the
agency's Ed25519 key and prints the compact JWS on stdout. The report's "issuer" must be
the agency that owns the key. Use - to read the report from standard input.

Options:
  --key <file>   the agency's private JWK (from mosaic keys generate)
  -h, --help     show this help

Example:
  mosaic sign --key keys/nl-police.20261123-1a2b3c4d.private.jwk report.json > report.jws

Exit codes: 0 signed, 1 invalid report (the schema issues are on stderr),
            2 usage error, 3 unreadable report or key file.`,
  options: { key: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const key = await readPrivateKeyFile(requireOption(args, 'key', this));
    const report = await readInput(args.positionals[0] ?? '-', io);
    writeLine(io.stdout, await signReport(report, key.privateJwk));
    return ExitCode.Ok;
  },
};
