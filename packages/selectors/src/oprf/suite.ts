import { createPoprf, type Poprf } from './poprf.ts';

export type { RandomBytes } from './poprf.ts';

/** Distinct infos kept; one per selector kind and key epoch in use, so a handful. */
const POPRF_CACHE_SIZE = 32;
const poprfs = new Map<string, Poprf>();

/**
 * `createPoprf(info)` (RFC 9497 POPRF, ristretto255-SHA512), made once per info. Making it
 * hashes the info to a scalar and multiplies the base point by it, which the router's blinding, its
 * finalising and the key service's evaluation each paid per batch. The object is frozen
 * and a pure function of `info` (a public kind and epoch, never a secret), so sharing it
 * changes no result. The oldest entry goes when the cache is full.
 */
export function poprfFor(info: Uint8Array): Poprf {
  const key = Buffer.from(info.buffer, info.byteOffset, info.byteLength).toString('latin1');
  const cached = poprfs.get(key);
  if (cached !== undefined) return cached;
  const made = createPoprf(info);
  if (poprfs.size >= POPRF_CACHE_SIZE) poprfs.delete(poprfs.keys().next().value as string);
  poprfs.set(key, made);
  return made;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
