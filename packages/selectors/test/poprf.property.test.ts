import { ristretto255, ristretto255_oprf } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPoprf, deriveKeyPair, type FinalizeItem } from '../src/oprf/poprf.ts';

// The libsodium POPRF against @noble/curves' RFC 9497 ristretto255-SHA512 POPRF, the reference.

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

/** A source that hands out the given 48-byte draws in order, for both implementations. */
function replay(draws: readonly Uint8Array[]) {
  const queue = [...draws];
  return (length = 48): Uint8Array<ArrayBuffer> => {
    const next = queue.shift();
    if (next === undefined || next.length !== length) throw new Error('no draw of that length');
    return new Uint8Array(next);
  };
}

const round = fc.record({
  seed: bytes(32, 32),
  keyInfo: bytes(0, 16),
  info: bytes(0, 40),
  inputs: fc.array(bytes(0, 80), { minLength: 1, maxLength: 8 }),
  draws: fc.array(bytes(48, 48), { minLength: 9, maxLength: 9 }),
  tamper: fc.record({ index: fc.nat(), bit: fc.nat({ max: 511 }) }),
});

function items(
  inputs: readonly Uint8Array[],
  blinded: readonly { blind: Uint8Array; blinded: Uint8Array }[],
  evaluated: readonly Uint8Array[],
): FinalizeItem[] {
  return inputs.map((input, i) => ({
    input,
    blind: blinded[i]!.blind,
    blinded: blinded[i]!.blinded,
    evaluated: evaluated[i]!,
  }));
}

describe('libsodium POPRF against @noble/curves', () => {
  it('one POPRF blinding under keys that change from call to call tweaks each call with its own key', () => {
    fc.assert(
      fc.property(
        bytes(0, 40),
        fc.array(fc.record({ seed: bytes(32, 32), input: bytes(0, 40) }), {
          minLength: 2,
          maxLength: 6,
        }),
        fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 12 }),
        (info, keyed, order) => {
          const noble = ristretto255_oprf.poprf(info);
          const sodium = createPoprf(info);
          for (const pick of order) {
            const { seed, input } = keyed[pick % keyed.length]!;
            const { publicKey } = deriveKeyPair(seed, new Uint8Array());
            expect(hex(sodium.blind(input, publicKey).tweakedKey)).toBe(
              hex(noble.blind(input, publicKey).tweakedKey),
            );
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('the same keys, blinded elements, evaluations, proofs and tokens; proofs cross-verify; tampering is refused', () => {
    fc.assert(
      fc.property(round, ({ seed, keyInfo, info, inputs, draws, tamper }) => {
        const noble = ristretto255_oprf.poprf(info);
        const sodium = createPoprf(info);
        const keys = noble.deriveKeyPair(seed, keyInfo);
        const ours = deriveKeyPair(seed, keyInfo);
        expect(hex(ours.secretKey)).toBe(hex(keys.secretKey));
        expect(hex(ours.publicKey)).toBe(hex(keys.publicKey));

        // Blinding with the same draws gives the same blinds, elements and tweaked key.
        const nobleBlinded = inputs.map((input, i) =>
          noble.blind(input, keys.publicKey, replay([draws[i]!])),
        );
        const sodiumBlinded = inputs.map((input, i) =>
          sodium.blind(input, keys.publicKey, replay([draws[i]!])),
        );
        expect(sodiumBlinded.map((b) => hex(b.blinded))).toEqual(
          nobleBlinded.map((b) => hex(b.blinded)),
        );
        expect(sodiumBlinded.map((b) => hex(b.blind))).toEqual(
          nobleBlinded.map((b) => hex(b.blind)),
        );
        const tweakedKey = sodiumBlinded[0]!.tweakedKey;
        expect(hex(tweakedKey)).toBe(hex(nobleBlinded[0]!.tweakedKey));

        // Evaluating with the same proof nonce gives the same elements and proof, byte for byte.
        const blinded = sodiumBlinded.map((b) => b.blinded);
        const nobleAnswer = noble.blindEvaluateBatch(keys.secretKey, blinded, replay([draws[8]!]));
        const sodiumAnswer = sodium.blindEvaluateBatch(
          keys.secretKey,
          blinded,
          replay([draws[8]!]),
        );
        expect(sodiumAnswer.evaluated.map(hex)).toEqual(nobleAnswer.evaluated.map(hex));
        expect(hex(sodiumAnswer.proof)).toBe(hex(nobleAnswer.proof));

        // With fresh randomness each side's proof verifies with the other; the tokens agree.
        const fresh = sodium.blindEvaluateBatch(keys.secretKey, blinded);
        const nobleFresh = noble.blindEvaluateBatch(keys.secretKey, blinded);
        const expected = noble
          .finalizeBatch(items(inputs, sodiumBlinded, fresh.evaluated), fresh.proof, tweakedKey)
          .map(hex);
        expect(
          sodium
            .finalizeBatch(
              items(inputs, sodiumBlinded, nobleFresh.evaluated),
              nobleFresh.proof,
              tweakedKey,
            )
            .map(hex),
        ).toEqual(expected);
        expect(
          sodium
            .finalizeBatch(items(inputs, sodiumBlinded, fresh.evaluated), fresh.proof, tweakedKey)
            .map(hex),
        ).toEqual(expected);
        // ... and they are the unblinded, keyed function of the input alone.
        expect(inputs.map((input) => hex(noble.evaluate(keys.secretKey, input)))).toEqual(expected);

        // Another valid element in place of one evaluated element: the proof no longer holds.
        const j = tamper.index % inputs.length;
        const swapped = [...fresh.evaluated];
        swapped[j] = ristretto255.Point.fromBytes(swapped[j]!).double().toBytes();
        expect(() =>
          sodium.finalizeBatch(items(inputs, sodiumBlinded, swapped), fresh.proof, tweakedKey),
        ).toThrow();
        // One bit of the proof flipped: refused (not canonical, or does not verify).
        const proof = new Uint8Array(fresh.proof);
        proof[tamper.bit >> 3]! ^= 1 << (tamper.bit & 7);
        expect(() =>
          sodium.finalizeBatch(items(inputs, sodiumBlinded, fresh.evaluated), proof, tweakedKey),
        ).toThrow();
        // The proof checked against another info's tweaked key: refused.
        const other = createPoprf(Uint8Array.of(...info, 0x2a)).blind(inputs[0]!, keys.publicKey);
        expect(() =>
          sodium.finalizeBatch(
            items(inputs, sodiumBlinded, fresh.evaluated),
            fresh.proof,
            other.tweakedKey,
          ),
        ).toThrow();
      }),
      { numRuns: 25 },
    );
  });
});
