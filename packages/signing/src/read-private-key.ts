import { ErrorCode, MosaicError } from '@mosaic/errors';
import { checkPrivateJwk } from './jwk.ts';
import type { AgencyPrivateKey } from './jwk.ts';
import { readKeyJson } from './read-file.ts';

const MAX_KEY_FILE_BYTES = 64 * 1024;
const GROUP_OR_OTHER = 0o077;

/**
 * Reads an agency's private key file. Throws ERR_KEY_FILE when it is unreadable, not JSON,
 * a public key or key set (the message says a private key is needed), not an Ed25519 private
 * JWK with a `<agency>/<keyId>` kid, or open to group or others (the message gives the
 * `chmod 600` that fixes it).
 *
 * @example
 * ```ts
 * const key = await readPrivateKeyFile('./keys/nca-uk.20250101-1a2b3c4d.private.jwk');
 * const jws = await signReport(reportJson, key.privateJwk);
 * ```
 */
export async function readPrivateKeyFile(path: string): Promise<AgencyPrivateKey> {
  let mode = 0;
  const json = await readKeyJson(path, MAX_KEY_FILE_BYTES, (stats) => {
    mode = stats.mode & 0o777;
  });
  // A public key is world-readable by design: name the mix-up, not its file mode.
  if (isPublicKeyFile(json))
    throw new MosaicError(
      ErrorCode.KeyFile,
      `${path} is a public key (no private part "d"); signing needs the agency's private key, ` +
        'e.g. <agency>.<key-id>.private.jwk from mosaic keys generate',
      { details: { path, publicKey: true } },
    );
  // Windows has no POSIX modes; there the ACL of the key directory is the protection.
  if (process.platform !== 'win32' && (mode & GROUP_OR_OTHER) !== 0)
    throw new MosaicError(
      ErrorCode.KeyFile,
      `${path}: the private key is accessible by group or others (mode ` +
        `${mode.toString(8).padStart(4, '0')}); run: chmod 600 '${path}'`,
      { details: { path, mode } },
    );
  return checkPrivateJwk(json, path);
}

/** A JWK with a public part and no private one, or a JWK Set (which holds public keys). */
function isPublicKeyFile(json: unknown): boolean {
  if (typeof json !== 'object' || json === null) return false;
  if (Array.isArray((json as { keys?: unknown }).keys)) return true;
  return 'x' in json && !('d' in json);
}
