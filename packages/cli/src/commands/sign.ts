import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeLine } from '../io.ts';
import { string } from '../options.ts';

export const sign = defineCommand({
  path: ['sign'],
  summary: 'sign a report as a compact JWS',
  usage: 'Usage: mosaic sign --key <private.jwk> <report.json | ->',
  description: `Validates the report against the strict schema, then signs its exact bytes with the
agency's Ed25519 key and prints the compact JWS on stdout. The report's "issuer" must be
the agency that owns the key. Use - to read the report from standard input.`,
  options: {
    key: string({
      placeholder: '<file>',
      description: "the agency's private JWK (from mosaic keys generate)",
      required: true,
    }),
  },
  footer: `Example:
  mosaic sign --key keys/nl-police.20261123-1a2b3c4d.private.jwk report.json > report.jws

Exit codes: 0 signed, 1 invalid report (the schema issues are on stderr),
            2 usage error, 3 unreadable report or key file.`,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const key = await readPrivateKeyFile(values.key);
    const report = await readInput(positionals[0] ?? '-', io);
    writeLine(io.stdout, await signReport(report, key.privateJwk));
    return ExitCode.Ok;
  },
});
