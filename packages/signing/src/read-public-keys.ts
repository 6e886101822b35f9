import { checkPublicJwk } from './jwk.ts';
import { jwksKeyLookup } from './key-lookup.ts';
import type { StaticKeyLookup } from './key-lookup.ts';
import { readKeyJson } from './read-file.ts';

const MAX_JWKS_FILE_BYTES = 1024 * 1024;

/**
 * Reads a public key file — one JWK or a JWKS (`{ "keys": [...] }`) — into a key lookup.
 * Throws ERR_KEY_FILE when it is unreadable, not JSON, or holds an unusable or private key.
 *
 * @example
 * ```ts
 * const keys = await readPublicKeyFile('./keys/nca-uk.20250101-1a2b3c4d.public.jwk');
 * const verified = await verifyReport(jws, keys);
 * ```
 */
export async function readPublicKeyFile(path: string): Promise<StaticKeyLookup> {
  const json = await readKeyJson(path, MAX_JWKS_FILE_BYTES, () => undefined);
  const isSet = typeof json === 'object' && json !== null && 'keys' in json;
  if (!isSet) checkPublicJwk(json, path);
  return jwksKeyLookup(isSet ? json : { keys: [json] }, path);
}
