/**
 * Key-service evaluation rate on one core, next to the raw ristretto255 scalar
 * multiplication rate measured in the same run (an evaluation is about one variable-base
 * multiplication, plus its share of the batch proof and the decoding of the element).
 *
 *   npx tsx packages/selectors/bench/oprf.ts [result.json] [--batch 64] [--seconds 3]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { blind, canonicalSelector, evaluateBatch, generateOprfKeyPair } from '../src/index.ts';
import type { Selector } from '../src/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { batch: { type: 'string', default: '64' }, seconds: { type: 'string', default: '3' } },
});
const batch = Number(values.batch);
const seconds = Number(values.seconds);

/** Runs `step` (which does `per` operations) until `seconds` have passed; operations per second. */
function rate(per: number, step: () => void): number {
  for (let i = 0; i < 3; i++) step();
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

const context = { kind: 'phone', epoch: 1 } as const;
const keys = generateOprfKeyPair();
const selectors: Selector[] = Array.from({ length: batch }, (_, i) =>
  canonicalSelector('phone', `+4071${String(i).padStart(7, '0')}`),
);
const { blinded } = blind(selectors, keys.publicKey, context);
const evaluationsPerSecond = rate(batch, () => {
  evaluateBatch(keys.secretKey, blinded, context);
});

const { Point } = ristretto255;
const point = ristretto255_hasher.hashToCurve(new TextEncoder().encode('mosaic bench'));
const scalar = Point.Fn.fromBytes(keys.secretKey);
const multiplicationsPerSecond = rate(1, () => {
  point.multiply(scalar);
});

const result = {
  suite: 'ristretto255-SHA512 POPRF',
  batch,
  seconds,
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  // Other processes share the cores: read the rates next to each other, not alone.
  loadAverage: loadavg()[0],
  evaluationsPerSecond: Math.round(evaluationsPerSecond),
  scalarMultiplicationsPerSecond: Math.round(multiplicationsPerSecond),
  evaluationsPerMultiplication: Number(
    (evaluationsPerSecond / multiplicationsPerSecond).toFixed(3),
  ),
};
process.stdout.write(
  `key-service evaluations/s (batch ${batch}, one core): ${result.evaluationsPerSecond}\n` +
    `ristretto255 scalar multiplications/s (same run):     ${result.scalarMultiplicationsPerSecond}\n` +
    `evaluations per multiplication: ${result.evaluationsPerMultiplication}\n`,
);
const out = positionals[0];
if (out !== undefined) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
