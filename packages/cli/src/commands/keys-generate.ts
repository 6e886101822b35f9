import { mkdir } from 'node:fs/promises';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { generateAgencyKey, writeAgencyKeyFiles } from '@mosaic/signing';
import { requireOption, type Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';

export const keysGenerate: Command = {
  path: ['keys', 'generate'],
  summary: 'create an agency Ed25519 signing key pair as JWK files',
  help: `Usage: mosaic keys generate --agency <id> [--key-id <id>] [--out <dir>]

Creates an Ed25519 key pair for an agency and writes two files into <dir> (created with
mode 0700, parents included, when it does not exist):
  <agency>.<key-id>.private.jwk   the private key, mode 0600: keep it, never send it
  <agency>.<key-id>.public.jwk    the public key, to register with the federation
The public JWK is printed on stdout. Existing files are never overwritten.

Options:
  --agency <id>    agency id, e.g. nl-police (lowercase letters, digits, '-')
  --key-id <id>    key id within the agency (default: today's date and a random suffix,
                   e.g. 20261123-1a2b3c4d)
  --out <dir>      where to write the files (default: ./keys)
  -h, --help       show this help

Example:
  mosaic keys generate --agency nl-police --out ./keys

Exit codes: 0 written, 2 usage error, 3 files could not be written.`,
  options: {
    agency: { type: 'string' },
    'key-id': { type: 'string' },
    out: { type: 'string', default: 'keys' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const agency = requireOption(args, 'agency', this);
    const keyId = args.values['key-id'];
    const pair = await generateAgencyKey(agency, typeof keyId === 'string' ? { keyId } : {});
    const out = String(args.values['out']);
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
};
