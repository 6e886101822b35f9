import { readPublicKeyFile, verifyReport } from '@mosaic/signing';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeChunk } from '../io.ts';
import { string } from '../options.ts';

export const verify = defineCommand({
  path: ['verify'],
  summary: 'verify a signed report and print it',
  usage: 'Usage: mosaic verify --jwks <file> <jws-file | ->',
  description: `Verifies a compact JWS report: allowed algorithm (EdDSA), no embedded or remote keys, no
unknown critical headers, the Mosaic media type, the key named by "kid" found in <file>,
the signature, the strict schema, issuer == key owner and the key's validity window.
Prints the verified report exactly as signed on stdout. Use - to read from standard input.`,
  options: {
    jwks: string({
      placeholder: '<file>',
      description: 'a JWKS ({"keys": [...]}) or a single public JWK',
      required: true,
    }),
  },
  footer: `Example:
  mosaic verify --jwks federation.jwks report.jws

Exit codes: 0 verified, 1 verification failed (the error code is on stderr),
            2 usage error, 3 unreadable file.`,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const keys = await readPublicKeyFile(values.jwks);
    const input = await readInput(positionals[0] ?? '-', io);
    // A .jws file or a pipe from `mosaic sign` ends with a newline; the JWS itself has none.
    const jws = Buffer.from(input).toString('latin1').trim();
    const verified = await verifyReport(jws, keys);
    writeChunk(io.stdout, verified.payload);
    if (verified.payload.at(-1) !== 0x0a) writeChunk(io.stdout, '\n');
    return ExitCode.Ok;
  },
});
