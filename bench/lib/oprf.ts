/**
 * Key-service evaluation rate on one core, next to the raw ristretto255 scalar
 * multiplication rate measured in the same run (an evaluation is about one variable-base
 * multiplication, plus its share of the batch proof and the decoding of the element).
 */
import sodium from 'libsodium-wrappers-sumo';
import { blind, canonicalSelector, evaluateBatch, generateOprfKeyPair } from '@mosaic/selectors';

await sodium.ready;

export interface OprfRates {
  suite: 'ristretto255-SHA512 POPRF';
  /** Blinded elements per `evaluateBatch` call. */
  batch: number;
  seconds: number;
  /** `evaluateBatch` (evaluations and the DLEQ batch proof), this thread. */
  evaluationsPerSecond: number;
  /**
   * libsodium's `crypto_scalarmult_ristretto255` (what the POPRF multiplies with) by a
   * secret scalar, this thread, the same run.
   */
  scalarMultiplicationsPerSecond: number;
  evaluationsPerMultiplication: number;
}

/**
 * Runs `step` (which does `per` operations) until `seconds` have passed; operations per
 * second, after a warm-up of a quarter of that (the JIT, the curve library's lazy tables).
 */
function opsPerSecond(seconds: number, per: number, step: () => void): number {
  const warm = process.hrtime.bigint() + BigInt(Math.round(seconds * 0.25e9));
  do step();
  while (process.hrtime.bigint() < warm);
  let done = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    step();
    done += per;
    now = process.hrtime.bigint();
  }
  return done / (Number(now - start) / 1e9);
}

/** The phone-number selectors the correlation benches use: `+40<prefix><i, 7 digits>`. */
export const benchPhone = (prefix: number, i: number) =>
  canonicalSelector('phone', `+40${prefix}${String(i).padStart(7, '0')}`);

/** In-process evaluations of batches of `batch` elements, then scalar multiplications. */
export function oprfRates(batch: number, seconds: number): OprfRates {
  const context = { kind: 'phone', epoch: 1 } as const;
  const keys = generateOprfKeyPair();
  const selectors = Array.from({ length: batch }, (_, i) => benchPhone(71, i));
  const { blinded } = blind(selectors, keys.publicKey, context);
  const evaluationsPerSecond = opsPerSecond(seconds, batch, () => {
    evaluateBatch(keys.secretKey, blinded, context);
  });
  const point = sodium.crypto_core_ristretto255_from_hash(new Uint8Array(64).fill(7));
  const multiplicationsPerSecond = opsPerSecond(seconds, 1, () => {
    sodium.crypto_scalarmult_ristretto255(keys.secretKey, point);
  });
  return {
    suite: 'ristretto255-SHA512 POPRF',
    batch,
    seconds,
    evaluationsPerSecond: Math.round(evaluationsPerSecond),
    scalarMultiplicationsPerSecond: Math.round(multiplicationsPerSecond),
    evaluationsPerMultiplication: Number(
      (evaluationsPerSecond / multiplicationsPerSecond).toFixed(3),
    ),
  };
}
