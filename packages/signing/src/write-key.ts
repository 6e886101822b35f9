import { open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { AgencyKeyPair } from './generate-key.ts';
import { isErrnoException } from './fs-error.ts';
import { checkPrivateJwk, checkPublicJwk } from './jwk.ts';

/** Where `writeAgencyKeyFiles` put the two halves. */
export interface AgencyKeyFiles {
  privateKeyPath: string;
  publicKeyPath: string;
}

/**
 * The file names of a key pair.
 *
 * @example
 * ```ts
 * keyFileNames('nca-uk', 'k1'); // { private: 'nca-uk.k1.private.jwk', public: 'nca-uk.k1.public.jwk' }
 * ```
 */
export function keyFileNames(agency: string, keyId: string): { private: string; public: string } {
  // Neither an agency id nor a key id can hold "." or "/", so the names are unambiguous and stay in the directory.
  return { private: `${agency}.${keyId}.private.jwk`, public: `${agency}.${keyId}.public.jwk` };
}

async function create(path: string, mode: number): Promise<FileHandle> {
  try {
    // "wx" fails if the file exists; the mode is applied at creation, so no window where it is readable.
    return await open(path, 'wx', mode);
  } catch (err) {
    if (!isErrnoException(err)) throw err;
    const problem =
      err.code === 'EEXIST'
        ? 'already exists; refusing to overwrite it'
        : `cannot be created (${err.code})`;
    throw new MosaicError(ErrorCode.Io, `${path} ${problem}`, { details: { path }, cause: err });
  }
}

async function writeJson(handle: FileHandle, path: string, value: unknown): Promise<void> {
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
  } catch (err) {
    throw new MosaicError(ErrorCode.Io, `cannot write ${path}`, { details: { path }, cause: err });
  } finally {
    await handle.close();
  }
}

/**
 * Writes a key pair into `dir` (which must exist): the private key with mode 0600, the public
 * key with mode 0644. Refuses (ERR_IO) to overwrite either file.
 *
 * @example
 * ```ts
 * const pair = await generateAgencyKey('nca-uk');
 * const { privateKeyPath, publicKeyPath } = await writeAgencyKeyFiles('./keys', pair);
 * ```
 */
export async function writeAgencyKeyFiles(
  dir: string,
  pair: AgencyKeyPair,
): Promise<AgencyKeyFiles> {
  const privateKey = checkPrivateJwk(pair.privateJwk, 'private key');
  const publicKey = checkPublicJwk(pair.publicJwk, 'public key');
  if (publicKey.kid !== privateKey.kid || publicKey.publicJwk.x !== privateKey.privateJwk.x)
    throw new MosaicError(ErrorCode.KeyFile, 'the public key is not the half of the private key');
  const names = keyFileNames(privateKey.agency, privateKey.keyId);
  const privateKeyPath = join(dir, names.private);
  const publicKeyPath = join(dir, names.public);
  // Create both before writing either, so a refusal leaves no half-written pair behind.
  const privateHandle = await create(privateKeyPath, 0o600);
  let publicHandle: FileHandle;
  try {
    publicHandle = await create(publicKeyPath, 0o644);
  } catch (err) {
    await privateHandle.close();
    await unlink(privateKeyPath);
    throw err;
  }
  const { kty, crv, alg, use, kid, x } = privateKey.privateJwk;
  try {
    await writeJson(privateHandle, privateKeyPath, privateKey.privateJwk);
  } catch (err) {
    await publicHandle.close();
    throw err;
  }
  await writeJson(publicHandle, publicKeyPath, { kty, crv, alg, use, kid, x });
  return { privateKeyPath, publicKeyPath };
}
