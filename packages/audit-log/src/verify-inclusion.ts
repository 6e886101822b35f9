import { equalBytes, isHash, nodeHash } from './hash.ts';
import { half, isOdd } from './power-of-two.ts';

/** What {@link verifyInclusion} checks: `leafHash` is entry `index` of the tree `root` of `size`. */
export interface InclusionClaim {
  index: number;
  size: number;
  leafHash: Uint8Array;
  proof: readonly Uint8Array[];
  root: Uint8Array;
}

/**
 * Verifies an inclusion proof with the algorithm of RFC 9162 §2.1.3.2. Never throws:
 * malformed input is simply not a proof.
 *
 * @example
 * ```ts
 * verifyInclusion({ index, size, leafHash: leafHash(bytes), proof, root }); // true or false
 * ```
 */
export function verifyInclusion(claim: InclusionClaim): boolean {
  const { index, size, leafHash, proof, root } = claim;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) return false;
  if (index < 0 || index >= size) return false;
  if (!isHash(leafHash) || !isHash(root) || !Array.isArray(proof)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (!isHash(p) || sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn))
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(r, root);
}
