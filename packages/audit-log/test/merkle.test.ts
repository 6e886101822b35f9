import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MerkleLog,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.ts';

// Reference, written from RFC 9162 §2.1.1–2.1.4 over the raw entries D[n], independent of src/.
const H = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const ref = {
  /** k: the largest power of two smaller than n. */
  k(n: number): number {
    let k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  },
  /** MTH(D[n]). */
  mth(d: Uint8Array[]): Uint8Array {
    const n = d.length;
    if (n === 0) return H();
    if (n === 1) return H(Uint8Array.of(0x00), d[0]!);
    const k = ref.k(n);
    return H(Uint8Array.of(0x01), ref.mth(d.slice(0, k)), ref.mth(d.slice(k)));
  },
  /** PATH(m, D[n]). */
  path(m: number, d: Uint8Array[]): Uint8Array[] {
    const n = d.length;
    if (n === 1) return [];
    const k = ref.k(n);
    return m < k
      ? [...ref.path(m, d.slice(0, k)), ref.mth(d.slice(k))]
      : [...ref.path(m - k, d.slice(k)), ref.mth(d.slice(0, k))];
  },
  /** PROOF(m, D[n]) = SUBPROOF(m, D[n], true). */
  proof(m: number, d: Uint8Array[]): Uint8Array[] {
    return ref.subproof(m, d, true);
  },
  subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
    const n = d.length;
    if (m === n) return b ? [] : [ref.mth(d)];
    const k = ref.k(n);
    return m <= k
      ? [...ref.subproof(m, d.slice(0, k), b), ref.mth(d.slice(k))]
      : [...ref.subproof(m - k, d.slice(k), false), ref.mth(d.slice(0, k))];
  },
};

/**
 * The left/right pattern of PATH and PROOF. The hashes of a proof are opaque, so the RFC 9162
 * verifiers cannot tell two sizes with the same pattern apart (e.g. index 5 of size 7 or 8):
 * the size is bound to the root by the signed checkpoint, not by the proof. Any size with
 * another pattern must be rejected.
 */
const shape = {
  path(m: number, n: number): string {
    if (n === 1) return '';
    const k = ref.k(n);
    return m < k ? shape.path(m, k) + 'R' : shape.path(m - k, n - k) + 'L';
  },
  proof(m: number, n: number, b = true): string {
    if (m === n) return b ? '' : 'X';
    const k = ref.k(n);
    return m <= k ? shape.proof(m, k, b) + 'R' : shape.proof(m - k, n - k, false) + 'L';
  },
};

const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);
const entries = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => entry(i));
function logOf(n: number): MerkleLog {
  const log = new MerkleLog();
  for (let i = 0; i < n; i++) log.append(leafHash(entry(i)));
  return log;
}
function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

const MAX = 64;
const big = logOf(MAX);
const data = entries(MAX);

describe('RFC 9162 hashing', () => {
  it('prefixes leaves with 0x00 and nodes with 0x01; the empty tree is SHA-256("")', () => {
    const a = entry(1);
    expect(leafHash(a)).toEqual(H(Uint8Array.of(0), a));
    expect(nodeHash(leafHash(a), leafHash(a))).toEqual(
      H(Uint8Array.of(1), leafHash(a), leafHash(a)),
    );
    expect(Buffer.from(EMPTY_ROOT).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(merkleRoot([])).toEqual(EMPTY_ROOT);
    expect(new MerkleLog().root()).toEqual(EMPTY_ROOT);
  });

  it('roots equal the reference MTH for every size up to 64, including past sizes', () => {
    for (let n = 0; n <= MAX; n++) {
      const expected = ref.mth(data.slice(0, n));
      expect(big.root(n)).toEqual(expected);
      expect(logOf(n).root()).toEqual(expected);
      expect(merkleRoot(data.slice(0, n).map(leafHash))).toEqual(expected);
    }
  });
});

describe('inclusion proofs', () => {
  it('equal PATH(m, D[n]) and verify, for every (m, n) up to 64', () => {
    for (let n = 1; n <= MAX; n++) {
      const root = ref.mth(data.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = big.inclusionProof(m, n);
        expect(proof).toEqual(ref.path(m, data.slice(0, n)));
        expect(
          verifyInclusion({ index: m, size: n, leafHash: leafHash(data[m]!), proof, root }),
        ).toBe(true);
      }
    }
  });

  it('rejects any single-bit change of proof, root or leaf, and a wrong index or size', () => {
    for (const [m, n] of [
      [0, 1],
      [0, 2],
      [5, 7],
      [6, 7],
      [12, 33],
      [63, 64],
    ] as const) {
      const root = big.root(n);
      const leaf = leafHash(data[m]!);
      const proof = big.inclusionProof(m, n);
      const ok = (c: Partial<Parameters<typeof verifyInclusion>[0]>): boolean =>
        verifyInclusion({ index: m, size: n, leafHash: leaf, proof, root, ...c });
      expect(ok({})).toBe(true);
      for (let bit = 0; bit < 256; bit++) {
        expect(ok({ root: flipBit(root, bit) })).toBe(false);
        expect(ok({ leafHash: flipBit(leaf, bit) })).toBe(false);
        proof.forEach((_, i) => {
          const bad = proof.slice();
          bad[i] = flipBit(proof[i]!, bit);
          expect(ok({ proof: bad })).toBe(false);
        });
      }
      for (let index = 0; index < n + 2; index++)
        if (index !== m) expect(ok({ index })).toBe(false);
      for (const size of [n - 1, n + 1, n * 2, 0, -1])
        if (size <= m || shape.path(m, size) !== shape.path(m, n)) expect(ok({ size })).toBe(false);
      for (let size = m + 1; size <= 2 * n; size++)
        if (shape.path(m, size) !== shape.path(m, n)) expect(ok({ size })).toBe(false);
      expect(ok({ index: -1 })).toBe(false);
      expect(ok({ index: 0.5 })).toBe(false);
      expect(ok({ proof: [...proof, root] })).toBe(false);
      if (proof.length > 0) expect(ok({ proof: proof.slice(1) })).toBe(false);
    }
  });

  it('match the reference for random larger trees (fast-check)', () => {
    const log = logOf(1500);
    const d = entries(1500);
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 1500 })
          .chain((n) => fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.constant(n))),
        ([m, n]) => {
          const proof = log.inclusionProof(m, n);
          expect(proof).toEqual(ref.path(m, d.slice(0, n)));
          expect(
            verifyInclusion({
              index: m,
              size: n,
              leafHash: leafHash(d[m]!),
              proof,
              root: ref.mth(d.slice(0, n)),
            }),
          ).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses proofs outside the log with ERR_AUDIT_PROOF', () => {
    const log = logOf(5);
    expect(() => log.inclusionProof(5)).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_PROOF' }),
    );
    expect(() => log.inclusionProof(0, 6)).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_PROOF' }),
    );
    expect(() => log.root(6)).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_PROOF' }));
    expect(() => log.consistencyProof(4, 3)).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_PROOF' }),
    );
    expect(() => log.append(new Uint8Array(31))).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_PROOF' }),
    );
  });
});

describe('consistency proofs', () => {
  it('equal PROOF(m, D[n]) and verify, for every 0 < m <= n <= 64', () => {
    for (let n = 1; n <= MAX; n++) {
      const newRoot = ref.mth(data.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const proof = big.consistencyProof(m, n);
        expect(proof).toEqual(m === n ? [] : ref.proof(m, data.slice(0, n)));
        const oldRoot = ref.mth(data.slice(0, m));
        expect(verifyConsistency({ oldSize: m, newSize: n, oldRoot, newRoot, proof })).toBe(true);
      }
    }
    expect(big.consistencyProof(0, 10)).toEqual([]);
    expect(
      verifyConsistency({
        oldSize: 0,
        newSize: 10,
        oldRoot: EMPTY_ROOT,
        newRoot: big.root(10),
        proof: [],
      }),
    ).toBe(true);
  });

  it('rejects any single-bit change of proof or roots, and wrong sizes', () => {
    for (const [m, n] of [
      [1, 2],
      [3, 7],
      [4, 7],
      [6, 8],
      [13, 64],
      [32, 33],
    ] as const) {
      const oldRoot = big.root(m);
      const newRoot = big.root(n);
      const proof = big.consistencyProof(m, n);
      const ok = (c: Partial<Parameters<typeof verifyConsistency>[0]>): boolean =>
        verifyConsistency({ oldSize: m, newSize: n, oldRoot, newRoot, proof, ...c });
      expect(ok({})).toBe(true);
      for (let bit = 0; bit < 256; bit++) {
        expect(ok({ oldRoot: flipBit(oldRoot, bit) })).toBe(false);
        expect(ok({ newRoot: flipBit(newRoot, bit) })).toBe(false);
        proof.forEach((_, i) => {
          const bad = proof.slice();
          bad[i] = flipBit(proof[i]!, bit);
          expect(ok({ proof: bad })).toBe(false);
        });
      }
      for (const oldSize of [m - 1, m + 1, 0, n + 1]) expect(ok({ oldSize })).toBe(false);
      for (let newSize = 0; newSize <= 2 * n; newSize++)
        if (newSize <= m || shape.proof(m, newSize) !== shape.proof(m, n))
          expect(ok({ newSize })).toBe(false);
      expect(ok({ proof: [] })).toBe(false);
      expect(ok({ proof: [...proof, newRoot] })).toBe(false);
    }
    expect(
      verifyConsistency({
        oldSize: 5,
        newSize: 5,
        oldRoot: big.root(5),
        newRoot: big.root(5),
        proof: [big.root(1)],
      }),
    ).toBe(false);
    expect(
      verifyConsistency({
        oldSize: 0,
        newSize: 5,
        oldRoot: big.root(1),
        newRoot: big.root(5),
        proof: [],
      }),
    ).toBe(false);
  });

  it('match the reference for random larger trees (fast-check)', () => {
    const log = logOf(1500);
    const d = entries(1500);
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 1500 })
          .chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n))),
        ([m, n]) => {
          const proof = log.consistencyProof(m, n);
          expect(proof).toEqual(ref.proof(m, d.slice(0, n)));
          expect(
            verifyConsistency({
              oldSize: m,
              newSize: n,
              oldRoot: log.root(m),
              newRoot: log.root(n),
              proof,
            }),
          ).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('storage', () => {
  it('matches the reference across the chunks its levels are stored in (9,000 leaves)', () => {
    const n = 9_000;
    const log = logOf(n);
    const d = entries(n);
    for (const size of [4_095, 4_096, 4_097, 8_192, 8_193, n])
      expect(log.root(size)).toEqual(ref.mth(d.slice(0, size)));
    for (const m of [0, 4_095, 4_096, 4_097, 8_191, 8_192, n - 1])
      expect(log.inclusionProof(m)).toEqual(ref.path(m, d));
    for (const m of [1, 4_095, 4_096, 4_097, 8_192])
      expect(log.consistencyProof(m)).toEqual(ref.proof(m, d));
    for (const i of [0, 4_095, 4_096, n - 1]) expect(log.leaf(i)).toEqual(leafHash(d[i]!));
  });

  it('hands out copies: changing a returned root, proof or leaf changes nothing stored', () => {
    const log = logOf(8);
    const root = log.root();
    const proof = log.inclusionProof(3);
    const leaf = log.leaf(3);
    root.fill(0);
    proof[0]!.fill(0);
    leaf.fill(0);
    expect(log.root()).toEqual(ref.mth(entries(8)));
    expect(log.inclusionProof(3)).toEqual(ref.path(3, entries(8)));
    expect(log.leaf(3)).toEqual(leafHash(entry(3)));
  });
});
