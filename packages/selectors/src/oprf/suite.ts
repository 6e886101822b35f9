import type { RNG } from '@noble/curves/abstract/oprf.js';
import { ristretto255_oprf } from '@noble/curves/ed25519.js';

/** RFC 9497 ristretto255-SHA512, the one ciphersuite used for selector tokens. */
export const suite = ristretto255_oprf;

/** A source of uniform random bytes; tests inject fixed scalars to replay RFC vectors. */
export type RandomBytes = RNG;

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
