import { ErrorCode, MosaicError } from '@mosaic/errors';
import { checkPrivateJwk } from './jwk.ts';
import type { AgencyPrivateKey } from './jwk.ts';
import { readKeyJson } from './read-file.ts';

const MAX_KEY_FILE_BYTES = 64 * 1024;
const GROUP_OR_OTHER = 0o077;

/**
 * Reads an agency's private key file. Throws ERR_KEY_FILE when it is unreadable, not JSON,
 * not an Ed25519 private JWK with a `<agency>/<keyId>` kid, or open to group or others
 * (the message gives the `chmod 600` that fixes it).
 *
 * @example
 * ```ts
 * const key = await readPrivateKeyFile('./keys/nca-uk.20250101-1a2b3c4d.private.jwk');
 * const jws = await signReport(reportJson, key.privateJwk);
 * ```
 */
export async function readPrivateKeyFile(path: string): Promise<AgencyPrivateKey> {
  const json = await readKeyJson(path, MAX_KEY_FILE_BYTES, (stats) => {
    // Windows has no POSIX modes; there the ACL of the key directory is the protection.
    if (process.platform !== 'win32' && (stats.mode & GROUP_OR_OTHER) !== 0)
      throw new MosaicError(
        ErrorCode.KeyFile,
        `${path}: the private key is accessible by group or others (mode ` +
          `${(stats.mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 '${path}'`,
        { details: { path, mode: stats.mode & 0o777 } },
      );
  });
  return checkPrivateJwk(json, path);
}
