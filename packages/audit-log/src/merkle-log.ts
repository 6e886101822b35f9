import { ErrorCode, MosaicError } from '@mosaic/errors';
import { EMPTY_ROOT, assertHash, nodeHash } from './hash.ts';
import { isPowerOfTwo, splitPoint } from './power-of-two.ts';

function badRange(message: string): MosaicError {
  return new MosaicError(ErrorCode.AuditProof, message);
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

const HASH_BYTES = 32;
/** Hashes per full chunk of a row (128 KiB). */
const CHUNK_HASHES = 4_096;
/** Hashes the first chunk of a row has room for; it doubles up to {@link CHUNK_HASHES}. */
const FIRST_CHUNK_HASHES = 4;

/**
 * One level of the tree: its hashes back to back in chunks of 32-byte slots. A hash of its
 * own (a `Uint8Array` object per node) cost ~480 bytes of heap and ~680 of RSS per leaf;
 * this is 32 bytes per hash, about 64 per leaf with the levels above. Every chunk but the
 * last is full, so hash `i` is in chunk `i / CHUNK_HASHES`.
 */
class HashRow {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(hash: Uint8Array): void {
    const slot = this.#length % CHUNK_HASHES;
    let last = this.#chunks.at(-1);
    if (last === undefined || slot === 0) {
      // The first chunk starts small (most trees are small); later ones are full at once.
      const hashes = this.#chunks.length === 0 ? FIRST_CHUNK_HASHES : CHUNK_HASHES;
      last = new Uint8Array(hashes * HASH_BYTES);
      this.#chunks.push(last);
    } else if (slot * HASH_BYTES === last.length) {
      const grown = new Uint8Array(Math.min(CHUNK_HASHES, slot * 2) * HASH_BYTES);
      grown.set(last);
      last = grown;
      this.#chunks[this.#chunks.length - 1] = grown;
    }
    last.set(hash, slot * HASH_BYTES);
    this.#length++;
  }

  /** A view of hash `i` (`i < length`), to read at once; never handed out. */
  view(i: number): Uint8Array {
    const chunk = this.#chunks[Math.floor(i / CHUNK_HASHES)] as Uint8Array;
    const at = (i % CHUNK_HASHES) * HASH_BYTES;
    return chunk.subarray(at, at + HASH_BYTES);
  }
}

/**
 * An append-only RFC 9162 Merkle tree. It keeps every complete power-of-two subtree
 * (level arrays: about two hashes per leaf), so appends cost O(1) amortised and roots,
 * inclusion and consistency proofs for the current or any past size cost O(log n).
 *
 * @example
 * ```ts
 * const log = new MerkleLog();
 * const index = log.append(leafHash(bytes));
 * const proof = log.inclusionProof(index);
 * verifyInclusion({ index, size: log.size, leafHash: leafHash(bytes), proof, root: log.root() }); // true
 * ```
 */
export class MerkleLog {
  /** `levels[h]` holds MTH of leaves `[i * 2^h, (i + 1) * 2^h)` at `i`, stored once complete. */
  readonly #levels: HashRow[] = [new HashRow()];

  /** Appends a leaf hash (see {@link leafHash}) and returns its index. */
  append(leafHash: Uint8Array): number {
    assertHash(leafHash, 'a leaf hash');
    const leaves = this.#leaves;
    const index = leaves.length;
    leaves.push(leafHash);
    let height = 0;
    let i = index;
    while (i % 2 === 1) {
      const row = this.#levels[height] as HashRow;
      const parent = nodeHash(row.view(i - 1), row.view(i));
      height++;
      let up = this.#levels[height];
      if (up === undefined) {
        up = new HashRow();
        this.#levels.push(up);
      }
      up.push(parent);
      i = (i - 1) / 2;
    }
    return index;
  }

  /** Number of leaves. */
  get size(): number {
    return this.#leaves.length;
  }

  /** The leaf hash at `index`. */
  leaf(index: number): Uint8Array {
    if (!isCount(index) || index >= this.size)
      throw badRange(`leaf ${index} is outside a log of ${this.size} entries`);
    return this.#leaves.view(index).slice();
  }

  /** MTH of the first `size` leaves (default: all); the empty tree hashes to SHA-256(""). */
  root(size: number = this.size): Uint8Array {
    if (!isCount(size) || size > this.size)
      throw badRange(`no root for size ${size}: the log has ${this.size} entries`);
    return size === 0 ? EMPTY_ROOT.slice() : this.#subtree(0, size);
  }

  /** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, deepest sibling first. */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    if (!isCount(size) || size > this.size)
      throw badRange(`no proof for size ${size}: the log has ${this.size} entries`);
    if (!isCount(index) || index >= size)
      throw badRange(`entry ${index} is not in a tree of size ${size}`);
    const proof: Uint8Array[] = [];
    this.#path(index, 0, size, proof);
    return proof;
  }

  /** PROOF(oldSize, D[0:newSize]) of RFC 9162 §2.1.4.1; empty when oldSize is 0 or newSize. */
  consistencyProof(oldSize: number, newSize: number = this.size): Uint8Array[] {
    if (!isCount(newSize) || newSize > this.size)
      throw badRange(`no proof for size ${newSize}: the log has ${this.size} entries`);
    if (!isCount(oldSize) || oldSize > newSize)
      throw badRange(`no consistency proof from size ${oldSize} to size ${newSize}`);
    const proof: Uint8Array[] = [];
    if (oldSize > 0 && oldSize < newSize) this.#subproof(oldSize, 0, newSize, true, proof);
    return proof;
  }

  get #leaves(): HashRow {
    return this.#levels[0] as HashRow;
  }

  /**
   * MTH(D[start:end]) for the subtrees the RFC recursion visits (left parts are complete);
   * a stored one is copied, so what a root or proof hands out is the caller's own.
   */
  #subtree(start: number, end: number): Uint8Array {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) {
      const height = Math.log2(n);
      return (this.#levels[height] as HashRow).view(start / n).slice();
    }
    const k = splitPoint(n);
    return nodeHash(this.#subtree(start, start + k), this.#subtree(start + k, end));
  }

  #path(m: number, start: number, end: number, out: Uint8Array[]): void {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < start + k) {
      this.#path(m, start, start + k, out);
      out.push(this.#subtree(start + k, end));
    } else {
      this.#path(m, start + k, end, out);
      out.push(this.#subtree(start, start + k));
    }
  }

  /** SUBPROOF(m, D[start:end], b); `m` counts leaves from `start`. */
  #subproof(m: number, start: number, end: number, complete: boolean, out: Uint8Array[]): void {
    const n = end - start;
    if (m === n) {
      if (!complete) out.push(this.#subtree(start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.#subproof(m, start, start + k, complete, out);
      out.push(this.#subtree(start + k, end));
    } else {
      this.#subproof(m - k, start + k, end, false, out);
      out.push(this.#subtree(start, start + k));
    }
  }
}

/**
 * MTH(D[n]) of RFC 9162 §2.1.1 over already hashed leaves.
 *
 * @example
 * ```ts
 * merkleRoot([leafHash(a), leafHash(b)]); // nodeHash(leafHash(a), leafHash(b))
 * ```
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const log = new MerkleLog();
  for (const leaf of leafHashes) log.append(leaf);
  return log.root();
}
