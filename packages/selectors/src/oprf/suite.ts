import type { RNG } from '@noble/curves/abstract/oprf.js';
import { ristretto255_oprf } from '@noble/curves/ed25519.js';

/** RFC 9497 ristretto255-SHA512, the one ciphersuite used for selector tokens. */
export const suite = ristretto255_oprf;

/** A source of uniform random bytes; tests inject fixed scalars to replay RFC vectors. */
export type RandomBytes = RNG;

function makePoprf(info: Uint8Array) {
  return suite.poprf(info);
}
type Poprf = ReturnType<typeof makePoprf>;

/** Distinct infos kept; one per selector kind and key epoch in use, so a handful. */
const POPRF_CACHE_SIZE = 32;
const poprfs = new Map<string, Poprf>();

/**
 * `suite.poprf(info)`, made once per info. Making it hashes the info to a scalar and
 * multiplies the base point by it (~1 ms of CPU), which the router's blinding, its
 * finalising and the key service's evaluation each paid per batch. The object is frozen
 * and a pure function of `info` (a public kind and epoch, never a secret), so sharing it
 * changes no result. The oldest entry goes when the cache is full.
 */
export function poprfFor(info: Uint8Array): Poprf {
  const key = Buffer.from(info.buffer, info.byteOffset, info.byteLength).toString('latin1');
  const cached = poprfs.get(key);
  if (cached !== undefined) return cached;
  const made = makePoprf(info);
  if (poprfs.size >= POPRF_CACHE_SIZE) poprfs.delete(poprfs.keys().next().value as string);
  poprfs.set(key, made);
  return made;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
