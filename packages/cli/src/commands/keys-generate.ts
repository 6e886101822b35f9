import { mkdir } from 'node:fs/promises';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { generateAgencyKey, writeAgencyKeyFiles } from '@mosaic/signing';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { string } from '../options.ts';

export const keysGenerate = defineCommand({
  path: ['keys', 'generate'],
  summary: 'create an agency Ed25519 signing key pair as JWK files',
  usage: 'Usage: mosaic keys generate --agency <id> [--key-id <id>] [--out <dir>]',
  description: `Creates an Ed25519 key pair for an agency and writes two files into <dir> (created with
mode 0700, parents included, when it does not exist):
  <agency>.<key-id>.private.jwk   the private key, mode 0600: keep it, never send it
  <agency>.<key-id>.public.jwk    the public key, to register with the federation
The public JWK is printed on stdout. Existing files are never overwritten.`,
  options: {
    agency: string({
      placeholder: '<id>',
      description: "agency id, e.g. nl-police (lowercase letters, digits, '-')",
      required: true,
    }),
    'key-id': string({
      placeholder: '<id>',
      description:
        "key id within the agency (default: today's date and a random suffix, e.g. 20261123-1a2b3c4d)",
    }),
    out: string({
      placeholder: '<dir>',
      description: 'where to write the files',
      default: 'keys',
      showDefault: './keys',
    }),
  },
  footer: `Example:
  mosaic keys generate --agency nl-police --out ./keys

Exit codes: 0 written, 2 usage error, 3 files could not be written.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { agency, 'key-id': keyId, out } = values;
    const pair = await generateAgencyKey(agency, keyId === undefined ? {} : { keyId });
    try {
      // Only the owner may list a directory of private keys; an existing one is left as it is.
      await mkdir(out, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new MosaicError(
        ErrorCode.Io,
        `cannot create the directory ${out}: ${(cause as Error).message}`,
        { details: { path: out }, cause },
      );
    }
    const files = await writeAgencyKeyFiles(out, pair);
    writeLine(io.stderr, `wrote ${files.privateKeyPath} (private, mode 0600)`);
    writeLine(io.stderr, `wrote ${files.publicKeyPath}`);
    writeLine(io.stdout, JSON.stringify(pair.publicJwk));
    return ExitCode.Ok;
  },
});
